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
use crate::domain::{DirectoryGrant, GrantPolicy, Grants};
use crate::error::UpstreamError;

impl<S: CredentialsSource> Grants for ManagementApi<S> {
    /// `POST /api/v2/client-grants` for `client_id` and the policy's API and scopes.
    async fn create_grant(
        &self,
        client_id: &str,
        grant: &GrantPolicy,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        let body = grant_body(client_id, grant);
        let call = Call::post("create_grant", "/api/v2/client-grants", &body);
        let answer = self.call(&call, deadline).await?;
        match answer.status {
            StatusCode::CREATED | StatusCode::OK => Ok(()),
            // The grant for this client and audience exists already (an enable
            // repeated after a lost answer): the client is authorized, which is
            // all we wanted.
            StatusCode::CONFLICT => Ok(()),
            _ => Err(answer.failure("create client grant")),
        }
    }

    /// Sets the scopes of `client_id`'s grant for the policy's API: `PATCH
    /// /api/v2/client-grants/{id}` (management scope `update:client_grants`),
    /// found by client and audience; a client without one is granted the
    /// scopes (`POST`). A PATCH sets the same scopes again if repeated, so it
    /// is retried as any update.
    async fn set_grant_scopes(
        &self,
        client_id: &str,
        grant: &GrantPolicy,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        let found = grants_of(self, client_id, &grant.audience, deadline).await?;
        let Some(existing) = found.first() else {
            return self.create_grant(client_id, grant, deadline).await;
        };
        let path = format!("/api/v2/client-grants/{}", existing.id);
        let body = grant_scopes_body(grant);
        let call = Call::patch("update_grant", &path, &body);
        let answer = self.call(&call, deadline).await?;
        match answer.status {
            StatusCode::OK => Ok(()),
            // Deleted since it was found (a disable): granted anew.
            StatusCode::NOT_FOUND => self.create_grant(client_id, grant, deadline).await,
            _ => Err(answer.failure("update client grant")),
        }
    }

    /// Deletes `client_id`'s grants for `audience` (there is one at most):
    /// found by client and audience, then `DELETE /api/v2/client-grants/{id}`.
    /// A client without one is done.
    async fn delete_grant(
        &self,
        client_id: &str,
        audience: &str,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        let grants = grants_of(self, client_id, audience, deadline).await?;
        for grant in grants {
            let path = format!("/api/v2/client-grants/{}", grant.id);
            let call = Call::delete("delete_grant", &path);
            self.delete(&call, "delete client grant", deadline).await?;
        }
        Ok(())
    }

    /// One page of the grants for `audience` from the checkpoint `from` (the
    /// start without one), [`PAGE_SIZE`](super::clients::PAGE_SIZE) at most, and the next checkpoint.
    async fn list_grants(
        &self,
        audience: &str,
        from: Option<&str>,
        deadline: Instant,
    ) -> Result<(Vec<DirectoryGrant>, Option<String>), UpstreamError> {
        let query = page_query(vec![("audience", audience.to_owned())], from);
        let call = Call::get("list_grants", "/api/v2/client-grants", &query);
        let page: GrantPage = self.read(&call, "list client grants", deadline).await?;
        let (grants, next) = page.into_parts();
        Ok((grants.into_iter().map(DirectoryGrant::from).collect(), next))
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
