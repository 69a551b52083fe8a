//! The `repairs` index: creations in progress, clients being deleted and
//! clients being changed carry `repair` and `repair_at` until their
//! operation ends, so that the reconciler finds those that stopped
//! half-way (docs/owner-index.md, "The reconciler").

use super::clients::{DELETING, indexed_client};
use super::codec::{Item, Table, failed, n, s, text};
use super::creations::creation;
use super::keys::{CREATING_PREFIX, PENDING, REPAIRS};
use crate::domain::StaleOperation;
use crate::error::IndexError;

/// Creations, deletions and changes begun before `started_before` (µs)
/// and not over.
pub(super) async fn stale_operations(
    table: &Table,
    started_before: u64,
) -> Result<Vec<StaleOperation>, IndexError> {
    let stale = "repair = :pending AND repair_at < :before";
    let values = [(":pending", s(PENDING)), (":before", n(started_before))];
    let pages = table
        .query(REPAIRS, stale, &values)
        .into_paginator()
        .items()
        .send();
    let items = pages
        .try_collect()
        .await
        .map_err(failed("find stale operations"))?;
    Ok(items.iter().filter_map(operation).collect())
}

/// The operation under way that `item` records.
fn operation(item: &Item) -> Option<StaleOperation> {
    let sk = text(item, "sk").unwrap_or_default();
    if sk.starts_with(CREATING_PREFIX) {
        creation(item).map(StaleOperation::Creation)
    } else if text(item, "status").as_deref() == Some(DELETING) {
        indexed_client(item).map(StaleOperation::Deletion)
    } else {
        indexed_client(item).map(StaleOperation::Change)
    }
}
