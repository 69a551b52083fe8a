//! What the reconciler's unit tests share: a reconciler on Auth0 and the
//! index in memory for which anything begun is already stale, and the
//! things they seed.

use std::time::Duration;

use tokio::time::Instant;

use super::reconciler::Reconciler;
use crate::domain::{
    Aspects, ClientUpdate, Clients, Creation, GrantPolicy, Grants, IndexedClient, Owner,
    OwnerIndex, PendingChange, now_micros,
};
use crate::owner_index::MemoryIndex;
use crate::testing::MemoryDirectory;

pub fn owner(id: &str) -> Owner {
    Owner::parse(id).unwrap()
}

pub fn later() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

/// The grant clients get.
pub fn policy() -> GrantPolicy {
    GrantPolicy {
        audience: "https://butlrauth/".into(),
        scopes: vec!["read:spaces".into(), "read:rooms".into()],
    }
}

/// A reconciler for which anything begun is already stale.
pub fn reconciler() -> Reconciler<MemoryDirectory, MemoryIndex> {
    Reconciler::with_stale_after(
        MemoryDirectory::default(),
        MemoryIndex::new(),
        policy(),
        Duration::ZERO,
    )
}

pub fn creation(id: &str, who: &str) -> Creation {
    Creation {
        owner: owner(who),
        chosen_id: id.into(),
        client_id: None,
        name: id.into(),
        description: String::new(),
        started_at: now_micros(),
        idempotency: None,
        scopes: vec![],
    }
}

pub fn indexed(id: &str, who: &str) -> IndexedClient {
    IndexedClient::imported(id.into(), owner(who), id.into(), String::new())
}

/// `who`'s client `id` imported into `index` (as one made before the
/// index was); returns it.
pub async fn imported(index: &MemoryIndex, id: &str, who: &str) -> IndexedClient {
    let client = indexed(id, who);
    index.import(&client, None, 0).await.unwrap();
    client
}

/// Renames the client `id` in Auth0, past the service (as in Auth0's
/// dashboard).
pub async fn rename_in_auth0(directory: &MemoryDirectory, id: &str, name: &str) {
    let update = ClientUpdate {
        name: Some(name.into()),
        description: None,
        scopes: None,
    };
    directory.update_client(id, &update, later()).await.unwrap();
}

/// A change of `aspects` begun on `who`'s client `id`, as a request begins
/// one: the client as read before it, and the change.
pub async fn begin_change(
    index: &MemoryIndex,
    who: &str,
    id: &str,
    aspects: Aspects,
) -> (IndexedClient, PendingChange) {
    let change = PendingChange::begin(aspects);
    let read = index.get(&owner(who), id).await.unwrap().unwrap();
    index.begin_change(&read, &change, 0).await.unwrap();
    (read, change)
}

/// `who`'s creation of `id` begun in `index` (under a quota of 50);
/// returns it.
pub async fn begun(index: &MemoryIndex, id: &str, who: &str) -> Creation {
    let begun = creation(id, who);
    index.begin_creation(&begun, 50).await.unwrap();
    begun
}

/// Grants the client `id` `grant` in Auth0.
pub async fn grant_in_auth0(directory: &MemoryDirectory, id: &str, grant: &GrantPolicy) {
    directory.create_grant(id, grant, later()).await.unwrap();
}
