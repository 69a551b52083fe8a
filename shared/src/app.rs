//! The per-container state: built once, before the first invocation, and
//! shared by every request the container serves.

use std::time::Duration;

use tracing::{error, info, warn};

use crate::auth::Authenticator;
use crate::auth0::{CredentialsSource, ManagementApi};
use crate::clients::ClientService;
use crate::config::{Config, TokenCache};
use crate::domain::{GrantPolicy, OwnerIndex};
use crate::error::ServiceError;
use crate::owner_index::DynamoIndex;
use crate::routes::Route;
use crate::secrets_manager::SecretsManagerSource;

/// Everything a request needs, once the configuration is known to be good.
pub struct Service<S = SecretsManagerSource, I = DynamoIndex> {
    pub authenticator: Authenticator,
    pub clients: ClientService<ManagementApi<S>, I>,
}

/// The container's state: a working service, or the reason there is none
/// (reported once at start-up; every request then answers 500).
pub struct App<S = SecretsManagerSource, I = DynamoIndex> {
    service: Result<Service<S, I>, String>,
}

impl App {
    /// Builds the service from the environment, as a Lambda container does.
    /// Nothing is fetched yet: see [`App::serve`].
    pub async fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok()).await
    }

    /// Builds the service from the settings `lookup` finds, with the AWS
    /// SDK configured from the environment.
    pub async fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let config = match Config::from_lookup(lookup) {
            Ok(config) => config,
            Err(problem) => return App::unusable(problem.to_string()),
        };
        let http = match crate::http::client() {
            Ok(http) => http,
            Err(problem) => return App::unusable(problem),
        };
        let sdk_config = crate::aws::sdk_config(http.clone());
        let secrets =
            SecretsManagerSource::from_config(config.auth0_secret_id.clone(), &sdk_config);
        let index = DynamoIndex::from_config(config.clients_table.clone(), &sdk_config);
        App::new(&config, secrets, index, http)
    }
}

/// At most this long of a container's start is spent obtaining the
/// management token; requests try again if it was not enough.
const WARM_UP_BUDGET: Duration = Duration::from_secs(3);

/// How Lambda started this container (`AWS_LAMBDA_INITIALIZATION_TYPE`).
fn initialized_for_a_waiting_request() -> bool {
    // Provisioned concurrency initializes containers before any request
    // exists, and bills init separately: there, the container warms up
    // completely before asking for work. Everywhere else ("on-demand",
    // or not on Lambda) a request is usually already waiting.
    std::env::var("AWS_LAMBDA_INITIALIZATION_TYPE").as_deref() != Ok("provisioned-concurrency")
}

impl<S: CredentialsSource, I: OwnerIndex> App<S, I> {
    /// Builds the service and warms it up (see [`App::warm_up`]).
    pub async fn start(config: &Config, credentials: S, index: I) -> Self {
        let app = match crate::http::client() {
            Ok(http) => App::new(config, credentials, index, http),
            Err(problem) => App::unusable(problem),
        };
        app.warm_up().await;
        app
    }

    /// Builds the service around the container's HTTP client (the one the
    /// credentials source may use too), without fetching anything.
    pub fn new(config: &Config, credentials: S, index: I, http: reqwest::Client) -> Self {
        info!(%config, "starting");
        if !config.require_caller_scopes {
            warn!(
                "REQUIRE_CALLER_SCOPES is false: any caller with a valid token may use every route, whatever its permissions"
            );
        }
        let service = Service {
            authenticator: Authenticator::new(config, http.clone()),
            clients: ClientService::new(
                ManagementApi::new(
                    http,
                    config.auth0_base_url.clone(),
                    config.management_audience(),
                    credentials,
                    config.custom_client_ids,
                    match config.management_token_cache {
                        TokenCache::Shared => index.token_store(),
                        TokenCache::Container => None,
                    },
                ),
                index,
                GrantPolicy {
                    audience: config.grant_audience.clone(),
                    scopes: config.grant_scopes.clone(),
                },
                config.max_clients_per_owner,
                config.owner_writes_per_minute,
            )
            .with_key_credentials(config.key_credentials),
        };
        App {
            service: Ok(service),
        }
    }

    /// Fetches what requests need: the callers' JWKS, the management
    /// credentials followed by a Management API token, and the list
    /// cursors' key, concurrently, so this costs the slowest of them rather
    /// than their sum. Requests that arrive meanwhile wait for these
    /// fetches instead of starting their own.
    pub async fn warm_up(&self) {
        self.warm_up_for(true, true).await;
    }

    /// [`App::warm_up`] for a function whose route may or may not call
    /// Auth0 ([`Route::calls_auth0`]) or use the cursor key
    /// ([`Route::uses_cursor_key`]): one that never calls Auth0 spends none
    /// of the tenant's tokens.
    async fn warm_up_for(&self, calls_auth0: bool, uses_cursor_key: bool) {
        let Ok(service) = &self.service else {
            return;
        };
        let token = async {
            if calls_auth0 {
                service.clients.directory().warm_up(WARM_UP_BUDGET).await
            } else {
                Ok(())
            }
        };
        let cursor_key = async {
            if uses_cursor_key {
                service.clients.load_cursor_key().await
            } else {
                Ok(())
            }
        };
        let ((), token, cursor_key) =
            tokio::join!(service.authenticator.jwks().load(), token, cursor_key);
        // Neither is fatal: the next request tries again, so fixing the
        // secret, the Auth0 application or the table heals the function
        // without a restart.
        if let Err(problem) = token {
            error!(error = %problem, "no Management API token yet; requests will try again");
        }
        if let Err(problem) = cursor_key {
            error!(error = %problem, "the list cursors' key could not be read; requests will try again");
        }
    }

    /// Runs `runtime` (the Lambda runtime loop) with the container warming
    /// up alongside: the runtime asks for the waiting request, and the
    /// request is read and its token checked, while the JWKS, the secret
    /// and the management token are on their way. With provisioned
    /// concurrency, where no request is waiting, the warm-up finishes first.
    pub async fn serve<R: Future>(&self, route: Route, runtime: R) -> R::Output {
        let warm_up = self.warm_up_for(route.calls_auth0(), route.uses_cursor_key());
        if initialized_for_a_waiting_request() {
            tokio::join!(warm_up, runtime).1
        } else {
            warm_up.await;
            runtime.await
        }
    }

    fn unusable(problem: String) -> Self {
        error!(error = %problem, "configuration error: every request will answer 500 until it is fixed");
        App {
            service: Err(problem),
        }
    }

    /// The service, or a 500 if the container could not build one.
    pub fn service(&self) -> Result<&Service<S, I>, ServiceError> {
        self.service
            .as_ref()
            .map_err(|problem| ServiceError::Internal(problem.clone()))
    }
}
