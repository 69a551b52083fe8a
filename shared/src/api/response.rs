//! The one error-to-response map, and the bodies of the documented answers.

use std::fmt;

use lambda_http::http::StatusCode;
use lambda_http::http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use lambda_http::{Body, Response};
use serde::Serialize;
use tracing::{error, info, warn};

use crate::domain::{AuthMethod, CreatedClient, Credential, IndexedClient, RotatedSecret, rfc3339};
use crate::error::{AuthError, Operation, ServiceError, UpstreamError};

/// What a failed rotation adds: the caller cannot know which secret works.
const ROTATION_UNKNOWN: &str = "it may or may not have been rotated, so the secret you hold may no longer work; rotate again to get a secret that does";

/// The documented answer to every failure.
pub fn error_response(problem: &ServiceError) -> Response<Body> {
    match problem {
        // Without working management credentials there is nothing Auth0
        // could do better: it is our deployment that is broken, so 500.
        ServiceError::Internal(_)
        | ServiceError::Index(_)
        | ServiceError::Upstream {
            cause: UpstreamError::Credentials(_),
            ..
        } => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &ErrorBody::message("Internal server error"),
        ),
        ServiceError::Unauthorized(reason) => {
            let (message, challenge) = match reason {
                AuthError::Malformed(_) => ("missing or malformed jwt", "Bearer"),
                AuthError::Invalid(_) => {
                    ("invalid or expired jwt", r#"Bearer error="invalid_token""#)
                }
                AuthError::MissingOwner => (
                    "token is valid but missing client_id",
                    r#"Bearer error="invalid_token""#,
                ),
            };
            let mut response =
                json_response(StatusCode::UNAUTHORIZED, &ErrorBody::message(message));
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
            response
        }
        ServiceError::InsufficientScope { needed } => {
            let mut response = json_response(
                StatusCode::FORBIDDEN,
                &ErrorBody::message("insufficient scope"),
            );
            let challenge = format!(r#"Bearer error="insufficient_scope", scope="{needed}""#);
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response.headers_mut().insert(WWW_AUTHENTICATE, value);
            }
            response
        }
        ServiceError::InvalidRequest(message) => {
            coded(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
        }
        ServiceError::ClientNotFound => coded(StatusCode::NOT_FOUND, "CLIENT_NOT_FOUND", problem),
        ServiceError::ClientLimitReached { .. } => {
            coded(StatusCode::CONFLICT, "CLIENT_LIMIT_REACHED", problem)
        }
        ServiceError::ClientChangeInProgress => {
            coded(StatusCode::CONFLICT, "CLIENT_CHANGE_IN_PROGRESS", problem)
        }
        // A tenant without Private Key JWT is answered as a deployment
        // with key credentials off: the caller's way out is the same.
        ServiceError::KeyCredentialsUnavailable
        | ServiceError::Upstream {
            cause: UpstreamError::NotEntitled(_),
            ..
        } => coded(
            StatusCode::BAD_REQUEST,
            "KEY_CREDENTIALS_UNAVAILABLE",
            ServiceError::KeyCredentialsUnavailable,
        ),
        ServiceError::CredentialLimitReached { .. } => {
            coded(StatusCode::CONFLICT, "CREDENTIAL_LIMIT_REACHED", problem)
        }
        ServiceError::CredentialNotFound => {
            coded(StatusCode::NOT_FOUND, "CREDENTIAL_NOT_FOUND", problem)
        }
        ServiceError::LastCredential => coded(StatusCode::CONFLICT, "LAST_CREDENTIAL", problem),
        ServiceError::ClientUsesSecret => {
            coded(StatusCode::CONFLICT, "CLIENT_USES_SECRET", problem)
        }
        ServiceError::ClientUsesKeys => coded(StatusCode::CONFLICT, "CLIENT_USES_KEYS", problem),
        ServiceError::IdempotencyKeyInUse => {
            coded(StatusCode::CONFLICT, "IDEMPOTENCY_KEY_IN_USE", problem)
        }
        ServiceError::TooManyRequests { retry_after, .. } => {
            let mut response = coded(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS", problem);
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after.as_secs().max(1)));
            response
        }
        ServiceError::IdempotencyKeyReused => coded(
            StatusCode::UNPROCESSABLE_ENTITY,
            "IDEMPOTENCY_KEY_REUSED",
            problem,
        ),
        ServiceError::OutcomeUnknown { operation, .. } => {
            let (code, message) = operation_failure(*operation);
            json_response(
                StatusCode::BAD_GATEWAY,
                &ErrorBody {
                    code: Some(code),
                    message,
                },
            )
        }
        ServiceError::Upstream { operation, cause } => {
            let (code, message) = operation_failure(*operation);
            let code = Some(code);
            match cause {
                UpstreamError::RateLimited { retry_after } => {
                    let message = format!("{message}: the identity provider is busy, retry later");
                    let mut response = json_response(
                        StatusCode::SERVICE_UNAVAILABLE,
                        &ErrorBody {
                            code,
                            message: &message,
                        },
                    );
                    response
                        .headers_mut()
                        .insert(RETRY_AFTER, HeaderValue::from(retry_after.as_secs().max(1)));
                    response
                }
                // Auth0 may have rotated the secret without our seeing the
                // answer: no claim about which secret works, and the one
                // way out. (A rate limit above is certain: nothing rotated.)
                _ if *operation == Operation::RotateSecret => json_response(
                    StatusCode::BAD_GATEWAY,
                    &ErrorBody {
                        code,
                        message: &format!("{message}: {ROTATION_UNKNOWN}"),
                    },
                ),
                _ => json_response(StatusCode::BAD_GATEWAY, &ErrorBody { code, message }),
            }
        }
    }
}

