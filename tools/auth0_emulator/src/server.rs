//! The HTTP routes, answering as Auth0 does.

// Handlers return `Response` as the error of early exits; boxing them would
// only add noise to a test server.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};

use crate::keys::public_jwk;
use crate::schema::Schema;
use crate::{Fault, RecordedRequest, Route, Shared, sign};

type AppState = State<Arc<Shared>>;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/api/v2/clients", get(list_clients).post(create_client))
        .route(
            "/api/v2/clients/{id}",
            get(get_client).delete(delete_client),
        )
        .route("/api/v2/client-grants", get(list_grants).post(create_grant))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            record_and_fault,
        ))
        .with_state(shared)
}

// ---- responses ----------------------------------------------------------

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

/// Auth0's Management API error body.
fn auth0_error(status: StatusCode, message: &str, error_code: &str) -> Response {
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

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn rate_limited(reset_after_secs: u64) -> Response {
    let mut response = auth0_error(
        StatusCode::TOO_MANY_REQUESTS,
        "Global limit has been reached",
        "too_many_requests",
    );
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(50u64));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(0u64));
    headers.insert(
        "x-ratelimit-reset",
        HeaderValue::from(unix_now() + reset_after_secs),
    );
    response
}

/// A body that fails on first read: the client gets the status line and
/// headers, then the connection breaks.
struct BrokenBody;

impl http_body::Body for BrokenBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "fault injected: connection dropped",
        ))))
    }
}

/// Auth0's error answer for an injected status.
fn status_fault(code: u16) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let error_code = match code {
        400 => "invalid_body",
        401 => "invalid_token",
        403 => "insufficient_scope",
        404 => "inexistent_client",
        409 => "conflict",
        429 => "too_many_requests",
        _ => "internal_error",
    };
    auth0_error(status, "Fault injected", error_code)
}

/// Which route a request is for.
fn classify(method: &Method, path: &str) -> Route {
    match (method.as_str(), path) {
        ("POST", "/oauth/token") => Route::Token,
        ("GET", "/.well-known/jwks.json") => Route::Jwks,
        ("POST", "/api/v2/clients") => Route::CreateClient,
        ("GET", "/api/v2/clients") => Route::ListClients,
        ("POST", "/api/v2/client-grants") => Route::CreateGrant,
        ("GET", "/api/v2/client-grants") => Route::ListGrants,
        ("GET", p) if p.starts_with("/api/v2/clients/") => Route::GetClient,
        ("DELETE", p) if p.starts_with("/api/v2/clients/") => Route::DeleteClient,
        _ => Route::Other,
    }
}

// ---- recording and faults, around every route ----------------------------

