//! `/api/v2/clients/{id}/credentials` and the client's
//! `client_authentication_methods`: the key credentials of a client on
//! Private Key JWT. A credential is created, then enabled by a PATCH of the
//! client listing every credential to enable; it is removed by that PATCH
//! without it, then deleted (Auth0 refuses to delete an enabled one).

use reqwest::StatusCode;
use tokio::time::Instant;

use super::management_api::ManagementApi;
use super::token::CredentialsSource;
use super::transport::{Answer, Call};
use super::wire::{Auth0Credential, credential_body, enabled_credentials_body};
use crate::domain::{DirectoryCredential, KeyCredentials, NewKey};
use crate::error::UpstreamError;

/// Auth0's error code for a feature the tenant's plan lacks.
const NOT_ENTITLED: &str = "insufficient_entitlement";

fn credentials_path(client_id: &str) -> String {
    format!("/api/v2/clients/{client_id}/credentials")
}

/// An answer that is no success, as the failure of `what`: a tenant
/// without Private Key JWT (403 `insufficient_entitlement`) is told apart,
/// since the caller can do something about it and nothing was made.
pub(super) fn refusal(answer: &Answer, what: &str) -> UpstreamError {
    if answer.status == StatusCode::FORBIDDEN
        && answer.error_code().as_deref() == Some(NOT_ENTITLED)
    {
        return UpstreamError::NotEntitled(what.to_owned());
    }
    answer.failure(what)
}

impl<S: CredentialsSource> KeyCredentials for ManagementApi<S> {
    /// `GET`: every credential of the client; `None` for Auth0's 404.
    async fn list_credentials(
        &self,
        client_id: &str,
        deadline: Instant,
    ) -> Result<Option<Vec<DirectoryCredential>>, UpstreamError> {
        let path = credentials_path(client_id);
        let call = Call::get("list_credentials", &path, &[]);
        let answer = self.call(&call, deadline).await?;
        match answer.status {
            StatusCode::OK => Ok(Some(
                answer
                    .parse::<Vec<Auth0Credential>>("list credentials")?
                    .into_iter()
                    .map(DirectoryCredential::from)
                    .collect(),
            )),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(answer.failure("list credentials")),
        }
    }

    /// `POST`: the key as a new credential, not yet enabled. A POST is never
    /// sent again by the transport; a 409 (the client's two slots are taken,
    /// or it holds this key already) is told apart, for the caller to settle.
    async fn create_credential(
        &self,
        client_id: &str,
        key: &NewKey,
        deadline: Instant,
    ) -> Result<DirectoryCredential, UpstreamError> {
        let path = credentials_path(client_id);
        let body = credential_body(key);
        let call = Call::post("create_credential", &path, &body);
        let answer = self.call(&call, deadline).await?;
        match answer.status {
            StatusCode::CREATED | StatusCode::OK => {
                Ok(answer.parse::<Auth0Credential>("create credential")?.into())
            }
            StatusCode::CONFLICT => Err(UpstreamError::Conflict(
                answer.error_code().unwrap_or_default(),
            )),
            _ => Err(refusal(&answer, "create credential")),
        }
    }

    /// `PATCH /api/v2/clients/{id}` of its `client_authentication_methods`:
    /// exactly these credentials enabled (it sets the same value again when
    /// retried). `false` for Auth0's 404.
    async fn enable_credentials(
        &self,
        client_id: &str,
        credential_ids: &[&str],
        deadline: Instant,
    ) -> Result<bool, UpstreamError> {
        let path = format!("/api/v2/clients/{client_id}");
        let body = enabled_credentials_body(credential_ids);
        let call = Call::patch("enable_credentials", &path, &body);
        let answer = self.call(&call, deadline).await?;
        match answer.status {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(refusal(&answer, "enable credentials")),
        }
    }

    /// `DELETE` of one credential; one already gone counts as deleted.
    async fn delete_credential(
        &self,
        client_id: &str,
        credential_id: &str,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        let path = format!("{}/{credential_id}", credentials_path(client_id));
        let call = Call::delete("delete_credential", &path);
        self.delete(&call, "delete credential", deadline).await
    }
}
