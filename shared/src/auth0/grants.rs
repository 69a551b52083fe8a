//! `/api/v2/client-grants`: authorizing a client for an API, taking the
//! authorization away, and listing an API's grants (for the audit).

use reqwest::StatusCode;
use tokio::time::Instant;

use super::clients::page_query;
use super::management_api::ManagementApi;
use super::token::CredentialsSource;
use super::transport::Call;
use super::wire::{Auth0Grant, GrantPage, grant_body};
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

/// Deletes `client_id`'s grants for `audience` (there is one at most):
/// `GET /api/v2/client-grants` by client and audience, then
/// `DELETE /api/v2/client-grants/{id}`. A client without one is done.
pub(super) async fn delete<S: CredentialsSource>(
    api: &ManagementApi<S>,
    client_id: &str,
    audience: &str,
    deadline: Instant,
) -> Result<(), UpstreamError> {
    let query = [
        ("client_id", client_id.to_owned()),
        ("audience", audience.to_owned()),
    ];
    let grants: Vec<Auth0Grant> = api
        .read(
            &Call::get("list_grants", "/api/v2/client-grants", &query),
            "list client grants",
            deadline,
        )
        .await?;
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