/// Records every request, then applies the route's next fault. Status and
/// rate-limit faults answer instead of the tenant (nothing happens); the
/// others let the tenant do its work and spoil only the answer, the worst
/// case for a client: the change was made but it cannot know.
pub async fn record_and_fault(
    State(shared): AppState,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let route = classify(request.method(), request.uri().path());
    let fault = {
        let mut tenant = shared.tenant();
        tenant.requests.push(RecordedRequest {
            route,
            method: request.method().to_string(),
            path: request.uri().path().to_owned(),
            query: request.uri().query().unwrap_or_default().to_owned(),
            authorization_present: request.headers().contains_key(header::AUTHORIZATION),
        });
        if route == Route::Jwks {
            tenant.jwks_fetches += 1;
        }
        let fault = tenant.take_fault(route);
        if fault == Some(Fault::ExpireManagementTokens) {
            tenant.expire_management_tokens();
        }
        fault
    };
    match fault {
        Some(Fault::Status(code)) => return status_fault(code),
        Some(Fault::RateLimited { reset_after_secs }) => return rate_limited(reset_after_secs),
        _ => {}
    }
    let response = next.run(request).await;
    match fault {
        // Done, but slow to say so.
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            response
        }
        Some(Fault::DropConnection) => {
            let (parts, _) = response.into_parts();
            Response::from_parts(parts, Body::new(BrokenBody))
        }
        Some(Fault::MalformedJson) => {
            let (mut parts, _) = response.into_parts();
            parts.headers.remove(header::CONTENT_LENGTH);
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Response::from_parts(parts, Body::from(r#"{"client_id": "trunc"#))
        }
        _ => response,
    }
}

/// The Management API's bearer check.
fn authorize(shared: &Shared, headers: &HeaderMap) -> Result<(), Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
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

/// Records a schema violation and answers Auth0's 400 for it.
fn violation(shared: &Shared, what: String) -> Response {
    let message = format!("Payload validation error: {what}");
    shared.tenant().violations.push(message.clone());
    auth0_error(StatusCode::BAD_REQUEST, &message, "invalid_body")
}

fn parse_json_body(shared: &Shared, body: &Bytes) -> Result<Value, Response> {
    serde_json::from_slice(body).map_err(|_| violation(shared, "'Invalid JSON'".into()))
}

// ---- /oauth/token and the JWKS -----------------------------------------

fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

async fn token(State(shared): AppState, headers: HeaderMap, body: Bytes) -> Response {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let request: Value = if is_form {
        match serde_urlencoded::from_bytes::<HashMap<String, String>>(&body) {
            Ok(fields) => json!(fields),
            Err(_) => {
                return token_error(StatusCode::BAD_REQUEST, "invalid_request", "Malformed body");
            }
        }
    } else {
        match serde_json::from_slice(&body) {
            Ok(value) => value,
            Err(_) => {
                shared
                    .tenant()
                    .violations
                    .push("/oauth/token: invalid JSON".into());
                return token_error(StatusCode::BAD_REQUEST, "invalid_request", "Invalid JSON");
            }
        }
    };
    let grant_type = request["grant_type"].as_str().unwrap_or_default();
    if grant_type != "client_credentials" {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Unsupported grant type",
        );
    }
    if let Err(problem) = Schema::ClientCredentialsGrant.check(&request) {
        shared
            .tenant()
            .violations
            .push(format!("/oauth/token: {problem}"));
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid request",
        );
    }
    let client_id = request["client_id"].as_str().unwrap_or_default();
    let client_secret = request["client_secret"].as_str().unwrap_or_default();
    let audience = request["audience"].as_str().unwrap_or_default();
    let management_audience = format!("{}/api/v2/", shared.base_url);

    let mut tenant = shared.tenant();
    if client_id == tenant.config.management_client_id {
        if client_secret != tenant.config.management_client_secret {
            return token_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
        }
        if audience != management_audience {
            return token_error(
                StatusCode::FORBIDDEN,
                "access_denied",
                &format!("Service not enabled within domain: {audience}"),
            );
        }
        let access_token = tenant.issue_management_token();
        let expires_in = tenant.config.management_token_lifetime.as_secs();
        return json_response(
            StatusCode::OK,
            &json!({
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": expires_in,
                "scope": "create:clients read:clients delete:clients create:client_grants read:client_grants delete:client_grants",
            }),
        );
    }

    // An application of the tenant asking for a token to one of its APIs.
    let known = tenant.client(client_id).is_some_and(|client| {
        client["client_secret"] == client_secret
            && client["grant_types"]
                .as_array()
                .is_some_and(|types| types.iter().any(|t| t == "client_credentials"))
    });
    if !known {
        return token_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
    }
    let scope = if audience == tenant.config.caller_audience {
        Some(String::new())
    } else {
        tenant
            .grants
            .iter()
            .find(|g| g["client_id"] == client_id && g["audience"] == audience)
            .map(|grant| {
                grant["scope"]
                    .as_array()
                    .map(|scopes| {
                        scopes
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_default()
            })
    };
    let Some(scope) = scope else {
        return token_error(
            StatusCode::FORBIDDEN,
            "access_denied",
            &format!("Client has not been granted scopes: {audience}"),
        );
    };
    let key = tenant.signing_key;
    drop(tenant);
    let now = unix_now();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid().to_owned());
    let claims = json!({
        "iss": format!("{}/", shared.base_url),
        "sub": format!("{client_id}@clients"),
        "aud": audience,
        "iat": now,
        "exp": now + 86400,
        "azp": client_id,
        "gty": "client-credentials",
        "scope": scope,
    });
    json_response(
        StatusCode::OK,
        &json!({
            "access_token": sign(&header, &claims, key),
            "token_type": "Bearer",
            "expires_in": 86400,
            "scope": scope,
        }),
    )
}

