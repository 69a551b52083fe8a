//! The owner index in memory: the same rules as the DynamoDB adapter, for
//! tests of the operations and the reconciler that need no server. The
//! reconciler's calls are in `memory/reconciler.rs`, the log stream's in
//! `memory/usage.rs`.

mod reconciler;
mod usage;
mod write_limit;

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use crate::domain::IDEMPOTENCY_TTL_SECONDS;
use crate::domain::{
    Begun, ChangeBegun, Creation, IdempotencyRecord, IndexedClient, KeyState, Owner, OwnerIndex,
    Page, PendingChange, Position, StaleOperation, SweepLease, SweepRemoval, SweepState,
    TableCensus, WriteCount, now_micros,
};
use crate::error::IndexError;
use crate::secret_string::SecretString;

#[derive(Clone, Debug)]
struct Entry {
    client: IndexedClient,
    /// When its deletion began, if it did.
    deleting_since: Option<u64>,
    swept: Option<u64>,
}

/// An idempotency key's record, as DynamoDB's item holds it.
#[derive(Clone, Debug)]
struct KeyRecord {
    record: IdempotencyRecord,
    /// Whose it is: the chosen id of the creation that took it, then the
    /// client it made. Only that one releases it.
    client_id: String,
    /// When it expires (µs); an expired record stays until it is replaced
    /// or released, as DynamoDB keeps it until its TTL deletes it.
    expires: u64,
}

#[derive(Default)]
struct State {
    clients: BTreeMap<(String, String), Entry>,
    creations: BTreeMap<(String, String), Creation>,
    quota: BTreeMap<String, u32>,
    keys: BTreeMap<(String, String), KeyRecord>,
    cursor_key: Option<SecretString>,
    sweep: SweepState,
    sweep_lease: Option<SweepLease>,
    /// Each owner's window of counted writes: when it opened, how many
    /// (`write_limit.rs`).
    writes: BTreeMap<String, (u64, u32)>,
}

/// An owner index held in memory.
#[derive(Default)]
pub struct MemoryIndex {
    state: Mutex<State>,
}

impl MemoryIndex {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The owner's quota count (for tests of the invariants).
    pub fn quota(&self, owner: &Owner) -> u32 {
        self.state().quota.get(owner.as_str()).copied().unwrap_or(0)
    }

    /// Every creation under way.
    pub fn creations(&self) -> Vec<Creation> {
        self.state().creations.values().cloned().collect()
    }

    /// Makes the record of `key` expire, as if its 24 h had passed, and
    /// keeps it, as DynamoDB keeps an expired item until its TTL deletes it
    /// (eventually): for tests that it is treated as gone all the same.
    /// `false` if there is no such record.
    pub fn expire_idempotency_key(&self, owner: &Owner, key: &str) -> bool {
        match self.state().keys.get_mut(&key_of(owner, key)) {
            Some(record) => {
                record.expires = now_micros().saturating_sub(60_000_000);
                true
            }
            None => false,
        }
    }
}

fn key_of(owner: &Owner, id: &str) -> (String, String) {
    (owner.as_str().to_owned(), id.to_owned())
}

impl State {
    /// The index's entry of `client`, by its owner and id.
    fn entry_of(&mut self, client: &IndexedClient) -> Option<&mut Entry> {
        self.clients
            .get_mut(&key_of(&client.owner, &client.client_id))
    }

    /// Ends `creation`'s record; `false` if it was no longer recorded.
    fn take_creation(&mut self, creation: &Creation) -> bool {
        self.creations
            .remove(&key_of(&creation.owner, &creation.chosen_id))
            .is_some()
    }

    fn live_key(&self, owner: &Owner, key: &str) -> Option<&IdempotencyRecord> {
        self.keys
            .get(&key_of(owner, key))
            .filter(|record| record.expires > now_micros())
            .map(|record| &record.record)
    }

    /// Gives the quota back and releases `key` if it is still `client_id`'s
    /// (a record taken over since by a later request is not).
    fn give_back(&mut self, owner: &Owner, key: Option<&str>, client_id: &str) {
        if let Some(count) = self.quota.get_mut(owner.as_str()) {
            *count = count.saturating_sub(1);
        }
        if let Some(key) = key {
            let names_it = self
                .keys
                .get(&key_of(owner, key))
                .is_some_and(|record| record.client_id == client_id);
            if names_it {
                self.keys.remove(&key_of(owner, key));
            }
        }
    }
}

/// Writes the port's calls kept in `memory/*.rs`, none of which fails:
/// `call(arguments) -> answer => method`, one line a call.
macro_rules! kept_calls {
    ($($call:ident($($arg:ident: $type:ty),*) -> $answer:ty => $method:ident;)*) => {
        $(
            async fn $call(&self, $($arg: $type),*) -> Result<$answer, IndexError> {
                Ok(self.$method($($arg),*))
            }
        )*
    };
}

