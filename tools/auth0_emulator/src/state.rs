//! The tenant's state: clients, their key credentials, grants, issued
//! tokens, keys, queued faults and the log of requests. Behind one mutex,
//! never held across an await.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::clock::format_millis;
use crate::keys::TestKey;
use crate::public_key::PublicKey;
use crate::{EmulatorConfig, Fault, RecordedRequest, Route};

pub struct Tenant {
    pub config: EmulatorConfig,
    pub clients: Vec<Value>,
    /// Every client's key credentials, oldest first.
    pub credentials: Vec<Credential>,
    /// The `jti` of each client assertion accepted, by client, with its
    /// `exp`: each is accepted once (kept until it expires, after which
    /// the assertion is refused for its `exp` anyway).
    pub used_assertions: HashMap<(String, String), u64>,
    pub grants: Vec<Value>,
    /// The APIs (resource servers), as `/api/v2/resource-servers` shows them.
    pub apis: Vec<Value>,
    /// Management API tokens and when they stop being accepted.
    pub management_tokens: HashMap<String, Instant>,
    pub published_keys: Vec<TestKey>,
    pub signing_key: TestKey,
    pub faults: HashMap<Route, VecDeque<QueuedFault>>,
    pub requests: Vec<RecordedRequest>,
    pub violations: Vec<String>,
    pub jwks_fetches: usize,
    rng: u64,
}

/// A fault waiting for its request: the next on its route, or the next
/// about one client.
pub struct QueuedFault {
    pub fault: Fault,
    pub client_id: Option<String>,
}

pub const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

impl Tenant {
    /// Whether the management application was granted any of `scopes`
    /// (every Management API token carries all of its scopes).
    pub fn granted_any(&self, scopes: &[&str]) -> bool {
        self.config
            .management_scopes
            .split_whitespace()
            .any(|scope| scopes.contains(&scope))
    }

    /// Whether the management application may read client secrets.
    pub fn reads_client_keys(&self) -> bool {
        self.granted_any(&["read:client_keys"])
    }

    pub fn new(config: EmulatorConfig) -> Self {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        Tenant {
            config,
            clients: Vec::new(),
            credentials: Vec::new(),
            used_assertions: HashMap::new(),
            grants: Vec::new(),
            apis: Vec::new(),
            management_tokens: HashMap::new(),
            published_keys: vec![TestKey::Dev],
            signing_key: TestKey::Dev,
            faults: HashMap::new(),
            requests: Vec::new(),
            violations: Vec::new(),
            jwks_fetches: 0,
            rng: seed | 1,
        }
    }

