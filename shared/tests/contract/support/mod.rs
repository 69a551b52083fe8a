//! The test stack: the real handlers, fed API Gateway HTTP API (v2) events,
//! talking to a fresh Auth0 emulator per test and to Secrets Manager served
//! by `moto_server` through the real AWS SDK.

pub mod documented;
pub mod keys;
pub mod local_stack;
pub mod logs;
pub mod openapi;
pub mod stopping;
pub mod table_calls;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth0_emulator::{Emulator, EmulatorConfig, Fault, Route as Auth0Route};
use aws_sdk_dynamodb::types::AttributeValue;
use jsonwebtoken::{Algorithm, Header};
use lambda_http::http::HeaderMap;
use lambda_http::{Body, Request, Response};
use m2m_shared::App;
pub use m2m_shared::Route;
use m2m_shared::auth0::ManagementApi;
use m2m_shared::config::{Config, DEFAULT_GRANT_AUDIENCE};
use m2m_shared::domain::{GrantPolicy, IndexedClient, OwnerIndex};
use m2m_shared::owner_index::{DynamoIndex, TOKEN_PK};
use m2m_shared::reconcile::{Reconciler, Summary};
use m2m_shared::secrets_manager::SecretsManagerSource;
use serde_json::{Value, json};
pub use test_support::event::Event;
pub use test_support::moto::{self, aws_config_at};
pub use test_support::setup::{CALLER_AUDIENCE, MANAGEMENT_CLIENT_SECRET, unix_now};
use test_support::setup::{
    base_claims, caller_claims, config_from, emulator_config, lookup_in, management_secret_json,
    service_env, token_answer, with_claims,
};

/// The workspace's root, where template.yaml, openapi.yaml and the
/// functions' crates are.
pub const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// A YAML file of the workspace (template.yaml, openapi.yaml), parsed.
pub fn workspace_yaml(file: &str) -> serde_yaml_ng::Value {
    let text = std::fs::read_to_string(format!("{WORKSPACE}/{file}")).unwrap();
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// An id that could exist but belongs to nobody.
pub const UNKNOWN_ID: &str = "client_2Vq1XRrT5Fpml4JCeT0f6QfB9Xh";

/// Auth0's 429 that clears after a second.
pub const RATE_LIMITED: Fault = Fault::RateLimited {
    reset_after_secs: 1,
};

/// The functions' timeout in template.yaml: a deployed invocation's deadline.
pub const LAMBDA_TIMEOUT: Duration = Duration::from_secs(29);

/// docs/behaviour.md ("Upstream failures"): every request is answered
/// within this long of its start, whatever Auth0 and Secrets Manager do.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(12);

/// How long a hung upstream takes to answer: longer than any budget.
pub const HANG: Duration = Duration::from_secs(20);

/// The keys of create's 201 body, sorted (as [`Reply::keys`] gives them).
pub const CREATED_KEYS: [&str; 5] = [
    "client_id",
    "client_secret",
    "description",
    "name",
    "scopes",
];

/// The body of every 404.
pub fn not_found() -> Value {
    json!({"code": "CLIENT_NOT_FOUND", "message": "client not found"})
}

/// How the management secret is set up in Secrets Manager.
#[derive(Clone, Debug)]
pub enum SecretSetup {
    /// `{"client_id": MANAGEMENT_CLIENT_ID, "client_secret": MANAGEMENT_CLIENT_SECRET}`
    Valid,
    /// This exact string.
    Raw(String),
    /// No secret is created.
    Missing,
}

pub struct Options {
    pub secret: SecretSetup,
    pub emulator: EmulatorConfig,
    /// Extra or overriding configuration variables.
    pub env: Vec<(&'static str, String)>,
    /// The invocation's time budget (a Lambda deadline this far ahead);
    /// `None` leaves the service's default for invocations without one.
    pub time_budget: Option<Duration>,
    /// Where the owner index's DynamoDB is (the test process's moto unless
    /// set: a single-threaded one for concurrency tests, or a
    /// `test_support::dynamodb_proxy` for late and lost answers).
    pub dynamodb_endpoint: Option<String>,
    /// Whether the owner index's client is a deployed function's
    /// (`DynamoIndex::from_config`: the SDK's standard retries, its attempt
    /// and call timeouts) rather than a plain SDK client without either:
    /// for tests of what those retries and timeouts make of a late answer.
    pub deployed_table_client: bool,
    /// Whether the container warms up (JWKS, secret, management token)
    /// before the first request, as a deployed one does. `false` leaves the
    /// token to the first request that needs one, as after a start-up that
    /// could not get one: for tests of the token endpoint failing then.
    pub warm_up: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            secret: SecretSetup::Valid,
            emulator: emulator_config(),
            env: Vec::new(),
            time_budget: None,
            dynamodb_endpoint: None,
            deployed_table_client: false,
            warm_up: true,
        }
    }
}

