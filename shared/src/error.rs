//! The one error type of the service, and the errors it is made of. Every
//! failure a request can meet ends up in a [`ServiceError`];
//! `api::error_response` is the one place that turns it into a status code
//! and a documented body. This module imports nothing from the crate: every
//! other module may use it.

use std::fmt;
use std::time::Duration;

/// Why a caller was turned away. Each variant is one of the three documented
/// 401 bodies; the `&'static str` says why, for the log, without quoting the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing or malformed jwt: {0}")]
    Malformed(&'static str),
    #[error("invalid or expired jwt: {0}")]
    Invalid(&'static str),
    #[error("token is valid but missing client_id")]
    MissingOwner,
}

/// What the service was doing when an upstream call failed: it picks the
/// documented error code of the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    CreateClient,
    CreateGrant,
    DeleteClient,
    UpdateClient,
    RotateSecret,
    DeleteGrant,
    CreateCredential,
    DeleteCredential,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::CreateClient => "create client",
            Operation::CreateGrant => "create client grant",
            Operation::DeleteClient => "delete client",
            Operation::UpdateClient => "update client",
            Operation::RotateSecret => "rotate client secret",
            Operation::DeleteGrant => "delete client grant",
            Operation::CreateCredential => "create credential",
            Operation::DeleteCredential => "delete credential",
        })
    }
}

/// How a call to Auth0 (or the secret behind it) failed. The `String`s are
/// for the log only: they never reach a response.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// Auth0 kept answering 429 after the retries the time budget allowed.
    #[error("rate limited by Auth0 (retry after {}s)", retry_after.as_secs())]
    RateLimited { retry_after: Duration },
    /// Auth0 answered with an error, timed out, dropped the connection or sent
    /// something unreadable: it may have processed the call.
    #[error("Auth0 failed: {0}")]
    Failed(String),
    /// Auth0 failed the call (answered as [`Self::Failed`]), and nothing
    /// it may have done is left: it refused (a 4xx), or what it may have
    /// made was deleted again. There is nothing to repair.
    #[error("Auth0 failed, nothing done: {0}")]
    NotDone(String),
    /// The service cannot authenticate to Auth0 at all: the management
    /// credentials are missing, unreadable or rejected. Not Auth0's fault,
    /// and so not a 502: the response map answers it as our own failure.
    #[error("management credentials unusable: {0}")]
    Credentials(String),
    /// Auth0 refused a feature the tenant's plan lacks (403
    /// `insufficient_entitlement`: Private Key JWT): nothing was made.
    #[error("the Auth0 tenant's plan lacks this feature: {0}")]
    NotEntitled(String),
    /// Auth0 refused a new credential (409): the client's slots are taken,
    /// or it holds that key already. Nothing was made.
    #[error("Auth0 refused the credential: {0}")]
    Conflict(String),
}

/// The owner index (DynamoDB) failed. The `String`s are for the log only.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    /// Unreachable, throttled, refused: nothing was written (or, for a
    /// read, nothing was read).
    #[error("owner index: {0}")]
    Failed(String),
    /// A write that may or may not have been applied, and that could not
    /// be settled by reading the table before the deadline: what the write
    /// records is left for the next request or the reconciler to take
    /// over (CONTRACT.md, "Writes whose outcome is unknown"). The
    /// operation answers it 502 with its code.
    #[error("owner index: outcome unknown: {0}")]
    OutcomeUnknown(String),
}

