//! The HTTP routes, answering as Auth0 does.

// Checks return the finished `Response` as the error of an early exit;
// boxing it would only add noise to a test server.
#![allow(clippy::result_large_err)]

mod clients;
mod faults;
mod grants;
mod query;
mod token;

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::{Route, Shared};

type AppState = State<Arc<Shared>>;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/oauth/token", post(token::token))
        .route("/.well-known/jwks.json", get(token::jwks))
        .route(
            "/api/v2/clients",
            get(clients::list_clients).post(clients::create_client),
        )
        .route(
            "/api/v2/clients/{id}",
            get(clients::get_client).delete(clients::delete_client),
        )
        .route(
            "/api/v2/client-grants",
            get(grants::list_grants).post(grants::create_grant),
        )
        .fallback(not_found)
        // A method the emulator does not serve on a known path gets the same
        // JSON 404 rather than axum's empty 405.
        .method_not_allowed_fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            faults::record_and_fault,
        ))
        .with_state(shared)
}

/// Which route a request is for (recorded, counted and faulted per route).
pub(crate) fn classify(method: &Method, path: &str) -> Route {
    let client_path = path
        .strip_prefix("/api/v2/clients/")
        .is_some_and(|id| !id.is_empty() && !id.contains('/'));
    match (method.as_str(), path) {
        ("POST", "/oauth/token") => Route::Token,
        ("GET", "/.well-known/jwks.json") => Route::Jwks,
        ("POST", "/api/v2/clients") => Route::CreateClient,
        ("GET", "/api/v2/clients") => Route::ListClients,
        ("POST", "/api/v2/client-grants") => Route::CreateGrant,
        ("GET", "/api/v2/client-grants") => Route::ListGrants,
        ("GET", _) if client_path => Route::GetClient,
        ("DELETE", _) if client_path => Route::DeleteClient,
        _ => Route::Other,
    }
}

// ---- answers --------------------------------------------------------------

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

/// The Management API's error body: `{statusCode, error, message, errorCode}`.
pub(crate) fn auth0_error(status: StatusCode, message: &str, error_code: &str) -> Response {
    json_response(
        status,
        &json!({
            "statusCode": status.as_u16(),
            "error": status.canonical_reason().unwrap_or("Error"),
            "message": message,
            "errorCode": error_code,
        }),
    )
}

/// The Authentication API's (OAuth 2.0) error body: `{error, error_description}`.
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

async fn not_found() -> Response {
    auth0_error(StatusCode::NOT_FOUND, "Not Found", "not_found")
}

// ---- checks shared by the Management API routes ---------------------------

/// The Management API's bearer check: a token from `/oauth/token`, not expired.
fn authorize(shared: &Shared, headers: &HeaderMap) -> Result<(), Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let tenant = shared.tenant();
    match token.and_then(|t| tenant.management_tokens.get(t)) {
        Some(expiry) if Instant::now() < *expiry => Ok(()),
        Some(_) => Err(auth0_error(
            StatusCode::UNAUTHORIZED,
            "Expired token received for JSON Web Token validation",
            "invalid_token",
        )),
        None => Err(auth0_error(
            StatusCode::UNAUTHORIZED,
            "Invalid token",
            "invalid_token",
        )),
    }
}

/// Records a body that Auth0 would refuse (the service must never send one)
/// and answers Auth0's 400 for it.
fn violation(shared: &Shared, route: &str, problem: &str) -> Response {
    let message = format!("Payload validation error: {problem}");
    shared
        .tenant()
        .violations
        .push(format!("{route}: {message}"));
    auth0_error(StatusCode::BAD_REQUEST, &message, "invalid_body")
}

/// A JSON object body, or the recorded violation's answer.
fn json_body(shared: &Shared, route: &str, body: &Bytes) -> Result<Value, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(value) if value.is_object() => Ok(value),
        Ok(_) => Err(violation(
            shared,
            route,
            "'Expected type object but found another type'.",
        )),
        Err(_) => Err(violation(shared, route, "'Invalid JSON'.")),
    }
}
