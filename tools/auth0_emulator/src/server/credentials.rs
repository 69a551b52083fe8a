//! `/api/v2/clients/{id}/credentials`: a client's key credentials for
//! Private Key JWT, as Auth0 documents them
//! (<https://auth0.com/docs/get-started/applications/configure-private-key-jwt>,
//! `rotate-credentials`): at most two per client, enabled by listing them in
//! the client's `client_authentication_methods`, deletable only once no
//! longer listed there.
//!
//! Auth0 documents neither the status nor the body of a third credential,
//! of deleting an enabled one, of the same key twice, or of a plan without
//! the feature; the answers here are the emulator's (schemas/README.md).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{
    AppState, CheckedBody, ErrorMessage, Refusal, Scoped, auth0_error, client_not_found,
    error_answer, json_response, violation,
};
use crate::clock::{now_millis, parse_millis};
use crate::public_key;
use crate::state::{Credential, Tenant, private_key_jwt};

const CREATE: &str = "POST /api/v2/clients/{id}/credentials";
const UPDATE: &str = "PATCH /api/v2/clients/{id}/credentials/{credential_id}";

/// How many credentials a client may hold, enabled or not.
pub const MAX_CREDENTIALS: usize = 2;

/// A third credential.
pub(crate) const CREDENTIAL_LIMIT: ErrorMessage = (
    "A client cannot have more than 2 credentials",
    "credential_limit_exceeded",
);

/// A credential id the client has none of.
pub(crate) const CREDENTIAL_NOT_FOUND: ErrorMessage =
    ("Credential does not exist", "inexistent_credential");

/// Auth0's 403 for a tenant whose plan lacks Private Key JWT (Enterprise):
/// its answer to other plan-gated features, with this feature's name.
pub(crate) fn no_entitlement() -> Response {
    auth0_error(
        StatusCode::FORBIDDEN,
        "Please upgrade your subscription to use Private Key JWT authentication",
        "insufficient_entitlement",
    )
}

/// What the emulator does not emulate, said so rather than answered wrongly.
pub(crate) fn beyond_the_emulator(what: &str) -> Response {
    auth0_error(
        StatusCode::BAD_REQUEST,
        &format!("{what} is not supported by the Auth0 emulator"),
        "invalid_body",
    )
}

/// A new credential of `client_id` from `body` (a `POST .../credentials`
/// body, or one of the `credentials` of a client's create, both checked
/// against their schema already), checked as Auth0 checks it; not stored.
pub(crate) fn new_credential(
    tenant: &mut Tenant,
    client_id: &str,
    body: &Value,
) -> Result<Credential, Refusal> {
    let text = |name: &str| body.get(name).and_then(Value::as_str);
    match text("credential_type") {
        Some("public_key") => {}
        other => {
            return Err(Refusal::Answer(beyond_the_emulator(&format!(
                "credential_type {}",
                other.unwrap_or("(none)")
            ))));
        }
    }
    if body.get("subject_dn").is_some() {
        return Err(Refusal::Violation(
            "subject_dn applies to cert_subject_dn credentials, not public_key".into(),
        ));
    }
    let pem = text("pem")
        .ok_or_else(|| Refusal::Violation("pem is required for a public_key credential".into()))?;
    let key = public_key::parse(pem).map_err(Refusal::Violation)?;
    let now = now_millis();
    let expires_at = match text("expires_at") {
        None => None,
        Some(expiry) => match parse_millis(expiry) {
            None => {
                return Err(Refusal::Violation(
                    "expires_at is not an ISO 8601 date-time".into(),
                ));
            }
            Some(millis) if millis <= now => {
                return Err(Refusal::Violation(
                    "expires_at must be in the future".into(),
                ));
            }
            Some(millis) => Some(millis),
        },
    };
    if body["parse_expiry_from_cert"] == true {
        if expires_at.is_some() {
            return Err(Refusal::Violation(
                "parse_expiry_from_cert and expires_at are mutually exclusive".into(),
            ));
        }
        return Err(Refusal::Answer(beyond_the_emulator(
            "parse_expiry_from_cert",
        )));
    }
    let kid = text("kid").map_or_else(|| key.thumbprint.clone(), str::to_owned);
    let held: Vec<&Credential> = tenant.credentials_of(client_id).collect();
    if held.len() >= MAX_CREDENTIALS {
        return Err(Refusal::Answer(error_answer(
            StatusCode::CONFLICT,
            CREDENTIAL_LIMIT,
        )));
    }
    if held
        .iter()
        .any(|other| other.key.thumbprint == key.thumbprint || other.kid == kid)
    {
        // A key (or `kid`) the client holds already.
        return Err(Refusal::Answer(auth0_error(
            StatusCode::CONFLICT,
            "A credential with the same key or kid already exists for this client",
            "credential_conflict",
        )));
    }
    Ok(Credential {
        client_id: client_id.to_owned(),
        id: tenant.new_credential_id(),
        name: text("name").unwrap_or_default().to_owned(),
        kid,
        alg: text("alg").unwrap_or("RS256").to_owned(),
        key,
        created_at: now,
        updated_at: now,
        expires_at,
    })
}

