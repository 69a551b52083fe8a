//! Auth0's wire format: the JSON the Management API takes and answers, in
//! the shapes of its published schema, and their translation to and from
//! the domain's nouns. Nothing here sends anything.

use std::collections::HashMap;
use std::time::SystemTime;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::{
    ClientUpdate, Credential, DirectoryClient, DirectoryCredential, DirectoryGrant, GrantPolicy,
    NewClient, NewKey, Owner,
};
use crate::secret_string::SecretString;

/// `client_metadata` key recording who created a client through this service.
pub const OWNER_METADATA_KEY: &str = "owner_client_id";
/// `client_metadata` key recording the creation that made a client (its
/// chosen id), by which the reconciler finds a client whose Auth0 id it
/// never heard.
pub const CREATION_METADATA_KEY: &str = "creation_id";
/// Auth0's `app_type` of machine-to-machine applications.
pub const M2M_APP_TYPE: &str = "non_interactive";
/// The fields we read; asking for no more keeps secrets out of our memory.
pub const READ_FIELDS: &str = "client_id,name,description,app_type,client_metadata";

/// `POST /api/v2/clients`: an M2M application recording its owner and
/// the creation that makes it (`creation_id`: the id the creation chose,
/// which names its record), with that id as the client's when the tenant
/// takes custom ids (`client_id`). A key client gets its key as its one
/// enabled credential, with `jwt_configuration.alg` RS256 (which Auth0
/// requires to set authentication methods) and no
/// `token_endpoint_auth_method` (the two are exclusive).
pub fn new_client_body(
    client: &NewClient,
    owner: &Owner,
    creation_id: &str,
    client_id: Option<&str>,
) -> Value {
    let mut body = json!({
        "name": client.name,
        "description": client.description,
        "app_type": M2M_APP_TYPE,
        "grant_types": ["client_credentials"],
        "client_metadata": {
            OWNER_METADATA_KEY: owner.as_str(),
            CREATION_METADATA_KEY: creation_id,
        },
    });
    if let Some(map) = body.as_object_mut() {
        match &client.public_key {
            Some(key) => {
                map.insert("jwt_configuration".into(), json!({"alg": "RS256"}));
                map.insert(
                    "client_authentication_methods".into(),
                    json!({"private_key_jwt": {"credentials": [credential_body(key)]}}),
                );
            }
            None => {
                map.insert(
                    "token_endpoint_auth_method".into(),
                    json!("client_secret_post"),
                );
            }
        }
        if let Some(id) = client_id {
            map.insert("client_id".into(), json!(id));
        }
    }
    body
}

/// A `public_key` credential, as `POST /api/v2/clients/{id}/credentials`
/// and a create's `client_authentication_methods` take it. Auth0 gives it
/// the key's thumbprint as its `kid`.
pub fn credential_body(key: &NewKey) -> Value {
    let mut body = json!({
        "credential_type": "public_key",
        "pem": key.pem,
        "alg": key.alg,
    });
    if let (Some(expiry), Some(map)) = (&key.expires_at, body.as_object_mut()) {
        map.insert("expires_at".into(), json!(expiry));
    }
    body
}

/// `PATCH /api/v2/clients/{id}`: exactly these credentials enabled.
pub fn enabled_credentials_body(credential_ids: &[&str]) -> Value {
    let listed: Vec<Value> = credential_ids.iter().map(|id| json!({"id": id})).collect();
    json!({"client_authentication_methods": {"private_key_jwt": {"credentials": listed}}})
}

/// A credential as Auth0 answers it (`POST` and `GET
/// /api/v2/clients/{id}/credentials`).
#[derive(Deserialize)]
pub struct Auth0Credential {
    id: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    expires_at: Option<String>,
}

impl From<Auth0Credential> for DirectoryCredential {
    fn from(credential: Auth0Credential) -> Self {
        let kid = credential.kid.unwrap_or_default();
        DirectoryCredential {
            credential: Credential {
                credential_id: credential.id,
                alg: credential.alg.unwrap_or_else(|| "RS256".into()),
                thumbprint_sha256: kid.clone(),
                // Auth0 documents it; should an answer lack it, the time
                // it was read is the nearest one known.
                created_at: credential
                    .created_at
                    .filter(|at| !at.is_empty())
                    .unwrap_or_else(now_rfc3339),
                expires_at: credential.expires_at,
            },
            kid,
        }
    }
}

/// Now, in RFC 3339 (UTC), as the credentials' times are shown.
pub fn now_rfc3339() -> String {
    DateTime::from(SystemTime::now())
        .fmt(Format::DateTime)
        .unwrap_or_default()
}

/// The ids of the credentials a create enabled
/// (`client_authentication_methods.private_key_jwt.credentials`).
#[derive(Deserialize, Default)]
pub struct AuthenticationMethods {
    #[serde(default)]
    private_key_jwt: Option<PrivateKeyJwt>,
}

