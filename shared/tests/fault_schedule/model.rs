//! What the schedule's answers promised: for every client a 2xx made, the
//! states it may be in now (one after a 2xx; several after a request that
//! stopped without answering), its secret if an answer showed the current
//! one, and the create requests whose clients nobody was told of. The
//! checker holds the tenant and the table to it.

use std::collections::BTreeSet;

use crate::rng::Rng;
use crate::schedule::{OpKind, Plan};

/// A client as the checker compares it: gone, or its name, description and
/// whether it has its grant.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Shape {
    Gone,
    Live {
        name: String,
        description: String,
        active: bool,
    },
}

/// What a request's caller heard.
#[derive(Clone, Debug)]
pub enum Heard {
    Created {
        client_id: String,
        name: String,
        description: String,
        secret: String,
    },
    /// A change's 200: the client as answered.
    Changed(Shape),
    Rotated {
        secret: String,
    },
    Deleted,
    Reconciled(String),
    /// An error answer: its status and code.
    Refused {
        status: u16,
        code: String,
    },
    /// Nothing: the function stopped.
    Crashed,
}

impl Heard {
    /// The status the caller got; `None` when it got none.
    pub fn status(&self) -> Option<u16> {
        match self {
            Heard::Created { .. } => Some(201),
            Heard::Changed(_) | Heard::Rotated { .. } | Heard::Reconciled(_) => Some(200),
            Heard::Deleted => Some(204),
            Heard::Refused { status, .. } => Some(*status),
            Heard::Crashed => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Heard::Refused { status, code } => format!("{status} {code}"),
            Heard::Crashed => "stopped".into(),
            Heard::Reconciled(summary) => format!("200 {summary}"),
            other => other.status().unwrap_or_default().to_string(),
        }
    }
}

/// The last request about a client whose answer the checker holds it to.
#[derive(Clone, Debug)]
pub struct Last {
    pub label: String,
    pub kind: OpKind,
    pub status: Option<u16>,
}

/// The requests whose answers the checker holds a client to.
#[derive(Clone, Debug)]
pub struct Told {
    pub last: Last,
    /// The first error answer since `last` (a 4xx, 500 or 503: nothing
    /// may have changed).
    pub refused_since: Option<Last>,
}

impl Told {
    /// The request likeliest to have changed the client: the first
    /// refusal since the last request, else the last.
    pub fn likeliest(&self) -> &Last {
        self.refused_since.as_ref().unwrap_or(&self.last)
    }

    /// Takes in what `last`'s caller heard.
    fn heard(&mut self, last: Last, heard: &Heard) {
        if matches!(heard, Heard::Crashed) {
            // A request that stopped promised nothing: an earlier
            // refusal stays the likelier cause.
            self.last = last;
        } else if !matches!(heard, Heard::Refused { .. })
            || matches!(heard, Heard::Refused { status: 502, .. })
        {
            self.last = last;
            self.refused_since = None;
        } else if self.refused_since.is_none() {
            // The first since: the likeliest to have changed it.
            self.refused_since = Some(last);
        }
    }
}

#[derive(Clone, Debug)]
pub struct Known {
    pub client_id: String,
    /// The create that made it (its op's label): how a trace names it,
    /// the same in every replay (ids are new each time).
    pub made_by: String,
    pub owner: usize,
    pub allowed: BTreeSet<Shape>,
    /// The secret the last answer showed, while no later request may have
    /// replaced it.
    pub secret: Option<String>,
    pub told: Told,
    /// A request about it stopped without answering: its record may block
    /// changes until its deadline passes.
    pub stopped_on: bool,
}

impl Known {
    pub fn surely_live(&self) -> bool {
        !self.allowed.contains(&Shape::Gone)
    }
}

/// A create request and what its caller heard.
#[derive(Clone, Debug)]
pub struct CreateRecord {
    pub label: String,
    pub owner: usize,
    pub name: String,
    pub description: String,
    pub scopes: Option<Vec<String>>,
    pub key: Option<String>,
    pub status: Option<u16>,
}

/// Something the schedule's answers promised that does not hold.
#[derive(Clone, Debug)]
pub struct Violation {
    pub invariant: &'static str,
    pub detail: String,
}

/// What the target of an operation is, once drawn.
#[derive(Clone, Debug)]
pub enum Target {
    None,
    Client(String),
    /// A replay of the create at this place in `creates`.
    Create(usize),
}