/// One service instance (one "container"), the emulator behind it, and its
/// owner index: a table of its own in moto.
pub struct TestEnv {
    pub emulator: Emulator,
    pub app: App,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub secret_id: String,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub table: String,
    /// Every call the owner index makes to DynamoDB (through a plain client:
    /// see [`Options::deployed_table_client`]).
    pub table_calls: table_calls::TableCalls,
    /// The AWS configuration of a deployed function's owner index, if the
    /// options asked for one.
    deployed_index: Option<aws_config::SdkConfig>,
    /// Values that must never appear in a log line: caller tokens and client
    /// secrets this environment handed out (plus the management secret and
    /// tokens, checked on drop).
    sensitive: Mutex<Vec<String>>,
    time_budget: Option<Duration>,
}

/// A response, as a caller sees it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    pub fn from_response(response: Response<Body>) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = match response.into_body() {
            Body::Empty => String::new(),
            Body::Text(text) => text,
            Body::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            _ => String::new(),
        };
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            text,
            json,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The sorted keys of a JSON object body.
    pub fn keys(&self) -> Vec<String> {
        keys_of(&self.json)
    }

    /// Asserts a documented 401: the exact body, JSON, and a Bearer challenge.
    #[track_caller]
    pub fn assert_unauthorized(&self, message: &str, case: &str) {
        assert_eq!(self.status, 401, "{case}: {}", self.text);
        assert_eq!(self.json, json!({ "message": message }), "{case}");
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{case}"
        );
        let challenge = self.header("www-authenticate").unwrap_or_default();
        assert!(challenge.starts_with("Bearer"), "{case}: {challenge:?}");
    }

    /// Asserts status and the exact JSON body, and that it is served as JSON.
    #[track_caller]
    pub fn assert(&self, status: u16, body: Value) {
        assert_eq!(self.status, status, "status; body: {}", self.text);
        assert_eq!(self.json, body, "body of the {status}");
        assert_eq!(self.header("content-type"), Some("application/json"));
    }

    /// Asserts the documented 404 (see [`not_found`]).
    #[track_caller]
    pub fn assert_not_found(&self) {
        self.assert(404, not_found());
    }

    /// Asserts the documented 500, which says nothing more.
    #[track_caller]
    pub fn assert_internal_error(&self) {
        self.assert(500, json!({"message": "Internal server error"}));
    }
}

