//! The one error-to-response map, and the bodies of the documented answers.

use lambda_http::http::StatusCode;
use lambda_http::http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use lambda_http::{Body, Response};
use serde::Serialize;
use tracing::{error, info, warn};

use crate::domain::{AuthMethod, CreatedClient, Credential, IndexedClient, RotatedSecret};
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
        ServiceError::ClientNotFound => coded(
            StatusCode::NOT_FOUND,
            "CLIENT_NOT_FOUND",
            "client not found",
        ),
        ServiceError::ClientLimitReached { limit } => coded(
            StatusCode::CONFLICT,
            "CLIENT_LIMIT_REACHED",
            &format!("client limit reached: an owner may have at most {limit} clients"),
        ),
        ServiceError::ClientChangeInProgress => coded(
            StatusCode::CONFLICT,
            "CLIENT_CHANGE_IN_PROGRESS",
            "another change to this client is in progress; retry shortly",
        ),
        ServiceError::KeyCredentialsUnavailable
        | ServiceError::Upstream {
            cause: UpstreamError::NotEntitled(_),
            ..
        } => coded(
            StatusCode::BAD_REQUEST,
            "KEY_CREDENTIALS_UNAVAILABLE",
            "key credentials (Private Key JWT) are not available in this deployment; create the client without public_key to get a secret",
        ),
        ServiceError::CredentialLimitReached { limit } => coded(
            StatusCode::CONFLICT,
            "CREDENTIAL_LIMIT_REACHED",
            &format!(
                "credential limit reached: a client may hold at most {limit} credentials; remove one first"
            ),
        ),
        ServiceError::CredentialNotFound => coded(
            StatusCode::NOT_FOUND,
            "CREDENTIAL_NOT_FOUND",
            "credential not found",
        ),
        ServiceError::LastCredential => coded(
            StatusCode::CONFLICT,
            "LAST_CREDENTIAL",
            "this is the client's last credential: add its successor before removing it",
        ),
        ServiceError::ClientUsesSecret => coded(
            StatusCode::CONFLICT,
            "CLIENT_USES_SECRET",
            "this client authenticates with a secret, not keys",
        ),
        ServiceError::ClientUsesKeys => coded(
            StatusCode::CONFLICT,
            "CLIENT_USES_KEYS",
            "this client authenticates with keys and has no secret: rotate by adding a key, then removing the old one",
        ),
        ServiceError::IdempotencyKeyInUse => coded(
            StatusCode::CONFLICT,
            "IDEMPOTENCY_KEY_IN_USE",
            "a request with this Idempotency-Key is still being processed",
        ),
        ServiceError::IdempotencyKeyReused => coded(
            StatusCode::UNPROCESSABLE_ENTITY,
            "IDEMPOTENCY_KEY_REUSED",
            "this Idempotency-Key was used with another request body",
        ),
        ServiceError::Upstream { operation, cause } => {
            let (code, message) = match operation {
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
                Operation::CreateCredential => {
                    ("CREDENTIAL_CREATE_FAILED", "failed to add the credential")
                }
                Operation::DeleteCredential => (
                    "CREDENTIAL_DELETE_FAILED",
                    "failed to remove the credential",
                ),
            };
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
        | ServiceError::Upstream {
            cause: UpstreamError::Credentials(_),
            ..
        } => error!(error = %problem, "internal error"),
        ServiceError::Upstream { .. } => warn!(error = %problem, "upstream failure"),
    }
}

/// A `{"code", "message"}` body.
fn coded(status: StatusCode, code: &'static str, message: &str) -> Response<Body> {
    json_response(
        status,
        &ErrorBody {
            code: Some(code),
            message,
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
        }
    }
}
