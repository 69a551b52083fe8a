//! The per-container state: built once, before the first invocation, and
//! shared by every request the container serves.

use tracing::{error, info};

use crate::auth::Authenticator;
use crate::auth0::{CredentialsSource, ManagementApi};
use crate::clients::{ClientService, GrantPolicy};
use crate::config::Config;
use crate::error::ServiceError;
use crate::secrets::SecretsManagerSource;

/// Everything a request needs, once the configuration is known to be good.
pub struct Service<S = SecretsManagerSource> {
    pub authenticator: Authenticator,
    pub clients: ClientService<ManagementApi<S>>,
}

/// The container's state: a working service, or the reason there is none
/// (reported once at start-up; every request then answers 500).
pub struct App<S = SecretsManagerSource> {
    service: Result<Service<S>, String>,
}

impl App {
    /// Builds the service from the environment, as a Lambda container does.
    pub async fn from_env() -> Self {
        let config = match Config::from_env() {
            Ok(config) => config,
            Err(problem) => return App::unusable(problem.to_string()),
        };
        let http = match crate::http::client() {
            Ok(http) => http,
            Err(problem) => return App::unusable(problem),
        };
        let secrets =
            SecretsManagerSource::from_env(config.auth0_secret_id.clone(), http.clone()).await;
        App::start_with(&config, secrets, http).await
    }
}

impl<S: CredentialsSource> App<S> {
    /// Builds the service and warms it: the management credentials and the
    /// callers' JWKS are fetched concurrently, so start-up costs the slower
    /// of the two rather than their sum.
    pub async fn start(config: &Config, credentials: S) -> Self {
        match crate::http::client() {
            Ok(http) => Self::start_with(config, credentials, http).await,
            Err(problem) => App::unusable(problem),
        }
    }

    /// [`App::start`] with the container's HTTP client (the one the
    /// credentials source may use too).
    pub async fn start_with(config: &Config, credentials: S, http: reqwest::Client) -> Self {
        info!(%config, "starting");
        let service = Service {
            authenticator: Authenticator::new(config, http.clone()),
            clients: ClientService::new(
                ManagementApi::new(
                    http,
                    config.auth0_base_url.clone(),
                    config.management_audience(),
                    credentials,
                    config.custom_client_ids,
                ),
                GrantPolicy {
                    audience: config.grant_audience.clone(),
                    scopes: config.grant_scopes.clone(),
                },
            ),
        };
        let (credentials, ()) = tokio::join!(
            service.clients.directory().tokens().credentials(),
            service.authenticator.jwks().load(),
        );
        if let Err(problem) = credentials {
            // Not fatal: the next request tries again, so fixing the secret
            // heals the function without a restart.
            error!(error = %problem, "management credentials unavailable; requests will answer 500 until they can be read");
        }
        App {
            service: Ok(service),
        }
    }

    fn unusable(problem: String) -> Self {
        error!(error = %problem, "configuration error: every request will answer 500 until it is fixed");
        App {
            service: Err(problem),
        }
    }

    /// The service, or a 500 if the container could not build one.
    pub fn service(&self) -> Result<&Service<S>, ServiceError> {
        self.service
            .as_ref()
            .map_err(|problem| ServiceError::Internal(problem.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigError;

    #[tokio::test]
    async fn a_misconfigured_container_answers_500_on_every_route() {
        let app: App = App::unusable(ConfigError::Missing("AUTH0_DOMAIN").to_string());
        let event = |method: &str, path: &str| {
            serde_json::json!({
                "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
                "headers": {"authorization": "Bearer a.b.c"},
                "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                    "sourceIp": "192.0.2.1", "userAgent": "test"}, "requestId": "id", "routeKey": "$default",
                    "stage": "$default", "accountId": "1", "apiId": "api", "domainName": "d", "domainPrefix": "d",
                    "time": "t", "timeEpoch": 0},
                "body": "{\"name\": \"x\"}", "isBase64Encoded": false
            })
            .to_string()
        };
        let request = |method, path| lambda_http::request::from_str(&event(method, path)).unwrap();
        let responses = [
            crate::api::create_client(&app, request("POST", "/api/v1/client")).await,
            crate::api::list_clients(&app, request("GET", "/api/v1/client")).await,
            crate::api::get_client(&app, request("GET", "/api/v1/client/x")).await,
            crate::api::delete_client(&app, request("DELETE", "/api/v1/client/x")).await,
        ];
        for response in responses {
            let response = response.unwrap();
            assert_eq!(response.status(), 500);
            assert_eq!(
                std::str::from_utf8(response.body().as_ref()).unwrap(),
                r#"{"message":"Internal server error"}"#
            );
        }
    }
}
