//! [`ManagementApi`]: the adapter's state (one HTTP client, the token
//! cache, whether the tenant takes our client ids) and its authenticated
//! call, the one place a Management API call gets its token and the one
//! place a 401 is answered: the token is dropped and renewed, and the call
//! sent once more (steps 1 and 5 of the chain in `mod.rs`).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use reqwest::StatusCode;
use tokio::time::Instant;

use super::token::{CredentialsSource, ManagementTokens};
use super::transport::{Answer, Auth0Http, Call, Outcome};
use crate::domain::TokenStore;
use crate::error::UpstreamError;
use crate::secret_string::SecretString;

/// Auth0's Management API, for one tenant.
pub struct ManagementApi<S> {
    http: Auth0Http,
    tokens: ManagementTokens<S>,
    /// `client_{ksuid}` ids are asked for until the tenant says it cannot do
    /// them; then never again in this container.
    pub(super) custom_client_ids: AtomicBool,
}

impl<S: CredentialsSource> ManagementApi<S> {
    pub fn new(
        http: reqwest::Client,
        base_url: String,
        management_audience: String,
        credentials: S,
        custom_client_ids: bool,
        shared_tokens: Option<Arc<dyn TokenStore>>,
    ) -> Self {
        ManagementApi {
            http: Auth0Http::new(http, base_url),
            tokens: ManagementTokens::new(credentials, management_audience, shared_tokens),
            custom_client_ids: AtomicBool::new(custom_client_ids),
        }
    }

    /// Obtains a Management API token ahead of the first request, which
    /// every route but a refused one needs: the shared one if it is good
    /// (no secret read, no Auth0 call), else one minted here (the secret
    /// read first). A container's first answer then waits on one Auth0
    /// call, not three.
    pub async fn warm_up(&self, budget: Duration) -> Result<(), UpstreamError> {
        self.tokens
            .warm_up(&self.http, Instant::now() + budget)
            .await
    }

    /// A token good for a while yet, from wherever the cache finds it.
    pub(super) async fn token(&self, deadline: Instant) -> Result<SecretString, UpstreamError> {
        self.tokens.token(&self.http, deadline).await
    }

    /// A read whose one good answer is 200, parsed; any other answer is a
    /// failure of `what`.
    pub(super) async fn read<T: serde::de::DeserializeOwned>(
        &self,
        call: &Call<'_>,
        what: &'static str,
        deadline: Instant,
    ) -> Result<T, UpstreamError> {
        let answer = self.call(call, deadline).await?;
        if answer.status != StatusCode::OK {
            return Err(answer.failure(what));
        }
        answer.parse(what)
    }

    /// A deletion: one of something already gone counts as done (Auth0
    /// answers 204 for it, too, or 404); any other answer is a failure of
    /// `what`.
    pub(super) async fn delete(
        &self,
        call: &Call<'_>,
        what: &'static str,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        let answer = self.call(call, deadline).await?;
        match answer.status {
            StatusCode::NO_CONTENT | StatusCode::OK | StatusCode::NOT_FOUND => Ok(()),
            _ => Err(answer.failure(what)),
        }
    }

    /// Sends a Management API call with a token, renewing the token once if
    /// Auth0 rejects it.
    pub(super) async fn call(
        &self,
        call: &Call<'_>,
        deadline: Instant,
    ) -> Result<Answer, UpstreamError> {
        let token = self.token(deadline).await?;
        match self.http.send(call, Some(token.expose()), deadline).await? {
            Outcome::Answered(answer) => return Ok(answer),
            Outcome::Unauthorized => self.tokens.invalidate(&token).await,
        }
        let token = self.token(deadline).await?;
        match self.http.send(call, Some(token.expose()), deadline).await? {
            Outcome::Answered(answer) => Ok(answer),
            Outcome::Unauthorized => Err(UpstreamError::Failed(format!(
                "{} {}: a fresh management token was rejected too",
                call.method, call.path
            ))),
        }
    }
}
