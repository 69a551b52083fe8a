//! The faults a schedule injects, and which of them are on. Each kind is
//! what one system can do to one write (docs/owner-index.md, "Each write,
//! each fault"); `AWAITING` and the two checks below it are the switches:
//! a kind the service cannot survive yet is listed there with the issue 19
//! finding that awaits it ("fault schedules" in that table's rows: found by
//! this test).

use auth0_emulator::{Fault as Auth0Fault, Route as Auth0Route};

/// The enum, and `ALL` of its kinds, from one list.
macro_rules! fault_kinds {
    ($($(#[$doc:meta])* $kind:ident,)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum FaultKind {
            $($(#[$doc])* $kind,)*
        }

        /// Every kind.
        pub const ALL: &[FaultKind] = &[$(FaultKind::$kind),*];
    };
}

fault_kinds! {
    // The owner index (DynamoDB), at any call of the `OwnerIndex` port.
    /// The call is refused before anything is written (a throttle, a
    /// validation error): an error, nothing done.
    IndexRefused,
    /// The write is applied, then its caller hears an error (a timeout, a
    /// lost answer, a retry that met its own write, as the adapter reports
    /// what it could not settle).
    IndexCommittedThenError,
    /// The function stops before the call (killed, out of time): nothing
    /// more of the request happens.
    CrashBeforeIndexCall,
    /// The function stops right after the call was applied.
    CrashAfterIndexCall,

    // Auth0, at a Management API route an operation calls.
    /// 5xx before the tenant did anything.
    Auth0Refused5xx,
    /// 5xx after the tenant did the work.
    Auth0Processed5xx,
    /// The work is done, the connection breaks before the answer.
    Auth0LostAnswer,
    /// 429 before anything is done (retried after the reset).
    Auth0RateLimited,
    /// 429 on every attempt: the call gives up, nothing was done.
    Auth0RateLimitPersists,
    /// The first attempt is processed and its answer lost; every retry
    /// meets a 429.
    Auth0ProcessedThen429,
    /// The work is done, the answer comes after the attempt's timeout
    /// (4 s of real time per fault: the transport treats it as a lost
    /// answer, so only `FAULT_SCHEDULE_SLOW=1` turns it on).
    Auth0ProcessedThenTimeout,

    // DynamoDB's wire, behind `test_support::dynamodb_proxy` (only the
    // schedules on a proxied table draw them): the adapter must settle
    // these itself.
    /// A write applied, its answer held past the SDK's attempt timeout.
    DynamoAnswerLate,
    /// A write applied, its connection closed without an answer.
    DynamoLostAnswer,
}

use FaultKind::*;

/// The kinds the service cannot survive yet, each with the finding whose
/// fix takes it off this list: a schedule draws from every other kind
/// (less `SLOW`). `FAULT_SCHEDULE_ALL=1` draws from these too, and turns
/// on the switches below, to see what still fails. (Issue 19's fixes took
/// `IndexCommittedThenError`, `Auth0ProcessedThen429` and
/// `Auth0RateLimitPersists` off it.)
pub const AWAITING: &[FaultKind] = &[
    // Empty since main d15fcb8: `Auth0RateLimitPersists` waited for S7 (a
    // 503 delete the reconciler finished), fixed there.
];

/// Whether an update may set the name alone or the description alone (else
/// it sets both). On since main d15fcb8, which fixed S8: after an update
/// answered 502, an update setting one field took the record over, sent
/// Auth0 that field only and removed the record, so Auth0 kept the
/// unfinished update's other field.
pub const PARTIAL_UPDATES: bool = true;

pub fn partial_updates() -> bool {
    PARTIAL_UPDATES || all_on()
}

/// Kinds too slow for the default run (see each), on with
/// `FAULT_SCHEDULE_SLOW=1`.
pub const SLOW: &[FaultKind] = &[Auth0ProcessedThenTimeout];

/// Whether schedules run on tenants without custom client ids too (three
/// in ten). On since issue 19's fixes (finding 4's create side: a client
/// Auth0 made whose id the index never learned is found by its
/// `creation_id`).
pub const TENANTS_WITHOUT_CUSTOM_IDS: bool = true;

/// Whether a 409 `CLIENT_CHANGE_IN_PROGRESS` while every request about the
/// client has answered breaks "no answer locks a client". On since issue
/// 19's fixes (finding 5: after a 502 the client's changes answered 409
/// for two minutes).
pub const CHECK_NO_ANSWER_LOCKS: bool = true;

/// Whether `FAULT_SCHEDULE_ALL=1` asks for every switch above on.
pub fn all_on() -> bool {
    std::env::var("FAULT_SCHEDULE_ALL").is_ok_and(|v| v == "1")
}

impl FaultKind {
    /// Whether it is met on DynamoDB's wire (a proxied table only).
    pub fn is_wire(self) -> bool {
        matches!(self, DynamoAnswerLate | DynamoLostAnswer)
    }

    pub fn is_index(self) -> bool {
        matches!(
            self,
            IndexRefused | IndexCommittedThenError | CrashBeforeIndexCall | CrashAfterIndexCall
        )
    }

    /// What DynamoDB's proxy does to the request (wire kinds only).
    pub fn wire_fault(self) -> Option<test_support::dynamodb_proxy::Fault> {
        use test_support::dynamodb_proxy::Fault;
        match self {
            // Past the SDK's 2 s attempt timeout: its retry meets the write
            // applied (or, for a transaction, in progress).
            DynamoAnswerLate => Some(Fault::AnswerLate(std::time::Duration::from_secs(3))),
            DynamoLostAnswer => Some(Fault::LoseAnswer),
            _ => None,
        }
    }

    /// What the emulator answers, attempt after attempt, on the route.
    pub fn auth0_faults(self) -> Vec<Auth0Fault> {
        let limited = Auth0Fault::RateLimited {
            reset_after_secs: 0,
        };
        match self {
            Auth0Refused5xx => vec![Auth0Fault::Status(503)],
            Auth0Processed5xx => vec![Auth0Fault::HandledThenStatus(500)],
            Auth0LostAnswer => vec![Auth0Fault::DropConnection],
            Auth0RateLimited => vec![limited],
            Auth0RateLimitPersists => vec![limited; 3],
            Auth0ProcessedThen429 => vec![Auth0Fault::DropConnection, limited, limited, limited],
            Auth0ProcessedThenTimeout => {
                vec![Auth0Fault::Delay(std::time::Duration::from_secs(5))]
            }
            IndexRefused
            | IndexCommittedThenError
            | CrashBeforeIndexCall
            | CrashAfterIndexCall
            | DynamoAnswerLate
            | DynamoLostAnswer => Vec::new(),
        }
    }
}

/// The kinds this run draws from: those `FAULT_SCHEDULE_KINDS` names
/// (comma-separated, as above: to study one kind), or all but those
/// `AWAITING` a fix, and `SLOW` if asked.
pub fn enabled(slow: bool) -> Vec<FaultKind> {
    if let Ok(names) = std::env::var("FAULT_SCHEDULE_KINDS") {
        return names
            .split(',')
            .filter(|name| !name.trim().is_empty())
            .map(|name| {
                *ALL.iter()
                    .find(|kind| format!("{kind:?}") == name.trim())
                    .unwrap_or_else(|| panic!("FAULT_SCHEDULE_KINDS: no fault kind {name}"))
            })
            .collect();
    }
    let awaited = |kind: &FaultKind| all_on() || !AWAITING.contains(kind);
    let mut kinds: Vec<FaultKind> = ALL
        .iter()
        .copied()
        .filter(|kind| awaited(kind) && !SLOW.contains(kind))
        .collect();
    if slow {
        kinds.extend_from_slice(SLOW);
    }
    kinds
}

/// The Management API routes an operation's calls go to: where its Auth0
/// faults are queued.
pub fn routes_of(kind: crate::schedule::OpKind) -> &'static [Auth0Route] {
    use crate::schedule::OpKind;
    match kind {
        OpKind::Create | OpKind::Replay => &[
            Auth0Route::CreateClient,
            Auth0Route::CreateGrant,
            Auth0Route::DeleteClient,
            Auth0Route::GetClient,
            Auth0Route::ListClients,
        ],
        OpKind::Update => &[Auth0Route::UpdateClient],
        OpKind::Disable => &[Auth0Route::DeleteGrant, Auth0Route::ListGrants],
        OpKind::Enable => &[Auth0Route::CreateGrant],
        OpKind::Rotate => &[Auth0Route::RotateSecret],
        OpKind::Delete => &[Auth0Route::DeleteClient],
        OpKind::Reconcile | OpKind::Backfill => &[
            Auth0Route::ListClients,
            Auth0Route::GetClient,
            Auth0Route::DeleteClient,
            Auth0Route::UpdateClient,
            Auth0Route::CreateGrant,
            Auth0Route::DeleteGrant,
            Auth0Route::ListGrants,
        ],
    }
}
