//! The audit's view of the table (docs/owner-index.md, "The reconciler"):
//! every owner's client items, creations in progress and quota counts,
//! read by one scan of the owners' partitions. It reads nothing else (not
//! the shared management token's item) and writes nothing.

use super::clients::{DELETING, indexed_client};
use super::codec::{Item, Table, number, s, text};
use super::creations::creation;
use super::keys::{CLIENT_PREFIX, CREATING_PREFIX, OWNER_PREFIX, QUOTA};
use crate::domain::{Owner, TableCensus};
use crate::error::IndexError;

pub(super) async fn census(table: &Table) -> Result<TableCensus, IndexError> {
    let items = table
        .scan(
            "begins_with(pk, :owner)",
            &[],
            &[(":owner", s(OWNER_PREFIX))],
            "read the table's census",
        )
        .await?;
    let mut census = TableCensus::default();
    for item in &items {
        count(&mut census, item);
    }
    Ok(census)
}

/// Adds `item` to what the census holds, by its kind (idempotency keys
/// are not counted).
fn count(census: &mut TableCensus, item: &Item) {
    let sk = text(item, "sk").unwrap_or_default();
    if sk.starts_with(CLIENT_PREFIX) {
        let deleting = text(item, "status").as_deref() == Some(DELETING);
        let listed = if deleting {
            &mut census.deleting
        } else {
            &mut census.clients
        };
        listed.extend(indexed_client(item));
    } else if sk.starts_with(CREATING_PREFIX) {
        census.creations.extend(creation(item));
    } else if sk == QUOTA {
        let owner =
            text(item, "pk").and_then(|pk| pk.strip_prefix(OWNER_PREFIX).and_then(Owner::parse));
        if let Some(owner) = owner {
            census
                .quotas
                .push((owner, number(item, "count").unwrap_or_default()));
        }
    }
}
