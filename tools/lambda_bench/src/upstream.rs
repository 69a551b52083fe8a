//! What a function talks to, answered at once on 127.0.0.1: the Auth0
//! emulator (JWKS, `/oauth/token`, `/api/v2`) and a Secrets Manager stub
//! that answers `GetSecretValue` with the management credentials; and the
//! owner index's table in moto. With a round-trip time
//! ([`Upstream::with_rtt`]), the function reaches each of them through a
//! relay that delays every request by it and logs it ([`crate::relay`]).

use m2m_shared::domain::{IndexedClient, OwnerIndex, now_micros};
use m2m_shared::owner_index::DynamoIndex;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::relay::{Call, CallLog, Relay, Service};
use auth0_emulator::{Emulator, TestKey};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, Header};
use m2m_shared::Route;
use serde_json::{Value, json};
use test_support::event::Event;
use test_support::setup;
use test_support::stats::median;
use tokio::task::JoinHandle;

/// The `client_id` of the benchmark's caller: the owner of what it creates.
pub const CALLER: &str = "bench-caller";
/// A caller who owns nothing (a refused list: the empty list).
const OTHER_CALLER: &str = "bench-nobody";
/// An id nobody has (a refused get or delete: 404).
const UNKNOWN_ID: &str = "client_doesNotExist000000000000";
pub const SECRET_ID: &str = "m2m/auth0-management";
/// The owner index's table (see `Upstream::environment`).
pub const TABLE: &str = "m2m-clients";
/// The function's setting of where its Management API token is cached,
/// passed through to the functions if the driver's environment has it.
pub const TOKEN_CACHE_VARIABLE: &str = "MANAGEMENT_TOKEN_CACHE";

/// The token cache the functions run with, for a report: the variable's
/// value, or the function's default.
pub fn token_cache_setting() -> String {
    match std::env::var(TOKEN_CACHE_VARIABLE) {
        Ok(value) => format!("`{TOKEN_CACHE_VARIABLE}={value}`"),
        Err(_) => format!("`{TOKEN_CACHE_VARIABLE}` unset (the function's default)"),
    }
}

/// How a report says the functions reached their upstreams, as
/// [`Upstream::start_with`] was given the round-trip time.
pub fn reached(rtt: Option<Duration>) -> String {
    match rtt {
        Some(rtt) => format!(
            "reached through relays that hold each request {} ms",
            rtt.as_millis()
        ),
        None => "reached directly".to_owned(),
    }
}

/// The functions of the route table, and the bare echo they are compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    /// `tools/bare_echo`: a bare `lambda_runtime` function.
    Echo,
    /// The function that answers this route.
    Function(Route),
}

impl Subject {
    /// The functions, in the route table's order.
    pub const FUNCTIONS: [Subject; Route::ALL.len()] = {
        let mut functions = [Subject::Echo; Route::ALL.len()];
        let mut i = 0;
        while i < Route::ALL.len() {
            functions[i] = Subject::Function(Route::ALL[i]);
            i += 1;
        }
        functions
    };
    /// The echo, then the functions.
    pub const ALL: [Subject; Route::ALL.len() + 1] = {
        let mut all = [Subject::Echo; Route::ALL.len() + 1];
        let mut i = 0;
        while i < Route::ALL.len() {
            all[i + 1] = Subject::FUNCTIONS[i];
            i += 1;
        }
        all
    };

    /// The binary's name (`cargo build --release` puts it in `target/release`).
    pub fn binary(self) -> &'static str {
        match self {
            Subject::Echo => "bare-echo",
            Subject::Function(route) => route.function(),
        }
    }

    /// The package that builds the binary.
    pub fn package(self) -> &'static str {
        match self {
            Subject::Echo => "bare_echo",
            Subject::Function(route) => route.function(),
        }
    }

    /// The subject whose binary is `binary`.
    pub fn from_binary(binary: &str) -> Option<Subject> {
        Subject::ALL.into_iter().find(|s| s.binary() == binary)
    }

    pub fn label(self) -> &'static str {
        match self {
            Subject::Echo => "bare lambda_runtime echo",
            other => other.binary(),
        }
    }

    /// The status of a successful answer.
    pub fn success_status(self) -> Option<u16> {
        match self {
            Subject::Echo => None,
            Subject::Function(route) => Some(route.success_status()),
        }
    }

    /// The route whose requests the subject is sent: its own; the echo,
    /// which answers anything, gets the list's.
    fn route(self) -> Route {
        match self {
            Subject::Echo => Route::ListClients,
            Subject::Function(route) => route,
        }
    }
}

