//! A stateful stand-in for one Auth0 tenant: `/oauth/token` (with client
//! secrets and with Private Key JWT client assertions), the JWKS, and the
//! Management API's `/api/v2/clients` (their key credentials included) and
//! `/api/v2/client-grants`, with Auth0's status codes and error bodies. Every request body it receives is
//! checked against Auth0's published schemas (vendored in `schemas/`); a
//! violation is answered as Auth0 would and recorded, and an emulator dropped
//! with unread violations fails the test that used it.
//!
//! Faults can be queued per route (429s, 5xx, delays, dropped connections,
//! malformed JSON, expired tokens) so error paths are tested for real.

/// The committed key pair `keys/<name>-key.pem` and `keys/<name>-public.pem`
/// (see `keys/README.md`), as (private, public) PEMs. A macro because
/// `include_str!` takes only a literal path.
macro_rules! committed_key_pair {
    ($name:literal) => {
        (
            include_str!(concat!("../keys/", $name, "-key.pem")),
            include_str!(concat!("../keys/", $name, "-public.pem")),
        )
    };
}

mod client_keys;
mod clock;
mod keys;
mod public_key;
mod schema;
mod server;
mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jsonwebtoken::{Algorithm, Header};
use serde_json::Value;
use tokio::sync::oneshot;

pub use client_keys::{
    ASSERTION_LIFETIME_SECS, AUTH0_RECORDED_CERTIFICATE_KID, AUTH0_RECORDED_CERTIFICATE_PEM,
    CLIENT_ASSERTION_TYPE, ClientKey, EC_PUBLIC_PEM, HUGE_RSA_PUBLIC_PEM, SMALL_RSA_PUBLIC_PEM,
    assertion_claims, assertion_grant, client_assertion, sign_assertion,
};
pub use keys::{TestKey, encoding_key, public_jwk, public_key_pem};
pub use public_key::jwk_thumbprint;
pub use schema::Schema;
use state::Tenant;

/// How the emulated tenant is set up.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// Credentials accepted at `/oauth/token` for the Management API.
    pub management_client_id: String,
    pub management_client_secret: String,
    /// The API of the service's callers: any client of the tenant may get a
    /// token for it.
    pub caller_audience: String,
    /// API identifiers (resource servers) that exist in the tenant.
    pub resource_servers: Vec<String>,
    /// Whether the tenant has Auth0's custom client ids feature.
    pub custom_client_ids: bool,
    /// Whether the tenant's plan has Private Key JWT (Enterprise). Without
    /// it, creating or patching a client with `client_authentication_methods`
    /// and creating a credential answer 403 `insufficient_entitlement`.
    pub private_key_jwt: bool,
    /// `expires_in` of Management API tokens.
    pub management_token_lifetime: Duration,
    /// The Management API scopes the management application was granted,
    /// which its tokens carry. Reads show a client's secret only with
    /// `read:client_keys`, as Auth0's do. The routes added for the service's
    /// lifecycle operations (`UpdateClient`, `RotateSecret`, `DeleteGrant`)
    /// refuse a token without one of the scopes Auth0 documents for them
    /// (403 `insufficient_scope`); the older routes do not check scopes.
    /// The credentials routes check theirs, and so do a create and a
    /// PATCH of a client's `client_authentication_methods`
    /// (`create:client_credentials`, `update:client_credentials`).
    pub management_scopes: String,
    /// 0 for an ephemeral port.
    pub port: u16,
    /// The URL the emulator is reached at, if not the one it listens on
    /// (behind a proxy: the benchmarks' delaying relay). Its issuer and the
    /// Management API's audience are then this URL's, as clients see it.
    pub public_url: Option<String>,
}

/// What the service's management application is granted
/// (docs/behaviour.md, "Auth0 calls").
pub const MANAGEMENT_SCOPES: &str = "read:clients create:clients update:clients delete:clients \
read:client_keys update:client_keys read:client_grants create:client_grants update:client_grants delete:client_grants \
create:client_credentials read:client_credentials update:client_credentials delete:client_credentials";

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            management_client_id: "mgmt-client-id".into(),
            management_client_secret: "mgmt-client-secret".into(),
            caller_audience: "https://m2m-client-service/".into(),
            resource_servers: vec!["https://butlrauth/".into()],
            custom_client_ids: true,
            private_key_jwt: true,
            management_token_lifetime: Duration::from_secs(86400),
            management_scopes: MANAGEMENT_SCOPES.into(),
            port: 0,
            public_url: None,
        }
    }
}