/// The documented code of a failed `operation`, and its fixed message.
fn operation_failure(operation: Operation) -> (&'static str, &'static str) {
    match operation {
        Operation::CreateClient => ("CLIENT_CREATE_FAILED", "failed to create the client"),
        Operation::CreateGrant => (
            "CLIENT_GRANT_CREATE_FAILED",
            "failed to authorize the client for API access",
        ),
        Operation::DeleteClient => ("CLIENT_DELETE_FAILED", "failed to delete the client"),
        Operation::UpdateClient => ("CLIENT_UPDATE_FAILED", "failed to update the client"),
        Operation::RotateSecret => (
            "CLIENT_SECRET_ROTATE_FAILED",
            "failed to rotate the client secret",
        ),
        Operation::DeleteGrant => (
            "CLIENT_GRANT_DELETE_FAILED",
            "failed to revoke the client's API access",
        ),
        Operation::CreateCredential => ("CREDENTIAL_CREATE_FAILED", "failed to add the credential"),
        Operation::DeleteCredential => (
            "CREDENTIAL_DELETE_FAILED",
            "failed to remove the credential",
        ),
    }
}

/// Logs a failure at the level it deserves: the caller's mistakes are
/// information, Auth0's failures a warning, our own an error.
pub fn log_failure(problem: &ServiceError) {
    match problem {
        ServiceError::Unauthorized(_)
        | ServiceError::InsufficientScope { .. }
        | ServiceError::InvalidRequest(_)
        | ServiceError::ClientNotFound
        | ServiceError::ClientLimitReached { .. }
        | ServiceError::ClientChangeInProgress
        | ServiceError::IdempotencyKeyInUse
        | ServiceError::IdempotencyKeyReused
        | ServiceError::TooManyRequests { .. }
        | ServiceError::KeyCredentialsUnavailable
        | ServiceError::CredentialLimitReached { .. }
        | ServiceError::CredentialNotFound
        | ServiceError::LastCredential
        | ServiceError::ClientUsesSecret
        | ServiceError::ClientUsesKeys
        | ServiceError::Upstream {
            cause: UpstreamError::NotEntitled(_),
            ..
        } => {
            info!(error = %problem, "request refused")
        }
        ServiceError::Internal(_)
        | ServiceError::Index(_)
        | ServiceError::OutcomeUnknown { .. }
        | ServiceError::Upstream {
            cause: UpstreamError::Credentials(_),
            ..
        } => error!(error = %problem, "internal error"),
        ServiceError::Upstream { .. } => warn!(error = %problem, "upstream failure"),
    }
}

