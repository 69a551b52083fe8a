//! One schedule's world: an Auth0 emulator (the tenant), the owner index in
//! memory (the table), the service and the reconciler over them, and the
//! harness that runs each operation with its faults: its Auth0 faults
//! queued on the routes it calls, its index calls scripted (`index.rs`),
//! and, when it pauses, its partner run to the end before it goes on.
//! Operations otherwise run one at a time, so a schedule is the same every
//! time its seed is run.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use auth0_emulator::{Emulator, Fault as Auth0Fault, Route as Auth0Route};
use m2m_shared::api::response::error_response;
use m2m_shared::auth0::ManagementApi;
use m2m_shared::clients::ClientService;
use m2m_shared::domain::{
    ClientStatus, ClientUpdate, GrantPolicy, IndexedClient, NewClient, Owner, OwnerIndex,
    STALE_AFTER, SweepLease,
};
use m2m_shared::error::ServiceError;
use m2m_shared::owner_index::MemoryTokenStore;
use m2m_shared::reconcile::{Audit, Reconciler};
use test_support::dynamodb_proxy::DynamoProxy;
use test_support::setup::{StaticCredentials, emulator_config};
use tokio::time::Instant;

use crate::faults::FaultKind;
use crate::index::{Control, Event, OpIndex, Table};
use crate::model::{Heard, Model, Request, Shape, Target};
use crate::schedule::{MAX_CLIENTS, OWNERS, OpKind, Plan};

/// The API clients are granted, and its scopes (a create may choose some).
pub const AUDIENCE: &str = "https://butlrauth/";
pub const SCOPES: &[&str] = &["read:spaces", "read:rooms", "read:hives"];

/// A request's time, as the API gives it (12 s less its margin).
const REQUEST_BUDGET: Duration = Duration::from_secs(11);
const RECONCILE_BUDGET: Duration = Duration::from_secs(60);

/// Counts of what a schedule did.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub operations: usize,
    /// Faults met, by kind.
    pub faults: std::collections::BTreeMap<FaultKind, usize>,
    /// Answers, by operation and status (`-` for none).
    pub answers: std::collections::BTreeMap<(OpKind, String), usize>,
}

impl Tally {
    pub fn fault_count(&self) -> usize {
        self.faults.values().sum()
    }

    pub fn add(&mut self, other: &Tally) {
        self.operations += other.operations;
        for (kind, n) in &other.faults {
            *self.faults.entry(*kind).or_default() += n;
        }
        for (key, n) in &other.answers {
            *self.answers.entry(key.clone()).or_default() += n;
        }
    }
}

pub struct World {
    pub emulator: Emulator,
    pub index: Arc<Table>,
    /// What every operation's Auth0 adapter is made of: one HTTP client,
    /// and the deployment's management token, shared as by containers.
    http: reqwest::Client,
    tokens: Arc<MemoryTokenStore>,
    custom_client_ids: bool,
    pub grant: GrantPolicy,
    pub model: Model,
    pub tally: Tally,
    /// Sweep leases runs took: those still held (the run stopped, or
    /// failed before giving its lease up) lapse when time passes.
    leases: Vec<SweepLease>,
    /// Each operation and its answer, for a replay's trace.
    pub trace: Vec<String>,
    /// The client a paused request is changing, while its partner runs.
    in_flight: Option<String>,
    /// Whether a request is paused while this one runs.
    beside_running: bool,
    /// The proxy before DynamoDB, for a proxied table.
    pub proxy: Option<DynamoProxy>,
}

type Answering = Pin<Box<dyn Future<Output = Heard> + Send>>;

impl World {
    pub async fn new(custom_client_ids: bool, table: Table) -> World {
        let mut config = emulator_config();
        config.custom_client_ids = custom_client_ids;
        let emulator = Emulator::start(config).await.expect("the emulator starts");
        World {
            emulator,
            index: Arc::new(table),
            http: m2m_shared::http::client().expect("the HTTP client"),
            tokens: Arc::new(MemoryTokenStore::new()),
            custom_client_ids,
            grant: GrantPolicy {
                audience: AUDIENCE.into(),
                scopes: SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            },
            model: Model::default(),
            tally: Tally::default(),
            leases: Vec::new(),
            trace: Vec::new(),
            in_flight: None,
            beside_running: false,
            proxy: None,
        }
    }