/// The command that builds every subject's release binary.
pub fn build_command() -> String {
    let packages: Vec<String> = Subject::FUNCTIONS
        .iter()
        .chain([&Subject::Echo])
        .map(|s| format!("-p {}", s.package()))
        .collect();
    format!("cargo build --release {}", packages.join(" "))
}

/// Secrets Manager, as far as `GetSecretValue` goes.
struct SecretsStub {
    address: SocketAddr,
    calls: Arc<AtomicUsize>,
    server: JoinHandle<()>,
}

impl Drop for SecretsStub {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn get_secret_value(State(calls): State<Arc<AtomicUsize>>, headers: HeaderMap) -> Response {
    calls.fetch_add(1, Ordering::Relaxed);
    let target = headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if target != "secretsmanager.GetSecretValue" {
        return (
            StatusCode::BAD_REQUEST,
            [("content-type", "application/x-amz-json-1.1")],
            json!({"__type": "UnknownOperationException"}).to_string(),
        )
            .into_response();
    }
    let secret = setup::management_secret_json();
    let body = json!({
        "ARN": format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{SECRET_ID}-AbCdEf"),
        "Name": SECRET_ID,
        "SecretString": secret,
        "VersionId": "00000000-0000-0000-0000-000000000001",
        "VersionStages": ["AWSCURRENT"],
        "CreatedDate": 1_700_000_000.0,
    });
    (
        StatusCode::OK,
        [("content-type", "application/x-amz-json-1.1")],
        body.to_string(),
    )
        .into_response()
}

/// How a function's environment is set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// As in Lambda: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
    /// `AWS_SESSION_TOKEN` in the environment.
    InEnvironment,
    /// None in the environment: the SDK walks its whole credential chain
    /// (profile files, web identity, ECS, then IMDS, pointed here at a
    /// closed port on 127.0.0.1 so that nothing leaves the machine).
    Discovered,
}

/// The stubs, for as long as the benchmark runs, and the owner index: a
/// table of moto's (DynamoDB's own protocol, which no stub here speaks).
pub struct Upstream {
    pub emulator: Emulator,
    secrets: SecretsStub,
    /// The owner index's table, in moto.
    pub table: String,
    index: DynamoIndex,
    /// A port on 127.0.0.1 where nothing listens.
    closed_port: u16,
    /// With a round-trip time: the relays in front of Secrets Manager, the
    /// emulator and the table, and their log.
    relays: Option<Relays>,
}

struct Relays {
    rtt: Duration,
    secrets: Relay,
    /// In front of the emulator, whose `base_url` is this relay's.
    _auth0: Relay,
    table: Relay,
    log: CallLog,
}

impl Upstream {
    /// The stubs, which the functions reach directly.
    pub async fn start() -> Result<Upstream, String> {
        Upstream::try_start(None)
            .await
            .map_err(|e| format!("cannot start the stubs: {e}"))
    }

    /// The stubs, which the functions reach through relays that hold every
    /// request for `rtt` (zero: relayed and logged, not held).
    pub async fn with_rtt(rtt: Duration) -> Result<Upstream, String> {
        Upstream::try_start(Some(rtt))
            .await
            .map_err(|e| format!("cannot start the stubs and relays: {e}"))
    }

    /// [`Upstream::start`] for `None`, [`Upstream::with_rtt`] otherwise.
    pub async fn start_with(rtt: Option<Duration>) -> Result<Upstream, String> {
        match rtt {
            Some(rtt) => Upstream::with_rtt(rtt).await,
            None => Upstream::start().await,
        }
    }

