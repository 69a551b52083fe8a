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

#[macro_use]
#[path = "../../common/owner_index_calls.rs"]
mod owner_index_calls;

// Every call of the port through [`StoppingIndex::gate`], under its own
// name, so that a test's [`StopAt`] names the call as the trait does.
owner_index_through!(StoppingIndex, gate);
