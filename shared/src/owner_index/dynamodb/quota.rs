//! An owner's quota (`QUOTA`: its clients plus its creations in progress)
//! and its idempotency keys (`IDEMPOTENCY#<key>`: the request a key was
//! first sent with, and the client it made), docs/owner-index.md, "Items"
//! and "Create". Both change only within the transactions of a creation,
//! a client's removal or an import; create reads a key first
//! (`creations.rs`).

use aws_sdk_dynamodb::types::TransactWriteItem;
use tracing::warn;

use super::codec::{Item, Table, Transaction, n, s};
use super::keys::{idempotency_key, quota_key};
use crate::domain::{IDEMPOTENCY_TTL_SECONDS, IdempotencyClaim, Owner, now_micros};
use crate::error::IndexError;

/// `claim`'s record, `running` for the creation `chosen_id`: put unless a
/// live one exists.
pub(super) fn take_key(
    table: &Table,
    owner: &Owner,
    claim: &IdempotencyClaim,
    chosen_id: &str,
) -> Result<TransactWriteItem, IndexError> {
    let mut record = idempotency_key(owner, &claim.key);
    record.insert("request_hash".into(), s(&claim.request_hash));
    record.insert("state".into(), s("running"));
    record.insert("client_id".into(), s(chosen_id));
    record.insert(
        "expires_at".into(),
        n(now_micros() / 1_000_000 + IDEMPOTENCY_TTL_SECONDS),
    );
    // One live record per key: of concurrent requests, one proceeds. A
    // record is live while `expires_at > now` (creations.rs reads it so), so
    // one whose second has come may be replaced: `<=`, not `<`.
    table.put(
        record,
        "attribute_not_exists(pk) OR expires_at <= :now",
        &[(":now", n(now_micros() / 1_000_000))],
    )
}

/// `key_name`'s record `done`: from now on it answers with `client_id`.
pub(super) fn key_done(
    table: &Table,
    owner: &Owner,
    key_name: &str,
    client_id: &str,
) -> Result<TransactWriteItem, IndexError> {
    table.update(
        idempotency_key(owner, key_name),
        "SET #state = :done, client_id = :id",
        Some("attribute_exists(pk)"),
        &[("#state", "state")],
        &[(":done", s("done")), (":id", s(client_id))],
    )
}

/// The owner's quota count one up, unless that would pass `max`.
pub(super) fn count_up(
    table: &Table,
    owner: &Owner,
    max: Option<u32>,
) -> Result<TransactWriteItem, IndexError> {
    let mut values = vec![(":one", n(1)), (":zero", n(0))];
    // The quota: concurrent creates can never exceed it.
    let condition = max.map(|max| {
        values.push((":max", n(u64::from(max))));
        "attribute_not_exists(#count) OR #count < :max"
    });
    table.update(
        quota_key(owner),
        "SET #count = if_not_exists(#count, :zero) + :one",
        condition,
        &[("#count", "count")],
        &values,
    )
}

/// The owner's quota count one down (never below zero).
fn count_down(table: &Table, owner: &Owner) -> Result<TransactWriteItem, IndexError> {
    table.update(
        quota_key(owner),
        "SET #count = #count - :one",
        Some("#count > :zero"),
        &[("#count", "count")],
        &[(":one", n(1)), (":zero", n(0))],
    )
}

/// Deletes the idempotency record of `key` if it still stands for
/// `client_id` (a record since taken over by a later request is not ours
/// to release).
fn release(
    table: &Table,
    owner: &Owner,
    key_name: &str,
    client_id: &str,
) -> Result<TransactWriteItem, IndexError> {
    table.delete(
        idempotency_key(owner, key_name),
        "attribute_not_exists(pk) OR client_id = :id",
        &[(":id", s(client_id))],
    )
}

/// Deletes a client's item (or a creation's), gives its quota back and
/// releases its key, in one transaction; `Ok(false)` if the item was
/// already gone (nothing else changes then).
pub(super) async fn give_back(
    table: &Table,
    item_key: Item,
    owner: &Owner,
    key_name: Option<&str>,
    client_id: &str,
    what: &str,
) -> Result<bool, IndexError> {
    // The key is released only if it still stands for this client (a
    // record taken over since by a later request is not ours), and the
    // count can only be below the owner's items if someone edited the
    // table by hand: either failing, the item goes all the same.
    let mut release_key = key_name.is_some();
    let mut count = true;
    loop {
        let mut items = vec![table.delete(item_key.clone(), "attribute_exists(pk)", &[])?];
        if let (true, Some(key_name)) = (release_key, key_name) {
            items.push(release(table, owner, key_name, client_id)?);
        }
        if count {
            items.push(count_down(table, owner)?);
        }
        let outcome = table.transact(items, what).await?;
        let codes = match outcome {
            Transaction::Committed => return Ok(true),
            _ if outcome.failed_at(0) => return Ok(false),
            _ if release_key && outcome.failed_at(1) => {
                release_key = false;
                continue;
            }
            _ if count && outcome.failed_at(if release_key { 2 } else { 1 }) => {
                warn!("{what}: the quota count was already zero");
                count = false;
                continue;
            }
            Transaction::Canceled(codes) => codes,
        };
        return Err(IndexError::Failed(format!("{what} canceled: {codes:?}")));
    }
}
