//! What Auth0's log stream tells of a client, in memory: its owner by its
//! id alone, and `last_used_at`, only forward (the DynamoDB adapter's
//! `usage.rs`).

use super::{MemoryIndex, key_of};
use crate::domain::Owner;

impl MemoryIndex {
    /// The owner of the client `client_id`, whatever its state (DynamoDB's
    /// `by_client_id` holds every client item).
    pub(super) fn owner_by_id(&self, client_id: &str) -> Option<Owner> {
        self.state()
            .clients
            .values()
            .find(|entry| entry.client.client_id == client_id)
            .map(|entry| entry.client.owner.clone())
    }

    /// `last_used_at` moved to `at` unless it is there or later already;
    /// whether it moved.
    pub(super) fn used_at(&self, owner: &Owner, client_id: &str, at: u64) -> bool {
        let mut state = self.state();
        let Some(entry) = state.clients.get_mut(&key_of(owner, client_id)) else {
            return false;
        };
        if entry.client.last_used_at.is_some_and(|last| last >= at) {
            return false;
        }
        entry.client.last_used_at = Some(at);
        true
    }
}
