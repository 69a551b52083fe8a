//! The HTTP routes, answering as Auth0 does.

// Checks, and the Management API handlers that run them with `?`, return
// the finished `Response` as the error of an early exit; boxing it would
// only add noise to a test server.
#![allow(clippy::result_large_err)]

mod assertion;
mod auth_methods;
mod clients;
mod credentials;
mod faults;
mod grant_update;
mod grants;
mod paging;
mod query;
mod resource_servers;
mod token;

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use bytes::Bytes;
use serde_json::{Value, json};

use self::query::{Param, Query};
use crate::schema::Schema;
use crate::{Route, Shared};

type AppState = State<Arc<Shared>>;

pub fn router(shared: Arc<Shared>) -> Router {
    resource_servers::seed(&shared);
    Router::new()
        .route("/oauth/token", post(token::token))
        .route("/.well-known/jwks.json", get(token::jwks))
        .route(
            "/api/v2/clients",
            get(clients::list_clients).post(clients::create_client),
        )
        .route(
            "/api/v2/clients/{id}",
            get(clients::get_client)
                .patch(clients::update_client)
                .delete(clients::delete_client),
        )
        .route(
            "/api/v2/clients/{id}/rotate-secret",
            post(clients::rotate_secret),
        )
        .route(
            "/api/v2/clients/{id}/credentials",
            get(credentials::list).post(credentials::create),
        )
        .route(
            "/api/v2/clients/{id}/credentials/{credential_id}",
            get(credentials::get)
                .patch(credentials::update)
                .delete(credentials::delete),
        )
        .route(
            "/api/v2/client-grants",
            get(grants::list_grants).post(grants::create_grant),
        )
        .route(
            "/api/v2/client-grants/{id}",
            delete(grants::delete_grant).patch(grant_update::update_grant),
        )
        .route(
            "/api/v2/resource-servers",
            get(resource_servers::list).post(resource_servers::create),
        )
        .route(
            "/api/v2/resource-servers/{id}",
            patch(resource_servers::update).delete(resource_servers::delete),
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
/// It must agree with the router: a request classified as a route is one
/// the router hands to that route's handler.
pub(crate) fn classify(method: &Method, path: &str) -> Route {
    let client_path = one_segment(path, "/api/v2/clients/", "");
    let rotate_path = one_segment(path, "/api/v2/clients/", "/rotate-secret");
    let credentials_path = one_segment(path, "/api/v2/clients/", "/credentials");
    let credential_path = path
        .strip_prefix("/api/v2/clients/")
        .and_then(|rest| rest.split_once("/credentials/"))
        .is_some_and(|(client, credential)| {
            [client, credential]
                .iter()
                .all(|id| !id.is_empty() && !id.contains('/'))
        });
    let grant_path = one_segment(path, "/api/v2/client-grants/", "");
    let resource_server_path = one_segment(path, "/api/v2/resource-servers/", "");
    match (method.as_str(), path) {
        ("POST", "/oauth/token") => Route::Token,
        ("GET", "/.well-known/jwks.json") => Route::Jwks,
        ("POST", "/api/v2/clients") => Route::CreateClient,
        ("GET", "/api/v2/clients") => Route::ListClients,
        ("POST", "/api/v2/client-grants") => Route::CreateGrant,
        ("GET", "/api/v2/client-grants") => Route::ListGrants,
        ("GET", _) if client_path => Route::GetClient,
        ("PATCH", _) if client_path => Route::UpdateClient,
        ("DELETE", _) if client_path => Route::DeleteClient,
        ("POST", _) if rotate_path => Route::RotateSecret,
        ("GET", _) if credentials_path => Route::ListCredentials,
        ("POST", _) if credentials_path => Route::CreateCredential,
        ("GET", _) if credential_path => Route::GetCredential,
        ("PATCH", _) if credential_path => Route::UpdateCredential,
        ("DELETE", _) if credential_path => Route::DeleteCredential,
        ("DELETE", _) if grant_path => Route::DeleteGrant,
        ("PATCH", _) if grant_path => Route::UpdateGrant,
        ("GET", "/api/v2/resource-servers") => Route::ListResourceServers,
        ("POST", "/api/v2/resource-servers") => Route::CreateResourceServer,
        ("PATCH", _) if resource_server_path => Route::UpdateResourceServer,
        ("DELETE", _) if resource_server_path => Route::DeleteResourceServer,
        _ => Route::Other,
    }
}

/// Whether `path` is `prefix`, then one non-empty path segment (the `{id}`
/// of a route), then `suffix`.
fn one_segment(path: &str, prefix: &str, suffix: &str) -> bool {
    path.strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(suffix))
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// The Management API scopes that let a token use `route`, any one of them,
/// as the published schema's 403 answer for the route lists them (empty
/// for the Authentication API's routes).
pub(crate) fn scopes(route: Route) -> &'static [&'static str] {
    match route {
        Route::CreateClient => &["create:clients"],
        Route::ListClients => &["read:clients", "read:client_keys", "read:client_summary"],
        Route::GetClient => &[
            "read:clients",
            "read:client_keys",
            "read:client_credentials",
            "read:client_summary",
        ],
        Route::UpdateClient => &["update:clients", "update:client_keys"],
        Route::RotateSecret => &["update:client_keys"],
        Route::DeleteClient => &["delete:clients"],
        Route::ListCredentials | Route::GetCredential => &["read:client_credentials"],
        Route::CreateCredential => &["create:client_credentials"],
        Route::UpdateCredential => &["update:client_credentials"],
        Route::DeleteCredential => &["delete:client_credentials"],
        Route::CreateGrant => &["create:client_grants"],
        Route::ListGrants => &["read:client_grants"],
        Route::DeleteGrant => &["delete:client_grants"],
        Route::UpdateGrant => &["update:client_grants"],
        Route::ListResourceServers => &["read:resource_servers"],
        Route::CreateResourceServer => &["create:resource_servers"],
        Route::UpdateResourceServer => &["update:resource_servers"],
        Route::DeleteResourceServer => &["delete:resource_servers"],
        Route::Token | Route::Jwks | Route::Other => &[],
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
    error_answer(StatusCode::NOT_FOUND, NOT_FOUND)
}

/// The message and error code of one of Auth0's error answers: the handler
/// that gives it and an injected fault of the same status on the same route
/// answer the same.
pub(crate) type ErrorMessage = (&'static str, &'static str);

/// A path or method the emulator does not serve.
pub(crate) const NOT_FOUND: ErrorMessage = ("Not Found", "not_found");

/// A client id no client has (on every route with a client id in its path
/// that answers one).
pub(crate) const CLIENT_NOT_FOUND: ErrorMessage =
    ("The client does not exist", "inexistent_client");

/// A grant asked for a client id no client has.
pub(crate) const GRANT_CLIENT_NOT_FOUND: ErrorMessage = ("Client not found", "inexistent_client");

/// A create with the `client_id` of an existing client.
pub(crate) const CLIENT_CONFLICT: ErrorMessage = (
    "A client with the same client_id already exists",
    "client_conflict",
);

/// A second grant of the same client and audience.
pub(crate) const GRANT_CONFLICT: ErrorMessage = (
    "A client grant for this client and audience already exists",
    "client_grant_conflict",
);

/// A bearer token that no `/oauth/token` answer issued, or none.
pub(crate) const INVALID_TOKEN: ErrorMessage = ("Invalid token", "invalid_token");

/// A query string that does not parse.
pub(crate) const INVALID_QUERY_STRING: ErrorMessage = (
    "Query validation error: 'Invalid query string'.",
    "invalid_query_string",
);

pub(crate) fn error_answer(status: StatusCode, (message, error_code): ErrorMessage) -> Response {
    auth0_error(status, message, error_code)
}

pub(crate) fn client_not_found() -> Response {
    error_answer(StatusCode::NOT_FOUND, CLIENT_NOT_FOUND)
}

/// Auth0's 403 for a token without any of the scopes `route` accepts. Auth0
/// joins them with a bare comma (`Insufficient scope, expected any of:
/// read:users,read:current_user`), unlike the schema's prose.
pub(crate) fn insufficient_scope(route: Route) -> Response {
    insufficient_scopes(scopes(route))
}

/// Auth0's 403 for a token without any of `any_of`.
pub(crate) fn insufficient_scopes(any_of: &[&str]) -> Response {
    let message = match any_of {
        [] => "Insufficient scope".to_owned(),
        any_of => format!("Insufficient scope, expected any of: {}", any_of.join(",")),
    };
    auth0_error(StatusCode::FORBIDDEN, &message, "insufficient_scope")
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
        None => Err(error_answer(StatusCode::UNAUTHORIZED, INVALID_TOKEN)),
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

/// Why a request about key credentials is refused.
pub(crate) enum Refusal {
    /// A body Auth0 refuses whatever the tenant holds (the service must
    /// never send one): recorded, and answered as [`violation`] does.
    Violation(String),
    /// An answer that depends on the tenant (a limit reached, a plan
    /// without the feature): the service must handle it.
    Answer(Response),
}

impl Refusal {
    /// The answer; a violation is recorded. Call it without the tenant's
    /// lock held.
    fn answer(self, shared: &Shared, route: &str) -> Response {
        match self {
            Refusal::Violation(problem) => violation(shared, route, &problem),
            Refusal::Answer(response) => response,
        }
    }
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

/// [`json_body`], then `schema`'s check of it.
fn checked_body(
    shared: &Shared,
    route: &str,
    schema: Schema,
    body: &Bytes,
) -> Result<Value, Response> {
    let request = json_body(shared, route, body)?;
    check(shared, route, schema, &request)?;
    Ok(request)
}

/// `request` checked against `schema`, or the recorded violation's answer.
fn check(shared: &Shared, route: &str, schema: Schema, request: &Value) -> Result<(), Response> {
    schema
        .check(request)
        .map_err(|problem| violation(shared, route, &problem))
}

/// The record in `records` with the `id` from the path, or Auth0's 404
/// `missing`.
fn by_id<'a>(
    records: &'a mut [Value],
    id: &str,
    missing: ErrorMessage,
) -> Result<&'a mut Value, Response> {
    records
        .iter_mut()
        .find(|record| record["id"] == id)
        .ok_or_else(|| error_answer(StatusCode::NOT_FOUND, missing))
}

/// A request that passed the bearer check ([`authorize`]). As an extractor
/// it runs before the body is read, so a refused request records no
/// violation.
pub(crate) struct Authorized;

impl FromRequestParts<Arc<Shared>> for Authorized {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, shared: &Arc<Shared>) -> Result<Self, Response> {
        authorize(shared, &parts.headers).map(|()| Authorized)
    }
}

/// A request that passed the bearer check, then Auth0's scope check for its
/// route (told from the request as `classify` tells it): the token must
/// carry one of the scopes the route accepts. Only the routes added for the
/// service's lifecycle operations and key credentials take it (see
/// `EmulatorConfig::management_scopes`).
pub(crate) struct Scoped;

impl FromRequestParts<Arc<Shared>> for Scoped {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, shared: &Arc<Shared>) -> Result<Self, Response> {
        let route = classify(&parts.method, parts.uri.path());
        Authorized::from_request_parts(parts, shared).await?;
        if !shared.tenant().granted_any(scopes(route)) {
            return Err(insufficient_scope(route));
        }
        Ok(Scoped)
    }
}

