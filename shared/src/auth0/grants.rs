//! `/api/v2/client-grants`: authorizing a client for an API, changing the
//! scopes it holds, taking the authorization away, and listing an API's
//! grants (for the audit).

use reqwest::StatusCode;
use tokio::time::Instant;

use super::clients::page_query;
use super::management_api::ManagementApi;
use super::token::CredentialsSource;
use super::transport::Call;
use super::wire::{Auth0Grant, GrantPage, grant_body, grant_scopes_body};
use crate::domain::{DirectoryGrant, GrantPolicy};
use crate::error::UpstreamError;

/// `POST /api/v2/client-grants` for `client_id` and the policy's API and scopes.
pub(super) async fn create<S: CredentialsSource>(
    api: &ManagementApi<S>,
    client_id: &str,
    grant: &GrantPolicy,
    deadline: Instant,
) -> Result<(), UpstreamError> {
    let body = grant_body(client_id, grant);
    let answer = api
        .call(
            &Call::post("create_grant", "/api/v2/client-grants", &body),
            deadline,
        )
        .await?;
    match answer.status {
        StatusCode::CREATED | StatusCode::OK => Ok(()),
        // The grant for this client and audience exists already (an enable
        // repeated after a lost answer): the client is authorized, which is
        // all we wanted.
        StatusCode::CONFLICT => Ok(()),
        _ => Err(answer.failure("create client grant")),
    }
}

/// `client_id`'s grants for `audience` (there is one at most): `GET
/// /api/v2/client-grants` by client and audience.
async fn grants_of<S: CredentialsSource>(
    api: &ManagementApi<S>,
    client_id: &str,
    audience: &str,
    deadline: Instant,
) -> Result<Vec<Auth0Grant>, UpstreamError> {
    let query = [
        ("client_id", client_id.to_owned()),
        ("audience", audience.to_owned()),
    ];
    api.read(
        &Call::get("list_grants", "/api/v2/client-grants", &query),
        "list client grants",
        deadline,
    )
    .await
}

/// Sets the scopes of `client_id`'s grant for the policy's API: `PATCH
/// /api/v2/client-grants/{id}` (management scope `update:client_grants`),
/// found by client and audience; a client without one is granted the
/// scopes (`POST`). A PATCH sets the same scopes again if repeated, so it
/// is retried as any update.
pub(super) async fn set_scopes<S: CredentialsSource>(
    api: &ManagementApi<S>,
    client_id: &str,
    grant: &GrantPolicy,
    deadline: Instant,
) -> Result<(), UpstreamError> {
    let found = grants_of(api, client_id, &grant.audience, deadline).await?;
    let Some(existing) = found.first() else {
        return create(api, client_id, grant, deadline).await;
    };
    let path = format!("/api/v2/client-grants/{}", existing.id);
    let body = grant_scopes_body(grant);
    let answer = api
        .call(&Call::patch("update_grant", &path, &body), deadline)
        .await?;
    match answer.status {
        StatusCode::OK => Ok(()),
        // Deleted since it was found (a disable): granted anew.
        StatusCode::NOT_FOUND => create(api, client_id, grant, deadline).await,
        _ => Err(answer.failure("update client grant")),
    }
}

/// Deletes `client_id`'s grants for `audience` (there is one at most):
/// found by client and audience, then `DELETE /api/v2/client-grants/{id}`.
/// A client without one is done.
pub(super) async fn delete<S: CredentialsSource>(
    api: &ManagementApi<S>,
    client_id: &str,
    audience: &str,
    deadline: Instant,
) -> Result<(), UpstreamError> {
    let grants = grants_of(api, client_id, audience, deadline).await?;
    for grant in grants {
        let path = format!("/api/v2/client-grants/{}", grant.id);
        let answer = api
            .call(&Call::delete("delete_grant", &path), deadline)
            .await?;
        match answer.status {
            // Auth0 answers 204 for a grant already gone, too.
            StatusCode::NO_CONTENT | StatusCode::OK | StatusCode::NOT_FOUND => {}
            _ => return Err(answer.failure("delete client grant")),
        }
    }
    Ok(())
}

/// One page of the grants for `audience` from the checkpoint `from` (the
/// start without one), [`PAGE_SIZE`](super::clients::PAGE_SIZE) at most, and the next checkpoint.
pub(super) async fn list<S: CredentialsSource>(
    api: &ManagementApi<S>,
    audience: &str,
    from: Option<&str>,
    deadline: Instant,
) -> Result<(Vec<DirectoryGrant>, Option<String>), UpstreamError> {
    let query = page_query(vec![("audience", audience.to_owned())], from);
    let page: GrantPage = api
        .read(
            &Call::get("list_grants", "/api/v2/client-grants", &query),
            "list client grants",
            deadline,
        )
        .await?;
    let (grants, next) = page.into_parts();
    Ok((grants.into_iter().map(DirectoryGrant::from).collect(), next))
}
