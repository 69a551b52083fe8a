//! Where each item lives: its `pk` and `sk`, and the indexes that find it
//! (docs/owner-index.md, "Items"). An owner's items share the owner's
//! partition; the service's own are in `SERVICE`, which list may read; the
//! shared management token has a partition of its own, which only the
//! functions that call Auth0 may read (`dynamodb:LeadingKeys`).

use super::codec::{Item, key};
use crate::domain::Owner;

/// The local index that lists an owner's clients in creation order.
pub(super) const BY_CREATION: &str = "by_creation";
/// The global index of operations under way.
pub(super) const REPAIRS: &str = "repairs";
/// The global index of items by `client_id` and `sk` (keys only): a
/// client's owner, from its id alone (Auth0's log stream).
pub(super) const BY_CLIENT_ID: &str = "by_client_id";
/// The `repair` of every item in [`REPAIRS`]: one constant partition.
pub(super) const PENDING: &str = "PENDING";

/// How a client item's `sk` begins.
pub(super) const CLIENT_PREFIX: &str = "CLIENT#";
/// How a creation's `sk` begins.
pub(super) const CREATING_PREFIX: &str = "CREATING#";
/// How an owner's partition key begins.
pub(super) const OWNER_PREFIX: &str = "OWNER#";
/// The `sk` of an owner's quota count.
pub(super) const QUOTA: &str = "QUOTA";
const SERVICE: &str = "SERVICE";
/// The shared management token item's partition (and sort) key: never an
/// owner's (`OWNER#<owner>`) nor `SERVICE`.
pub const TOKEN_PK: &str = "MANAGEMENT_TOKEN";

/// The owner's partition.
pub(super) fn owner_pk(owner: &Owner) -> String {
    format!("{OWNER_PREFIX}{owner}")
}

/// The owner whose partition `pk` is, if it is an owner's.
pub(super) fn owner_of_pk(pk: &str) -> Option<Owner> {
    pk.strip_prefix(OWNER_PREFIX).and_then(Owner::parse)
}

/// A client's item.
pub(super) fn client_key(owner: &Owner, client_id: &str) -> Item {
    key(owner_pk(owner), format!("{CLIENT_PREFIX}{client_id}"))
}

/// A creation in progress, by the id it chose.
pub(super) fn creation_key(owner: &Owner, chosen_id: &str) -> Item {
    key(owner_pk(owner), format!("{CREATING_PREFIX}{chosen_id}"))
}

/// The owner's quota count.
pub(super) fn quota_key(owner: &Owner) -> Item {
    key(owner_pk(owner), QUOTA.into())
}

/// An idempotency key's record.
pub(super) fn idempotency_key(owner: &Owner, key_name: &str) -> Item {
    key(owner_pk(owner), format!("IDEMPOTENCY#{key_name}"))
}

/// The owner's window of counted writes.
pub(super) fn writes_key(owner: &Owner) -> Item {
    key(owner_pk(owner), "WRITES".into())
}

/// The key list cursors are signed with.
pub(super) fn cursor_key() -> Item {
    key(SERVICE.into(), "CURSOR_KEY".into())
}

/// Where the reconciler's sweep stands.
pub(super) fn sweep_key() -> Item {
    key(SERVICE.into(), "SWEEP".into())
}

/// The deployment's shared management token.
pub(super) fn token_key() -> Item {
    key(TOKEN_PK.into(), TOKEN_PK.into())
}
