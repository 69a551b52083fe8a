//! The audit's view of the table (docs/owner-index.md, "The reconciler"):
//! every owner's client items, creations in progress and quota counts,
//! read by one scan of the owners' partitions. It reads nothing else (not
//! the shared management token's item) and writes nothing.

use super::clients::{DELETING, indexed_client};
use super::codec::{Item, Table, failed, number, s, text};
use super::creations::creation;
use super::keys::{CLIENT_PREFIX, CREATING_PREFIX, OWNER_PREFIX, QUOTA};
use crate::domain::{Owner, TableCensus};
use crate::error::IndexError;

pub(super) async fn census(table: &Table) -> Result<TableCensus, IndexError> {
    let mut census = TableCensus::default();
    let mut start: Option<Item> = None;
    loop {
        let output = table
            .scan()
            .filter_expression("begins_with(pk, :owner)")
            .expression_attribute_values(":owner", s(OWNER_PREFIX))
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(failed("read the table's census"))?;
        for item in output.items() {
            count(&mut census, item);
        }
        start = output.last_evaluated_key;
        if start.is_none() {
            return Ok(census);
        }
    }
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
