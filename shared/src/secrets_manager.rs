//! The Auth0 Management API credentials, kept in AWS Secrets Manager as a
//! JSON secret `{"client_id": ..., "client_secret": ...}`.

use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use serde::Deserialize;
use tokio::time::{Instant, timeout_at};

use crate::auth0::{CredentialsSource, ManagementCredentials};
use crate::secret_string::SecretString;

/// A read of the secret may take this long, less if the caller's deadline is
/// nearer: Secrets Manager answers in tens of milliseconds, and one that
/// hangs must cost a request (or a container's start) an answer in time,
/// not the whole invocation (docs/behaviour.md, "Upstream failures").
const READ_TIMEOUT: Duration = Duration::from_secs(4);

/// Reads the management credentials from one secret.
pub struct SecretsManagerSource {
    /// Built on the first read, from `config`: a container that never reads
    /// the secret (list and get; any container while the shared token is
    /// good) never builds it. Building an SDK client costs 0.5 M
    /// instructions, most of them the SDK parsing its partition table
    /// (docs/performance-studies.md, "Cold-start levers").
    client: OnceLock<aws_sdk_secretsmanager::Client>,
    config: aws_sdk_secretsmanager::Config,
    secret_id: String,
}

#[derive(Deserialize)]
struct SecretPayload {
    client_id: String,
    client_secret: SecretString,
}

impl SecretsManagerSource {
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: impl Into<String>) -> Self {
        let config = client.config().clone();
        SecretsManagerSource {
            client: OnceLock::from(client),
            config,
            secret_id: secret_id.into(),
        }
    }

    /// A source whose client, of the container's AWS configuration
    /// ([`crate::aws`]), is built when the secret is first read.
    pub fn from_config(secret_id: impl Into<String>, sdk_config: &aws_config::SdkConfig) -> Self {
        let mut config = aws_sdk_secretsmanager::config::Builder::from(sdk_config);
        if let Some(url) = crate::aws::service_endpoint("SECRETS_MANAGER") {
            config = config.endpoint_url(url);
        }
        SecretsManagerSource {
            client: OnceLock::new(),
            config: config.build(),
            secret_id: secret_id.into(),
        }
    }

    fn client(&self) -> &aws_sdk_secretsmanager::Client {
        self.client
            .get_or_init(|| aws_sdk_secretsmanager::Client::from_conf(self.config.clone()))
    }
}

impl CredentialsSource for SecretsManagerSource {
    /// Errors name the secret and the problem, never the secret's content.
    async fn read(&self, deadline: Instant) -> Result<ManagementCredentials, String> {
        let give_up = deadline.min(Instant::now() + READ_TIMEOUT);
        let request = self.client().get_secret_value().secret_id(&self.secret_id);
        let sent = timeout_at(give_up, request.send()).await.map_err(|_| {
            format!(
                "cannot read secret {}: Secrets Manager did not answer in time",
                self.secret_id
            )
        })?;
        let output = sent
            .map_err(|error| {
                let problem = match &error {
                    SdkError::ServiceError(service) => {
                        match (service.err().code(), service.raw().status().as_u16()) {
                            (Some("ResourceNotFoundException"), _) => {
                                "the secret does not exist".to_owned()
                            }
                            (Some("AccessDeniedException" | "AccessDenied"), _) | (_, 403) => {
                                "access denied (the function's role needs secretsmanager:GetSecretValue on it)".to_owned()
                            }
                            _ => DisplayErrorContext(&error).to_string(),
                        }
                    }
                    SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
                        format!("Secrets Manager is unreachable: {}", DisplayErrorContext(&error))
                    }
                    _ => DisplayErrorContext(&error).to_string(),
                };
                format!("cannot read secret {}: {problem}", self.secret_id)
            })?;
        let text = output.secret_string().ok_or_else(|| {
            format!(
                "secret {} has no string value (a JSON object is expected)",
                self.secret_id
            )
        })?;
        parse_credentials(text).map_err(|problem| format!("secret {}: {problem}", self.secret_id))
    }
}

/// Parses the secret's JSON. serde's own messages can quote the offending
/// value, which here may be the secret itself, so they are replaced.
fn parse_credentials(text: &str) -> Result<ManagementCredentials, &'static str> {
    const SHAPE: &str = "not a JSON object with string fields client_id and client_secret";
    // Through a map first: serde would also accept a positional array.
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|_| SHAPE)?;
    let payload: SecretPayload =
        serde_json::from_value(serde_json::Value::Object(object)).map_err(|_| SHAPE)?;
    if payload.client_id.trim().is_empty() || payload.client_secret.expose().trim().is_empty() {
        return Err("client_id and client_secret must not be empty");
    }
    Ok(ManagementCredentials {
        client_id: payload.client_id,
        client_secret: payload.client_secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_sdk_client_gives_each_attempt_a_timeout() {
        let http = crate::http::client().unwrap();
        let sdk = crate::aws::sdk_config(http);
        let source = SecretsManagerSource::from_config("m2m/any", &sdk);
        assert!(source.client.get().is_none(), "built on the first read");
        let timeouts = source.client().config().timeout_config();
        assert_eq!(
            timeouts.and_then(aws_config::timeout::TimeoutConfig::operation_attempt_timeout),
            Some(crate::aws::ATTEMPT_TIMEOUT)
        );
    }

    #[test]
    fn parses_the_documented_shape() {
        let credentials =
            parse_credentials(r#"{"client_id": "mgmt", "client_secret": "s3cr3t", "extra": 1}"#)
                .unwrap();
        assert_eq!(credentials.client_id, "mgmt");
        assert_eq!(credentials.client_secret.expose(), "s3cr3t");
    }

    #[test]
    fn malformed_secrets_are_described_without_their_content() {
        for text in [
            "s3cr3t-not-json",
            r#"{"client_id": "mgmt"}"#,
            r#"{"client_id": "mgmt", "client_secret": 123456789}"#,
            r#"{"client_id": "", "client_secret": "s3cr3t"}"#,
            r#"["mgmt", "s3cr3t"]"#,
        ] {
            let problem = parse_credentials(text).unwrap_err();
            for fragment in ["s3cr3t", "123456789", "mgmt"] {
                assert!(!problem.contains(fragment), "{problem}");
            }
        }
    }
}
