//! `/api/v2/clients`: creating, listing (a page at a time, for the
//! reconciler), reading a secret, updating, rotating the secret of and
//! deleting applications.

use std::sync::atomic::Ordering;

use reqwest::StatusCode;
use tokio::time::Instant;
use tracing::{error, warn};

use super::credentials::refusal;
use super::management_api::ManagementApi;
use super::token::CredentialsSource;
use super::transport::{Answer, Call};
use super::wire::{
    Auth0CreatedClient, ClientPage, ClientSecret, M2M_APP_TYPE, READ_FIELDS, client_update_body,
    new_client_body, now_rfc3339,
};
use crate::domain::{
    ClientUpdate, Clients, CreatedClient, Credential, DirectoryClient, NewClient, Owner,
};
use crate::error::UpstreamError;
use crate::secret_string::SecretString;

/// The Management API's resource of one client.
fn client_path(client_id: &str) -> String {
    format!("/api/v2/clients/{client_id}")
}

/// Auth0's maximum page size.
pub const PAGE_SIZE: usize = 100;

/// `filters` with checkpoint paging: [`PAGE_SIZE`] items from the
/// checkpoint `from` (the start without one).
pub(super) fn page_query<'a>(
    mut filters: Vec<(&'a str, String)>,
    from: Option<&str>,
) -> Vec<(&'a str, String)> {
    filters.push(("take", PAGE_SIZE.to_string()));
    filters.extend(from.map(|from| ("from", from.to_owned())));
    filters
}

impl<S: CredentialsSource> Clients for ManagementApi<S> {
    /// `POST /api/v2/clients` by `deadline`, with the `requested_id` while the
    /// tenant takes custom ids. A creation whose outcome is unknown is undone
    /// by that id, by `discard_deadline`.
    async fn create_client(
        &self,
        client: &NewClient,
        owner: &Owner,
        requested_id: &str,
        deadline: Instant,
        discard_deadline: Instant,
    ) -> Result<CreatedClient, UpstreamError> {
        // Without a token nothing is sent, so there is nothing to discard: the
        // token comes first (from the cache, as a rule), and its failure is
        // answered at once instead of spending the discard's time.
        self.token(deadline).await.map_err(|unsent| match unsent {
            UpstreamError::Failed(cause) => UpstreamError::NotDone(cause),
            other => other,
        })?;
        let mut chosen_id = self
            .custom_client_ids
            .load(Ordering::Relaxed)
            .then_some(requested_id);

        let mut result = post(self, client, owner, (requested_id, chosen_id), deadline).await;
        if let Ok(answer) = &result
            && chosen_id.is_some()
            && custom_ids_unsupported(answer)
        {
            warn!(
                "this Auth0 tenant does not support custom client ids; using Auth0's ids from now on"
            );
            self.custom_client_ids.store(false, Ordering::Relaxed);
            chosen_id = None;
            result = post(self, client, owner, (requested_id, None), deadline).await;
        }

        let confirmed = match result {
            Ok(answer)
                if answer.status == StatusCode::CREATED || answer.status == StatusCode::OK =>
            {
                answer.parse::<Auth0CreatedClient>("create client")
            }
            // Auth0 said no: nothing was created.
            Ok(answer) if answer.status.is_client_error() => {
                return Err(match refusal(&answer, "create client") {
                    entitled @ UpstreamError::NotEntitled(_) => entitled,
                    other => UpstreamError::NotDone(other.to_string()),
                });
            }
            Ok(answer) => Err(answer.failure("create client")),
            // Persistent 429s were never processed; without credentials
            // nothing was sent.
            Err(unsent @ (UpstreamError::RateLimited { .. } | UpstreamError::Credentials(_))) => {
                return Err(unsent);
            }
            Err(other) => Err(other),
        };
        match confirmed.and_then(|created| made(client, created)) {
            Ok(created) => Ok(created),
            Err(cause) => {
                let discarded = match &chosen_id {
                    Some(id) => discard_unconfirmed(self, id, discard_deadline).await,
                    None => {
                        warn!(error = %cause, "a client may have been created without confirmation; its creation's record names it by creation_id");
                        false
                    }
                };
                // Not discarded: left for the creation's record, by which the
                // reconciler finds the client (its id, or its `creation_id`).
                if discarded {
                    Err(UpstreamError::NotDone(cause.to_string()))
                } else {
                    Err(cause)
                }
            }
        }
    }

