//! `/api/v2/clients`: creating, listing, reading and deleting applications.

use std::sync::atomic::Ordering;

use reqwest::StatusCode;
use tokio::time::Instant;
use tracing::{error, warn};

use super::transport::{Answer, Call};
use super::wire::{
    Auth0Client, Auth0CreatedClient, ClientPage, M2M_APP_TYPE, READ_FIELDS, new_client_body,
};
use super::{CredentialsSource, ManagementApi};
use crate::domain::{CreatedClient, DirectoryClient, NewClient, Owner};
use crate::error::UpstreamError;

/// Auth0's maximum page size.
pub const PAGE_SIZE: usize = 100;
/// A tenant with more than this many M2M clients would take more calls than
/// any invocation has time for; stop rather than loop on a confused upstream.
const MAX_PAGES: usize = 1000;

/// `POST /api/v2/clients` by `deadline`, with a `client_{ksuid}` id while
/// the tenant takes custom ids. A creation whose outcome is unknown is
/// undone by that id, by `discard_deadline`.
pub(super) async fn create<S: CredentialsSource>(
    api: &ManagementApi<S>,
    client: &NewClient,
    owner: &Owner,
    deadline: Instant,
    discard_deadline: Instant,
) -> Result<CreatedClient, UpstreamError> {
    // Without a token nothing is sent, so there is nothing to discard: the
    // token comes first (from the cache, as a rule), and its failure is
    // answered at once instead of spending the discard's time.
    api.tokens.token(&api.http, deadline).await?;
    let mut chosen_id = api
        .custom_client_ids
        .load(Ordering::Relaxed)
        .then(|| format!("client_{}", ksuid::Ksuid::generate().to_base62()));

    let mut result = post(api, client, owner, chosen_id.as_deref(), deadline).await;
    if let Ok(answer) = &result
        && chosen_id.is_some()
        && custom_ids_unsupported(answer)
    {
        warn!(
            "this Auth0 tenant does not support custom client ids; using Auth0's ids from now on"
        );
        api.custom_client_ids.store(false, Ordering::Relaxed);
        chosen_id = None;
        result = post(api, client, owner, None, deadline).await;
    }

    let confirmed = match result {
        Ok(answer) if answer.status == StatusCode::CREATED || answer.status == StatusCode::OK => {
            answer.parse::<Auth0CreatedClient>("create client")
        }
        // Auth0 said no: nothing was created.
        Ok(answer) if answer.status.is_client_error() => {
            return Err(answer.failure("create client"));
        }
        Ok(answer) => Err(answer.failure("create client")),
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
                Some(id) => discard_unconfirmed(api, id, discard_deadline).await,
                None => {
                    error!(error = %cause, "a client may have been created without confirmation (no custom id to find it by)")
                }
            }
            Err(cause)
        }
    }
}

async fn post<S: CredentialsSource>(
    api: &ManagementApi<S>,
    client: &NewClient,
    owner: &Owner,
    client_id: Option<&str>,
    deadline: Instant,
) -> Result<Answer, UpstreamError> {
    let body = new_client_body(client, owner, client_id);
    api.call(&Call::post("/api/v2/clients", &body), deadline)
        .await
}

/// After a create whose outcome we could not see, deletes the client by
/// the id we chose, in case Auth0 made it: better no client than one
/// nobody knows the secret of. Deleting a missing client is a no-op.
async fn discard_unconfirmed<S: CredentialsSource>(
    api: &ManagementApi<S>,
    client_id: &str,
    deadline: Instant,
) {
    if let Err(cause) = delete(api, client_id, deadline).await {
        error!(client_id, error = %cause, "ORPHANED CLIENT: could not discard a client whose creation was not confirmed; delete it by hand");
    } else {
        warn!(
            client_id,
            "discarded a client whose creation was not confirmed"
        );
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

/// Every M2M client of the tenant, a page of [`PAGE_SIZE`] at a time.
pub(super) async fn list<S: CredentialsSource>(
    api: &ManagementApi<S>,
    deadline: Instant,
) -> Result<Vec<DirectoryClient>, UpstreamError> {
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
        let answer = api
            .call(&Call::get("/api/v2/clients", &query), deadline)
            .await?;
        if answer.status != StatusCode::OK {
            return Err(answer.failure("list clients"));
        }
        let (batch, total) = answer.parse::<ClientPage>("list clients")?.into_parts();
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

/// `GET /api/v2/clients/{id}`; `None` when Auth0 has no such client.
pub(super) async fn get<S: CredentialsSource>(
    api: &ManagementApi<S>,
    client_id: &str,
    deadline: Instant,
) -> Result<Option<DirectoryClient>, UpstreamError> {
    let path = format!("/api/v2/clients/{client_id}");
    let query = [
        ("fields", READ_FIELDS.to_owned()),
        ("include_fields", "true".to_owned()),
    ];
    let answer = api.call(&Call::get(&path, &query), deadline).await?;
    match answer.status {
        StatusCode::OK => Ok(Some(answer.parse::<Auth0Client>("get client")?.into())),
        StatusCode::NOT_FOUND => Ok(None),
        _ => Err(answer.failure("get client")),
    }
}

/// `DELETE /api/v2/clients/{id}`; a client already gone counts as deleted.
pub(super) async fn delete<S: CredentialsSource>(
    api: &ManagementApi<S>,
    client_id: &str,
    deadline: Instant,
) -> Result<(), UpstreamError> {
    let path = format!("/api/v2/clients/{client_id}");
    let answer = api.call(&Call::delete(&path), deadline).await?;
    match answer.status {
        // Auth0 answers 204 for a client that is already gone, too.
        StatusCode::NO_CONTENT | StatusCode::OK | StatusCode::NOT_FOUND => Ok(()),
        _ => Err(answer.failure("delete client")),
    }
}