#[derive(Default)]
pub struct Model {
    pub known: Vec<Known>,
    pub creates: Vec<CreateRecord>,
    pub violations: Vec<Violation>,
}

/// A client id nobody has.
const UNKNOWN_ID: &str = "client_2Vq1XRrT5Fpml4JCeT0f6QfB9Xh";

impl Model {
    pub fn known(&self, client_id: &str) -> Option<&Known> {
        self.known.iter().find(|k| k.client_id == client_id)
    }

    fn known_mut(&mut self, client_id: &str) -> Option<&mut Known> {
        self.known.iter_mut().find(|k| k.client_id == client_id)
    }

    /// The client (or earlier create) `plan` is about, drawn from its
    /// stream: mostly a client of its owner that may be live, sometimes
    /// one surely gone or one that never was.
    pub fn target(&self, plan: &Plan) -> Target {
        let mut rng = Rng::new(plan.pick);
        match plan.kind {
            OpKind::Create | OpKind::Reconcile | OpKind::Backfill => Target::None,
            OpKind::Replay => {
                let keyed: Vec<usize> = (0..self.creates.len())
                    .filter(|&i| {
                        self.creates[i].owner == plan.owner && self.creates[i].key.is_some()
                    })
                    .collect();
                if keyed.is_empty() {
                    Target::None
                } else {
                    Target::Create(*rng.pick(&keyed))
                }
            }
            _ => {
                let mine: Vec<&Known> = self
                    .known
                    .iter()
                    .filter(|k| k.owner == plan.owner)
                    .collect();
                let live: Vec<&Known> = mine
                    .iter()
                    .copied()
                    .filter(|k| k.allowed.iter().any(|s| *s != Shape::Gone))
                    .collect();
                if rng.chance(6) || mine.is_empty() {
                    return Target::Client(UNKNOWN_ID.into());
                }
                if live.is_empty() || rng.chance(8) {
                    return Target::Client(rng.pick(&mine).client_id.clone());
                }
                Target::Client(rng.pick(&live).client_id.clone())
            }
        }
    }

    fn violation(&mut self, invariant: &'static str, detail: String) {
        self.violations.push(Violation { invariant, detail });
    }

    /// Takes in what `plan`'s caller heard about `target`; `in_flight`
    /// names a client another request, still running, is changing.
    pub fn heard(
        &mut self,
        plan: &Plan,
        target: &Target,
        request: &Request,
        heard: &Heard,
        in_flight: Option<&str>,
    ) {
        let label = plan.label.clone();
        let last = Last {
            label: label.clone(),
            kind: plan.kind,
            status: heard.status(),
        };
        match plan.kind {
            OpKind::Create | OpKind::Replay => {
                self.heard_create(plan, target, request, heard, last)
            }
            OpKind::Reconcile | OpKind::Backfill => {
                // A run that stopped may have taken any client's change
                // over: its record holds until the run's deadline passes.
                if matches!(heard, Heard::Crashed) {
                    for known in &mut self.known {
                        known.stopped_on = true;
                    }
                }
            }
            kind => {
                let Target::Client(client_id) = target else {
                    return;
                };
                let contested = in_flight == Some(client_id.as_str());
                let Some(known) = self.known_mut(client_id) else {
                    return;
                };
                let was_live = known.surely_live();
                let stopped_on = known.stopped_on;
                let before = known.allowed.clone();
                match heard {
                    Heard::Changed(shape) => {
                        known.allowed = [shape.clone()].into();
                        if contested {
                            known.allowed.extend(before);
                        }
                    }
                    Heard::Deleted => known.allowed = [Shape::Gone].into(),
                    Heard::Rotated { secret } => known.secret = Some(secret.clone()),
                    Heard::Refused { status: 502, .. } if kind == OpKind::Delete => {
                        known.allowed = [Shape::Gone].into();
                    }
                    Heard::Refused { status: 502, .. } if kind == OpKind::Rotate => {
                        known.secret = None;
                    }
                    Heard::Crashed => {
                        known.stopped_on = true;
                        let applied: Vec<Shape> = before
                            .iter()
                            .map(|shape| request.applied_to(kind, shape))
                            .collect();
                        known.allowed.extend(applied);
                        if kind == OpKind::Rotate {
                            known.secret = None;
                        }
                    }
                    Heard::Refused { .. } | Heard::Created { .. } | Heard::Reconciled(_) => {}
                }
                known.told.heard(last, heard);
                match heard {
                    Heard::Refused { status: 404, .. } if was_live && !contested => self.violation(
                        "every 2xx still holds",
                        format!("op {label} {}: 404 for {client_id}, which a 2xx left live", kind.name()),
                    ),
                    Heard::Refused { code, .. }
                        if code == "CLIENT_CHANGE_IN_PROGRESS"
                            && !contested
                            && !stopped_on
                            && (crate::faults::CHECK_NO_ANSWER_LOCKS || crate::faults::all_on()) =>
                    {
                        self.violation(
                            "no answer locks a client",
                            format!("op {label} {}: 409 for {client_id}, whose every request has answered", kind.name()),
                        )
                    }
                    _ => {}
                }
            }
        }
    }