    /// One page of the tenant's M2M clients from the checkpoint `from` (the
    /// start without one), [`PAGE_SIZE`] at most, and the next checkpoint.
    async fn list_page(
        &self,
        from: Option<&str>,
        deadline: Instant,
    ) -> Result<(Vec<DirectoryClient>, Option<String>), UpstreamError> {
        let filters = vec![
            ("fields", READ_FIELDS.to_owned()),
            ("include_fields", "true".to_owned()),
            ("app_type", M2M_APP_TYPE.to_owned()),
        ];
        let query = page_query(filters, from);
        let call = Call::get("list_clients", "/api/v2/clients", &query);
        let page: ClientPage = self.read(&call, "list clients", deadline).await?;
        let (clients, next) = page.into_parts();
        Ok((
            clients.into_iter().map(DirectoryClient::from).collect(),
            next,
        ))
    }

    /// The client's secret (`GET /api/v2/clients/{id}` with that field only,
    /// which needs the management scope `read:client_keys`); `None` when Auth0
    /// has no such client.
    async fn client_secret(
        &self,
        client_id: &str,
        deadline: Instant,
    ) -> Result<Option<SecretString>, UpstreamError> {
        let answer = get_fields(self, client_id, "client_id,client_secret", deadline).await?;
        secret_in(&answer, &[StatusCode::OK], "read client secret")
    }

    /// Whether Auth0 has the client (`GET /api/v2/clients/{id}` with its id
    /// alone): `false` only for Auth0's 404.
    async fn client_exists(
        &self,
        client_id: &str,
        deadline: Instant,
    ) -> Result<bool, UpstreamError> {
        let answer = get_fields(self, client_id, "client_id", deadline).await?;
        found(&answer, "read client")
    }

    /// `PATCH /api/v2/clients/{id}` with what changes; `false` when Auth0 has
    /// no such client.
    async fn update_client(
        &self,
        client_id: &str,
        update: &ClientUpdate,
        deadline: Instant,
    ) -> Result<bool, UpstreamError> {
        let path = client_path(client_id);
        let body = client_update_body(update);
        let call = Call::patch("update_client", &path, &body);
        let answer = self.call(&call, deadline).await?;
        found(&answer, "update client")
    }

    /// `POST /api/v2/clients/{id}/rotate-secret` (management scope
    /// `update:client_keys`): the new secret; `None` when Auth0 has no such
    /// client. Never sent again once Auth0 may have rotated: a second rotation
    /// would retire the secret of the first, unseen.
    async fn rotate_secret(
        &self,
        client_id: &str,
        deadline: Instant,
    ) -> Result<Option<SecretString>, UpstreamError> {
        let path = format!("{}/rotate-secret", client_path(client_id));
        let call = Call::post_empty("rotate_secret", &path);
        let answer = self.call(&call, deadline).await?;
        secret_in(
            &answer,
            &[StatusCode::OK, StatusCode::CREATED],
            "rotate client secret",
        )
    }

    /// `DELETE /api/v2/clients/{id}`; a client already gone counts as deleted.
    async fn delete_client(&self, client_id: &str, deadline: Instant) -> Result<(), UpstreamError> {
        let path = client_path(client_id);
        let call = Call::delete("delete_client", &path);
        self.delete(&call, "delete client", deadline).await
    }
}

