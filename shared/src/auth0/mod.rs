//! The Auth0 Management API adapter: the [`ClientDirectory`] the service
//! runs on in production. It speaks `/api/v2/clients` and
//! `/api/v2/client-grants` in the shapes of Auth0's published schemas.

mod token;
mod transport;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;
use tracing::{error, warn};

pub use token::{CredentialsSource, ManagementCredentials, ManagementTokens, TOKEN_EXPIRY_MARGIN};
pub use transport::{ATTEMPT_TIMEOUT, MAX_RETRIES};
use transport::{Answer, Auth0Http, Call, Outcome, Retry};

use crate::clients::{
    ClientDirectory, CreatedClient, DirectoryClient, GrantPolicy, NewClient, Owner,
};
use crate::error::UpstreamError;
use crate::secret::SecretString;

/// `client_metadata` key recording who created a client through this service.
pub const OWNER_METADATA_KEY: &str = "owner_client_id";
/// Auth0's maximum page size.
pub const PAGE_SIZE: usize = 100;
/// The fields we read; asking for no more keeps secrets out of our memory.
const READ_FIELDS: &str = "client_id,name,description,app_type,client_metadata";
const M2M_APP_TYPE: &str = "non_interactive";
/// Time a creation keeps back for deleting a client whose creation it could
/// not confirm.
const DISCARD_RESERVE: Duration = Duration::from_secs(2);
/// A tenant with more than this many M2M clients would take more calls than
/// any invocation has time for; stop rather than loop on a confused upstream.
const MAX_PAGES: usize = 1000;

/// Auth0's Management API, for one tenant.
pub struct ManagementApi<S> {
    http: Auth0Http,
    tokens: ManagementTokens<S>,
    /// `client_{ksuid}` ids are asked for until the tenant says it cannot do
    /// them; then never again in this container.
    custom_client_ids: AtomicBool,
}

#[derive(Deserialize)]
struct Auth0Client {
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
        let owner = client
            .client_metadata
            .as_ref()
            .and_then(|metadata| metadata.get(OWNER_METADATA_KEY))
            .and_then(Value::as_str)
            .map(str::to_owned);
        DirectoryClient {
            machine_to_machine: client.app_type.as_deref() == Some(M2M_APP_TYPE),
            client_id: client.client_id,
            name: client.name.unwrap_or_default(),
            description: client.description.unwrap_or_default(),
            owner,
        }
    }
}

#[derive(Deserialize)]
struct Auth0CreatedClient {
    client_id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    client_secret: SecretString,
}

/// `GET /api/v2/clients?include_totals=true` answers with a page object;
/// without it, a bare array. Both are accepted.
#[derive(Deserialize)]
#[serde(untagged)]
enum ClientPage {
    WithTotals {
        clients: Vec<Auth0Client>,
        total: Option<u64>,
    },
    Bare(Vec<Auth0Client>),
}

impl<S: CredentialsSource> ManagementApi<S> {
    pub fn new(
        http: reqwest::Client,
        base_url: String,
        management_audience: String,
        credentials: S,
        custom_client_ids: bool,
    ) -> Self {
        ManagementApi {
            http: Auth0Http::new(http, base_url),
            tokens: ManagementTokens::new(credentials, management_audience),
            custom_client_ids: AtomicBool::new(custom_client_ids),
        }
    }

    pub fn tokens(&self) -> &ManagementTokens<S> {
        &self.tokens
    }

    /// Reads the credentials and obtains a Management API token ahead of
    /// the first request, which every route but a refused one needs: a
    /// container's first answer then waits on one Auth0 call, not three.
    pub async fn warm_up(&self, budget: Duration) -> Result<(), UpstreamError> {
        self.tokens
            .token(&self.http, Instant::now() + budget)
            .await
            .map(drop)
    }

    /// Sends a Management API call with a token, renewing the token once if
    /// Auth0 rejects it.
    async fn call(&self, call: &Call<'_>, deadline: Instant) -> Result<Answer, UpstreamError> {
        let token = self.tokens.token(&self.http, deadline).await?;
        match self.http.send(call, Some(token.expose()), deadline).await? {
            Outcome::Answered(answer) => return Ok(answer),
            Outcome::Unauthorized => self.tokens.invalidate(&token).await,
        }
        let token = self.tokens.token(&self.http, deadline).await?;
        match self.http.send(call, Some(token.expose()), deadline).await? {
            Outcome::Answered(answer) => Ok(answer),
            Outcome::Unauthorized => Err(UpstreamError::Failed(format!(
                "{} {}: a fresh management token was rejected too",
                call.method, call.path
            ))),
        }
    }