    fn heard_create(
        &mut self,
        plan: &Plan,
        target: &Target,
        request: &Request,
        heard: &Heard,
        last: Last,
    ) {
        let label = plan.label.clone();
        let record = CreateRecord {
            label: label.clone(),
            owner: plan.owner,
            name: request.name.clone(),
            description: request.description.clone(),
            scopes: request.scopes.clone(),
            key: request.key.clone(),
            status: heard.status(),
        };
        if let (Target::Create(first), Heard::Refused { code, .. }) = (target, heard)
            && code == "IDEMPOTENCY_KEY_IN_USE"
        {
            // The key's earlier requests: if each answered, and none
            // 502 (whose record the reconciler takes over) nor succeeded,
            // nothing may hold the key.
            let key = self.creates[*first].key.clone();
            let same_key: Vec<&CreateRecord> = self
                .creates
                .iter()
                .filter(|c| c.owner == plan.owner && c.key == key)
                .collect();
            let released = same_key
                .iter()
                .all(|c| matches!(c.status, Some(s) if s != 502 && s != 201));
            if released {
                self.violation(
                    "a failed create releases its key",
                    format!("op {label} replay: 409 IDEMPOTENCY_KEY_IN_USE, every earlier request with its key failed: {:?}", same_key.iter().map(|c| (&c.label, c.status)).collect::<Vec<_>>()),
                );
            }
        }
        self.creates.push(record);
        let Heard::Created {
            client_id,
            name,
            description,
            secret,
        } = heard
        else {
            return;
        };
        let shape = Shape::Live {
            name: name.clone(),
            description: description.clone(),
            active: true,
        };
        match self.known_mut(client_id) {
            Some(known) => {
                // A replay answers the client as it is now.
                known.secret = Some(secret.clone());
                if !known.surely_live() {
                    known.allowed.remove(&Shape::Gone);
                }
            }
            None => {
                if plan.kind == OpKind::Create
                    && (name != &request.name || description != &request.description)
                {
                    self.violation(
                        "every 2xx still holds",
                        format!(
                            "op {label} create: answered {name:?}/{description:?}, asked {:?}/{:?}",
                            request.name, request.description
                        ),
                    );
                }
                self.known.push(Known {
                    client_id: client_id.clone(),
                    made_by: label.clone(),
                    owner: plan.owner,
                    allowed: [shape].into(),
                    secret: Some(secret.clone()),
                    told: Told {
                        last,
                        refused_since: None,
                    },
                    stopped_on: false,
                });
            }
        }
    }
}

/// What an operation asked for, once its target is known.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub name: String,
    pub description: String,
    pub scopes: Option<Vec<String>>,
    pub key: Option<String>,
    /// An update's new name and description, if it sets them.
    pub new_name: Option<String>,
    pub new_description: Option<String>,
}

impl Request {
    /// `shape` with this request's change made.
    pub fn applied_to(&self, kind: OpKind, shape: &Shape) -> Shape {
        let Shape::Live {
            name,
            description,
            active,
        } = shape
        else {
            return Shape::Gone;
        };
        match kind {
            OpKind::Update => Shape::Live {
                name: self.new_name.clone().unwrap_or_else(|| name.clone()),
                description: self
                    .new_description
                    .clone()
                    .unwrap_or_else(|| description.clone()),
                active: *active,
            },
            OpKind::Disable | OpKind::Enable => Shape::Live {
                name: name.clone(),
                description: description.clone(),
                active: kind == OpKind::Enable,
            },
            OpKind::Delete => Shape::Gone,
            _ => shape.clone(),
        }
    }
}