/// A `{"code", "message"}` body. A refusal's message is its error's own
/// (`error.rs`): what it says is what the caller is told.
fn coded(status: StatusCode, code: &'static str, message: impl fmt::Display) -> Response<Body> {
    json_response(
        status,
        &ErrorBody {
            code: Some(code),
            message: &message.to_string(),
        },
    )
}

pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    // Our bodies are plain strings and lists of them: serializing cannot
    // fail, but if it ever did the caller still gets the documented 500.
    let (status, text) = match serde_json::to_string(body) {
        Ok(text) => (status, text),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"message":"Internal server error"}"#.to_owned(),
        ),
    };
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A bodiless answer (204).
pub fn empty_response(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = status;
    response
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    message: &'a str,
}

impl<'a> ErrorBody<'a> {
    fn message(message: &'a str) -> Self {
        ErrorBody {
            code: None,
            message,
        }
    }
}

/// The 201 of create: with the rotation's answer, the only bodies that
/// ever carry a secret. A key client's has none: its `auth_method` and
/// `credentials` instead.
#[derive(Serialize)]
pub struct CreatedClientBody<'a> {
    name: &'a str,
    description: &'a str,
    client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
    scopes: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_method: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    credentials: Option<&'a [Credential]>,
}

impl<'a> From<&'a CreatedClient> for CreatedClientBody<'a> {
    fn from(client: &'a CreatedClient) -> Self {
        let credentials = client.credentials.as_deref();
        CreatedClientBody {
            name: &client.name,
            description: &client.description,
            client_id: &client.client_id,
            client_secret: client.client_secret.as_ref().map(|secret| secret.expose()),
            scopes: &client.scopes,
            auth_method: credentials.map(|_| AuthMethod::PrivateKeyJwt.as_str()),
            credentials,
        }
    }
}

/// The 200 of a rotation: the new secret, shown this once.
#[derive(Serialize)]
pub struct RotatedSecretBody<'a> {
    client_id: &'a str,
    client_secret: &'a str,
}

impl<'a> From<&'a RotatedSecret> for RotatedSecretBody<'a> {
    fn from(rotated: &'a RotatedSecret) -> Self {
        RotatedSecretBody {
            client_id: &rotated.client_id,
            client_secret: rotated.client_secret.expose(),
        }
    }
}

/// A client in list, get, update, disable and enable answers: `id` and
/// `client_id` are both the Auth0 id.
#[derive(Serialize)]
pub struct ClientBody<'a> {
    id: &'a str,
    name: &'a str,
    description: &'a str,
    client_id: &'a str,
    scopes: &'a [String],
    status: &'static str,
    auth_method: &'static str,
    /// When it last got a token (RFC 3339), as Auth0's log stream told;
    /// `null` until then, or without the log stream.
    last_used_at: Option<String>,
}