/// Every way a request can fail. A refusal answered with a documented
/// code (a 4xx) shows the caller its message as written here (400
/// `INVALID_REQUEST` shows the text it holds); the other messages are for
/// the log only.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("unauthorized: {0}")]
    Unauthorized(#[from] AuthError),
    /// 403: the caller is who it says, but its token does not grant the
    /// route's permission (named here, as the `WWW-Authenticate` scope).
    #[error("insufficient scope: {needed} is needed")]
    InsufficientScope { needed: &'static str },
    /// 400 `INVALID_REQUEST`; the message is shown to the caller as is.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// 404 `CLIENT_NOT_FOUND`: missing, someone else's, or an impossible id.
    #[error("client not found")]
    ClientNotFound,
    /// 409 `CLIENT_LIMIT_REACHED`: the owner has `MAX_CLIENTS_PER_OWNER`.
    #[error("client limit reached: an owner may have at most {limit} clients")]
    ClientLimitReached { limit: u32 },
    /// 409 `CLIENT_CHANGE_IN_PROGRESS`: another update, disable or enable
    /// of the client is under way.
    #[error("another change to this client is in progress; retry shortly")]
    ClientChangeInProgress,
    /// 409 `IDEMPOTENCY_KEY_IN_USE`: the key's first request is still running.
    #[error("a request with this Idempotency-Key is still being processed")]
    IdempotencyKeyInUse,
    /// 400 `KEY_CREDENTIALS_UNAVAILABLE`: key credentials are off
    /// (`KEY_CREDENTIALS=false`) or the Auth0 tenant lacks Private Key JWT.
    #[error(
        "key credentials (Private Key JWT) are not available in this deployment; create the client without public_key to get a secret"
    )]
    KeyCredentialsUnavailable,
    /// 409 `CREDENTIAL_LIMIT_REACHED`: the client holds as many credentials
    /// as Auth0 allows.
    #[error(
        "credential limit reached: a client may hold at most {limit} credentials; remove one first"
    )]
    CredentialLimitReached { limit: usize },
    /// 404 `CREDENTIAL_NOT_FOUND`: the client has no such credential.
    #[error("credential not found")]
    CredentialNotFound,
    /// 409 `LAST_CREDENTIAL`: removing it would leave the client no way in.
    #[error("this is the client's last credential: add its successor before removing it")]
    LastCredential,
    /// 409 `CLIENT_USES_SECRET`: a credentials route on a secret client.
    #[error("this client authenticates with a secret, not keys")]
    ClientUsesSecret,
    /// 409 `CLIENT_USES_KEYS`: a secret rotation of a key client.
    #[error(
        "this client authenticates with keys and has no secret: rotate by adding a key, then removing the old one"
    )]
    ClientUsesKeys,
    /// 429 `TOO_MANY_REQUESTS`: the owner has started `limit` Auth0-calling
    /// operations this minute (`OWNER_WRITES_PER_MINUTE`); the minute ends
    /// in `retry_after`.
    #[error(
        "too many changes: at most {limit} a minute for each caller; retry after {} seconds",
        retry_after.as_secs().max(1)
    )]
    TooManyRequests { limit: u32, retry_after: Duration },
    /// 422 `IDEMPOTENCY_KEY_REUSED`: the key came with another request body.
    #[error("this Idempotency-Key was used with another request body")]
    IdempotencyKeyReused,
    /// 500: the owner index failed.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// 502 with the operation's code: a write to the owner index whose
    /// outcome is unknown, its record left to be taken over.
    #[error("{operation}: {cause}")]
    OutcomeUnknown {
        operation: Operation,
        cause: IndexError,
    },
    #[error("{operation} failed: {cause}")]
    Upstream {
        operation: Operation,
        cause: UpstreamError,
    },
    /// 500; the message is for the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(message: impl Into<String>) -> Self {
        ServiceError::InvalidRequest(message.into())
    }

    /// For `map_err`: `cause` failed `operation`.
    pub fn upstream(operation: Operation) -> impl FnOnce(UpstreamError) -> Self {
        move |cause| ServiceError::Upstream { operation, cause }
    }

    /// For `map_err` on an owner index write of `operation`: a failure is
    /// a 500, an unknown outcome the operation's 502.
    pub fn index_write(operation: Operation) -> impl FnOnce(IndexError) -> Self {
        move |cause| match cause {
            IndexError::OutcomeUnknown(_) => ServiceError::OutcomeUnknown { operation, cause },
            IndexError::Failed(_) => ServiceError::Index(cause),
        }
    }
}
