//! Recording every request, and the injected faults.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;

use super::credentials::{CREDENTIAL_LIMIT, CREDENTIAL_NOT_FOUND};
use super::{
    AppState, CLIENT_CONFLICT, CLIENT_NOT_FOUND, GRANT_CLIENT_NOT_FOUND, GRANT_CONFLICT,
    INVALID_QUERY_STRING, INVALID_TOKEN, NOT_FOUND, classify, error_answer, insufficient_scope,
    oauth_error, unix_now,
};
use crate::{Fault, RecordedRequest, Route, Shared};

/// Records every request, then applies the route's next fault.
///
/// `Status` and `RateLimited` answer instead of the tenant: nothing happens,
/// as when Auth0 refuses a request. `Stall` waits before the tenant sees
/// the request at all (a caller that gives up first changed nothing).
/// `Delay`, `DropConnection`,
/// `MalformedJson` and `HandledThenStatus` let the tenant do the work and
/// spoil only the answer: the worst case for a client, which cannot know
/// whether its change was made (a timed-out create may have created the
/// client). A fault queued for one client is met only by a request about it.
pub async fn record_and_fault(State(shared): AppState, request: Request, next: Next) -> Response {
    let route = classify(request.method(), request.uri().path());
    // Which client the request is about matters only to a fault queued for
    // one client (finding it out may mean reading the body).
    let for_clients = shared.tenant().faults_for_clients(route);
    let (request, client_id) = if for_clients {
        subject(&shared, route, request).await
    } else {
        (request, None)
    };
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
        let fault = tenant.take_fault(route, client_id.as_deref());
        if fault == Some(Fault::ExpireManagementTokens) {
            // Then on to the normal handling, whose token check now fails
            // for every token issued so far.
            tenant.expire_management_tokens();
        }
        fault
    };
    match fault {
        Some(Fault::Status(code)) => return status_fault(route, code),
        Some(Fault::RateLimited { reset_after_secs }) => {
            return rate_limited(route, reset_after_secs);
        }
        Some(Fault::Stall(stall)) => tokio::time::sleep(stall).await,
        _ => {}
    }
    let response = next.run(request).await;
    match fault {
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            response
        }
        Some(Fault::DropConnection) => drop_connection(response),
        Some(Fault::MalformedJson) => malformed(response).await,
        Some(Fault::HandledThenStatus(code)) => status_fault(route, code),
        _ => response,
    }
}

/// The client `request` is about: the one in its path, the client of the
/// grant in its path, or its `client_id` query parameter or body property;
/// and the request, whole again.
async fn subject(shared: &Shared, route: Route, request: Request) -> (Request, Option<String>) {
    let path = request.uri().path();
    let segment = |prefix: &str| {
        path.strip_prefix(prefix)
            .and_then(|rest| rest.split('/').next())
            .map(str::to_owned)
    };
    let named = match route {
        Route::GetClient
        | Route::UpdateClient
        | Route::DeleteClient
        | Route::RotateSecret
        | Route::ListCredentials
        | Route::CreateCredential
        | Route::GetCredential
        | Route::UpdateCredential
        | Route::DeleteCredential => segment("/api/v2/clients/"),
        Route::DeleteGrant => {
            segment("/api/v2/client-grants/").and_then(|grant| shared.tenant().grant_client(&grant))
        }
        Route::ListGrants => request.uri().query().and_then(|query| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(query)
                .ok()?
                .into_iter()
                .find_map(|(name, value)| (name == "client_id").then_some(value))
        }),
        _ => None,
    };
    if named.is_some() {
        return (request, named);
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let in_body = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|body| body.get("client_id")?.as_str().map(str::to_owned));
    (Request::from_parts(parts, Body::from(bytes)), in_body)
}

/// The token endpoint and the JWKS are the Authentication API's, which
/// answers errors in OAuth 2.0's shape; the rest is the Management API's.
fn is_authentication_api(route: Route) -> bool {
    matches!(route, Route::Token | Route::Jwks)
}

/// The error answer Auth0 gives with this status on this route.
fn status_fault(route: Route, code: u16) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if is_authentication_api(route) {
        let (error, description) = match status.as_u16() {
            400 => ("invalid_request", "Invalid request"),
            401 => ("access_denied", "Unauthorized"),
            403 => ("access_denied", "Access denied"),
            429 => ("too_many_requests", "Global limit has been reached"),
            500..=599 => ("server_error", "Internal Server Error"),
            _ => (
                "invalid_request",
                status.canonical_reason().unwrap_or("Error"),
            ),
        };
        return oauth_error(status, error, description);
    }
    if status == StatusCode::FORBIDDEN {
        return insufficient_scope(route);
    }
    let reads = matches!(
        route,
        Route::ListClients | Route::GetClient | Route::ListGrants
    );
    let error = match (status.as_u16(), route) {
        (400, _) if reads => INVALID_QUERY_STRING,
        (400, _) => (
            "Payload validation error: 'Invalid request payload'.",
            "invalid_body",
        ),
        (401, _) => INVALID_TOKEN,
        (
            404,
            Route::GetClient
            | Route::UpdateClient
            | Route::RotateSecret
            | Route::DeleteClient
            | Route::ListCredentials
            | Route::CreateCredential,
        ) => CLIENT_NOT_FOUND,
        (404, Route::GetCredential | Route::UpdateCredential | Route::DeleteCredential) => {
            CREDENTIAL_NOT_FOUND
        }
        (404, Route::CreateGrant) => GRANT_CLIENT_NOT_FOUND,
        (404, _) => NOT_FOUND,
        (409, Route::CreateGrant) => GRANT_CONFLICT,
        (409, Route::CreateCredential) => CREDENTIAL_LIMIT,
        (409, _) => CLIENT_CONFLICT,
        (429, _) => ("Global limit has been reached", "too_many_requests"),
        (502..=504, _) => (
            "The service is temporarily unavailable, please try again later",
            "service_unavailable",
        ),
        (500..=599, _) => ("Internal Server Error", "internal_server_error"),
        _ => (status.canonical_reason().unwrap_or("Error"), "error"),
    };
    error_answer(status, error)
}

/// Auth0's 429: the body, and `x-ratelimit-*` headers with the reset as a
/// UNIX time in seconds.
fn rate_limited(route: Route, reset_after_secs: u64) -> Response {
    let mut response = status_fault(route, 429);
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(50u64));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(0u64));
    headers.insert(
        "x-ratelimit-reset",
        HeaderValue::from(unix_now().saturating_add(reset_after_secs)),
    );
    response
}

/// A body that fails on first read. Hyper then abandons the connection, so
/// the client gets no usable answer (at most a status line whose body
/// breaks off).
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

fn drop_connection(response: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    // Hyper never reads the body of a 204 or 304 (they have none), so the
    // break would go unnoticed: answer a status that has a body.
    if matches!(
        parts.status,
        StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED
    ) {
        parts.status = StatusCode::OK;
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::new(BrokenBody))
}

/// The answer's own JSON cut short: right status and content type, a body
/// no parser accepts.
async fn malformed(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    // A 204 carries no body to spoil; its status is all a client gets.
    if parts.status == StatusCode::NO_CONTENT {
        return Response::from_parts(parts, Body::empty());
    }
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    // Every body the emulator sends is an object or array, and no proper
    // prefix of one is a JSON document.
    let truncated = if bytes.len() > 1 {
        bytes.slice(..bytes.len() / 2)
    } else {
        Bytes::from_static(b"{\"statusCode\": 2")
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(truncated))
}