impl OwnerIndex for MemoryIndex {
    async fn idempotency(
        &self,
        owner: &Owner,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, IndexError> {
        Ok(self.state().live_key(owner, key).cloned())
    }

    async fn begin_creation(
        &self,
        creation: &Creation,
        max_clients: u32,
    ) -> Result<Begun, IndexError> {
        let mut state = self.state();
        let owner = &creation.owner;
        if let Some(claim) = &creation.idempotency
            && state.live_key(owner, &claim.key).is_some()
        {
            return Ok(Begun::KeyTaken);
        }
        let count = state.quota.get(owner.as_str()).copied().unwrap_or(0);
        if count >= max_clients {
            return Ok(Begun::LimitReached);
        }
        // DynamoDB's transaction puts the creation's item only if there is
        // none: all or nothing.
        if state
            .creations
            .contains_key(&key_of(owner, &creation.chosen_id))
        {
            return Err(IndexError::Failed(
                "a creation of this id is under way".into(),
            ));
        }
        state.quota.insert(owner.as_str().to_owned(), count + 1);
        if let Some(claim) = &creation.idempotency {
            let record = KeyRecord {
                record: IdempotencyRecord {
                    request_hash: claim.request_hash.clone(),
                    state: KeyState::Running,
                },
                client_id: creation.chosen_id.clone(),
                expires: now_micros() + IDEMPOTENCY_TTL_SECONDS * 1_000_000,
            };
            state.keys.insert(key_of(owner, &claim.key), record);
        }
        state
            .creations
            .insert(key_of(owner, &creation.chosen_id), creation.clone());
        Ok(Begun::Started)
    }

    async fn record_client_id(&self, creation: &Creation) -> Result<(), IndexError> {
        let Some(client_id) = &creation.client_id else {
            return Ok(());
        };
        let mut state = self.state();
        // Undone meanwhile (the reconciler): its creator must hear it, to
        // delete the client Auth0 made, which nothing else names.
        let recorded = state
            .creations
            .get_mut(&key_of(&creation.owner, &creation.chosen_id))
            .ok_or_else(|| IndexError::Failed("the creation is no longer recorded".into()))?;
        recorded.client_id = Some(client_id.clone());
        Ok(())
    }

    async fn finish_creation(
        &self,
        creation: &Creation,
        client: &IndexedClient,
    ) -> Result<(), IndexError> {
        let mut state = self.state();
        let owner = &creation.owner;
        // One transaction in DynamoDB, which puts the client's item only if
        // there is none (a backfill may have imported it meanwhile).
        if state
            .clients
            .contains_key(&key_of(owner, &client.client_id))
        {
            return Err(IndexError::Failed("a client of this id is recorded".into()));
        }
        if !state.take_creation(creation) {
            return Err(IndexError::Failed(
                "the creation is no longer recorded".into(),
            ));
        }
        state.clients.insert(
            key_of(owner, &client.client_id),
            Entry {
                client: client.clone(),
                deleting_since: None,
                swept: None,
            },
        );
        if let Some(claim) = &creation.idempotency
            && let Some(record) = state.keys.get_mut(&key_of(owner, &claim.key))
        {
            record.record.state = KeyState::Done {
                client_id: client.client_id.clone(),
            };
            record.client_id.clone_from(&client.client_id);
        }
        Ok(())
    }

    async fn abandon_creation(&self, creation: &Creation) -> Result<(), IndexError> {
        let mut state = self.state();
        let owner = &creation.owner;
        if state.take_creation(creation) {
            let key = creation
                .idempotency
                .as_ref()
                .map(|claim| claim.key.as_str());
            state.give_back(owner, key, &creation.chosen_id);
        }
        Ok(())
    }

    async fn list(
        &self,
        owner: &Owner,
        after: Option<&Position>,
        limit: Option<usize>,
    ) -> Result<Page, IndexError> {
        let state = self.state();
        let mut listed: Vec<&IndexedClient> = state
            .clients
            .values()
            .filter(|entry| entry.client.owner == *owner && entry.deleting_since.is_none())
            .map(|entry| &entry.client)
            .filter(|client| after.is_none_or(|after| client.position() > *after))
            .collect();
        listed.sort_by_key(|client| client.position());
        let limit = limit.unwrap_or(usize::MAX);
        let more = listed.len() > limit;
        let clients: Vec<IndexedClient> = listed.into_iter().take(limit).cloned().collect();
        let next = more
            .then(|| clients.last().map(IndexedClient::position))
            .flatten();
        Ok(Page { clients, next })
    }

    async fn get(
        &self,
        owner: &Owner,
        client_id: &str,
    ) -> Result<Option<IndexedClient>, IndexError> {
        Ok(self
            .state()
            .clients
            .get(&key_of(owner, client_id))
            .filter(|entry| entry.deleting_since.is_none())
            .map(|entry| entry.client.clone()))
    }

    async fn begin_deletion(
        &self,
        owner: &Owner,
        client_id: &str,
    ) -> Result<Option<IndexedClient>, IndexError> {
        let mut state = self.state();
        let Some(entry) = state.clients.get_mut(&key_of(owner, client_id)) else {
            return Ok(None);
        };
        if entry.deleting_since.is_some() {
            return Ok(None);
        }
        entry.deleting_since = Some(now_micros());
        Ok(Some(entry.client.clone()))
    }

    async fn cancel_deletion(&self, client: &IndexedClient) -> Result<(), IndexError> {
        if let Some(entry) = self.state().entry_of(client) {
            entry.deleting_since = None;
        }
        Ok(())
    }

    async fn remove(&self, client: &IndexedClient) -> Result<(), IndexError> {
        let mut state = self.state();
        if state
            .clients
            .remove(&key_of(&client.owner, &client.client_id))
            .is_some()
        {
            state.give_back(
                &client.owner,
                client.idempotency_key.as_deref(),
                &client.client_id,
            );
        }
        Ok(())
    }

    async fn begin_change(
        &self,
        client: &IndexedClient,
        change: &PendingChange,
        stale_before: u64,
    ) -> Result<ChangeBegun, IndexError> {
        let mut state = self.state();
        // As DynamoDB's condition (the item active, its change the one
        // read): a client gone or being deleted since it was read is as
        // busy as one another change began on.
        let Some(entry) = state.entry_of(client) else {
            return Ok(ChangeBegun::Busy);
        };
        if entry.deleting_since.is_some() {
            return Ok(ChangeBegun::Busy);
        }
        let read = client.change.as_ref().map(|c| &c.id);
        if entry.client.change.as_ref().map(|c| &c.id) != read {
            return Ok(ChangeBegun::Busy);
        }
        let mut begun = change.clone();
        let taken_over = client.change.clone();
        if let Some(under_way) = &taken_over {
            if under_way.under_way(change.started_at, stale_before) {
                return Ok(ChangeBegun::Busy);
            }
            begun.aspects = begun.aspects.union(under_way.aspects);
        }
        entry.client.change = Some(begun);
        Ok(ChangeBegun::Started {
            client: entry.client.clone(),
            taken_over,
        })
    }

    async fn end_change(
        &self,
        client: &IndexedClient,
        change_id: &str,
    ) -> Result<bool, IndexError> {
        let mut state = self.state();
        let Some(entry) = state.entry_of(client) else {
            return Ok(false);
        };
        let ours = entry
            .client
            .change
            .as_ref()
            .is_some_and(|change| change.id == change_id);
        if !ours || entry.deleting_since.is_some() {
            return Ok(false);
        }
        entry.client.name.clone_from(&client.name);
        entry.client.description.clone_from(&client.description);
        entry.client.status = client.status;
        if client.scopes.is_some() {
            entry.client.scopes.clone_from(&client.scopes);
        }
        if client.credentials.is_some() {
            entry.client.credentials.clone_from(&client.credentials);
        }
        entry.client.change.clone_from(&client.change);
        Ok(true)
    }

    async fn cursor_key(&self, create: bool) -> Result<Option<SecretString>, IndexError> {
        let mut state = self.state();
        if state.cursor_key.is_none() && create {
            state.cursor_key = Some(SecretString::new(format!(
                "memory-{}",
                ksuid::Ksuid::generate().to_base62()
            )));
        }
        Ok(state.cursor_key.clone())
    }

    kept_calls! {
        count_owner_write(owner: &Owner, now: u64, limit: u32) -> WriteCount => count_write;
        stale_operations(started_before: u64) -> Vec<StaleOperation> => stale;
        mark_swept(owner: &Owner, client_id: &str, generation: u64) -> bool => mark_seen;
        import(client: &IndexedClient, creation_id: Option<&str>, generation: u64) -> () => import_client;
        unswept(generation: u64, created_before: u64) -> Vec<IndexedClient> => unseen;
        sweep_state() -> SweepState => read_sweep;
        take_sweep_lease(lease: &SweepLease) -> Option<SweepState> => lease_sweep;
        save_sweep_state(state: &SweepState, lease: &SweepLease) -> bool => write_sweep;
        begin_sweep_removal(client: &IndexedClient, generation: u64, lease: &SweepLease) -> SweepRemoval => mark_gone;
        owner_of(client_id: &str) -> Option<Owner> => owner_by_id;
        record_use(owner: &Owner, client_id: &str, at: u64) -> bool => used_at;
        census() -> TableCensus => take_census;
    }
}
