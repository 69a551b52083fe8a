//! The owner index one operation sees: the schedule's `MemoryIndex`, shared
//! by all, behind a script of what happens at each of this operation's
//! calls (counted from 0): a refusal, a write applied and then an error, the
//! function stopping before or after the call, or a pause while another
//! operation runs (the deterministic interleaving of two requests).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use m2m_shared::domain::{
    Begun, ChangeBegun, Creation, IdempotencyRecord, IndexedClient, Owner, OwnerIndex, Page,
    PendingChange, Position, StaleOperation, SweepLease, SweepRemoval, SweepState, TableCensus,
    WriteCount,
};
use m2m_shared::error::IndexError;
use m2m_shared::owner_index::{DynamoIndex, MemoryIndex};
use m2m_shared::secret_string::SecretString;
use tokio::sync::{Notify, mpsc};

use crate::faults::FaultKind;

/// What happens at one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Fault(FaultKind),
    /// The request waits here while another runs.
    Pause,
}

/// What the harness hears from an operation's index.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    Paused,
    /// The function stopped: its request never answers.
    Crashed,
}

/// One operation's script, and what it met.
pub struct Control {
    script: BTreeMap<usize, Step>,
    calls: AtomicUsize,
    events: mpsc::UnboundedSender<Event>,
    resume: Notify,
    /// The faults that fired, by kind, with the call they hit.
    fired: Mutex<Vec<(FaultKind, &'static str)>>,
    /// The sweep leases this operation took (a crashed run's lapse later).
    leases: Mutex<Vec<SweepLease>>,
}

impl Control {
    pub fn new(script: BTreeMap<usize, Step>) -> (Arc<Self>, mpsc::UnboundedReceiver<Event>) {
        let (events, heard) = mpsc::unbounded_channel();
        let control = Control {
            script,
            calls: AtomicUsize::new(0),
            events,
            resume: Notify::new(),
            fired: Mutex::new(Vec::new()),
            leases: Mutex::new(Vec::new()),
        };
        (Arc::new(control), heard)
    }

    pub fn resume(&self) {
        self.resume.notify_one();
    }

    pub fn fired(&self) -> Vec<(FaultKind, &'static str)> {
        self.fired.lock().unwrap().clone()
    }

    pub fn leases(&self) -> Vec<SweepLease> {
        self.leases.lock().unwrap().clone()
    }

    fn fire(&self, kind: FaultKind, call: &'static str) {
        self.fired.lock().unwrap().push((kind, call));
    }
}

/// The calls that write (a fault "applied, then an error" applies them;
/// at a read it is a refusal).
const WRITES: &[&str] = &[
    "begin_creation",
    "record_client_id",
    "finish_creation",
    "abandon_creation",
    "begin_deletion",
    "cancel_deletion",
    "remove",
    "begin_change",
    "end_change",
    "count_owner_write",
    "cursor_key",
    "mark_swept",
    "import",
    "take_sweep_lease",
    "save_sweep_state",
    "begin_sweep_removal",
];

/// The error the adapter answers for a write it applied but could not
/// settle by the deadline (issue 19, decision 1).
fn applied_then_lost(call: &str) -> IndexError {
    IndexError::OutcomeUnknown(format!("{call}: injected: applied, answer lost"))
}

fn refused(call: &str) -> IndexError {
    IndexError::Failed(format!("{call}: injected: refused"))
}

/// The table a schedule runs on: the index in memory, or the DynamoDB
/// adapter (on moto), as a check of the real adapter.
pub enum Table {
    Memory(Box<MemoryIndex>),
    Dynamo(DynamoIndex),
}

#[derive(Clone)]
pub struct OpIndex {
    pub inner: Arc<Table>,
    pub control: Arc<Control>,
}

impl OpIndex {
    /// Notes a sweep lease the run takes, so that if the run stops the
    /// harness lets it lapse when time is said to pass.
    fn lease_taken(&self, lease: &SweepLease) {
        self.control.leases.lock().unwrap().push(lease.clone());
    }

    async fn step<T>(
        &self,
        call: &'static str,
        work: impl Future<Output = Result<T, IndexError>>,
    ) -> Result<T, IndexError> {
        let at = self.control.calls.fetch_add(1, Ordering::SeqCst);
        match self.control.script.get(&at).copied() {
            None => work.await,
            Some(Step::Pause) => {
                let _ = self.control.events.send(Event::Paused);
                self.control.resume.notified().await;
                work.await
            }
            Some(Step::Fault(kind)) => {
                self.control.fire(kind, call);
                match kind {
                    FaultKind::IndexCommittedThenError if WRITES.contains(&call) => {
                        let _ = work.await;
                        Err(applied_then_lost(call))
                    }
                    FaultKind::CrashBeforeIndexCall => {
                        let _ = self.control.events.send(Event::Crashed);
                        std::future::pending().await
                    }
                    FaultKind::CrashAfterIndexCall => {
                        let _ = work.await;
                        let _ = self.control.events.send(Event::Crashed);
                        std::future::pending().await
                    }
                    _ => Err(refused(call)),
                }
            }
        }
    }
}

#[macro_use]
#[path = "../common/owner_index_calls.rs"]
mod owner_index_calls;

// Every call of the port through [`OpIndex::step`], under its own name;
// the lease a run takes is noted (`OpIndex::lease_taken`).
owner_index_through!(OpIndex, step, lease_taken);

/// Every call of the port passed to the table's adapter.
macro_rules! dispatched {
    ($($call:ident($($arg:ident: $type:ty),*) -> $answer:ty;)*
     @lease $lease:ident($lease_arg:ident: $lease_type:ty) -> $lease_answer:ty;) => {
        impl OwnerIndex for Table {
            $(
                async fn $call(&self, $($arg: $type),*) -> Result<$answer, IndexError> {
                    match self {
                        Table::Memory(index) => index.$call($($arg),*).await,
                        Table::Dynamo(index) => index.$call($($arg),*).await,
                    }
                }
            )*
            async fn $lease(&self, $lease_arg: $lease_type) -> Result<$lease_answer, IndexError> {
                match self {
                    Table::Memory(index) => index.$lease($lease_arg).await,
                    Table::Dynamo(index) => index.$lease($lease_arg).await,
                }
            }
        }
    };
}

owner_index_calls!(dispatched);
