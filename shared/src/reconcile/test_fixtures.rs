//! What the reconciler's unit tests share: a reconciler on Auth0 and the
//! index in memory for which anything begun is already stale, and the
//! things they seed.

use std::time::Duration;

use tokio::time::Instant;

use super::reconciler::Reconciler;
use crate::domain::{Creation, GrantPolicy, IndexedClient, Owner, now_micros};
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
