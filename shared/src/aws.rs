//! The AWS SDK's configuration, built once per container and shared by the
//! Secrets Manager and DynamoDB clients: the region, the role's credentials
//! and endpoint overrides from the environment, requests sent through the
//! container's one HTTP client, and an attempt timeout so that a hung
//! connection is retried within the caller's time.
//!
//! Built by hand rather than by `aws_config::load`: Lambda puts everything a
//! function needs in the environment, and `load` would also read profile
//! files and carry the rest of the SDK's default chains (an STS client for
//! web identity, IMDS, ECS, SSO) into every binary, which alone kept the
//! functions over their 6 MB size target (README, "Configuration").

use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;

use crate::http::AwsHttpClient;

/// One attempt of an SDK call: a hung attempt (a connection that died while
/// the container was frozen) is retried by the SDK in the time left.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// The configuration of every AWS client of the container: the SDK's own
/// variables, as far as a Lambda function uses them. The region is
/// `AWS_REGION` (else `AWS_DEFAULT_REGION`); the credentials are
/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`,
/// which Lambda sets from the function's role (without them every AWS call
/// fails, and the request with it: answered 500); `AWS_ENDPOINT_URL` sends
/// every service elsewhere (the local stack's moto), and
/// [`service_endpoint`] one service.
pub fn sdk_config(http: reqwest::Client) -> SdkConfig {
    sdk_config_from(http, |name| std::env::var(name).ok())
}

fn sdk_config_from(http: reqwest::Client, env: impl Fn(&str) -> Option<String>) -> SdkConfig {
    let env = |name: &str| env(name).filter(|value| !value.trim().is_empty());
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(AwsHttpClient::new(http))
        .retry_config(RetryConfig::standard())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .build(),
        )
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ));
    if let Some(region) = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")) {
        builder = builder.region(Region::new(region));
    }
    if let Some(url) = env("AWS_ENDPOINT_URL") {
        builder = builder.endpoint_url(url);
    }
    builder.build()
}

/// The endpoint the environment names for one service, as the SDK's
/// `AWS_ENDPOINT_URL_<SERVICE>` (`service` is its upper-case id, such as
/// `DYNAMODB` or `SECRETS_MANAGER`); it wins over `AWS_ENDPOINT_URL`.
pub fn service_endpoint(service: &str) -> Option<String> {
    std::env::var(format!("AWS_ENDPOINT_URL_{service}"))
        .ok()
        .filter(|value| !value.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> SdkConfig {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        sdk_config_from(reqwest::Client::new(), |name| {
            vars.get(name).map(|value| (*value).to_owned())
        })
    }

    #[test]
    fn the_region_and_endpoint_come_from_the_sdks_variables() {
        let set = config(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ]);
        assert_eq!(set.region().map(Region::as_ref), Some("eu-west-1"));
        assert_eq!(set.endpoint_url(), Some("http://127.0.0.1:5000"));
        let fallback = config(&[("AWS_REGION", " "), ("AWS_DEFAULT_REGION", "us-east-1")]);
        assert_eq!(fallback.region().map(Region::as_ref), Some("us-east-1"));
        assert_eq!(fallback.endpoint_url(), None);
        assert!(config(&[]).region().is_none());
        assert!(set.credentials_provider().is_some());
        assert_eq!(
            set.timeout_config()
                .and_then(TimeoutConfig::operation_attempt_timeout),
            Some(ATTEMPT_TIMEOUT)
        );
    }
}