    async fn try_start(rtt: Option<Duration>) -> std::io::Result<Upstream> {
        let auth0_listener = match rtt {
            Some(_) => Some(Relay::bind().await?),
            None => None,
        };
        let mut config = setup::emulator_config();
        if let Some(listener) = &auth0_listener {
            config.public_url = Some(format!("http://{}", listener.local_addr()?));
        }
        let emulator = Emulator::start(config).await?;
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let address = listener.local_addr()?;
        let calls = Arc::new(AtomicUsize::new(0));
        let router = Router::new()
            .fallback(get_secret_value)
            .with_state(calls.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let closed_port = {
            let probe = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
            probe.local_addr()?.port()
        };
        static TABLES: AtomicUsize = AtomicUsize::new(0);
        let table = format!(
            "{TABLE}-{}-{}",
            std::process::id(),
            TABLES.fetch_add(1, Ordering::Relaxed)
        );
        let dynamodb = test_support::dynamodb::client();
        test_support::dynamodb::create_clients_table(&dynamodb, &table).await;
        let relays = match (rtt, auth0_listener) {
            (Some(rtt), Some(auth0_listener)) => {
                let log = CallLog::default();
                Some(Relays {
                    rtt,
                    secrets: Relay::start(
                        Relay::bind().await?,
                        Service::SecretsManager,
                        &format!("http://{address}"),
                        rtt,
                        &log,
                    )?,
                    _auth0: Relay::start(
                        auth0_listener,
                        Service::Auth0,
                        emulator.listen_url(),
                        rtt,
                        &log,
                    )?,
                    table: Relay::start(
                        Relay::bind().await?,
                        Service::Table,
                        test_support::moto::url(),
                        rtt,
                        &log,
                    )?,
                    log,
                })
            }
            _ => None,
        };
        Ok(Upstream {
            emulator,
            secrets: SecretsStub {
                address,
                calls,
                server,
            },
            index: DynamoIndex::new(dynamodb, &table),
            table,
            closed_port,
            relays,
        })
    }

    /// The injected round-trip time, if the functions go through relays.
    pub fn rtt(&self) -> Option<Duration> {
        self.relays.as_ref().map(|relays| relays.rtt)
    }

    /// A mark in the relays' log (0 without relays).
    pub fn calls_mark(&self) -> usize {
        self.relays.as_ref().map_or(0, |relays| relays.log.len())
    }

    /// The calls the relays passed on between two marks, by the time
    /// received (none without relays).
    pub fn calls_between(&self, marks: Range<usize>) -> Vec<Call> {
        self.relays
            .as_ref()
            .map(|relays| relays.log.between(marks))
            .unwrap_or_default()
    }

    /// `GetSecretValue` calls answered so far.
    pub fn secret_reads(&self) -> usize {
        self.secrets.calls.load(Ordering::Relaxed)
    }

    /// The function's environment: Lambda's own variables, then README's
    /// configuration table pointing at the stubs.
    pub fn environment(
        &self,
        function: Subject,
        runtime_api: &str,
        credentials: Credentials,
    ) -> Vec<(String, String)> {
        let mut env: Vec<(&str, String)> = vec![
            ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_owned()),
            ("AWS_LAMBDA_FUNCTION_NAME", function.binary().to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON".into()),
            ("AWS_LAMBDA_LOG_LEVEL", "INFO".into()),
            ("LAMBDA_TASK_ROOT", "/var/task".into()),
            ("TZ", ":UTC".into()),
            ("PATH", "/usr/local/bin:/usr/bin:/bin".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_DEFAULT_REGION", "us-east-1".into()),
            (
                "AWS_ENDPOINT_URL",
                match &self.relays {
                    Some(relays) => relays.secrets.url(),
                    None => format!("http://{}", self.secrets.address),
                },
            ),
            (
                "AWS_ENDPOINT_URL_DYNAMODB",
                match &self.relays {
                    Some(relays) => relays.table.url(),
                    None => test_support::moto::url().to_owned(),
                },
            ),
        ];
        env.extend(setup::service_env(&self.emulator, SECRET_ID, &self.table));
        // The benchmarks create (and seed) far more than the default quota
        // of 50 clients for their one caller: coldstart's 30 runs of create
        // and get, soak's 700 creates. The quota is checked the same way
        // whatever its value (one conditional transaction), so the highest
        // one allowed costs nothing and never answers 409.
        env.push(("MAX_CLIENTS_PER_OWNER", "100000".into()));
        // The management token's cache (`shared`: one token for all
        // containers, in the table; `container`: one each), passed through
        // from the driver's environment; unset, the function's default.
        if let Ok(cache) = std::env::var(TOKEN_CACHE_VARIABLE) {
            env.push((TOKEN_CACHE_VARIABLE, cache));
        }
        match credentials {
            Credentials::InEnvironment => env.extend([
                ("AWS_ACCESS_KEY_ID", "AKIABENCHMARK000000".into()),
                ("AWS_SECRET_ACCESS_KEY", "bench-secret-access-key".into()),
                ("AWS_SESSION_TOKEN", "bench-session-token".into()),
            ]),
            Credentials::Discovered => env.extend([
                // An empty home: no profile files to find.
                ("HOME", std::env::temp_dir().display().to_string()),
                (
                    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                    format!("http://127.0.0.1:{}", self.closed_port),
                ),
            ]),
        }
        let mut env: Vec<(String, String)> =
            env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        // Experiments: `BENCH_FUNCTION_ENV="NAME=value NAME2=value2"` adds
        // or overrides variables.
        if let Ok(extra) = std::env::var("BENCH_FUNCTION_ENV") {
            for pair in extra.split_whitespace() {
                if let Some((name, value)) = pair.split_once('=') {
                    env.retain(|(k, _)| k != name);
                    env.push((name.to_owned(), value.to_owned()));
                }
            }
        }
        env
    }

    /// A valid caller token (one hour).
    pub fn caller_token(&self, owner: &str) -> String {
        setup::caller_token(&self.emulator, owner)
    }

    /// The same claims, signed by a key the JWKS does not publish.
    pub fn foreign_token(&self, owner: &str) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(TestKey::Foreign.kid().to_owned());
        self.emulator.sign_with(
            &header,
            &setup::caller_claims(&self.emulator, owner),
            TestKey::Foreign,
        )
    }

    /// `count` clients of the caller, for lists to list; their ids.
    pub async fn seed_listed(&self, count: usize) -> Vec<String> {
        let mut ids = Vec::with_capacity(count);
        for n in 0..count {
            ids.push(self.seed_client(&format!("listed {n}")).await);
        }
        ids
    }

    /// moto's own time for the table calls `operation` makes, timed from a
    /// warm client in this process: get's GetItem of the caller's client
    /// `id`, list's Query of all the caller's clients, delete's UpdateItem
    /// and transaction (on a client recorded in the table alone for it).
    /// What the functions' round trips include of moto, which is no
    /// DynamoDB.
    pub async fn time_table_calls(&self, operation: Route, id: &str) -> Result<Duration, String> {
        let owner = setup::owner(CALLER);
        let failed = |what: &'static str| move |e| format!("{what} in moto: {e}");
        match operation {
            Route::GetClient => {
                let started = Instant::now();
                self.index
                    .get(&owner, id)
                    .await
                    .map_err(failed("GetItem"))?;
                Ok(started.elapsed())
            }
            Route::ListClients => {
                let started = Instant::now();
                self.index
                    .list(&owner, None, None)
                    .await
                    .map_err(failed("Query"))?;
                Ok(started.elapsed())
            }
            Route::DeleteClient => {
                let doomed = format!("client_tableAlone{}", now_micros());
                self.index_client(&doomed, "timed alone").await;
                let started = Instant::now();
                let client = self
                    .index
                    .begin_deletion(&owner, &doomed)
                    .await
                    .map_err(failed("UpdateItem"))?
                    .ok_or("the client recorded to be deleted is not there")?;
                self.index
                    .remove(&client)
                    .await
                    .map_err(failed("TransactWriteItems"))?;
                Ok(started.elapsed())
            }
            other => Err(format!(
                "{}'s table calls are not timed alone",
                other.function()
            )),
        }
    }

    /// The median of `samples` [`Upstream::time_table_calls`], after an
    /// untimed one (connections made, the SDK's caches filled).
    pub async fn table_alone(
        &self,
        operation: Route,
        id: &str,
        samples: usize,
    ) -> Result<Duration, String> {
        let mut times = Vec::with_capacity(samples);
        for round in 0..=samples {
            let time = self.time_table_calls(operation, id).await?;
            if round > 0 {
                times.push(time);
            }
        }
        Ok(median(&times))
    }

    /// Removes the caller's client `id` from the owner index, as the
    /// reconciler does once Auth0 has deleted it (a function from before
    /// the index deletes it from Auth0 alone).
    pub async fn forget(&self, id: &str) -> Result<(), String> {
        let owner = setup::owner(CALLER);
        let failed = |e| format!("cannot remove {id} from the owner index: {e}");
        if let Some(client) = self
            .index
            .begin_deletion(&owner, id)
            .await
            .map_err(failed)?
        {
            self.index.remove(&client).await.map_err(failed)?;
        }
        Ok(())
    }

    /// A client of the caller, in the tenant and the owner index (as a
    /// backfill imports it); its id.
    pub async fn seed_client(&self, name: &str) -> String {
        let id = setup::seed_owned_client(&self.emulator, CALLER, name);
        self.index_client(&id, name).await;
        id
    }

    /// Records the caller's client `id` in the owner index (as a backfill
    /// imports it).
    async fn index_client(&self, id: &str, name: &str) {
        let client = IndexedClient::imported(
            id.to_owned(),
            setup::owner(CALLER),
            name.to_owned(),
            String::new(),
        );
        if let Err(problem) = self.index.import(&client, 0).await {
            panic!("cannot seed the owner index: {problem}");
        }
    }
}

/// What the benchmark asks a function to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ask {
    /// The route's successful request.
    Success,
    /// No `Authorization` header: 401.
    NoToken,
    /// A token signed by a key nobody published: 401 (after a JWKS refetch,
    /// at most once per 30 s).
    ForeignToken,
    /// A request the route refuses, as [`Refusal::of`] says: create, a
    /// body without a name (400); get and delete, an id nobody has (404);
    /// list, a caller without clients (200, `[]`).
    Refused,
}