    /// SplitMix64: ids only need to be unique and unguessable-looking here.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn random_string(&mut self, alphabet: &[u8], length: usize) -> String {
        (0..length)
            .map(|_| alphabet[(self.next_random() % alphabet.len() as u64) as usize] as char)
            .collect()
    }

    pub fn new_client_id(&mut self) -> String {
        self.random_string(ALPHANUMERIC, 32)
    }

    pub fn new_client_secret(&mut self) -> String {
        self.random_string(SECRET_ALPHABET, 64)
    }

    /// A credential id in the form Auth0's have (`cred_` and 22 letters
    /// and digits).
    pub fn new_credential_id(&mut self) -> String {
        format!("cred_{}", self.random_string(ALPHANUMERIC, 22))
    }

    /// `client_id`'s credentials, oldest first.
    pub fn credentials_of<'a>(
        &'a self,
        client_id: &'a str,
    ) -> impl DoubleEndedIterator<Item = &'a Credential> {
        self.credentials
            .iter()
            .filter(move |credential| credential.client_id == client_id)
    }

    pub fn queue_fault(&mut self, route: Route, fault: Fault, client_id: Option<String>) {
        self.faults
            .entry(route)
            .or_default()
            .push_back(QueuedFault { fault, client_id });
    }

    /// Whether a fault on `route` waits for a request about one client
    /// (then the request's client must be found out).
    pub fn faults_for_clients(&self, route: Route) -> bool {
        self.faults
            .get(&route)
            .is_some_and(|queue| queue.iter().any(|queued| queued.client_id.is_some()))
    }

    /// The first fault on `route` for a request about `client_id` (if it is
    /// known): one queued for any request, or for that client.
    pub fn take_fault(&mut self, route: Route, client_id: Option<&str>) -> Option<Fault> {
        let queue = self.faults.get_mut(&route)?;
        let at = queue.iter().position(|queued| {
            queued
                .client_id
                .as_deref()
                .is_none_or(|wanted| Some(wanted) == client_id)
        })?;
        queue.remove(at).map(|queued| queued.fault)
    }

    /// The client a grant belongs to.
    pub fn grant_client(&self, grant_id: &str) -> Option<String> {
        self.grants
            .iter()
            .find(|grant| grant["id"] == grant_id)
            .and_then(|grant| grant["client_id"].as_str())
            .map(str::to_owned)
    }

    pub fn issue_management_token(&mut self) -> String {
        let token = format!("mgmt_{}", self.random_string(ALPHANUMERIC, 40));
        let expires = Instant::now() + self.config.management_token_lifetime;
        self.management_tokens.insert(token.clone(), expires);
        token
    }

    pub fn expire_management_tokens(&mut self) {
        let past = Instant::now()
            .checked_sub(Duration::from_secs(1))
            .unwrap_or_else(Instant::now);
        for expiry in self.management_tokens.values_mut() {
            *expiry = past;
        }
    }

    pub fn client(&self, client_id: &str) -> Option<&Value> {
        self.clients.iter().find(|c| c["client_id"] == client_id)
    }

    pub fn client_mut(&mut self, client_id: &str) -> Option<&mut Value> {
        self.clients
            .iter_mut()
            .find(|c| c["client_id"] == client_id)
    }

    /// A full client record with Auth0's defaults for what `fields` lacks.
    pub fn client_record(&mut self, mut fields: Value) -> Value {
        let client_id = match fields.get("client_id").and_then(Value::as_str) {
            Some(id) => id.to_owned(),
            None => self.new_client_id(),
        };
        let mut record = json!({
            "client_id": client_id,
            "tenant": "emulator",
            "name": "My application",
            "description": "",
            "global": false,
            "client_secret": self.new_client_secret(),
            "app_type": "regular_web",
            "is_first_party": true,
            "oidc_conformant": true,
            "grant_types": ["authorization_code", "implicit", "refresh_token", "client_credentials"],
            "token_endpoint_auth_method": "client_secret_post",
            "client_metadata": {},
            "callbacks": [],
            "allowed_origins": [],
            "web_origins": [],
            // No `alg`: HS256, the schema's default, as Auth0 answers a
            // create that names none (recorded by terraform-provider-auth0).
            "jwt_configuration": {"lifetime_in_seconds": 36000, "secret_encoded": false},
            "sso_disabled": false,
            "custom_login_page_on": true
        });
        if let (Some(record), Some(fields)) = (record.as_object_mut(), fields.as_object_mut()) {
            fields.remove("client_id");
            for (key, value) in std::mem::take(fields) {
                record.insert(key, value);
            }
        }
        record
    }
}

/// A client's key credential (`/api/v2/clients/{id}/credentials`): a
/// `public_key` one, the only type the emulator keeps.
#[derive(Clone, Debug)]
pub struct Credential {
    pub client_id: String,
    pub id: String,
    pub name: String,
    pub kid: String,
    /// `RS256`, `RS384` or `PS256`: the `alg` its assertions must have.
    pub alg: String,
    pub key: PublicKey,
    /// UNIX milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: Option<i64>,
}

impl Credential {
    /// As the credentials routes answer it: never its PEM, and no
    /// `expires_at` when it has none (the schema's `expires_at` is a
    /// string, never `null`).
    pub fn show(&self) -> Value {
        let mut shown = json!({
            "id": self.id,
            "credential_type": "public_key",
            "kid": self.kid,
            "alg": self.alg,
            "name": self.name,
            "created_at": format_millis(self.created_at),
            "updated_at": format_millis(self.updated_at),
        });
        if let Some(expires_at) = self.expires_at {
            shown["expires_at"] = Value::from(format_millis(expires_at));
        }
        shown
    }

    pub fn expired(&self, now_millis: i64) -> bool {
        self.expires_at.is_some_and(|expiry| expiry <= now_millis)
    }
}

/// The ids of the credentials `client` has enabled for Private Key JWT,
/// `None` for a client that does not use it.
pub fn private_key_jwt(client: &Value) -> Option<Vec<String>> {
    let credentials = client
        .get("client_authentication_methods")?
        .get("private_key_jwt")?
        .get("credentials")?
        .as_array()?;
    Some(
        credentials
            .iter()
            .filter_map(|credential| credential["id"].as_str().map(str::to_owned))
            .collect(),
    )
}
