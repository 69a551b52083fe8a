//! The Auth0 Management API adapter: the [`ClientDirectory`] the service
//! runs on in production. One file per concern: [`wire`] holds the JSON
//! shapes of Auth0's published schema, `clients` and `grants` the calls on
//! each resource, [`token`] the Management API token, [`transport`] one
//! call's retries; this file holds the adapter itself and its authenticated
//! call, which renews a token Auth0 rejects.

mod clients;
mod grants;
mod shared_token;
mod token;
mod transport;
pub mod wire;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tokio::time::Instant;

pub use token::{CredentialsSource, ManagementCredentials, ManagementTokens, TOKEN_EXPIRY_MARGIN};
pub use transport::{ATTEMPT_TIMEOUT, MAX_RETRIES};
use transport::{Answer, Auth0Http, Call, Outcome};

use crate::domain::{
    ClientDirectory, ClientUpdate, CreatedClient, DirectoryClient, GrantPolicy, NewClient, Owner,
    TokenStore,
};
use crate::error::UpstreamError;
use crate::secret_string::SecretString;

/// Auth0's Management API, for one tenant.
pub struct ManagementApi<S> {
    http: Auth0Http,
    tokens: ManagementTokens<S>,
    /// `client_{ksuid}` ids are asked for until the tenant says it cannot do
    /// them; then never again in this container.
    custom_client_ids: AtomicBool,
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

    /// A read whose one good answer is 200, parsed; any other answer is a
    /// failure of `what`.
    async fn read<T: serde::de::DeserializeOwned>(
        &self,
        call: &Call<'_>,
        what: &'static str,
        deadline: Instant,
    ) -> Result<T, UpstreamError> {
        let answer = self.call(call, deadline).await?;
        if answer.status != reqwest::StatusCode::OK {
            return Err(answer.failure(what));
        }
        answer.parse(what)
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
}

/// Each operation of the port is one resource's call.
impl<S: CredentialsSource> ClientDirectory for ManagementApi<S> {
    async fn create_client(
        &self,
        client: &NewClient,
        owner: &Owner,
        requested_id: &str,
        deadline: Instant,
        discard_deadline: Instant,
    ) -> Result<CreatedClient, UpstreamError> {
        clients::create(
            self,
            client,
            owner,
            requested_id,
            deadline,
            discard_deadline,
        )
        .await
    }

    async fn create_grant(
        &self,
        client_id: &str,
        grant: &GrantPolicy,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        grants::create(self, client_id, grant, deadline).await
    }

    async fn client_secret(
        &self,
        client_id: &str,
        deadline: Instant,
    ) -> Result<Option<SecretString>, UpstreamError> {
        clients::secret(self, client_id, deadline).await
    }

    async fn list_page(
        &self,
        from: Option<&str>,
        deadline: Instant,
    ) -> Result<(Vec<DirectoryClient>, Option<String>), UpstreamError> {
        clients::list_page(self, from, deadline).await
    }

    async fn delete_grant(
        &self,
        client_id: &str,
        audience: &str,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        grants::delete(self, client_id, audience, deadline).await
    }

    async fn update_client(
        &self,
        client_id: &str,
        update: &ClientUpdate,
        deadline: Instant,
    ) -> Result<bool, UpstreamError> {
        clients::update(self, client_id, update, deadline).await
    }

    async fn rotate_secret(
        &self,
        client_id: &str,
        deadline: Instant,
    ) -> Result<Option<SecretString>, UpstreamError> {
        clients::rotate_secret(self, client_id, deadline).await
    }

    async fn delete_client(&self, client_id: &str, deadline: Instant) -> Result<(), UpstreamError> {
        clients::delete(self, client_id, deadline).await
    }
}