/// How a route refuses the benchmark's [`Ask::Refused`]: route by route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// A body without a name: 400.
    InvalidBody,
    /// An id nobody has: 404.
    UnknownId,
    /// A caller who owns nothing: the route's success, empty.
    OtherCaller,
}

impl Refusal {
    fn of(route: Route) -> Refusal {
        match route {
            Route::CreateClient => Refusal::InvalidBody,
            Route::ListClients => Refusal::OtherCaller,
            Route::GetClient
            | Route::DeleteClient
            | Route::UpdateClient
            | Route::RotateClientSecret
            | Route::DisableClient
            | Route::EnableClient => Refusal::UnknownId,
        }
    }

    fn status(self, route: Route) -> u16 {
        match self {
            Refusal::InvalidBody => 400,
            Refusal::UnknownId => 404,
            Refusal::OtherCaller => route.success_status(),
        }
    }
}

impl Ask {
    pub fn expected_status(self, subject: Subject) -> Option<u16> {
        match (self, subject) {
            (_, Subject::Echo) => None,
            (Ask::Success, subject) => subject.success_status(),
            (Ask::NoToken | Ask::ForeignToken, _) => Some(401),
            (Ask::Refused, Subject::Function(route)) => Some(Refusal::of(route).status(route)),
        }
    }