#[derive(Deserialize)]
struct PrivateKeyJwt {
    #[serde(default)]
    credentials: Vec<CredentialId>,
}

#[derive(Deserialize)]
struct CredentialId {
    id: String,
}

impl AuthenticationMethods {
    pub fn private_key_jwt_ids(&self) -> Vec<String> {
        self.private_key_jwt
            .iter()
            .flat_map(|method| method.credentials.iter().map(|c| c.id.clone()))
            .collect()
    }
}

/// `POST /api/v2/client-grants`: `client_id` may call the policy's API with
/// its scopes.
pub fn grant_body(client_id: &str, grant: &GrantPolicy) -> Value {
    json!({
        "client_id": client_id,
        "audience": grant.audience,
        "scope": grant.scopes,
    })
}

/// `PATCH /api/v2/client-grants/{id}`: its scopes, replaced whole
/// (`UpdateClientGrantRequestContent`).
pub fn grant_scopes_body(grant: &GrantPolicy) -> Value {
    json!({ "scope": grant.scopes })
}

/// `PATCH /api/v2/clients/{id}`: only what changes (the schema wants at
/// least one property, and the update has one).
pub fn client_update_body(update: &ClientUpdate) -> Value {
    let mut body = serde_json::Map::new();
    if let Some(name) = &update.name {
        body.insert("name".into(), json!(name));
    }
    if let Some(description) = &update.description {
        body.insert("description".into(), json!(description));
    }
    Value::Object(body)
}

/// A grant as `GET /api/v2/client-grants` lists it: its id is all we need.
#[derive(Deserialize)]
pub struct Auth0Grant {
    pub id: String,
}

/// A client as `GET /api/v2/clients[/{id}]` answers it, with [`READ_FIELDS`].
#[derive(Deserialize)]
pub struct Auth0Client {
    client_id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    app_type: Option<String>,
    #[serde(default)]
    client_metadata: Option<HashMap<String, Value>>,
}

impl From<Auth0Client> for DirectoryClient {
    fn from(client: Auth0Client) -> Self {
        let metadata = |key: &str| {
            client
                .client_metadata
                .as_ref()
                .and_then(|metadata| metadata.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let owner = metadata(OWNER_METADATA_KEY);
        let creation_id = metadata(CREATION_METADATA_KEY);
        DirectoryClient {
            machine_to_machine: client.app_type.as_deref() == Some(M2M_APP_TYPE),
            client_id: client.client_id,
            name: client.name.unwrap_or_default(),
            description: client.description.unwrap_or_default(),
            owner,
            creation_id,
        }
    }
}

/// A grant as `GET /api/v2/client-grants?audience=…` lists it for the
/// audit: whose it is, and its scopes.
#[derive(Deserialize)]
pub struct ListedGrant {
    pub client_id: String,
    #[serde(default)]
    pub scope: Vec<String>,
}

impl From<ListedGrant> for DirectoryGrant {
    fn from(grant: ListedGrant) -> Self {
        DirectoryGrant {
            client_id: grant.client_id,
            scopes: grant.scope,
        }
    }
}

/// `GET /api/v2/client-grants` with checkpoint paging (`from`, `take`).
#[derive(Deserialize)]
pub struct GrantPage {
    client_grants: Vec<ListedGrant>,
    #[serde(default)]
    next: Option<String>,
}

impl GrantPage {
    pub fn into_parts(self) -> (Vec<ListedGrant>, Option<String>) {
        (
            self.client_grants,
            self.next.filter(|next| !next.is_empty()),
        )
    }
}

/// The answer to `POST /api/v2/clients`: the only one that carries a secret.
#[derive(Deserialize)]
pub struct Auth0CreatedClient {
    pub client_id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Absent for a client on Private Key JWT: Auth0 shows no secret of it.
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    #[serde(default)]
    pub client_authentication_methods: Option<AuthenticationMethods>,
}

/// `GET /api/v2/clients` with checkpoint paging (`from`, `take`) answers
/// with the page's clients and, while more remain, the next checkpoint.
#[derive(Deserialize)]
pub struct ClientPage {
    clients: Vec<Auth0Client>,
    #[serde(default)]
    next: Option<String>,
}

impl ClientPage {
    pub fn into_parts(self) -> (Vec<Auth0Client>, Option<String>) {
        (self.clients, self.next.filter(|next| !next.is_empty()))
    }
}

/// A client read back for its secret alone; also the answer to
/// `POST /api/v2/clients/{id}/rotate-secret` (the whole client, of which
/// we read the secret alone).
#[derive(Deserialize)]
pub struct ClientSecret {
    pub client_secret: SecretString,
}