/// The client Auth0 made: with its secret, or, for a key client, its one
/// credential (Auth0's id of it, and the key it was made from). A key
/// client answered without its credential, or a secret client without
/// its secret, is a failure (and undone like one).
fn made(client: &NewClient, created: Auth0CreatedClient) -> Result<CreatedClient, UpstreamError> {
    let missing =
        |what: &str| UpstreamError::Failed(format!("create client: no {what} in Auth0's answer"));
    let (client_secret, credentials) = match &client.public_key {
        None => (
            Some(
                created
                    .client_secret
                    .ok_or_else(|| missing("client_secret"))?,
            ),
            None,
        ),
        Some(key) => {
            let ids = created
                .client_authentication_methods
                .unwrap_or_default()
                .private_key_jwt_ids();
            let [credential_id] = ids.as_slice() else {
                return Err(missing("credential"));
            };
            let credential = Credential {
                credential_id: credential_id.clone(),
                alg: key.alg.clone(),
                thumbprint_sha256: key.thumbprint_sha256.clone(),
                created_at: now_rfc3339(),
                expires_at: key.expires_at.clone(),
            };
            (None, Some(vec![credential]))
        }
    };
    Ok(CreatedClient {
        name: created.name.unwrap_or_else(|| client.name.clone()),
        description: created
            .description
            .unwrap_or_else(|| client.description.clone()),
        client_id: created.client_id,
        client_secret,
        // The grant is the operation's next step.
        scopes: Vec::new(),
        credentials,
    })
}

/// One `POST /api/v2/clients` of the creation `creation_id`, asking for
/// the id `client_id` if given.
async fn post<S: CredentialsSource>(
    api: &ManagementApi<S>,
    client: &NewClient,
    owner: &Owner,
    (creation_id, client_id): (&str, Option<&str>),
    deadline: Instant,
) -> Result<Answer, UpstreamError> {
    let body = new_client_body(client, owner, creation_id, client_id);
    api.call(
        &Call::post("create_client", "/api/v2/clients", &body),
        deadline,
    )
    .await
}

/// After a create whose outcome we could not see, deletes the client by
/// the id we chose, in case Auth0 made it: better no client than one
/// nobody knows the secret of. Deleting a missing client is a no-op.
/// Whether it is gone for sure.
async fn discard_unconfirmed<S: CredentialsSource>(
    api: &ManagementApi<S>,
    client_id: &str,
    deadline: Instant,
) -> bool {
    match api.delete_client(client_id, deadline).await {
        Err(cause) => {
            error!(client_id, error = %cause, "could not discard a client whose creation was not confirmed; the reconciler will, by the creation's record");
            false
        }
        Ok(()) => {
            warn!(
                client_id,
                "discarded a client whose creation was not confirmed"
            );
            true
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

/// `GET /api/v2/clients/{id}` of the `fields` named alone.
async fn get_fields<S: CredentialsSource>(
    api: &ManagementApi<S>,
    client_id: &str,
    fields: &str,
    deadline: Instant,
) -> Result<Answer, UpstreamError> {
    let path = client_path(client_id);
    let query = [
        ("fields", fields.to_owned()),
        ("include_fields", "true".to_owned()),
    ];
    api.call(&Call::get("get_client", &path, &query), deadline)
        .await
}

/// Whether Auth0 had the client `answer` is about: `true` for 200, `false`
/// for 404; any other answer is a failure of `what`.
fn found(answer: &Answer, what: &str) -> Result<bool, UpstreamError> {
    match answer.status {
        StatusCode::OK => Ok(true),
        StatusCode::NOT_FOUND => Ok(false),
        _ => Err(answer.failure(what)),
    }
}

/// The secret in an answer of one of the `success` statuses; `None` for
/// Auth0's 404 (no such client); any other answer is a failure of `what`.
fn secret_in(
    answer: &Answer,
    success: &[StatusCode],
    what: &'static str,
) -> Result<Option<SecretString>, UpstreamError> {
    match answer.status {
        status if success.contains(&status) => {
            Ok(Some(answer.parse::<ClientSecret>(what)?.client_secret))
        }
        StatusCode::NOT_FOUND => Ok(None),
        _ => Err(answer.failure(what)),
    }
}