async fn jwks(State(shared): AppState) -> Response {
    let keys: Vec<Value> = shared
        .tenant()
        .published_keys
        .iter()
        .map(|key| public_jwk(*key))
        .collect();
    json_response(StatusCode::OK, &json!({ "keys": keys }))
}

// ---- /api/v2/clients ----------------------------------------------------

fn is_custom_client_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

async fn create_client(State(shared): AppState, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(response) = authorize(&shared, &headers) {
        return response;
    }
    let mut request = match parse_json_body(&shared, &body) {
        Ok(value) => value,
        Err(response) => return response,
    };
    // `client_id` is the one property allowed beyond the published schema:
    // tenants with custom client ids accept it (CONTRACT.md).
    let custom_id = request.as_object_mut().and_then(|o| o.remove("client_id"));
    if let Err(problem) = Schema::CreateClientRequest.check(&request) {
        return violation(&shared, problem);
    }
    let mut tenant = shared.tenant();
    if let Some(custom_id) = custom_id {
        let Some(id) = custom_id.as_str().filter(|id| is_custom_client_id(id)) else {
            drop(tenant);
            return violation(
                &shared,
                format!("client_id {custom_id} is not a valid client id"),
            );
        };
        if !tenant.config.custom_client_ids {
            return auth0_error(
                StatusCode::FORBIDDEN,
                "Custom client_id is not supported for this tenant",
                "operation_not_supported",
            );
        }
        if tenant.client(id).is_some() {
            return auth0_error(
                StatusCode::CONFLICT,
                "A client with the same client_id already exists",
                "client_conflict",
            );
        }
        request["client_id"] = Value::from(id);
    }
    let record = tenant.client_record(request);
    tenant.clients.push(record.clone());
    json_response(StatusCode::CREATED, &record)
}

fn parse_bool(
    query: &HashMap<String, String>,
    name: &str,
    default: bool,
) -> Result<bool, Response> {
    match query.get(name).map(String::as_str) {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(_) => Err(query_error(&format!(
            "Query validation error: 'Expected type boolean but found type string' on property {name}."
        ))),
    }
}

fn parse_int(
    query: &HashMap<String, String>,
    name: &str,
    default: u64,
    max: u64,
) -> Result<u64, Response> {
    match query.get(name) {
        None => Ok(default),
        Some(text) => match text.parse::<u64>() {
            Ok(value) if value <= max => Ok(value),
            Ok(_) => Err(query_error(&format!(
                "Query validation error: 'Must be less than or equal to {max}' on property {name}."
            ))),
            Err(_) => Err(query_error(&format!(
                "Query validation error: 'Expected type integer but found type string' on property {name}."
            ))),
        },
    }
}

fn query_error(message: &str) -> Response {
    auth0_error(StatusCode::BAD_REQUEST, message, "invalid_query_string")
}

/// Applies `fields`/`include_fields`; reads never carry the secret.
fn project(client: &Value, fields: Option<&Vec<String>>, include: bool) -> Value {
    let mut client = client.clone();
    if let Some(map) = client.as_object_mut() {
        map.remove("client_secret");
        if let Some(fields) = fields {
            map.retain(|key, _| fields.contains(key) == include);
        }
    }
    client
}

fn field_list(query: &HashMap<String, String>) -> Option<Vec<String>> {
    query.get("fields").map(|f| {
        f.split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    })
}