    async fn post_client(&self, body: &Value, deadline: Instant) -> Result<Answer, UpstreamError> {
        let call = Call {
            method: Method::POST,
            path: "/api/v2/clients",
            query: &[],
            body: Some(body),
            retry: Retry::OnlyIfNotProcessed,
        };
        self.call(&call, deadline).await
    }

    /// After a create whose outcome we could not see, deletes the client by
    /// the id we chose, in case Auth0 made it: better no client than one
    /// nobody knows the secret of. Deleting a missing client is a no-op.
    async fn discard_unconfirmed(&self, client_id: &str, deadline: Instant) {
        if let Err(cause) = self.delete_client(client_id, deadline).await {
            error!(client_id, error = %cause, "ORPHANED CLIENT: could not discard a client whose creation was not confirmed; delete it by hand");
        } else {
            warn!(
                client_id,
                "discarded a client whose creation was not confirmed"
            );
        }
    }
}

/// Whether Auth0 refused the `client_id` property because the tenant does
/// not have custom client ids.
fn custom_ids_unsupported(answer: &Answer) -> bool {
    match answer.status {
        StatusCode::FORBIDDEN => answer.error_code().as_deref() == Some("operation_not_supported"),
        StatusCode::BAD_REQUEST => {
            answer.error_code().as_deref() == Some("invalid_body")
                && answer
                    .error_message()
                    .is_some_and(|message| message.contains("client_id"))
        }
        _ => false,
    }
}

fn failed(what: &str, answer: &Answer) -> UpstreamError {
    UpstreamError::Failed(format!(
        "{what}: HTTP {}{}",
        answer.status.as_u16(),
        answer
            .error_code()
            .map(|code| format!(" ({code})"))
            .unwrap_or_default()
    ))
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, answer: &Answer) -> Result<T, UpstreamError> {
    serde_json::from_slice(&answer.body)
        .map_err(|_| UpstreamError::Failed(format!("{what}: unreadable answer")))
}

impl<S: CredentialsSource> ClientDirectory for ManagementApi<S> {
    async fn create_client(
        &self,
        client: &NewClient,
        owner: &Owner,
        deadline: Instant,
    ) -> Result<CreatedClient, UpstreamError> {
        let mut body = json!({
            "name": client.name,
            "description": client.description,
            "app_type": M2M_APP_TYPE,
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_post",
            "client_metadata": { OWNER_METADATA_KEY: owner.as_str() },
        });
        let mut chosen_id = None;
        if self.custom_client_ids.load(Ordering::Relaxed) {
            let id = format!("client_{}", ksuid::Ksuid::generate().to_base62());
            if let Some(map) = body.as_object_mut() {
                map.insert("client_id".into(), json!(id));
            }
            chosen_id = Some(id);
        }

        // The creation keeps time back for discarding what it may have made.
        let send_deadline = deadline
            .checked_sub(DISCARD_RESERVE)
            .unwrap_or(deadline)
            .max(Instant::now());
        let mut result = self.post_client(&body, send_deadline).await;
        if let Ok(answer) = &result
            && chosen_id.is_some()
            && custom_ids_unsupported(answer)
        {
            warn!(
                "this Auth0 tenant does not support custom client ids; using Auth0's ids from now on"
            );
            self.custom_client_ids.store(false, Ordering::Relaxed);
            if let Some(map) = body.as_object_mut() {
                map.remove("client_id");
            }
            chosen_id = None;
            result = self.post_client(&body, send_deadline).await;
        }

        let confirmed = match result {
            Ok(answer)
                if answer.status == StatusCode::CREATED || answer.status == StatusCode::OK =>
            {
                parse::<Auth0CreatedClient>("create client", &answer)
            }
            // Auth0 said no: nothing was created.
            Ok(answer) if answer.status.is_client_error() => {
                return Err(failed("create client", &answer));
            }
            Ok(answer) => Err(failed("create client", &answer)),
            // Persistent 429s were never processed; without credentials
            // nothing was sent.
            Err(unsent @ (UpstreamError::RateLimited { .. } | UpstreamError::Credentials(_))) => {
                return Err(unsent);
            }
            Err(other) => Err(other),
        };
        match confirmed {
            Ok(created) => Ok(CreatedClient {
                name: created.name.unwrap_or_else(|| client.name.clone()),
                description: created
                    .description
                    .unwrap_or_else(|| client.description.clone()),
                client_id: created.client_id,
                client_secret: created.client_secret,
            }),
            Err(cause) => {
                match &chosen_id {
                    Some(id) => self.discard_unconfirmed(id, deadline).await,
                    None => {
                        error!(error = %cause, "a client may have been created without confirmation (no custom id to find it by)")
                    }
                }
                Err(cause)
            }
        }
    }