pub fn keys_of(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

static SECRET_COUNTER: AtomicUsize = AtomicUsize::new(0);

impl TestEnv {
    pub async fn new() -> Self {
        Self::with(Options::default()).await
    }

    /// A container that has not warmed up: its first request that needs a
    /// management token fetches one (see [`Options::warm_up`]).
    pub async fn without_warm_up() -> Self {
        Self::with(Options {
            warm_up: false,
            ..Options::default()
        })
        .await
    }

    /// A container with these configuration variables added (or overriding).
    pub async fn with_env(env: Vec<(&'static str, String)>) -> Self {
        Self::with(Options {
            env,
            ..Options::default()
        })
        .await
    }

    /// A container whose management secret is set up this way.
    pub async fn with_secret(secret: SecretSetup) -> Self {
        Self::with(Options {
            secret,
            ..Options::default()
        })
        .await
    }

    pub async fn with(options: Options) -> Self {
        logs::install();
        let emulator = Emulator::start(options.emulator)
            .await
            .expect("start the Auth0 emulator");
        let secrets = moto::secrets_manager_client();
        let instance = format!(
            "{}-{}",
            std::process::id(),
            SECRET_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let secret_id = format!("m2m/management-{instance}");
        // Not lambda_bench's `Upstream` pattern (`m2m-clients-PID-N`), whose
        // tables shared_token.rs's fleet makes in the same moto.
        let table = format!("m2m-clients-contract-{instance}");
        let endpoint = options
            .dynamodb_endpoint
            .clone()
            .unwrap_or_else(|| moto::url().to_owned());
        let table_calls = table_calls::TableCalls::default();
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&aws_config_at(&endpoint))
                .interceptor(table_calls.clone())
                .build(),
        );
        test_support::dynamodb::create_clients_table(&dynamodb, &table).await;
        match &options.secret {
            SecretSetup::Valid => moto::create_secret(&secret_id, &management_secret_json()).await,
            SecretSetup::Raw(raw) => moto::create_secret(&secret_id, raw).await,
            SecretSetup::Missing => {}
        }

        // Later settings win: the options' override the required ones.
        let mut vars = service_env(&emulator, &secret_id, &table);
        vars.extend(options.env);
        let lookup = lookup_in(&vars);
        let deployed_index = options
            .deployed_table_client
            .then(|| test_support::dynamodb::deployed_sdk_config(&endpoint));
        let index = index_of(&dynamodb, deployed_index.as_ref(), &table);
        let app = match Config::from_lookup(&lookup) {
            Ok(config) => App::new(
                &config,
                SecretsManagerSource::new(secrets.clone(), &secret_id),
                index,
                m2m_shared::http::client().expect("the HTTP client"),
            ),
            // A configuration the service refuses: the container as Lambda
            // would start it.
            Err(_) => App::from_lookup(&lookup).await,
        };
        if options.warm_up {
            app.warm_up().await;
        }
        TestEnv {
            emulator,
            app,
            secrets,
            secret_id,
            dynamodb,
            table,
            table_calls,
            deployed_index,
            sensitive: Mutex::new(Vec::new()),
            time_budget: options.time_budget,
        }
    }

    /// This environment's owner index (another handle on the same table,
    /// with the same client configuration).
    pub fn index(&self) -> DynamoIndex {
        index_of(&self.dynamodb, self.deployed_index.as_ref(), &self.table)
    }

    /// One run of the reconciler on this environment's tenant and index,
    /// for which anything begun is already stale (as after a crash).
    pub async fn reconcile(&self, backfill: bool) -> Summary {
        self.reconciler()
            .run(
                backfill,
                tokio::time::Instant::now() + Duration::from_secs(60),
            )
            .await
            .expect("a reconcile run")
    }

    /// The reconciler's answer to the invocation `event` (a run, a
    /// backfill, an audit), as [`reconcile`](Self::reconcile) runs it.
    pub async fn reconcile_event(&self, event: &Value) -> Value {
        self.reconciler()
            .answer(event, tokio::time::Instant::now() + Duration::from_secs(60))
            .await
            .expect("a reconciler's answer")
    }

    /// What `auth0_log_events` answers to `event` (one event of Auth0's log
    /// stream, as EventBridge delivers it); `Err` as the function fails.
    pub async fn follow_log_event(&self, event: &Value) -> Result<Value, String> {
        self.reconciler()
            .answer_log_event(event, tokio::time::Instant::now() + Duration::from_secs(60))
            .await
            .map_err(|problem| problem.to_string())
    }

    /// The reconciler of this environment's tenant and index, for which
    /// anything begun is already stale.
    pub fn reconciler(&self) -> Reconciler<ManagementApi<SecretsManagerSource>, DynamoIndex> {
        let config = config_from(&service_env(&self.emulator, &self.secret_id, &self.table));
        let directory = ManagementApi::new(
            m2m_shared::http::client().expect("the HTTP client"),
            config.auth0_base_url.clone(),
            config.management_audience(),
            SecretsManagerSource::new(self.secrets.clone(), &self.secret_id),
            config.custom_client_ids,
            // The reconciler shares the functions' token, as deployed.
            self.index().token_store(),
        );
        let grant = GrantPolicy {
            audience: config.grant_audience.clone(),
            scopes: config.grant_scopes.clone(),
        };
        Reconciler::with_stale_after(directory, self.index(), grant, Duration::ZERO)
    }

    /// The owner index agrees with the tenant: nothing is half-done, and
    /// `owner`'s clients listed are exactly the M2M clients Auth0 has for
    /// it, with its quota counting them.
    pub async fn assert_index_names_the_tenants_clients(&self, owner: &str, case: &str) {
        let index = self.index();
        let half_done = index.stale_operations(u64::MAX).await.unwrap();
        assert!(half_done.is_empty(), "{case}: {half_done:?}");
        let who = test_support::setup::owner(owner);
        let mut listed: Vec<String> = index
            .list(&who, None, None)
            .await
            .unwrap()
            .clients
            .into_iter()
            .map(|client| client.client_id)
            .collect();
        listed.sort();
        let mut in_auth0: Vec<String> = self
            .emulator
            .clients()
            .iter()
            .filter(|c| {
                c["client_metadata"]["owner_client_id"] == owner
                    && c["app_type"] == "non_interactive"
            })
            .filter_map(|c| c["client_id"].as_str().map(str::to_owned))
            .collect();
        in_auth0.sort();
        assert_eq!(listed, in_auth0, "{case}: the index and the tenant");
        assert_eq!(
            self.quota_count(owner).await,
            listed.len() as u64,
            "{case}: the quota"
        );
    }

    /// `owner` has `count` clients, as the quota counts them, and the owner
    /// index agrees with the tenant
    /// ([`TestEnv::assert_index_names_the_tenants_clients`]).
    pub async fn assert_owner_has_clients(&self, owner: &str, count: u64, case: &str) {
        assert_eq!(self.quota_count(owner).await, count, "{case}: the quota");
        self.assert_index_names_the_tenants_clients(owner, case)
            .await;
    }

    /// The owner's quota count, as the table holds it.
    pub async fn quota_count(&self, owner: &str) -> u64 {
        test_support::dynamodb::quota_count(&self.dynamodb, &self.table, owner).await
    }

    /// A client of `owner` made in Auth0 before the owner index existed,
    /// and imported by a backfill (as the reconciler does); returns its id.
    pub async fn legacy_client(&self, owner: &str, name: &str) -> String {
        let id = test_support::setup::seed_owned_client(&self.emulator, owner, name);
        let client = IndexedClient::imported(
            id.clone(),
            test_support::setup::owner(owner),
            name.to_owned(),
            format!("{name} description"),
        );
        self.index()
            .import(&client, None, 0)
            .await
            .expect("import into the owner index");
        id
    }

    /// Deletes the client `id` in Auth0, past the service (as someone does
    /// in Auth0's dashboard).
    pub async fn delete_in_auth0(&self, id: &str) {
        let http = reqwest::Client::new();
        let management = test_support::setup::management_token(&http, &self.emulator).await;
        let deleted = http
            .delete(format!("{}/api/v2/clients/{id}", self.emulator.base_url()))
            .bearer_auth(management)
            .send()
            .await
            .expect("the emulator answers");
        assert_eq!(deleted.status(), 204, "deleting {id} in Auth0");
    }

    /// A valid client-credentials token of `owner` (`client_id` and `sub`).
    pub fn token(&self, owner: &str) -> String {
        let token = test_support::setup::caller_token(&self.emulator, owner);
        self.remember_sensitive(&token);
        token
    }

    /// A valid token (right issuer, audience, expiry) with `extra` claims
    /// merged in; a `null` in `extra` removes that claim.
    pub fn token_with(&self, extra: Value) -> String {
        let token = self.emulator.sign_caller_token(&self.claims(extra));
        self.remember_sensitive(&token);
        token
    }

    /// `owner`'s valid token (as [`token`](Self::token)) with the `extra`
    /// claims merged in; a `null` in `extra` removes that claim.
    pub fn token_of(&self, owner: &str, extra: Value) -> String {
        let claims = with_claims(caller_claims(&self.emulator, owner), &extra);
        let token = self.emulator.sign_caller_token(&claims);
        self.remember_sensitive(&token);
        token
    }

    /// Queues `fault` for each of the next `times` calls to `route` of Auth0.
    pub fn inject_times(&self, route: Auth0Route, fault: Fault, times: usize) {
        for _ in 0..times {
            self.emulator.inject(route, fault);
        }
    }

    /// The ids of the clients Auth0 holds, in the order they were made.
    pub fn client_ids(&self) -> Vec<Value> {
        self.emulator
            .clients()
            .iter()
            .map(|client| client["client_id"].clone())
            .collect()
    }

    /// The Management API calls Auth0 was sent so far, by route (token
    /// requests and JWKS fetches are counted apart).
    pub fn management_calls(&self) -> Vec<Auth0Route> {
        self.emulator
            .requests()
            .iter()
            .map(|request| request.route)
            .filter(|route| !matches!(route, Auth0Route::Token | Auth0Route::Jwks))
            .collect()
    }

    /// The clients this service created: the ids it chose (seeded fixtures
    /// have Auth0's).
    pub fn created_clients(&self) -> Vec<Value> {
        self.emulator
            .clients()
            .into_iter()
            .filter(|c| {
                c["client_id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("client_"))
            })
            .collect()
    }

    /// What the emulator's `/oauth/token` answers the client `id` with
    /// `secret`, for the audience new clients are granted: the status and
    /// the body (the token, its type and scopes, when one is issued).
    pub async fn client_token(&self, id: &str, secret: &str) -> (u16, Value) {
        let http = reqwest::Client::new();
        token_answer(&http, &self.emulator, (id, secret), DEFAULT_GRANT_AUDIENCE).await
    }

    /// The scopes of the client's grant in the emulator, if it has one.
    pub fn granted(&self, id: &str) -> Option<Value> {
        self.emulator
            .grants()
            .into_iter()
            .find(|grant| grant["client_id"] == id && grant["audience"] == DEFAULT_GRANT_AUDIENCE)
            .map(|grant| grant["scope"].clone())
    }

    /// The client `id` as the emulator holds it, if Auth0 has it.
    pub fn auth0_client(&self, id: &str) -> Option<Value> {
        self.emulator
            .clients()
            .into_iter()
            .find(|client| client["client_id"] == id)
    }

    /// The client's name in the emulator.
    pub fn name_in_auth0(&self, id: &str) -> Value {
        self.auth0_client(id)
            .map(|client| client["name"].clone())
            .unwrap_or(Value::Null)
    }

    /// Asserts that every client this service created has its grant
    /// (`case` names the situation in the failure).
    #[track_caller]
    pub fn assert_no_client_without_grant(&self, case: &str) {
        let grants = self.emulator.grants();
        for client in self.created_clients() {
            assert!(
                grants.iter().any(|g| g["client_id"] == client["client_id"]),
                "{case}: client {} left without its grant",
                client["client_id"]
            );
        }
    }

    /// Adds a value the leak checks must never find in a log line.
    pub fn remember_sensitive(&self, value: &str) {
        self.sensitive
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(value.to_owned());
    }

    /// Valid claims (issuer, audience, an hour to live, `sub` of a
    /// client) with `extra` merged in; a `null` in `extra` removes a claim.
    pub fn claims(&self, extra: Value) -> Value {
        let claims = with_claims(
            base_claims(&self.emulator),
            &json!({"sub": "caller@clients"}),
        );
        with_claims(claims, &extra)
    }

    pub async fn create(&self, token: &str, body: Value) -> Reply {
        self.send(
            Route::CreateClient,
            Some(&bearer(token)),
            None,
            Some(&body.to_string()),
        )
        .await
    }

    pub async fn list(&self, token: &str) -> Reply {
        self.send(Route::ListClients, Some(&bearer(token)), None, None)
            .await
    }

    pub async fn get(&self, token: &str, id: &str) -> Reply {
        self.send(Route::GetClient, Some(&bearer(token)), Some(id), None)
            .await
    }

    pub async fn delete(&self, token: &str, id: &str) -> Reply {
        self.send(Route::DeleteClient, Some(&bearer(token)), Some(id), None)
            .await
    }

    /// Sends one of the lifecycle routes for the client `id`.
    pub async fn lifecycle(
        &self,
        route: Route,
        token: &str,
        id: &str,
        body: Option<Value>,
    ) -> Reply {
        let body = body.map(|body| body.to_string());
        self.send(route, Some(&bearer(token)), Some(id), body.as_deref())
            .await
    }

    /// An update of the client `id` with `body`.
    pub async fn update(&self, token: &str, id: &str, body: Value) -> Reply {
        self.lifecycle(Route::UpdateClient, token, id, Some(body))
            .await
    }

    /// A create with an `Idempotency-Key`.
    pub async fn create_keyed(&self, token: &str, key: &str, body: Value) -> Reply {
        let event = Event::new(Route::CreateClient)
            .bearer(token)
            .header("idempotency-key", key)
            .body(&body.to_string());
        self.dispatch(Route::CreateClient, &event.text()).await
    }

    /// Creates a client for `owner` with `body` and returns its 201 body.
    pub async fn create_with(&self, owner: &str, body: Value) -> Value {
        let reply = self.create(&self.token(owner), body).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.json
    }

    /// Creates a client for `owner` named `name` and returns its 201 body.
    pub async fn create_ok(&self, owner: &str, name: &str) -> Value {
        let description = format!("{name} description");
        self.create_with(owner, json!({"name": name, "description": description}))
            .await
    }

    /// Creates a client for `owner` and returns its id.
    pub async fn create_id(&self, owner: &str, name: &str) -> String {
        let created = self.create_ok(owner, name).await;
        created["client_id"]
            .as_str()
            .expect("a client_id")
            .to_owned()
    }

    /// Removes the deployment's shared Management API token (its item in
    /// the table), as when it expired: the next container that needs a
    /// token mints one, reading the secret first.
    pub async fn forget_shared_token(&self) {
        self.dynamodb
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(TOKEN_PK.into()))
            .key("sk", AttributeValue::S(TOKEN_PK.into()))
            .send()
            .await
            .expect("delete the token item");
    }

    /// The shared token item as the table holds it (`None`: there is none).
    pub async fn shared_token_item(
        &self,
    ) -> Option<std::collections::HashMap<String, AttributeValue>> {
        self.dynamodb
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(TOKEN_PK.into()))
            .key("sk", AttributeValue::S(TOKEN_PK.into()))
            .consistent_read(true)
            .send()
            .await
            .expect("read the token item")
            .item
    }

    /// A fresh container of this environment (not warmed up yet), with
    /// the configuration `adjust` makes of the environment's.
    pub fn container_configured(&self, adjust: impl FnOnce(&mut Config)) -> App {
        let mut config = config_from(&service_env(&self.emulator, &self.secret_id, &self.table));
        adjust(&mut config);
        App::new(
            &config,
            SecretsManagerSource::new(self.secrets.clone(), &self.secret_id),
            self.index(),
            m2m_shared::http::client().expect("the HTTP client"),
        )
    }

    /// A fresh container of this environment (not warmed up yet) whose
    /// management secret `secret_id` is read through `client`.
    pub fn container_reading_the_secret_through(
        &self,
        client: aws_sdk_secretsmanager::Client,
        secret_id: &str,
    ) -> App {
        App::new(
            &config_from(&service_env(&self.emulator, secret_id, &self.table)),
            SecretsManagerSource::new(client, secret_id),
            self.index(),
            m2m_shared::http::client().expect("the HTTP client"),
        )
    }

    /// A fresh container of this environment (not warmed up yet) with this
    /// owner index.
    pub fn container_with_index<I: OwnerIndex>(&self, index: I) -> App<SecretsManagerSource, I> {
        App::new(
            &config_from(&service_env(&self.emulator, &self.secret_id, &self.table)),
            SecretsManagerSource::new(self.secrets.clone(), &self.secret_id),
            index,
            m2m_shared::http::client().expect("the HTTP client"),
        )
    }

    /// owner-a's request to `route` through `app` (without a Lambda deadline).
    pub async fn request_through<I: OwnerIndex>(
        &self,
        app: &App<SecretsManagerSource, I>,
        route: Route,
    ) -> Reply {
        let request = sample_event(route).bearer(&self.token("owner-a")).request();
        Reply::from_response(m2m_shared::api::handle(app, route, request).await)
    }

    /// owner-a's create, which needs Auth0 (and so the management secret),
    /// through `app`.
    pub async fn create_through<I: OwnerIndex>(&self, app: &App<SecretsManagerSource, I>) -> Reply {
        self.request_through(app, Route::CreateClient).await
    }

    /// Sends one request through the route's handler, as API Gateway would.
    pub async fn send(
        &self,
        route: Route,
        authorization: Option<&str>,
        id: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        let mut event = Event::new(route);
        if let Some(authorization) = authorization {
            event = event.header("authorization", authorization);
        }
        if let Some(id) = id {
            event = event.id(id);
        }
        if let Some(body) = body {
            event = event.body(body);
        }
        self.dispatch(route, &event.text()).await
    }

    /// Runs an API Gateway event (JSON text) through the route's handler.
    pub async fn dispatch(&self, route: Route, event: &str) -> Reply {
        let request: Request =
            lambda_http::request::from_str(event).expect("a valid API Gateway event");
        self.dispatch_request(route, request).await
    }

    /// Runs a request through the route's handler, with the Lambda deadline
    /// of the configured time budget, if any.
    pub async fn dispatch_request(&self, route: Route, request: Request) -> Reply {
        let request = match self.time_budget {
            Some(budget) => {
                let mut context = lambda_http::Context::default();
                context.request_id = "test-lambda-request".into();
                context.deadline = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as u64
                    + budget.as_millis() as u64;
                lambda_http::RequestExt::with_lambda_context(request, context)
            }
            None => request,
        };
        let response = m2m_shared::api::handle(&self.app, route, request).await;
        let reply = Reply::from_response(response);
        self.check_secrets_in(route, &reply);
        openapi::check(route, &reply);
        documented::check(&reply);
        reply
    }

    /// The client secret is in the 201 of create and in no other response.
    fn check_secrets_in(&self, route: Route, reply: &Reply) {
        let known: Vec<String> = self
            .emulator
            .clients()
            .iter()
            .filter_map(|c| c["client_secret"].as_str().map(str::to_owned))
            .collect();
        // The two answers that show a secret: create's 201 and a
        // rotation's 200, each its own client's, once.
        let shows_a_secret = matches!(
            (route, reply.status),
            (Route::CreateClient, 201) | (Route::RotateClientSecret, 200)
        );
        if shows_a_secret {
            if let Some(secret) = reply.json["client_secret"].as_str() {
                self.remember_sensitive(secret);
            }
            let own = reply.json["client_secret"].as_str().unwrap_or_default();
            for secret in known.iter().filter(|s| s.as_str() != own) {
                assert!(
                    !reply.text.contains(secret.as_str()),
                    "another client's secret in a {route:?} {}",
                    reply.status
                );
            }
            return;
        }
        for secret in &known {
            assert!(
                !reply.text.contains(secret.as_str()),
                "a client secret in a {route:?} {} response",
                reply.status
            );
        }
        assert!(!reply.text.contains(MANAGEMENT_CLIENT_SECRET));
    }
}

