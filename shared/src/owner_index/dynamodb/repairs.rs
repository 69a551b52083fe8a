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
    let mut operations = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let output = table
            .query()
            .index_name(REPAIRS)
            .key_condition_expression("repair = :pending AND repair_at < :before")
            .expression_attribute_values(":pending", s(PENDING))
            .expression_attribute_values(":before", n(started_before))
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(failed("find stale operations"))?;
        for item in output.items() {
            let sk = text(item, "sk").unwrap_or_default();
            let operation = if sk.starts_with(CREATING_PREFIX) {
                creation(item).map(StaleOperation::Creation)
            } else if text(item, "status").as_deref() == Some(DELETING) {
                indexed_client(item).map(StaleOperation::Deletion)
            } else {
                indexed_client(item).map(StaleOperation::Change)
            };
            operations.extend(operation);
        }
        start = output.last_evaluated_key;
        if start.is_none() {
            return Ok(operations);
        }
    }
}