/// `GET`: the client's credentials, newest first (the order of Auth0's
/// recorded answers). Auth0 ignores paging parameters here, and so does
/// the emulator.
pub async fn list(
    State(shared): AppState,
    _: Scoped,
    Path(client_id): Path<String>,
) -> Result<Response, Response> {
    let tenant = shared.tenant();
    tenant.client(&client_id).ok_or_else(client_not_found)?;
    let shown: Vec<Value> = tenant
        .credentials_of(&client_id)
        .map(Credential::show)
        .rev()
        .collect();
    Ok(json_response(StatusCode::OK, &Value::Array(shown)))
}

/// `POST`: a new credential, not yet enabled.
pub async fn create(
    State(shared): AppState,
    _: Scoped,
    Path(client_id): Path<String>,
    CheckedBody(request): CheckedBody,
) -> Result<Response, Response> {
    let mut tenant = shared.tenant();
    if !tenant.config.private_key_jwt {
        return Err(no_entitlement());
    }
    tenant.client(&client_id).ok_or_else(client_not_found)?;
    match new_credential(&mut tenant, &client_id, &request) {
        Ok(credential) => {
            let shown = credential.show();
            tenant.credentials.push(credential);
            Ok(json_response(StatusCode::CREATED, &shown))
        }
        Err(refusal) => {
            drop(tenant);
            Err(refusal.answer(&shared, CREATE))
        }
    }
}

/// `GET` one.
pub async fn get(
    State(shared): AppState,
    _: Scoped,
    Path((client_id, credential_id)): Path<(String, String)>,
) -> Result<Response, Response> {
    let tenant = shared.tenant();
    tenant.client(&client_id).ok_or_else(client_not_found)?;
    let credential = tenant
        .credentials_of(&client_id)
        .find(|credential| credential.id == credential_id)
        .ok_or_else(|| error_answer(StatusCode::NOT_FOUND, CREDENTIAL_NOT_FOUND))?;
    Ok(json_response(StatusCode::OK, &credential.show()))
}

/// `PATCH`: its `expires_at`, the one field Auth0 lets change (`null`: no
/// expiry). Answered 201, as the published schema has it.
pub async fn update(
    State(shared): AppState,
    _: Scoped,
    Path((client_id, credential_id)): Path<(String, String)>,
    CheckedBody(request): CheckedBody,
) -> Result<Response, Response> {
    let now = now_millis();
    let expires_at = match &request["expires_at"] {
        Value::String(expiry) => match parse_millis(expiry) {
            Some(millis) if millis > now => Some(millis),
            Some(_) => {
                return Err(violation(
                    &shared,
                    UPDATE,
                    "expires_at must be in the future",
                ));
            }
            None => {
                return Err(violation(
                    &shared,
                    UPDATE,
                    "expires_at is not an ISO 8601 date-time",
                ));
            }
        },
        _ => None,
    };
    let mut tenant = shared.tenant();
    tenant.client(&client_id).ok_or_else(client_not_found)?;
    let credential = tenant
        .credentials
        .iter_mut()
        .find(|credential| credential.client_id == client_id && credential.id == credential_id)
        .ok_or_else(|| error_answer(StatusCode::NOT_FOUND, CREDENTIAL_NOT_FOUND))?;
    credential.expires_at = expires_at;
    credential.updated_at = now;
    Ok(json_response(StatusCode::CREATED, &credential.show()))
}

/// `DELETE`: refused while the client lists the credential in its
/// `client_authentication_methods`; 204 otherwise, whether or not it
/// existed (the published route has no 404).
pub async fn delete(
    State(shared): AppState,
    _: Scoped,
    Path((client_id, credential_id)): Path<(String, String)>,
) -> Result<Response, Response> {
    let mut tenant = shared.tenant();
    let enabled = tenant
        .client(&client_id)
        .and_then(private_key_jwt)
        .unwrap_or_default();
    if enabled.contains(&credential_id) {
        return Err(auth0_error(
            StatusCode::CONFLICT,
            "The credential is enabled in the client's client_authentication_methods; remove it from there before deleting it",
            "credential_in_use",
        ));
    }
    tenant.credentials.retain(|credential| {
        !(credential.client_id == client_id && credential.id == credential_id)
    });
    Ok(StatusCode::NO_CONTENT.into_response())
}
