//! `/api/v2/client-grants`: authorizing a client for an API.

use reqwest::StatusCode;
use tokio::time::Instant;

use super::transport::Call;
use super::wire::grant_body;
use super::{CredentialsSource, ManagementApi};
use crate::domain::GrantPolicy;
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
        .call(&Call::post("/api/v2/client-grants", &body), deadline)
        .await?;
    match answer.status {
        StatusCode::CREATED | StatusCode::OK => Ok(()),
        // The grant for this new client and audience exists already: the
        // client is authorized, which is all we wanted.
        StatusCode::CONFLICT => Ok(()),
        _ => Err(answer.failure("create client grant")),
    }
}
