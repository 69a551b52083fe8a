//! The reconciler's calls in memory, with the same conditions as the
//! table's (`dynamodb/repairs.rs`, `dynamodb/sweep.rs`, `dynamodb/census.rs`):
//! the operations gone stale, the sweep's marks,
//! imports and removals, where it stands and its lease, and the audit's
//! census. `MemoryIndex`'s port delegates each of them here.

use super::{Entry, MemoryIndex, key_of};
use crate::domain::{
    IndexedClient, Owner, StaleOperation, SweepLease, SweepRemoval, SweepState, TableCensus,
    now_micros,
};

impl MemoryIndex {
    /// Creations, deletions and changes begun before `started_before`, in
    /// the order DynamoDB's `repairs` index answers them.
    pub(super) fn stale(&self, started_before: u64) -> Vec<StaleOperation> {
        let state = self.state();
        let creations = state.creations.values().map(|creation| {
            (
                creation.started_at,
                StaleOperation::Creation(creation.clone()),
            )
        });
        // A client being deleted is a deletion, whatever change it had.
        let clients = state.clients.values().filter_map(|entry| {
            match (entry.deleting_since, &entry.client.change) {
                (Some(since), _) => Some((since, StaleOperation::Deletion(entry.client.clone()))),
                (None, Some(change)) => Some((
                    change.started_at,
                    StaleOperation::Change(entry.client.clone()),
                )),
                (None, None) => None,
            }
        });
        let mut stale: Vec<(u64, StaleOperation)> = creations
            .chain(clients)
            .filter(|(began, _)| *began < started_before)
            .collect();
        // In the order DynamoDB's `repairs` index answers them: by when
        // they began.
        stale.sort_by_key(|(began, _)| *began);
        stale.into_iter().map(|(_, operation)| operation).collect()
    }

    pub(super) fn mark_seen(&self, owner: &Owner, client_id: &str, generation: u64) -> bool {
        match self.state().clients.get_mut(&key_of(owner, client_id)) {
            Some(entry) => {
                entry.swept = Some(generation);
                true
            }
            None => false,
        }
    }

    pub(super) fn import_client(
        &self,
        client: &IndexedClient,
        creation_id: Option<&str>,
        generation: u64,
    ) {
        let mut state = self.state();
        let key = key_of(&client.owner, &client.client_id);
        // Not a client being created right now: its creation records it.
        let creating = creation_id
            .is_some_and(|chosen| state.creations.contains_key(&key_of(&client.owner, chosen)));
        if state.clients.contains_key(&key) || state.creations.contains_key(&key) || creating {
            return;
        }
        *state
            .quota
            .entry(client.owner.as_str().to_owned())
            .or_default() += 1;
        state.clients.insert(
            key,
            Entry {
                client: client.clone(),
                deleting_since: None,
                swept: Some(generation),
            },
        );
    }

    pub(super) fn unseen(&self, generation: u64, created_before: u64) -> Vec<IndexedClient> {
        self.state()
            .clients
            .values()
            .filter(|entry| {
                entry.swept != Some(generation)
                    && entry.deleting_since.is_none()
                    && entry.client.created_at < created_before
            })
            .map(|entry| entry.client.clone())
            .collect()
    }

    pub(super) fn read_sweep(&self) -> SweepState {
        self.state().sweep.clone()
    }

    pub(super) fn lease_sweep(&self, lease: &SweepLease) -> Option<SweepState> {
        let mut state = self.state();
        let free = state
            .sweep_lease
            .as_ref()
            .is_none_or(|held| held.until < now_micros() || held.holder == lease.holder);
        if !free {
            return None;
        }
        state.sweep_lease = Some(lease.clone());
        Some(state.sweep.clone())
    }

    pub(super) fn write_sweep(&self, sweep: &SweepState, lease: &SweepLease) -> bool {
        let mut state = self.state();
        let ours = state
            .sweep_lease
            .as_ref()
            .is_some_and(|held| held.holder == lease.holder);
        if ours {
            state.sweep = sweep.clone();
            state.sweep_lease = Some(lease.clone());
        }
        ours
    }

    pub(super) fn mark_gone(
        &self,
        client: &IndexedClient,
        generation: u64,
        lease: &SweepLease,
    ) -> SweepRemoval {
        let mut state = self.state();
        let now = now_micros();
        let held = state
            .sweep_lease
            .as_ref()
            .is_some_and(|held| held.holder == lease.holder && held.until > now);
        if !held {
            return SweepRemoval::LeaseLost;
        }
        let Some(entry) = state
            .clients
            .get_mut(&key_of(&client.owner, &client.client_id))
        else {
            return SweepRemoval::Kept;
        };
        // Not written since the sweep began (as the table's condition).
        let unwritten = entry.deleting_since.is_none()
            && entry.client.created_at == client.created_at
            && entry.client.created_at < generation
            && entry.client.change.is_none()
            && entry.swept.is_none_or(|swept| swept < generation);
        if !unwritten {
            return SweepRemoval::Kept;
        }
        entry.deleting_since = Some(now);
        SweepRemoval::Marked(client.clone())
    }

    pub(super) fn take_census(&self) -> TableCensus {
        let state = self.state();
        let (deleting, clients): (Vec<&Entry>, Vec<&Entry>) = state
            .clients
            .values()
            .partition(|entry| entry.deleting_since.is_some());
        let clients_of = |entries: Vec<&Entry>| -> Vec<IndexedClient> {
            entries
                .into_iter()
                .map(|entry| entry.client.clone())
                .collect()
        };
        TableCensus {
            clients: clients_of(clients),
            deleting: clients_of(deleting),
            creations: state.creations.values().cloned().collect(),
            quotas: state
                .quota
                .iter()
                .filter_map(|(owner, count)| Some((Owner::parse(owner)?, u64::from(*count))))
                .collect(),
        }
    }
}
