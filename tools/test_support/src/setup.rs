//! The service's surroundings as every test, bench and tool sets them up:
//! an Auth0 emulator that knows the management application and the callers'
//! API, the environment that points the service at it, callers' tokens,
//! Management API tokens and clients seeded straight into the tenant.

use std::time::{SystemTime, UNIX_EPOCH};

use auth0_emulator::{Emulator, EmulatorConfig};
use m2m_shared::auth0::{CredentialsSource, ManagementCredentials};
use m2m_shared::config::Config;
use m2m_shared::routes::Permission;
use m2m_shared::secret_string::SecretString;
use serde_json::{Value, json};
use tokio::time::Instant;

/// The audience callers' tokens are minted for (`JWT_AUDIENCE`).
pub const CALLER_AUDIENCE: &str = "https://m2m-client-service/";
/// The management application's credentials, as the tenant knows them.
pub const MANAGEMENT_CLIENT_ID: &str = "mgmt-client-id";
pub const MANAGEMENT_CLIENT_SECRET: &str = "mgmt-client-secret-do-not-log";

/// The emulator's configuration for the service: the management
/// application above, the callers' API, everything else Auth0's default.
pub fn emulator_config() -> EmulatorConfig {
    EmulatorConfig {
        management_client_id: MANAGEMENT_CLIENT_ID.into(),
        management_client_secret: MANAGEMENT_CLIENT_SECRET.into(),
        caller_audience: CALLER_AUDIENCE.into(),
        ..EmulatorConfig::default()
    }
}

/// The secret's JSON as Secrets Manager holds it.
pub fn management_secret_json() -> String {
    json!({"client_id": MANAGEMENT_CLIENT_ID, "client_secret": MANAGEMENT_CLIENT_SECRET})
        .to_string()
}

/// The service's required settings, pointing at `emulator`, the secret
/// `secret_id` and the owner index's table `table`.
pub fn service_env(
    emulator: &Emulator,
    secret_id: &str,
    table: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("AUTH0_DOMAIN", emulator.base_url()),
        ("AUTH0_SECRET_ID", secret_id.to_owned()),
        ("JWT_ISSUER", emulator.issuer()),
        ("JWT_AUDIENCE", CALLER_AUDIENCE.to_owned()),
        ("CLIENTS_TABLE", table.to_owned()),
    ]
}

/// A lookup of these settings, as the service reads the environment; of two
/// with the same name, the later wins (so overrides can be appended to
/// [`service_env`]).
pub fn lookup_in(vars: &[(&str, String)]) -> impl Fn(&str) -> Option<String> {
    move |name| {
        vars.iter()
            .rev()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.clone())
    }
}

/// The service's configuration from these settings (see [`lookup_in`]).
pub fn config_from(vars: &[(&str, String)]) -> Config {
    Config::from_lookup(lookup_in(vars)).expect("a valid configuration")
}

/// The management credentials straight from memory, for benches that
/// measure the service without Secrets Manager.
pub struct StaticCredentials;

impl CredentialsSource for StaticCredentials {
    async fn read(&self, _deadline: Instant) -> Result<ManagementCredentials, String> {
        Ok(ManagementCredentials {
            client_id: MANAGEMENT_CLIENT_ID.into(),
            client_secret: SecretString::new(MANAGEMENT_CLIENT_SECRET),
        })
    }
}

/// An owner, as the service records them.
pub fn owner(id: &str) -> m2m_shared::domain::Owner {
    m2m_shared::domain::Owner::parse(id).expect("a possible owner")
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs()
}

/// Every permission of the service, as a token's `scope`.
pub fn all_permissions() -> String {
    Permission::ALL.map(Permission::as_str).join(" ")
}

/// A caller token's claims without an identity: the right issuer and
/// audience, valid for an hour, granting every permission of the service.
pub fn base_claims(emulator: &Emulator) -> Value {
    let now = unix_now();
    json!({
        "iss": emulator.issuer(),
        "aud": CALLER_AUDIENCE,
        "iat": now,
        "exp": now + 3600,
        "scope": all_permissions(),
    })
}

/// The claims of `owner`'s client-credentials token (RFC 9068 profile):
/// `client_id` and `sub` name the caller.
pub fn caller_claims(emulator: &Emulator, owner: &str) -> Value {
    with_claims(
        base_claims(emulator),
        &json!({"sub": format!("{owner}@clients"), "client_id": owner}),
    )
}

/// `claims` with `extra` merged in; a `null` in `extra` removes that claim.
pub fn with_claims(mut claims: Value, extra: &Value) -> Value {
    if let (Some(claims), Some(extra)) = (claims.as_object_mut(), extra.as_object()) {
        for (key, value) in extra {
            if value.is_null() {
                claims.remove(key);
            } else {
                claims.insert(key.clone(), value.clone());
            }
        }
    }
    claims
}

/// A valid token for `owner`, signed by the emulator's published key.
pub fn caller_token(emulator: &Emulator, owner: &str) -> String {
    emulator.sign_caller_token(&caller_claims(emulator, owner))
}

/// What the emulator's `/oauth/token` answers the client credentials of
/// `client_id` and `client_secret` for `audience`: the status and the JSON
/// body (`Null` for one that is not JSON).
pub async fn token_answer(
    http: &reqwest::Client,
    emulator: &Emulator,
    (client_id, client_secret): (&str, &str),
    audience: &str,
) -> (u16, Value) {
    let answer = http
        .post(format!("{}/oauth/token", emulator.base_url()))
        .json(&json!({
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "audience": audience,
        }))
        .send()
        .await
        .expect("the emulator's token endpoint answers");
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or_default())
}

/// A Management API token from the emulator's `/oauth/token`, as the
/// management application gets one.
pub async fn management_token(http: &reqwest::Client, emulator: &Emulator) -> String {
    let credentials = (MANAGEMENT_CLIENT_ID, MANAGEMENT_CLIENT_SECRET);
    let audience = format!("{}/api/v2/", emulator.base_url());
    let (_, answer) = token_answer(http, emulator, credentials, &audience).await;
    answer["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

/// A client of `owner` made straight in the tenant, as an earlier create
/// would have left it; returns its id.
pub fn seed_owned_client(emulator: &Emulator, owner: &str, name: &str) -> String {
    emulator.seed_client(json!({
        "name": name,
        "description": format!("{name} description"),
        "app_type": "non_interactive",
        "grant_types": ["client_credentials"],
        "client_metadata": {"owner_client_id": owner},
    }))
}