/// The `{id}` of a request [`Scoped`] let through.
pub(crate) struct ScopedId(pub String);

impl FromRequestParts<Arc<Shared>> for ScopedId {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        Scoped::from_request_parts(parts, shared).await?;
        let Path(id) = Path::<String>::from_request_parts(parts, shared)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(ScopedId(id))
    }
}

/// A read's query string, after the bearer check, checked against the
/// parameters Auth0 publishes for the read's route (told from the request
/// as `classify` tells it).
pub(crate) struct CheckedQuery(pub Query);

impl FromRequestParts<Arc<Shared>> for CheckedQuery {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, shared: &Arc<Shared>) -> Result<Self, Response> {
        Authorized::from_request_parts(parts, shared).await?;
        let params = query_params(classify(&parts.method, parts.uri.path()));
        Query::parse(parts.uri.query(), params).map(CheckedQuery)
    }
}

/// A write's body: a JSON object that the request schema Auth0 publishes
/// for its route accepts (the route told from the request as `classify`
/// tells it), or the answer to the violation, recorded under the route's
/// method and path. Taken after [`Authorized`] or [`Scoped`], so that a
/// refused request records no violation.
pub(crate) struct CheckedBody(pub Value);

impl FromRequest<Arc<Shared>> for CheckedBody {
    type Rejection = Response;