    /// How `subject` refuses this ask, if it is [`Ask::Refused`].
    fn refusal(self, subject: Subject) -> Option<Refusal> {
        match (self, subject) {
            (Ask::Refused, Subject::Function(route)) => Some(Refusal::of(route)),
            _ => None,
        }
    }
}

/// The event for `ask` on `subject`, preparing the tenant as needed (a
/// fresh client of the caller for each request naming one, but an unknown
/// id).
pub async fn event_for(
    upstream: &Upstream,
    subject: Subject,
    ask: Ask,
    token: &str,
    n: usize,
) -> String {
    request_for(upstream, subject, ask, token, n).await.0
}

/// [`event_for`], and the client seeded for it, if any.
pub async fn request_for(
    upstream: &Upstream,
    subject: Subject,
    ask: Ask,
    token: &str,
    n: usize,
) -> (String, Option<String>) {
    let route = subject.route();
    let refusal = ask.refusal(subject);
    let mut event = Event::new(route);
    let mut seeded = None;
    if route.takes_id() {
        let id = if refusal == Some(Refusal::UnknownId) {
            UNKNOWN_ID.to_owned()
        } else {
            seeded
                .insert(upstream.seed_client(&format!("bench target {n}")).await)
                .clone()
        };
        event = event.id(&id);
    }
    // Create and update take a body; the other routes have none to read.
    if matches!(route, Route::CreateClient | Route::UpdateClient) {
        let body = if refusal == Some(Refusal::InvalidBody) {
            json!({"description": "no name"})
        } else {
            json!({"name": format!("bench client {n}"), "description": "made by the benchmark"})
        };
        event = event.body(&body.to_string());
    }
    let event = match ask {
        Ask::NoToken => event,
        Ask::ForeignToken => event.bearer(&upstream.foreign_token(CALLER)),
        _ if refusal == Some(Refusal::OtherCaller) => {
            event.bearer(&upstream.caller_token(OTHER_CALLER))
        }
        _ => event.bearer(token),
    };
    (event.text(), seeded)
}

/// The `statusCode` of an API Gateway response document.
pub fn status_of(response: &[u8]) -> Option<u16> {
    let value: Value = serde_json::from_slice(response).ok()?;
    value.get("statusCode")?.as_u64().map(|s| s as u16)
}

/// The `client_id` in the body of an API Gateway response document (a
/// created client's).
pub fn client_id_of(response: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(response).ok()?;
    let body: Value = serde_json::from_str(value.get("body")?.as_str()?).ok()?;
    body.get("client_id")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subjects_are_the_echo_and_the_route_table() {
        assert_eq!(Subject::ALL[0], Subject::Echo);
        assert_eq!(Subject::ALL[1..], Subject::FUNCTIONS);
        for (subject, route) in Subject::FUNCTIONS.into_iter().zip(Route::ALL) {
            assert_eq!(subject, Subject::Function(route));
            assert_eq!(Subject::from_binary(route.function()), Some(subject));
            assert_eq!(subject.success_status(), Some(route.success_status()));
        }
        assert_eq!(Subject::from_binary("bare-echo"), Some(Subject::Echo));
        assert!(build_command().ends_with(" -p bare_echo"));
    }
}
