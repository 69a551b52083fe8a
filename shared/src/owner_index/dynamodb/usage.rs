//! What Auth0's log stream tells of a client (`auth0_log_events`,
//! docs/owner-index.md, "Auth0's log stream"): its owner found by its id
//! alone (the sparse global index `by_client_id`, keys only), and when it
//! last got a token (`last_used_at`, µs), which only moves forward.

use super::codec::{Table, applied, failed, n, s, text};
use super::keys::{BY_CLIENT_ID, CLIENT_PREFIX, client_key, owner_of_pk};
use crate::domain::Owner;
use crate::error::IndexError;

/// The owner of the client item of `client_id`, by [`BY_CLIENT_ID`]. The
/// index also holds the creations and idempotency keys that name the id;
/// only a `CLIENT#` item is the client.
pub(super) async fn owner_of(table: &Table, client_id: &str) -> Result<Option<Owner>, IndexError> {
    let values = [(":id", s(client_id)), (":client", s(CLIENT_PREFIX))];
    let output = table
        .query(
            BY_CLIENT_ID,
            "client_id = :id AND begins_with(sk, :client)",
            &values,
        )
        .limit(1)
        .send()
        .await
        .map_err(failed("find a client's owner"))?;
    Ok(output
        .items()
        .first()
        .and_then(|item| text(item, "pk"))
        .and_then(|pk| owner_of_pk(&pk)))
}

/// `last_used_at` moved to `at`, on condition that the item exists (an
/// update would otherwise make one) and holds no time at or after `at`:
/// a duplicate or an older event changes nothing. A retry of an attempt
/// that was applied fails its condition, which is what it would have
/// produced.
pub(super) async fn record_use(
    table: &Table,
    owner: &Owner,
    client_id: &str,
    at: u64,
) -> Result<bool, IndexError> {
    let sent = table
        .update_item(client_key(owner, client_id))
        .update_expression("SET last_used_at = :at")
        .condition_expression(
            "attribute_exists(pk) AND (attribute_not_exists(last_used_at) OR last_used_at < :at)",
        )
        .expression_attribute_values(":at", n(at))
        .send()
        .await;
    applied(sent, "record a client's use")
}