    /// Runs `plan` (and its partner, if it pauses) with its faults; what
    /// it was about.
    pub async fn run(&mut self, plan: &Plan) -> Target {
        if plan.kind.is_reconciler() && !self.beside_running {
            // A run on its own stands for time passing: what stopped is
            // stale, and the leases of runs that stopped have lapsed.
            self.lapse_leases().await;
        }
        let target = self.model.target(plan);
        let request = self.request(plan, &target);
        for (route, kind) in &plan.auth0 {
            for fault in kind.auth0_faults() {
                self.emulator.inject(*route, fault);
            }
        }
        let wire_before = self.wire_faults_met();
        if let Some(proxy) = &self.proxy {
            for (operation, kind) in &plan.wire {
                if let Some(fault) = kind.wire_fault() {
                    proxy.inject(operation.clone(), fault);
                }
            }
        }
        let (control, mut events) = Control::new(plan.script.clone());
        let mut answering = self.perform(plan, &target, &request, control.clone());
        let mut contested_by: Option<String> = None;
        let heard = loop {
            tokio::select! {
                biased;
                heard = &mut answering => break heard,
                event = events.recv() => match event {
                    Some(Event::Paused) => {
                        let set_aside = self.emulator.take_faults();
                        // A wire fault not met yet is not the partner's.
                        if let Some(proxy) = &self.proxy {
                            proxy.take_faults();
                        }
                        if let Some(partner) = &plan.partner {
                            self.in_flight = match &target {
                                Target::Client(id) => Some(id.clone()),
                                _ => None,
                            };
                            self.beside_running = true;
                            let theirs = Box::pin(self.run(partner)).await;
                            self.beside_running = false;
                            self.in_flight = None;
                            if let (Target::Client(mine), Target::Client(theirs)) = (&target, theirs) {
                                contested_by = (*mine == theirs).then_some(theirs);
                            }
                        }
                        for (route, fault, client) in set_aside {
                            match client {
                                Some(client) => self.emulator.inject_for(route, &client, fault),
                                None => self.emulator.inject(route, fault),
                            }
                        }
                        control.resume();
                    }
                    Some(Event::Crashed) | None => break Heard::Crashed,
                },
            }
        };
        drop(answering);
        if let Some(proxy) = &self.proxy {
            proxy.take_faults();
            // Held answers sent, stalled writes applied: the next
            // operation starts from a table at rest.
            proxy.settled().await;
        }
        let met = self.wire_faults_met() - wire_before;
        for (_, kind) in plan.wire.iter().take(met) {
            *self.tally.faults.entry(*kind).or_default() += 1;
        }
        let left = self.emulator.take_faults();
        self.count(plan, &control, &left);
        self.leases.extend(control.leases());
        let contested = self.in_flight.clone().or(contested_by);
        self.model
            .heard(plan, &target, &request, &heard, contested.as_deref());
        self.tally.operations += 1;
        *self
            .tally
            .answers
            .entry((
                plan.kind,
                heard.status().map_or("-".into(), |s| s.to_string()),
            ))
            .or_default() += 1;
        let about = match &target {
            Target::Client(id) => match self.model.known(id) {
                Some(known) => format!("the client of op {}", known.made_by),
                None => "an unknown id".into(),
            },
            Target::Create(at) => format!("replay of op {}", self.model.creates[*at].label),
            Target::None => String::new(),
        };
        let faults: Vec<String> = control
            .fired()
            .iter()
            .map(|(kind, call)| format!("{kind:?}@{call}"))
            .chain(
                plan.auth0
                    .iter()
                    .map(|(route, kind)| format!("{kind:?}@{route:?}")),
            )
            .chain(
                self.proxy
                    .is_some()
                    .then_some(&plan.wire)
                    .into_iter()
                    .flatten()
                    .map(|(operation, kind)| format!("{kind:?}@{operation:?}")),
            )
            .collect();
        self.trace.push(format!(
            "op {} {} {} {about} [{}] -> {}",
            plan.label,
            plan.kind.name(),
            OWNERS[plan.owner],
            faults.join(", "),
            heard.describe()
        ));
        target
    }

