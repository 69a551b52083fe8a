//! The Management API token of this container: steps 2 to 5 of the chain
//! in `mod.rs`. [`ManagementTokens::token`] answers from memory while the
//! token it holds is good; else from the deployment's shared item
//! (`shared_token.rs`), which one container at a time refreshes; else with
//! a token minted here from the management credentials (`mint`). A token
//! Auth0 rejects is dropped ([`ManagementTokens::invalidate`]), here and in
//! the shared item, so that the next one is minted once.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::{info, warn};

use super::shared_token::{self, FromTable, now_ms};
use super::transport::{Auth0Http, Call, Outcome, Retry};
use crate::domain::{StoredToken, TokenStore};
use crate::error::{IndexError, UpstreamError};
use crate::metrics::{self, FallbackReason, TokenSource};
use crate::secret_string::SecretString;

/// A token is replaced this long before Auth0 says it expires.
pub const TOKEN_EXPIRY_MARGIN: Duration = Duration::from_secs(60);
/// A request waits for another container's mint of the shared token until
/// this long before its deadline, then mints one of its own.
const MINT_RESERVE: Duration = Duration::from_secs(1);

/// A container's Management API tokens: the one in memory, the shared item
/// behind it, and the credentials that mint a new one.
pub struct ManagementTokens<S> {
    source: S,
    audience: String,
    /// Read once per container; forgotten only when Auth0 rejects them, so
    /// that a rotated secret is picked up without a restart.
    credentials: Mutex<Option<Arc<ManagementCredentials>>>,
    /// Held across a mint, so concurrent callers share one token request.
    token: Mutex<Option<CachedToken>>,
    /// The deployment's token item; `None`: this container's own tokens.
    shared: Option<Arc<dyn TokenStore>>,
    /// Whether the shared token's trouble was logged already (once).
    fallback_logged: AtomicBool,
}

impl<S: CredentialsSource> ManagementTokens<S> {
    pub fn new(source: S, audience: String, shared: Option<Arc<dyn TokenStore>>) -> Self {
        ManagementTokens {
            source,
            audience,
            credentials: Mutex::new(None),
            token: Mutex::new(None),
            shared,
            fallback_logged: AtomicBool::new(false),
        }
    }

    /// A token that is good for a while yet: what every Management API
    /// call asks for first.
    pub async fn token(
        &self,
        http: &Auth0Http,
        deadline: Instant,
    ) -> Result<SecretString, UpstreamError> {
        let token = self.obtain(http, deadline, true).await?;
        // With `may_mint_own`, there is always one.
        token.ok_or_else(|| UpstreamError::Failed("no management token".into()))
    }

    /// A token ahead of the first request. While another container mints
    /// the shared token, this one does not mint its own: the request that
    /// needs it will find the shared one (or wait for it itself).
    pub async fn warm_up(&self, http: &Auth0Http, deadline: Instant) -> Result<(), UpstreamError> {
        if self.obtain(http, deadline, false).await?.is_none() {
            info!("the shared Management API token is being minted by another container");
        }
        Ok(())
    }