    async fn create_grant(
        &self,
        client_id: &str,
        grant: &GrantPolicy,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        let body = json!({
            "client_id": client_id,
            "audience": grant.audience,
            "scope": grant.scopes,
        });
        let call = Call {
            method: Method::POST,
            path: "/api/v2/client-grants",
            query: &[],
            body: Some(&body),
            retry: Retry::OnlyIfNotProcessed,
        };
        let answer = self.call(&call, deadline).await?;
        match answer.status {
            StatusCode::CREATED | StatusCode::OK => Ok(()),
            // The grant for this new client and audience exists already: the
            // client is authorized, which is all we wanted.
            StatusCode::CONFLICT => Ok(()),
            _ => Err(failed("create client grant", &answer)),
        }
    }

    async fn list_clients(&self, deadline: Instant) -> Result<Vec<DirectoryClient>, UpstreamError> {
        let mut clients = Vec::new();
        for page in 0..MAX_PAGES {
            let query = [
                ("fields", READ_FIELDS.to_owned()),
                ("include_fields", "true".to_owned()),
                ("app_type", M2M_APP_TYPE.to_owned()),
                ("per_page", PAGE_SIZE.to_string()),
                ("page", page.to_string()),
                ("include_totals", "true".to_owned()),
            ];
            let call = Call {
                method: Method::GET,
                path: "/api/v2/clients",
                query: &query,
                body: None,
                retry: Retry::Safe,
            };
            let answer = self.call(&call, deadline).await?;
            if answer.status != StatusCode::OK {
                return Err(failed("list clients", &answer));
            }
            let (batch, total) = match parse::<ClientPage>("list clients", &answer)? {
                ClientPage::WithTotals { clients, total } => (clients, total),
                ClientPage::Bare(clients) => (clients, None),
            };
            let batch_len = batch.len();
            clients.extend(batch.into_iter().map(DirectoryClient::from));
            let seen_all = total.is_some_and(|total| clients.len() as u64 >= total);
            if batch_len < PAGE_SIZE || seen_all {
                return Ok(clients);
            }
        }
        Err(UpstreamError::Failed(format!(
            "list clients: more than {MAX_PAGES} pages"
        )))
    }

    async fn get_client(
        &self,
        client_id: &str,
        deadline: Instant,
    ) -> Result<Option<DirectoryClient>, UpstreamError> {
        let path = format!("/api/v2/clients/{client_id}");
        let query = [
            ("fields", READ_FIELDS.to_owned()),
            ("include_fields", "true".to_owned()),
        ];
        let call = Call {
            method: Method::GET,
            path: &path,
            query: &query,
            body: None,
            retry: Retry::Safe,
        };
        let answer = self.call(&call, deadline).await?;
        match answer.status {
            StatusCode::OK => Ok(Some(parse::<Auth0Client>("get client", &answer)?.into())),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(failed("get client", &answer)),
        }
    }

    async fn delete_client(&self, client_id: &str, deadline: Instant) -> Result<(), UpstreamError> {
        let path = format!("/api/v2/clients/{client_id}");
        let call = Call {
            method: Method::DELETE,
            path: &path,
            query: &[],
            body: None,
            retry: Retry::Safe,
        };
        let answer = self.call(&call, deadline).await?;
        match answer.status {
            // Auth0 answers 204 for a client that is already gone, too.
            StatusCode::NO_CONTENT | StatusCode::OK | StatusCode::NOT_FOUND => Ok(()),
            _ => Err(failed("delete client", &answer)),
        }
    }
}
