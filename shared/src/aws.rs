//! The AWS SDK's configuration, loaded once per container and shared by
//! the Secrets Manager and DynamoDB clients: the standard variables
//! (`AWS_REGION`, `AWS_ENDPOINT_URL`, the Lambda role's credentials, ...),
//! requests sent through the container's one HTTP client, and an attempt
//! timeout so that a hung connection is retried within the caller's time.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::timeout::TimeoutConfig;

use crate::http::AwsHttpClient;

/// One attempt of an SDK call: a hung attempt (a connection that died while
/// the container was frozen) is retried by the SDK in the time left.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// The configuration of every AWS client of the container.
pub async fn sdk_config(http: reqwest::Client) -> SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(AwsHttpClient::new(http))
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .build(),
        );
    // Lambda puts the role's credentials and the region in the
    // environment, where the SDK's default chains look first and stop.
    // Naming those providers gives the same answer without building the
    // rest of the chains (an STS client for web identity, an IMDS client),
    // a fifth of a container's start-up work.
    let set = |name| std::env::var_os(name).is_some_and(|value| !value.is_empty());
    if set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY") {
        loader = loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    }
    if set("AWS_REGION") || set("AWS_DEFAULT_REGION") {
        loader = loader.region(aws_config::environment::EnvironmentVariableRegionProvider::new());
    }
    loader.load().await
}