    /// Counts the faults `plan` met: its index faults that fired, and its
    /// Auth0 faults whose first answer a request met (`left` are those
    /// none met).
    fn count(
        &mut self,
        plan: &Plan,
        control: &Control,
        left: &[(Auth0Route, Auth0Fault, Option<String>)],
    ) {
        for (kind, _) in control.fired() {
            *self.tally.faults.entry(kind).or_default() += 1;
        }
        let mut routes: Vec<Auth0Route> = plan.auth0.iter().map(|(route, _)| *route).collect();
        routes.dedup();
        for route in routes {
            let queued: Vec<FaultKind> = plan
                .auth0
                .iter()
                .filter(|(r, _)| *r == route)
                .map(|(_, k)| *k)
                .collect();
            let total: usize = queued.iter().map(|k| k.auth0_faults().len()).sum();
            let unmet = left.iter().filter(|(r, _, _)| *r == route).count();
            let met = total.saturating_sub(unmet);
            let mut start = 0;
            for kind in queued {
                if met > start {
                    *self.tally.faults.entry(kind).or_default() += 1;
                }
                start += kind.auth0_faults().len();
            }
        }
    }

    /// How many requests met a wire fault so far (a proxied table's).
    fn wire_faults_met(&self) -> usize {
        self.proxy.as_ref().map_or(0, |proxy| {
            proxy
                .requests()
                .iter()
                .filter(|request| request.fault.is_some())
                .count()
        })
    }

    /// Gives up the leases runs took and still hold, as their lapse would
    /// (a lease no longer held is left as it is).
    pub async fn lapse_leases(&mut self) {
        for lease in std::mem::take(&mut self.leases) {
            let state = self.index.sweep_state().await.expect("the sweep's state");
            let lapsed = SweepLease { until: 0, ..lease };
            self.index
                .save_sweep_state(&state, &lapsed)
                .await
                .expect("a lease given up");
        }
    }

    /// A container's Auth0 adapter: each operation is a container of its
    /// own, as in production, sharing the deployment's token.
    fn container(&self) -> ManagementApi<StaticCredentials> {
        ManagementApi::new(
            self.http.clone(),
            self.emulator.base_url(),
            format!("{}/api/v2/", self.emulator.base_url()),
            StaticCredentials,
            self.custom_client_ids,
            Some(self.tokens.clone()),
        )
    }

    /// The reconciler's audit (`{"audit": true}`), without faults: the
    /// differences it finds between Auth0 and the table.
    pub async fn audit(&self) -> Result<Audit, ServiceError> {
        let (control, _events) = Control::new(std::collections::BTreeMap::new());
        let index = OpIndex {
            inner: self.index.clone(),
            control,
        };
        Reconciler::new(self.container(), index, self.grant.clone())
            .audit(Instant::now() + RECONCILE_BUDGET)
            .await
    }

    /// What `plan` asks, about `target`.
    fn request(&self, plan: &Plan, target: &Target) -> Request {
        let label = &plan.label;
        match (plan.kind, target) {
            (OpKind::Replay, Target::Create(at)) => {
                let first = &self.model.creates[*at];
                Request {
                    name: first.name.clone(),
                    description: first.description.clone(),
                    scopes: first.scopes.clone(),
                    key: first.key.clone(),
                    ..Request::default()
                }
            }
            (OpKind::Create | OpKind::Replay, _) => Request {
                name: format!("c{label}"),
                description: format!("made by op {label}"),
                scopes: plan
                    .chooses_scopes
                    .then(|| vec![SCOPES[(plan.pick % 3) as usize].to_owned()]),
                key: plan.keyed.then(|| format!("key-{label}")),
                ..Request::default()
            },
            (OpKind::Update, _) => Request {
                new_name: plan.sets.0.then(|| format!("u{label}")),
                new_description: plan.sets.1.then(|| format!("changed by op {label}")),
                ..Request::default()
            },
            _ => Request::default(),
        }
    }