/// The emulator's routes, for counting requests and queueing faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// `POST /oauth/token`
    Token,
    /// `GET /.well-known/jwks.json`
    Jwks,
    /// `POST /api/v2/clients`
    CreateClient,
    /// `GET /api/v2/clients`
    ListClients,
    /// `GET /api/v2/clients/{id}`
    GetClient,
    /// `PATCH /api/v2/clients/{id}`
    UpdateClient,
    /// `POST /api/v2/clients/{id}/rotate-secret`
    RotateSecret,
    /// `DELETE /api/v2/clients/{id}`
    DeleteClient,
    /// `GET /api/v2/clients/{id}/credentials`
    ListCredentials,
    /// `POST /api/v2/clients/{id}/credentials`
    CreateCredential,
    /// `GET /api/v2/clients/{id}/credentials/{credential_id}`
    GetCredential,
    /// `PATCH /api/v2/clients/{id}/credentials/{credential_id}`
    UpdateCredential,
    /// `DELETE /api/v2/clients/{id}/credentials/{credential_id}`
    DeleteCredential,
    /// `POST /api/v2/client-grants`
    CreateGrant,
    /// `GET /api/v2/client-grants`
    ListGrants,
    /// `DELETE /api/v2/client-grants/{id}`
    DeleteGrant,
    /// `PATCH /api/v2/client-grants/{id}`
    UpdateGrant,
    /// `GET /api/v2/resource-servers`
    ListResourceServers,
    /// `POST /api/v2/resource-servers`
    CreateResourceServer,
    /// `PATCH /api/v2/resource-servers/{id}`
    UpdateResourceServer,
    /// `DELETE /api/v2/resource-servers/{id}`
    DeleteResourceServer,
    /// Anything else, answered with Auth0's 404 body.
    Other,
}

/// A request as the emulator received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    pub route: Route,
    pub method: String,
    pub path: String,
    pub query: String,
    pub authorization_present: bool,
}

/// Something to go wrong with the next request on a route. Each queued
/// fault is used up by one request on its route, first in, first out.
///
/// `Status` and `RateLimited` answer instead of the tenant (nothing
/// changes). `Delay`, `DropConnection`, `MalformedJson` and
/// `HandledThenStatus` spoil the answer of a request the tenant has carried
/// out: a create behind a dropped connection has created the client.
/// Faults queued with [`Emulator::inject_for`] wait for a request about
/// their client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status with Auth0's error body for it (the Management
    /// API's `{statusCode, error, message, errorCode}`; on the token
    /// endpoint and JWKS, OAuth's `{error, error_description}`).
    Status(u16),
    /// 429 with Auth0's body and `x-ratelimit-limit`,
    /// `x-ratelimit-remaining: 0` and `x-ratelimit-reset` (UNIX seconds,
    /// this far ahead).
    RateLimited { reset_after_secs: u64 },
    /// Handle the request, then wait this long before answering.
    Delay(Duration),
    /// Wait this long before handling the request at all: a request still
    /// on its way when its caller died changes nothing.
    Stall(Duration),
    /// Handle the request, then break the connection before any usable
    /// answer (the client sees a request or body error; a 204 is turned
    /// into a 200 whose body breaks, as hyper never sends a 204's body).
    DropConnection,
    /// Handle the request, then answer its status and
    /// `content-type: application/json` with the body cut in half (a 204
    /// stays an empty 204).
    MalformedJson,
    /// Expire every Management API token issued so far, then answer normally
    /// (a request bearing one of them gets 401).
    ExpireManagementTokens,
    /// Handle the request, then answer this status with Auth0's error body
    /// for it instead of the tenant's answer: Auth0 (or a gateway in front
    /// of it) failing after the work was done.
    HandledThenStatus(u16),
}

pub(crate) struct Shared {
    pub base_url: String,
    pub tenant: Mutex<Tenant>,
}