impl<'a> From<&'a IndexedClient> for ClientBody<'a> {
    /// Of a client as the operations answer it: its scopes filled in.
    fn from(client: &'a IndexedClient) -> Self {
        ClientBody {
            id: &client.client_id,
            name: &client.name,
            description: &client.description,
            client_id: &client.client_id,
            scopes: client.scopes.as_deref().unwrap_or_default(),
            status: client.status.as_str(),
            auth_method: AuthMethod::of(client.credentials.as_deref()).as_str(),
            last_used_at: client.last_used_at.map(rfc3339),
        }
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse;
    use lambda_http::http::HeaderName;

    use super::*;
    use crate::config::{
        DEFAULT_GRANT_SCOPES, RESPONSE_LIMIT_BYTES, largest_list_item_bytes, max_listable_clients,
    };
    use crate::domain::{ClientStatus, MAX_CLIENT_ID_CHARS, Owner, is_possible_client_id};
    use crate::validation::{MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, parse_new_client};

    /// What `text` takes in the envelope Lambda returns, as (part of) its
    /// body string.
    fn in_envelope(text: &str) -> usize {
        serde_json::to_string(text).unwrap().len() - 2
    }

    /// Of the characters a create accepts in `field` (every ASCII one and
    /// some beyond: 2-, 3- and 4-byte UTF-8, line separators, C1
    /// controls), the one that takes the most room in a list's response.
    fn roomiest(field: &str) -> char {
        let candidates = (0u8..0x80).map(char::from).chain([
            '\u{85}',
            '\u{e9}',
            '\u{2028}',
            '\u{20ac}',
            '\u{1f600}',
        ]);
        candidates
            .filter(|c| {
                let body = serde_json::json!({"name": "n", field: c.to_string()});
                parse_new_client(body.to_string().as_bytes()).is_ok_and(|new| {
                    let kept = if field == "name" {
                        new.name
                    } else {
                        new.description
                    };
                    kept == c.to_string()
                })
            })
            .max_by_key(|c| in_envelope(&serde_json::to_string(&c.to_string()).unwrap()))
            .unwrap()
    }

    fn default_scopes() -> Vec<String> {
        DEFAULT_GRANT_SCOPES.map(str::to_owned).to_vec()
    }

    /// A client whose every field is as long as it can be, in the
    /// characters that take the most room.
    fn largest_client(scopes: &[String]) -> IndexedClient {
        let id = "x".repeat(MAX_CLIENT_ID_CHARS);
        assert!(is_possible_client_id(&id));
        IndexedClient {
            client_id: id,
            owner: Owner::parse("owner").unwrap(),
            name: roomiest("name").to_string().repeat(MAX_NAME_CHARS),
            description: roomiest("description")
                .to_string()
                .repeat(MAX_DESCRIPTION_CHARS),
            created_at: 0,
            idempotency_key: None,
            scopes: Some(scopes.to_vec()),
            status: ClientStatus::Disabled,
            credentials: None,
            change: None,
            // The longest time shown: 9999-12-31T23:59:59.999999Z.
            last_used_at: Some(253_402_300_799_999_999),
        }
    }

    #[test]
    fn the_configuration_knows_the_largest_list_item() {
        let scopes = default_scopes();
        let client = largest_client(&scopes);
        let item = serde_json::to_string(&ClientBody::from(&client)).unwrap();
        // Its comma in the list counted too.
        assert_eq!(in_envelope(&item) + 1, largest_list_item_bytes(&scopes));
    }

    #[test]
    fn the_longest_list_a_quota_allows_fits_in_lambdas_response() {
        let scopes = default_scopes();
        let client = largest_client(&scopes);
        let most = max_listable_clients(&scopes) as usize;
        let body: Vec<ClientBody<'_>> = (0..most).map(|_| ClientBody::from(&client)).collect();
        let mut response = json_response(StatusCode::OK, &body);
        response.headers_mut().insert(
            HeaderName::from_static("x-request-id"),
            HeaderValue::from_static("0b6f2a56-3d7e-4a8c-9c1e-5f0a2b7c4d91"),
        );
        // As lambda_http returns it to API Gateway (an HTTP API's payload).
        let (parts, body) = response.into_parts();
        let mut envelope = ApiGatewayV2httpResponse::default();
        envelope.status_code = i64::from(parts.status.as_u16());
        envelope.headers = parts.headers;
        envelope.body = Some(body);
        let sent = serde_json::to_vec(&envelope).unwrap();
        assert!(
            sent.len() <= RESPONSE_LIMIT_BYTES,
            "{most} clients: {} bytes",
            sent.len()
        );
        // One more client's worth would not have been safe to allow.
        assert!(
            sent.len() + largest_list_item_bytes(&scopes) > RESPONSE_LIMIT_BYTES - 4 * 1024,
            "{most} clients: {} bytes, room for more",
            sent.len()
        );
    }
}
