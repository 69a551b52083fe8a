//! An owner index that stops at a chosen call, for crash tests: the
//! request it serves hangs there, before the call is made or after it
//! returned, and the test drops it, as when a function is killed mid-way.

use std::sync::Mutex;

use m2m_shared::domain::{
    Begun, ChangeBegun, Creation, IdempotencyRecord, IndexedClient, Owner, OwnerIndex, Page,
    PendingChange, Position, StaleOperation, SweepState,
};
use m2m_shared::error::IndexError;
use m2m_shared::owner_index::DynamoIndex;
use m2m_shared::secret_string::SecretString;

/// Where the request stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopAt {
    /// Before the named call is made.
    Before(&'static str),
    /// After the named call returned (its write is done).
    After(&'static str),
}

pub struct StoppingIndex {
    inner: DynamoIndex,
    stop: Mutex<Option<StopAt>>,
}

impl StoppingIndex {
    pub fn new(inner: DynamoIndex, stop: StopAt) -> Self {
        StoppingIndex {
            inner,
            stop: Mutex::new(Some(stop)),
        }
    }

    /// Whether to stop at `call`, `after` it or before: once.
    fn stops(&self, call: &'static str, after: bool) -> bool {
        let mut stop = self.stop.lock().unwrap();
        let here = match *stop {
            Some(StopAt::Before(name)) => !after && name == call,
            Some(StopAt::After(name)) => after && name == call,
            None => false,
        };
        if here {
            *stop = None;
        }
        here
    }

    async fn gate<T>(&self, call: &'static str, work: impl Future<Output = T>) -> T {
        if self.stops(call, false) {
            std::future::pending::<()>().await;
        }
        let done = work.await;
        if self.stops(call, true) {
            std::future::pending::<()>().await;
        }
        done
    }
}

impl OwnerIndex for StoppingIndex {
    async fn idempotency(
        &self,
        owner: &Owner,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, IndexError> {
        self.gate("idempotency", self.inner.idempotency(owner, key))
            .await
    }
    async fn begin_creation(&self, creation: &Creation, max: u32) -> Result<Begun, IndexError> {
        self.gate("begin_creation", self.inner.begin_creation(creation, max))
            .await
    }
    async fn record_client_id(&self, creation: &Creation) -> Result<(), IndexError> {
        self.gate("record_client_id", self.inner.record_client_id(creation))
            .await
    }
    async fn finish_creation(
        &self,
        creation: &Creation,
        client: &IndexedClient,
    ) -> Result<(), IndexError> {
        self.gate(
            "finish_creation",
            self.inner.finish_creation(creation, client),
        )
        .await
    }
    async fn abandon_creation(&self, creation: &Creation) -> Result<(), IndexError> {
        self.gate("abandon_creation", self.inner.abandon_creation(creation))
            .await
    }
    async fn list(
        &self,
        owner: &Owner,
        after: Option<&Position>,
        limit: Option<usize>,
    ) -> Result<Page, IndexError> {
        self.gate("list", self.inner.list(owner, after, limit))
            .await
    }
    async fn get(
        &self,
        owner: &Owner,
        client_id: &str,
    ) -> Result<Option<IndexedClient>, IndexError> {
        self.gate("get", self.inner.get(owner, client_id)).await
    }
    async fn begin_deletion(
        &self,
        owner: &Owner,
        client_id: &str,
    ) -> Result<Option<IndexedClient>, IndexError> {
        self.gate(
            "begin_deletion",
            self.inner.begin_deletion(owner, client_id),
        )
        .await
    }
    async fn cancel_deletion(&self, client: &IndexedClient) -> Result<(), IndexError> {
        self.gate("cancel_deletion", self.inner.cancel_deletion(client))
            .await
    }
    async fn remove(&self, client: &IndexedClient) -> Result<(), IndexError> {
        self.gate("remove", self.inner.remove(client)).await
    }
    async fn begin_change(
        &self,
        client: &IndexedClient,
        change: &PendingChange,
        stale_before: u64,
    ) -> Result<ChangeBegun, IndexError> {
        self.gate(
            "begin_change",
            self.inner.begin_change(client, change, stale_before),
        )
        .await
    }
    async fn end_change(
        &self,
        client: &IndexedClient,
        change_id: &str,
    ) -> Result<bool, IndexError> {
        self.gate("end_change", self.inner.end_change(client, change_id))
            .await
    }
    async fn cursor_key(&self, create: bool) -> Result<Option<SecretString>, IndexError> {
        self.gate("cursor_key", self.inner.cursor_key(create)).await
    }
    async fn stale_operations(&self, before: u64) -> Result<Vec<StaleOperation>, IndexError> {
        self.inner.stale_operations(before).await
    }
    async fn mark_swept(
        &self,
        owner: &Owner,
        client_id: &str,
        generation: u64,
    ) -> Result<bool, IndexError> {
        self.inner.mark_swept(owner, client_id, generation).await
    }
    async fn import(&self, client: &IndexedClient, generation: u64) -> Result<(), IndexError> {
        self.inner.import(client, generation).await
    }
    async fn unswept(
        &self,
        generation: u64,
        created_before: u64,
    ) -> Result<Vec<IndexedClient>, IndexError> {
        self.inner.unswept(generation, created_before).await
    }
    async fn sweep_state(&self) -> Result<SweepState, IndexError> {
        self.inner.sweep_state().await
    }
    async fn save_sweep_state(&self, state: &SweepState) -> Result<(), IndexError> {
        self.inner.save_sweep_state(state).await
    }
}
