//! An owner index that stops at a chosen call, for crash tests: the
//! request it serves hangs there, before the call is made or after it
//! returned, and the test drops it, as when a function is killed mid-way.

use std::sync::Mutex;

use m2m_shared::domain::{
    Begun, ChangeBegun, Creation, IdempotencyRecord, IndexedClient, Owner, OwnerIndex, Page,
    PendingChange, Position, StaleOperation, SweepLease, SweepRemoval, SweepState, TableCensus,
    WriteCount,
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

/// The owner index's calls, each passed through [`StoppingIndex::gate`]
/// under its own name, so that a test's [`StopAt`] names the call as the
/// trait does. Written once here: a call added to the trait is one line.
macro_rules! gated {
    ($($call:ident($($arg:ident: $type:ty),*) -> $answer:ty;)*) => {
        impl OwnerIndex for StoppingIndex {
            $(
                async fn $call(&self, $($arg: $type),*) -> Result<$answer, IndexError> {
                    self.gate(stringify!($call), self.inner.$call($($arg),*)).await
                }
            )*
        }
    };
}

gated! {
    idempotency(owner: &Owner, key: &str) -> Option<IdempotencyRecord>;
    begin_creation(creation: &Creation, max: u32) -> Begun;
    record_client_id(creation: &Creation) -> ();
    finish_creation(creation: &Creation, client: &IndexedClient) -> ();
    abandon_creation(creation: &Creation) -> ();
    list(owner: &Owner, after: Option<&Position>, limit: Option<usize>) -> Page;
    get(owner: &Owner, client_id: &str) -> Option<IndexedClient>;
    begin_deletion(owner: &Owner, client_id: &str) -> Option<IndexedClient>;
    cancel_deletion(client: &IndexedClient) -> ();
    remove(client: &IndexedClient) -> ();
    begin_change(client: &IndexedClient, change: &PendingChange, stale_before: u64) -> ChangeBegun;
    end_change(client: &IndexedClient, change_id: &str) -> bool;
    count_owner_write(owner: &Owner, now: u64, limit: u32) -> WriteCount;
    cursor_key(create: bool) -> Option<SecretString>;
    stale_operations(before: u64) -> Vec<StaleOperation>;
    mark_swept(owner: &Owner, client_id: &str, generation: u64) -> bool;
    import(client: &IndexedClient, generation: u64) -> ();
    unswept(generation: u64, created_before: u64) -> Vec<IndexedClient>;
    sweep_state() -> SweepState;
    take_sweep_lease(lease: &SweepLease) -> Option<SweepState>;
    save_sweep_state(state: &SweepState, lease: &SweepLease) -> bool;
    begin_sweep_removal(client: &IndexedClient, generation: u64, lease: &SweepLease) -> SweepRemoval;
    census() -> TableCensus;
}
