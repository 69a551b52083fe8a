//! What a schedule does, drawn from its seed: operations, the faults at
//! each, and which run concurrently (one paused at an index call while
//! another runs). Which client an operation is about is drawn when it runs,
//! from the clients the schedule has made so far (the model's), with the
//! same stream: a seed replays exactly.

use std::collections::BTreeMap;

use auth0_emulator::Route as Auth0Route;
use test_support::dynamodb_proxy::Operation as DynamoOperation;

use crate::faults::{FaultKind, routes_of};
use crate::index::Step;
use crate::rng::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpKind {
    Create,
    /// A create repeating an earlier keyed create (its key and body).
    Replay,
    Update,
    Disable,
    Enable,
    Rotate,
    Delete,
    /// A scheduled run of the reconciler.
    Reconcile,
    /// A run with `{"backfill": true}`.
    Backfill,
}

impl OpKind {
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Create => "create",
            OpKind::Replay => "replay",
            OpKind::Update => "update",
            OpKind::Disable => "disable",
            OpKind::Enable => "enable",
            OpKind::Rotate => "rotate",
            OpKind::Delete => "delete",
            OpKind::Reconcile => "reconcile",
            OpKind::Backfill => "backfill",
        }
    }

    pub fn is_reconciler(self) -> bool {
        matches!(self, OpKind::Reconcile | OpKind::Backfill)
    }
}

const KINDS: &[(OpKind, u32)] = &[
    (OpKind::Create, 24),
    (OpKind::Replay, 6),
    (OpKind::Update, 14),
    (OpKind::Disable, 10),
    (OpKind::Enable, 9),
    (OpKind::Rotate, 7),
    (OpKind::Delete, 14),
    (OpKind::Reconcile, 11),
    (OpKind::Backfill, 5),
];

/// The owners of a schedule's clients, and their quota.
pub const OWNERS: &[&str] = &["owner-a", "owner-b"];
pub const MAX_CLIENTS: u32 = 4;

/// How often a fault is drawn: at each index call (percent), at each of an
/// operation's Auth0 routes, and how often an operation has a concurrent
/// partner.
const INDEX_FAULT_PERCENT: u32 = 6;
const AUTH0_FAULT_PERCENT: u32 = 14;
const PARTNER_PERCENT: u32 = 22;
const WIRE_FAULT_PERCENT: u32 = 25;
/// Calls of an operation that may be scripted (no operation of a short
/// schedule makes more; a reconcile run's later calls go unfaulted).
const SCRIPTED_CALLS: usize = 12;

#[derive(Clone, Debug)]
pub struct Plan {
    /// `17`, or `17p` for the operation run while 17 is paused.
    pub label: String,
    pub kind: OpKind,
    pub owner: usize,
    /// The stream the target is drawn from, when the operation runs.
    pub pick: u64,
    pub script: BTreeMap<usize, Step>,
    pub auth0: Vec<(Auth0Route, FaultKind)>,
    pub partner: Option<Box<Plan>>,
    /// Faults on DynamoDB's wire (a proxied table only): the next request
    /// of the operation meets the fault.
    pub wire: Vec<(DynamoOperation, FaultKind)>,
    /// An update's: whether it sets the name, the description.
    pub sets: (bool, bool),
    /// A create's: whether it sends an Idempotency-Key, and chooses scopes.
    pub keyed: bool,
    pub chooses_scopes: bool,
}

impl Plan {
    /// Operation `n` of the schedule `seed`, drawing faults from `kinds`.
    pub fn draw(seed: u64, n: usize, kinds: &[FaultKind]) -> Plan {
        let mut rng = Rng::for_op(seed, n);
        let mut plan = Plan::one(&mut rng, n.to_string(), kinds);
        if !plan.kind.is_reconciler() && rng.chance(PARTNER_PERCENT) {
            let mut partner = Plan::one(&mut rng, format!("{n}p"), kinds);
            // The partner is about the same client half the time.
            if rng.chance(50) && !partner.kind.is_reconciler() && partner.kind != OpKind::Create {
                partner.owner = plan.owner;
                partner.pick = plan.pick;
            }
            let at = rng.below(4);
            plan.script.insert(at, Step::Pause);
            plan.partner = Some(Box::new(partner));
        }
        // A stream of their own: the other draws are the same with or
        // without a proxied table.
        let mut wire = Rng::for_op(seed ^ 0x5A17_D1A0, n);
        plan.wire = wire_faults(&mut wire, kinds);
        if let Some(partner) = plan.partner.as_mut() {
            partner.wire = wire_faults(&mut wire, kinds);
        }
        plan
    }

    fn one(rng: &mut Rng, label: String, kinds: &[FaultKind]) -> Plan {
        let kind = rng.weighted(KINDS);
        let index_kinds: Vec<FaultKind> = kinds.iter().copied().filter(|k| k.is_index()).collect();
        let auth0_kinds: Vec<FaultKind> = kinds
            .iter()
            .copied()
            .filter(|k| !k.is_index() && !k.is_wire())
            .collect();
        let mut script = BTreeMap::new();
        for call in 0..SCRIPTED_CALLS {
            if !index_kinds.is_empty() && rng.chance(INDEX_FAULT_PERCENT) {
                script.insert(call, Step::Fault(*rng.pick(&index_kinds)));
            }
        }
        let mut auth0 = Vec::new();
        for route in routes_of(kind) {
            if !auth0_kinds.is_empty() && rng.chance(AUTH0_FAULT_PERCENT) {
                auth0.push((*route, *rng.pick(&auth0_kinds)));
            }
        }
        let sets = match rng.below(3) {
            _ if !crate::faults::partial_updates() => (true, true),
            0 => (true, false),
            1 => (false, true),
            _ => (true, true),
        };
        Plan {
            label,
            kind,
            owner: rng.below(OWNERS.len()),
            pick: rng.next(),
            script,
            auth0,
            partner: None,
            wire: Vec::new(),
            sets,
            keyed: rng.chance(50),
            chooses_scopes: rng.chance(30),
        }
    }
}

impl Plan {
    /// A run without faults (the reconciler once the faults have stopped).
    pub fn quiet(kind: OpKind, n: usize) -> Plan {
        Plan {
            label: n.to_string(),
            kind,
            owner: 0,
            pick: 0,
            script: BTreeMap::new(),
            auth0: Vec::new(),
            partner: None,
            wire: Vec::new(),
            sets: (false, false),
            keyed: false,
            chooses_scopes: false,
        }
    }
}

/// An operation's faults on DynamoDB's wire: one in four operations meets
/// one, on a write.
fn wire_faults(rng: &mut Rng, kinds: &[FaultKind]) -> Vec<(DynamoOperation, FaultKind)> {
    let wire: Vec<FaultKind> = kinds.iter().copied().filter(|k| k.is_wire()).collect();
    if wire.is_empty() || !rng.chance(WIRE_FAULT_PERCENT) {
        return Vec::new();
    }
    let writes = [
        DynamoOperation::TransactWriteItems,
        DynamoOperation::UpdateItem,
        DynamoOperation::PutItem,
        DynamoOperation::DeleteItem,
    ];
    vec![(rng.pick(&writes).clone(), *rng.pick(&wire))]
}