impl Drop for TestEnv {
    /// No log line of the whole test process may contain a secret or token
    /// this environment knows of.
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let logs = logs::text();
        let mut sensitive = self
            .sensitive
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        sensitive.push(MANAGEMENT_CLIENT_SECRET.to_owned());
        sensitive.extend(self.emulator.management_tokens());
        sensitive.extend(
            self.emulator
                .clients()
                .iter()
                .filter_map(|c| c["client_secret"].as_str().map(str::to_owned)),
        );
        for value in sensitive {
            assert!(
                !logs.contains(&value),
                "a secret or token appears in the service's logs: {}…",
                &value[..value.len().min(6)]
            );
        }
    }
}

/// The owner index of `table`: a deployed function's, from `deployed`, or
/// through the plain `client`.
fn index_of(
    client: &aws_sdk_dynamodb::Client,
    deployed: Option<&aws_config::SdkConfig>,
    table: &str,
) -> DynamoIndex {
    match deployed {
        Some(config) => DynamoIndex::from_config(table, config),
        None => DynamoIndex::new(client.clone(), table),
    }
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// A request to `route` any caller could make: an id for the routes that
/// take one, a minimal valid body for create.
pub fn sample_event(route: Route) -> Event {
    let event = Event::new(route);
    match route {
        Route::CreateClient => event.body(r#"{"name": "x"}"#),
        Route::ListClients => event,
        Route::UpdateClient => event.id(UNKNOWN_ID).body(r#"{"name": "x"}"#),
        Route::GetClient
        | Route::DeleteClient
        | Route::RotateClientSecret
        | Route::DisableClient
        | Route::EnableClient
        | Route::ListCredentials => event.id(UNKNOWN_ID),
        Route::CreateCredential => event
            .id(UNKNOWN_ID)
            .body(&keys::public_key(auth0_emulator::ClientKey::B).to_string()),
        Route::DeleteCredential => event.id(UNKNOWN_ID).credential("cred_unknown"),
    }
}

/// A JWT header of `alg` naming the key `kid` (or none).
pub fn jwt_header(alg: Algorithm, kid: Option<&str>) -> Header {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    header
}

/// The base URL of a port on 127.0.0.1 where nothing listens: connections
/// are refused.
pub fn closed_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    format!("http://{}", listener.local_addr().unwrap())
}

/// The base URL of a server on 127.0.0.1 that accepts connections and never
/// answers (for as long as the test's runtime lives).
pub async fn silent_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    url
}

/// Runs `command` (`what` it is) to its end and returns its standard
/// output; a failure shows its standard error.
pub fn stdout_of(command: &mut std::process::Command, what: &str) -> Vec<u8> {
    let output = command.output().expect(what);
    assert!(
        output.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Awaits every future, all at once in this task; the outputs in the
/// order the futures finished.
pub async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let handles: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    let mut pending: Vec<_> = handles.into_iter().map(Some).collect();
    std::future::poll_fn(|context| {
        let mut done = true;
        for slot in pending.iter_mut() {
            if let Some(future) = slot {
                match future.as_mut().poll(context) {
                    std::task::Poll::Ready(output) => {
                        outputs.push(output);
                        *slot = None;
                    }
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs
}

/// Unpadded base64url, for hand-made token segments.
pub fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}