impl Shared {
    pub fn tenant(&self) -> MutexGuard<'_, Tenant> {
        // Poisoning means a panic elsewhere; the data is still usable for a test stand-in.
        self.tenant
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running emulator; it stops when dropped.
pub struct Emulator {
    shared: Arc<Shared>,
    /// Where it listens: `http://127.0.0.1:PORT`.
    listen_url: String,
    /// Fired on drop: the server stops accepting and closes its idle
    /// connections.
    shutdown: Option<oneshot::Sender<()>>,
}

impl Emulator {
    /// Starts serving on 127.0.0.1 (port from the config, 0 for any).
    pub async fn start(config: EmulatorConfig) -> std::io::Result<Emulator> {
        let listener =
            tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], config.port))).await?;
        let address = listener.local_addr()?;
        let listen_url = format!("http://{address}");
        let base_url = match &config.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => listen_url.clone(),
        };
        let shared = Arc::new(Shared {
            base_url,
            tenant: Mutex::new(Tenant::new(config)),
        });
        let router = server::router(shared.clone());
        let (shutdown, stopped) = oneshot::channel::<()>();
        // Detached: it ends when `shutdown` fires (on drop) or the runtime does.
        tokio::spawn(async move {
            let serving = axum::serve(listener, router).with_graceful_shutdown(async move {
                // A dropped sender stops the server as well.
                let _ = stopped.await;
            });
            if let Err(error) = serving.await {
                tracing::error!(%error, "auth0 emulator stopped");
            }
        });
        Ok(Emulator {
            shared,
            listen_url,
            shutdown: Some(shutdown),
        })
    }

    /// `http://127.0.0.1:PORT`, no trailing slash (the configuration's
    /// `public_url`, if it has one).
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// Where it listens, `http://127.0.0.1:PORT`, whatever its `public_url`.
    pub fn listen_url(&self) -> &str {
        &self.listen_url
    }

    /// The `iss` of tokens it signs: the base URL with a slash, like Auth0's.
    pub fn issuer(&self) -> String {
        format!("{}/", self.shared.base_url)
    }

    pub fn jwks_url(&self) -> String {
        format!("{}.well-known/jwks.json", self.issuer())
    }

    /// A caller token: `claims` signed RS256 with the current signing key.
    pub fn sign_caller_token(&self, claims: &Value) -> String {
        let key = self.shared.tenant().signing_key;
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.kid().to_owned());
        self.sign_with(&header, claims, key)
    }

    /// Any header and claims, signed with any of the test keys. For an
    /// HMAC `alg` the key's public PEM is the secret (the classic algorithm
    /// confusion attack); EC and EdDSA algorithms cannot be signed with
    /// these RSA keys and panic.
    pub fn sign_with(&self, header: &Header, claims: &Value, key: TestKey) -> String {
        sign(header, claims, key)
    }

    /// Publishes `key` in the JWKS and signs caller tokens with it from now on.
    pub fn publish_key(&self, key: TestKey) {
        let mut tenant = self.shared.tenant();
        if !tenant.published_keys.contains(&key) {
            tenant.published_keys.push(key);
        }
        tenant.signing_key = key;
    }

    /// Queues `fault` for the next request on `route` (FIFO, one per request).
    pub fn inject(&self, route: Route, fault: Fault) {
        self.shared.tenant().queue_fault(route, fault, None);
    }

    /// Queues `fault` for the next request on `route` about the client
    /// `client_id`: the client in its path (`/api/v2/clients/{id}`), the
    /// client of the grant in its path, its `client_id` query parameter or
    /// body property. Requests about other clients pass it by.
    pub fn inject_for(&self, route: Route, client_id: &str, fault: Fault) {
        self.shared
            .tenant()
            .queue_fault(route, fault, Some(client_id.to_owned()));
    }

    /// Takes every queued fault no request has met yet: each route's in
    /// the order queued, with the client it waits for, if any. A test that
    /// sets one request's faults aside while another runs queues them
    /// again afterwards.
    pub fn take_faults(&self) -> Vec<(Route, Fault, Option<String>)> {
        let mut tenant = self.shared.tenant();
        let mut taken = Vec::new();
        for (route, queue) in tenant.faults.drain() {
            taken.extend(
                queue
                    .into_iter()
                    .map(|queued| (route, queued.fault, queued.client_id)),
            );
        }
        taken
    }

    /// How many faults queued on `route` no request has met yet.
    pub fn queued_faults(&self, route: Route) -> usize {
        self.shared
            .tenant()
            .faults
            .get(&route)
            .map_or(0, std::collections::VecDeque::len)
    }

    pub fn set_custom_client_ids(&self, enabled: bool) {
        self.shared.tenant().config.custom_client_ids = enabled;
    }

    /// Gives the tenant Private Key JWT, or takes it away (see
    /// [`EmulatorConfig::private_key_jwt`]).
    pub fn set_private_key_jwt(&self, enabled: bool) {
        self.shared.tenant().config.private_key_jwt = enabled;
    }

    /// `client_id`'s key credentials as `GET
    /// /api/v2/clients/{client_id}/credentials` shows them, oldest first.
    pub fn credentials(&self, client_id: &str) -> Vec<Value> {
        self.shared
            .tenant()
            .credentials_of(client_id)
            .map(state::Credential::show)
            .collect()
    }

    /// Makes the credential `credential_id` expire now, as if its
    /// `expires_at` had come: its assertions are refused from now on.
    /// Returns whether there is such a credential.
    pub fn expire_credential(&self, credential_id: &str) -> bool {
        let now = clock::now_millis();
        let mut tenant = self.shared.tenant();
        let found = tenant
            .credentials
            .iter_mut()
            .find(|credential| credential.id == credential_id);
        found
            .map(|credential| credential.expires_at = Some(now))
            .is_some()
    }

    /// Stores a client directly (someone else's, or not an M2M app), with
    /// Auth0's defaults for what `client` lacks (a generated `client_id` and
    /// `client_secret` among them); returns its id.
    ///
    /// # Panics
    /// If a client with that `client_id` exists: a mistake in the test.
    pub fn seed_client(&self, client: Value) -> String {
        let mut tenant = self.shared.tenant();
        let record = tenant.client_record(client);
        let id = record["client_id"].as_str().unwrap_or_default().to_owned();
        if tenant.client(&id).is_some() {
            drop(tenant);
            panic!("seed_client: a client with client_id {id:?} exists already");
        }
        tenant.clients.push(record);
        id
    }

    /// Stored clients in creation order, secrets included.
    pub fn clients(&self) -> Vec<Value> {
        self.shared.tenant().clients.clone()
    }

    pub fn grants(&self) -> Vec<Value> {
        self.shared.tenant().grants.clone()
    }

    /// The tenant's APIs (resource servers), the system Management API
    /// among them, in creation order.
    pub fn resource_servers(&self) -> Vec<Value> {
        self.shared.tenant().apis.clone()
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.tenant().requests.clone()
    }

    /// Requests received on `route`, faulted ones included.
    pub fn count(&self, route: Route) -> usize {
        self.shared
            .tenant()
            .requests
            .iter()
            .filter(|r| r.route == route)
            .count()
    }

    /// Every Management API token issued so far.
    pub fn management_tokens(&self) -> Vec<String> {
        self.shared
            .tenant()
            .management_tokens
            .keys()
            .cloned()
            .collect()
    }

    pub fn jwks_fetches(&self) -> usize {
        self.shared.tenant().jwks_fetches
    }

    pub fn schema_violations(&self) -> Vec<String> {
        self.shared.tenant().violations.clone()
    }

    /// Returns and forgets the violations (for tests that send bad bodies on purpose).
    pub fn take_schema_violations(&self) -> Vec<String> {
        std::mem::take(&mut self.shared.tenant().violations)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        // Requests still in flight (a long injected delay) finish in the
        // background; the listener closes at once.
        let violations = self.schema_violations();
        if !violations.is_empty() && !std::thread::panicking() {
            panic!(
                "the Auth0 emulator received requests that violate Auth0's schemas:\n{}",
                violations.join("\n")
            );
        }
    }
}

/// Signs `claims` with `key` under `header.alg`: RSA algorithms with the
/// private key, HMAC ones with the public key's PEM as the secret.
///
/// # Panics
/// For algorithms an RSA key cannot sign (ES*, EdDSA): a test helper's
/// misuse, not a request path.
pub fn sign(header: &Header, claims: &Value, key: TestKey) -> String {
    let signing_key = match header.alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            jsonwebtoken::EncodingKey::from_secret(key.public_key_pem().as_bytes())
        }
        _ => encoding_key(key),
    };
    #[allow(clippy::expect_used)]
    jsonwebtoken::encode(header, claims, &signing_key)
        .expect("the test keys sign with RSA and HMAC algorithms")
}