    /// The token: from memory, else from the shared item, else minted
    /// here. `None` when another container mints the shared one for longer
    /// than the wait and this one may not mint its own (`may_mint_own`
    /// false: the warm-up).
    async fn obtain(
        &self,
        http: &Auth0Http,
        deadline: Instant,
        may_mint_own: bool,
    ) -> Result<Option<SecretString>, UpstreamError> {
        let mut slot = self.token.lock().await;
        if let Some(token) = slot.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            metrics::management_token(TokenSource::Reused);
            return Ok(Some(token.value.clone()));
        }
        let Some(store) = &self.shared else {
            return Ok(Some(self.mint_own(&mut slot, http, deadline).await?));
        };
        let wait_until = if may_mint_own {
            deadline.checked_sub(MINT_RESERVE).unwrap_or(deadline)
        } else {
            deadline
        };
        let got = shared_token::acquire(
            store.as_ref(),
            TOKEN_EXPIRY_MARGIN,
            deadline,
            wait_until,
            || async { self.mint(http, deadline).await.map(|t| t.stored()) },
        )
        .await?;
        let cached = match got {
            FromTable::Shared(token) => {
                metrics::management_token(TokenSource::Shared);
                CachedToken::from_stored(token)
            }
            FromTable::Outgoing(token) => {
                metrics::management_token(TokenSource::Shared);
                CachedToken::for_now(token)
            }
            FromTable::Minted {
                token,
                store_failed,
            } => {
                metrics::management_token(TokenSource::Fetched);
                if let Some(error) = store_failed {
                    self.fell_back(FallbackReason::TableError, Some(&error));
                }
                CachedToken::from_stored(token)
            }
            FromTable::Fallback { reason, error } => {
                if !may_mint_own && reason == FallbackReason::LeaseWait {
                    return Ok(None);
                }
                self.fell_back(reason, error.as_ref());
                return Ok(Some(self.mint_own(&mut slot, http, deadline).await?));
            }
        };
        let value = cached.value.clone();
        *slot = Some(cached);
        Ok(Some(value))
    }

    /// Drops `rejected` from the cache (unless it was already replaced),
    /// and from the shared item if it still holds it: of the containers
    /// that saw it rejected, one clears it, and the next token is minted
    /// once, under the lease.
    pub async fn invalidate(&self, rejected: &SecretString) {
        let mut slot = self.token.lock().await;
        if !slot.as_ref().is_some_and(|token| &token.value == rejected) {
            return;
        }
        *slot = None;
        if let Some(store) = &self.shared {
            let deadline = Instant::now() + shared_token::ITEM_CALL_TIMEOUT;
            let cleared = tokio::time::timeout_at(deadline, store.invalidate(rejected)).await;
            match cleared {
                Ok(Ok(_)) => {}
                Ok(Err(error)) => self.fell_back(FallbackReason::TableError, Some(&error)),
                Err(_) => self.fell_back(
                    FallbackReason::TableError,
                    Some(&IndexError::Failed(
                        "the token item did not answer in time".into(),
                    )),
                ),
            }
        }
    }

    /// A token of this container's own (no shared item, or it failed):
    /// minted, kept in `slot`.
    async fn mint_own(
        &self,
        slot: &mut Option<CachedToken>,
        http: &Auth0Http,
        deadline: Instant,
    ) -> Result<SecretString, UpstreamError> {
        let fresh = self.mint(http, deadline).await?;
        metrics::management_token(TokenSource::Fetched);
        let value = fresh.value.clone();
        *slot = Some(fresh);
        Ok(value)
    }

    /// A new token from Auth0's `/oauth/token`, with the management
    /// credentials (the client-credentials grant).
    async fn mint(
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
            Outcome::Unauthorized => {
                return Err(self.credentials_refused(StatusCode::UNAUTHORIZED).await);
            }
            Outcome::Answered(answer) if answer.status == StatusCode::FORBIDDEN => {
                return Err(self.credentials_refused(answer.status).await);
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
            expires_ms: now_ms().saturating_add(response.expires_in.saturating_mul(1000)),
        })
    }

    /// The credentials, read from the source on first use (or after Auth0
    /// refused them).
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

    /// Auth0 refused the credentials: forgotten, so that the next mint
    /// reads them again (a rotated secret), and a credentials error.
    async fn credentials_refused(&self, status: StatusCode) -> UpstreamError {
        *self.credentials.lock().await = None;
        UpstreamError::Credentials(format!(
            "Auth0 refused the management credentials (HTTP {}): check the secret and that the application is authorized for {}",
            status.as_u16(),
            self.audience
        ))
    }

    /// The shared token could not be used: counted each time, logged once.
    fn fell_back(&self, reason: FallbackReason, error: Option<&IndexError>) {
        metrics::shared_token_fallback(reason);
        if reason == FallbackReason::TableError
            && !self.fallback_logged.swap(true, Ordering::Relaxed)
        {
            let error = error.map(ToString::to_string).unwrap_or_default();
            warn!(
                %error,
                "the shared Management API token is unavailable: this container uses its own (logged once; the SharedTokenFallbacks metric counts each time)"
            );
        }
    }
}

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

/// The token in memory, and when it is to be replaced.
struct CachedToken {
    value: SecretString,
    refresh_at: Instant,
    expires_ms: u64,
}

impl CachedToken {
    /// Kept in memory until [`TOKEN_EXPIRY_MARGIN`] before it expires.
    fn from_stored(token: StoredToken) -> Self {
        let lifetime = token
            .expires_ms
            .saturating_sub(now_ms())
            .saturating_sub(u64::try_from(TOKEN_EXPIRY_MARGIN.as_millis()).unwrap_or(u64::MAX));
        CachedToken {
            value: token.value,
            refresh_at: Instant::now() + Duration::from_millis(lifetime),
            expires_ms: token.expires_ms,
        }
    }

    /// For the request at hand only: the next one looks again.
    fn for_now(token: StoredToken) -> Self {
        CachedToken {
            value: token.value,
            refresh_at: Instant::now(),
            expires_ms: token.expires_ms,
        }
    }

    fn stored(&self) -> StoredToken {
        StoredToken {
            value: self.value.clone(),
            expires_ms: self.expires_ms,
        }
    }
}

/// `/oauth/token`'s answer.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: SecretString,
    expires_in: u64,
}
