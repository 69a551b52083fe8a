//! The Management API access token: obtained with the client-credentials
//! grant from the credentials in Secrets Manager, kept in memory until 60 s
//! before it expires, and replaced early if Auth0 says it is no longer good.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::info;

use super::transport::{Auth0Http, Call, Outcome, Retry};
use crate::error::UpstreamError;
use crate::metrics::{self, TokenSource};
use crate::secret_string::SecretString;

/// A token is replaced this long before Auth0 says it expires.
pub const TOKEN_EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// The Management API client's credentials.
#[derive(Clone, Debug)]
pub struct ManagementCredentials {
    pub client_id: String,
    pub client_secret: SecretString,
}

/// Where the management credentials come from (Secrets Manager in production).
pub trait CredentialsSource: Send + Sync {
    /// Reads the credentials, giving up by `deadline` at the latest. The
    /// error names the problem and never contains the secret.
    fn read(
        &self,
        deadline: Instant,
    ) -> impl Future<Output = Result<ManagementCredentials, String>> + Send;
}

struct CachedToken {
    value: SecretString,
    refresh_at: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: SecretString,
    expires_in: u64,
}

pub struct ManagementTokens<S> {
    source: S,
    audience: String,
    /// Read once per container; forgotten only when Auth0 rejects them, so
    /// that a rotated secret is picked up without a restart.
    credentials: Mutex<Option<Arc<ManagementCredentials>>>,
    /// Held across a fetch, so concurrent callers share one token request.
    token: Mutex<Option<CachedToken>>,
}

impl<S: CredentialsSource> ManagementTokens<S> {
    pub fn new(source: S, audience: String) -> Self {
        ManagementTokens {
            source,
            audience,
            credentials: Mutex::new(None),
            token: Mutex::new(None),
        }
    }

    /// The credentials, read from the source on first use (or after a failure).
    async fn credentials(
        &self,
        deadline: Instant,
    ) -> Result<Arc<ManagementCredentials>, UpstreamError> {
        let mut slot = self.credentials.lock().await;
        if let Some(credentials) = slot.as_ref() {
            return Ok(credentials.clone());
        }
        let credentials = Arc::new(
            self.source
                .read(deadline)
                .await
                .map_err(UpstreamError::Credentials)?,
        );
        info!("loaded Auth0 management credentials");
        *slot = Some(credentials.clone());
        Ok(credentials)
    }

    /// A token that is good for a while yet.
    pub async fn token(
        &self,
        http: &Auth0Http,
        deadline: Instant,
    ) -> Result<SecretString, UpstreamError> {
        let mut slot = self.token.lock().await;
        if let Some(token) = slot.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            metrics::management_token(TokenSource::Reused);
            return Ok(token.value.clone());
        }
        let fresh = self.fetch(http, deadline).await?;
        metrics::management_token(TokenSource::Fetched);
        let value = fresh.value.clone();
        *slot = Some(fresh);
        Ok(value)
    }

    /// Drops `rejected` from the cache (unless it was already replaced).
    pub async fn invalidate(&self, rejected: &SecretString) {
        let mut slot = self.token.lock().await;
        if slot.as_ref().is_some_and(|token| &token.value == rejected) {
            *slot = None;
        }
    }

    async fn fetch(
        &self,
        http: &Auth0Http,
        deadline: Instant,
    ) -> Result<CachedToken, UpstreamError> {
        let credentials = self.credentials(deadline).await?;
        let body = json!({
            "grant_type": "client_credentials",
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret.expose(),
            "audience": self.audience,
        });
        let call = Call {
            // Retried like a read, though a POST: a client-credentials
            // request creates nothing but a token. Auth0 counts the tokens
            // it issues, but one more after a failure is negligible beside
            // failing the caller's request (docs/behaviour.md, "Upstream
            // failures").
            retry: Retry::Safe,
            ..Call::post("token", "/oauth/token", &body)
        };
        let answer = match http.send(&call, None, deadline).await? {
            Outcome::Answered(answer) if answer.status.is_success() => answer,
            Outcome::Unauthorized => return Err(self.rejected(StatusCode::UNAUTHORIZED).await),
            Outcome::Answered(answer) if answer.status == StatusCode::FORBIDDEN => {
                return Err(self.rejected(answer.status).await);
            }
            Outcome::Answered(answer) => {
                return Err(UpstreamError::Failed(format!(
                    "token endpoint answered HTTP {}",
                    answer.status.as_u16()
                )));
            }
        };
        let response: TokenResponse = serde_json::from_slice(&answer.body)
            .map_err(|_| UpstreamError::Failed("unreadable token response".into()))?;
        let lifetime = Duration::from_secs(response.expires_in).saturating_sub(TOKEN_EXPIRY_MARGIN);
        info!(
            expires_in = response.expires_in,
            "obtained Management API token"
        );
        Ok(CachedToken {
            value: response.access_token,
            refresh_at: Instant::now() + lifetime,
        })
    }

    async fn rejected(&self, status: StatusCode) -> UpstreamError {
        *self.credentials.lock().await = None;
        UpstreamError::Credentials(format!(
            "Auth0 refused the management credentials (HTTP {}): check the secret and that the application is authorized for {}",
            status.as_u16(),
            self.audience
        ))
    }
}