    async fn from_request(request: Request, shared: &Arc<Shared>) -> Result<Self, Response> {
        let schema = request_schema(classify(request.method(), request.uri().path()));
        let path = request
            .extensions()
            .get::<MatchedPath>()
            .map_or("", MatchedPath::as_str);
        let route = format!("{} {path}", request.method());
        let body = Bytes::from_request(request, shared)
            .await
            .map_err(IntoResponse::into_response)?;
        match schema {
            Some(schema) => checked_body(shared, &route, schema, &body).map(CheckedBody),
            // A route given a `CheckedBody` but missing from
            // `request_schema`: recorded, so that its tests fail.
            None => Err(violation(shared, &route, "no published request schema")),
        }
    }
}

/// The request schema Auth0 publishes for `route`, for the writes that take
/// a [`CheckedBody`].
fn request_schema(route: Route) -> Option<Schema> {
    match route {
        Route::UpdateClient => Some(Schema::UpdateClientRequest),
        Route::CreateCredential => Some(Schema::PostClientCredentialRequest),
        Route::UpdateCredential => Some(Schema::PatchClientCredentialRequest),
        Route::CreateGrant => Some(Schema::CreateClientGrantRequest),
        Route::UpdateGrant => Some(Schema::UpdateClientGrantRequest),
        _ => None,
    }
}

/// The query parameters Auth0 publishes for `route`, for the reads that
/// take a [`CheckedQuery`] (none for any other route).
fn query_params(route: Route) -> &'static [Param] {
    match route {
        Route::ListClients => clients::LIST_PARAMS,
        Route::GetClient => clients::GET_PARAMS,
        Route::ListGrants => grants::LIST_PARAMS,
        _ => &[],
    }
}
