//! What Auth0's log stream tells of a client (`auth0_log_events`,
//! docs/owner-index.md, "Auth0's log stream"): its owner found by its id
//! alone (the sparse global index `by_client_id`, keys only), and when it
//! last got a token (`last_used_at`, µs), which only moves forward.

use super::clients::set_number;
use super::codec::{Table, failed, s, text};
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

/// `last_used_at` moved to `at`, on condition that the item exists and
/// holds no time at or after `at`: a duplicate or an older event changes
/// nothing.
pub(super) async fn record_use(
    table: &Table,
    owner: &Owner,
    client_id: &str,
    at: u64,
) -> Result<bool, IndexError> {
    let later = "attribute_not_exists(last_used_at) OR last_used_at < :value";
    let key = client_key(owner, client_id);
    let used_at = ("last_used_at", at);
    set_number(table, key, used_at, Some(later), "record a client's use").await
}