async fn list_clients(
    State(shared): AppState,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    if let Err(response) = authorize(&shared, &headers) {
        return response;
    }
    let page = match parse_int(&query, "page", 0, u64::from(u32::MAX)) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let per_page = match parse_int(&query, "per_page", 50, 100) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (include_totals, include_fields) = match (
        parse_bool(&query, "include_totals", false),
        parse_bool(&query, "include_fields", true),
    ) {
        (Ok(t), Ok(f)) => (t, f),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let app_types: Option<Vec<String>> = query
        .get("app_type")
        .map(|t| t.split(',').map(str::to_owned).collect());
    let fields = field_list(&query);

    let tenant = shared.tenant();
    let matching: Vec<&Value> = tenant
        .clients
        .iter()
        .filter(|client| {
            app_types.as_ref().is_none_or(|types| {
                client["app_type"]
                    .as_str()
                    .is_some_and(|t| types.iter().any(|wanted| wanted == t))
            })
        })
        .collect();
    let start = (page * per_page) as usize;
    let page_clients: Vec<Value> = matching
        .iter()
        .skip(start)
        .take(per_page as usize)
        .map(|client| project(client, fields.as_ref(), include_fields))
        .collect();
    if include_totals {
        json_response(
            StatusCode::OK,
            &json!({
                "start": start,
                "limit": per_page,
                "total": matching.len(),
                "clients": page_clients,
            }),
        )
    } else {
        json_response(StatusCode::OK, &Value::Array(page_clients))
    }
}

fn no_such_client() -> Response {
    auth0_error(
        StatusCode::NOT_FOUND,
        "The client does not exist",
        "inexistent_client",
    )
}

async fn get_client(
    State(shared): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    if let Err(response) = authorize(&shared, &headers) {
        return response;
    }
    let include_fields = match parse_bool(&query, "include_fields", true) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let fields = field_list(&query);
    let tenant = shared.tenant();
    match tenant.client(&id) {
        Some(client) => json_response(
            StatusCode::OK,
            &project(client, fields.as_ref(), include_fields),
        ),
        None => no_such_client(),
    }
}

async fn delete_client(
    State(shared): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = authorize(&shared, &headers) {
        return response;
    }
    let mut tenant = shared.tenant();
    // Auth0 answers 204 whether or not the client existed, and takes its
    // grants with it.
    tenant.clients.retain(|c| c["client_id"] != id.as_str());
    tenant.grants.retain(|g| g["client_id"] != id.as_str());
    StatusCode::NO_CONTENT.into_response()
}

// ---- /api/v2/client-grants ---------------------------------------------

async fn create_grant(State(shared): AppState, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(response) = authorize(&shared, &headers) {
        return response;
    }
    let request = match parse_json_body(&shared, &body) {
        Ok(value) => value,
        Err(response) => return response,
    };
    if let Err(problem) = Schema::CreateClientGrantRequest.check(&request) {
        return violation(&shared, problem);
    }
    let client_id = request["client_id"].as_str().unwrap_or_default().to_owned();
    let audience = request["audience"].as_str().unwrap_or_default().to_owned();
    let mut tenant = shared.tenant();
    if tenant.client(&client_id).is_none() {
        return auth0_error(
            StatusCode::NOT_FOUND,
            "Client not found",
            "inexistent_client",
        );
    }
    if !tenant.config.resource_servers.contains(&audience) {
        return auth0_error(
            StatusCode::NOT_FOUND,
            "No resource server found by specified identifier",
            "inexistent_resource_server",
        );
    }
    if tenant
        .grants
        .iter()
        .any(|g| g["client_id"] == client_id.as_str() && g["audience"] == audience.as_str())
    {
        return auth0_error(
            StatusCode::CONFLICT,
            "A client grant for this client and audience already exists",
            "client_grant_conflict",
        );
    }
    let grant = json!({
        "id": format!("cgr_{}", tenant.random_string(crate::state::ALPHANUMERIC, 16)),
        "client_id": client_id,
        "audience": audience,
        "scope": request.get("scope").cloned().unwrap_or_else(|| json!([])),
        "allow_any_organization": false,
        "is_system": false,
    });
    tenant.grants.push(grant.clone());
    json_response(StatusCode::CREATED, &grant)
}

async fn list_grants(
    State(shared): AppState,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    if let Err(response) = authorize(&shared, &headers) {
        return response;
    }
    let grants: Vec<Value> = shared
        .tenant()
        .grants
        .iter()
        .filter(|g| {
            query
                .get("client_id")
                .is_none_or(|id| g["client_id"] == id.as_str())
        })
        .filter(|g| {
            query
                .get("audience")
                .is_none_or(|aud| g["audience"] == aud.as_str())
        })
        .cloned()
        .collect();
    json_response(StatusCode::OK, &Value::Array(grants))
}

async fn not_found() -> Response {
    auth0_error(StatusCode::NOT_FOUND, "Not Found", "not_found")
}