    /// The operation's future, over its own index (`control`'s script).
    fn perform(
        &self,
        plan: &Plan,
        target: &Target,
        request: &Request,
        control: Arc<Control>,
    ) -> Answering {
        let index = OpIndex {
            inner: self.index.clone(),
            control,
        };
        let directory = self.container();
        let grant = self.grant.clone();
        let owner = Owner::parse(OWNERS[plan.owner]).expect("an owner");
        let client_id = match target {
            Target::Client(id) => id.clone(),
            _ => String::new(),
        };
        let kind = plan.kind;
        let request = request.clone();
        let beside_running = self.beside_running;
        Box::pin(async move {
            let deadline = Instant::now() + REQUEST_BUDGET;
            if kind.is_reconciler() {
                // On its own, a run comes after time has passed: what
                // stopped is stale. Beside a running request, it is not.
                let stale_after = if beside_running {
                    STALE_AFTER
                } else {
                    Duration::ZERO
                };
                let reconciler = Reconciler::with_stale_after(directory, index, grant, stale_after)
                    .sweeping_every(Duration::ZERO);
                return match reconciler
                    .run(kind == OpKind::Backfill, Instant::now() + RECONCILE_BUDGET)
                    .await
                {
                    Ok(summary) => Heard::Reconciled(format!(
                        "sweep {} repaired {} removed {} imported {} failed {}",
                        summary.sweep,
                        summary.repairs() - summary.removed,
                        summary.removed,
                        summary.imported,
                        summary.failed
                    )),
                    Err(problem) => refused(&problem),
                };
            }
            // No limit on an owner's writes a minute (the schedules run
            // far faster than a minute each); each is counted all the same,
            // and a fault on the count is one more the schedules meet.
            let service = ClientService::new(directory, index, grant, MAX_CLIENTS, u32::MAX);
            let outcome = match kind {
                OpKind::Create | OpKind::Replay => {
                    let body = serde_json::json!({"name": request.name, "description": request.description, "scopes": request.scopes});
                    let claim = match &request.key {
                        Some(key) => m2m_shared::validation::idempotency_claim(
                            Some(key),
                            body.to_string().as_bytes(),
                        )
                        .expect("a valid key"),
                        None => None,
                    };
                    let new = NewClient {
                        name: request.name.clone(),
                        description: request.description.clone(),
                        scopes: request.scopes.clone(),
                        public_key: None,
                    };
                    service
                        .create(&owner, new, claim, deadline)
                        .await
                        .map(|created| Heard::Created {
                            client_id: created.client_id,
                            name: created.name,
                            description: created.description,
                            secret: created
                                .client_secret
                                .as_ref()
                                .map(|secret| secret.expose().to_owned())
                                .unwrap_or_default(),
                        })
                }
                OpKind::Update => {
                    let update = ClientUpdate {
                        name: request.new_name.clone(),
                        description: request.new_description.clone(),
                        scopes: None,
                    };
                    service
                        .update(&owner, &client_id, update, deadline)
                        .await
                        .map(changed)
                }
                OpKind::Disable => service
                    .set_status(&owner, &client_id, ClientStatus::Disabled, deadline)
                    .await
                    .map(changed),
                OpKind::Enable => service
                    .set_status(&owner, &client_id, ClientStatus::Active, deadline)
                    .await
                    .map(changed),
                OpKind::Rotate => service
                    .rotate_secret(&owner, &client_id, deadline)
                    .await
                    .map(|rotated| Heard::Rotated {
                        secret: rotated.client_secret.expose().to_owned(),
                    }),
                OpKind::Delete => service
                    .delete(&owner, &client_id, deadline)
                    .await
                    .map(|()| Heard::Deleted),
                OpKind::Reconcile | OpKind::Backfill => unreachable!("answered above"),
            };
            outcome.unwrap_or_else(|problem| refused(&problem))
        })
    }
}

fn changed(client: IndexedClient) -> Heard {
    Heard::Changed(Shape::Live {
        name: client.name,
        description: client.description,
        active: client.status == ClientStatus::Active,
    })
}

/// The error answer the API gives for `problem`: its status and code.
fn refused(problem: &ServiceError) -> Heard {
    let response = error_response(problem);
    let body: serde_json::Value =
        serde_json::from_slice(response.body().as_ref()).unwrap_or_default();
    Heard::Refused {
        status: response.status().as_u16(),
        code: body["code"].as_str().unwrap_or_default().to_owned(),
    }
}
