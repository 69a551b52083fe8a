//! The HTTP side: [`handle`] takes an API Gateway request for one route of
//! the table ([`Route`]) and always answers with a documented status and
//! JSON body: a handler cannot fail, and its type says so. This is the only
//! module that knows about `lambda_http`; [`response`] is the only place
//! errors become responses.

pub mod response;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_http::http::header::{AUTHORIZATION, HeaderValue, LINK};
use lambda_http::http::{HeaderName, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use tokio::time::Instant;
use tracing::{Instrument, info_span};

use crate::app::{App, Service};
use crate::auth0::CredentialsSource;
use crate::domain::{ClientStatus, Owner, OwnerIndex, deadline};
use crate::error::{AuthError, ServiceError};
use crate::metrics;
use crate::routes::{CLIENTS_PATH, Route};
use crate::validation::{
    idempotency_claim, page_limit, parse_client_update, parse_new_client, parse_new_key,
};
use response::{
    ClientBody, CreatedClientBody, RotatedSecretBody, empty_response, error_response, json_response,
};

/// Every request is answered within this long of its start, whatever its
/// upstreams do (docs/behaviour.md, "Upstream failures"), or by Lambda's
/// deadline if that is nearer: a caller waiting longer than this for an
/// error gains nothing, and API Gateway gives up at 30 s.
const ANSWER_WITHIN: Duration = Duration::from_secs(12);
/// Kept back from the answer's bound to deliver the answer, with room for
/// a busy container whose timers fire late.
const RESPONSE_MARGIN: Duration = Duration::from_secs(1);

/// Answers one request for `route`: finds the service, authenticates the
/// caller, runs the route's operation and turns the outcome into a
/// response, inside a span that tags every log line with the route and
/// request id.
pub async fn handle<S: CredentialsSource, I: OwnerIndex>(
    app: &App<S, I>,
    route: Route,
    request: Request,
) -> Response<Body> {
    let started = Instant::now();
    let deadline = deadline(&request);
    let api_request_id = api_request_id(&request);
    let request_id = lambda_request_id(&request)
        .or(api_request_id.as_deref())
        .unwrap_or_default()
        .to_owned();
    let span = info_span!(
        "request",
        route = route.function(),
        request_id = %request_id,
        api_request_id,
    );
    let outcome = async {
        let service = app.service()?;
        let owner = service
            .authenticator
            .authorize(authorization(&request)?, route.permission())
            .await?;
        // On the heap: the routes' operations together make a large
        // future, which the runtime's stack need not hold. The owner
        // index's calls find the deadline there too.
        let operated = operate(service, route, owner, &request, deadline);
        Box::pin(deadline::within(deadline, operated)).await
    }
    .instrument(span.clone())
    .await;
    let mut response = match outcome {
        Ok(response) => response,
        Err(problem) => {
            span.in_scope(|| response::log_failure(&problem));
            error_response(&problem)
        }
    };
    // Every answer, a cold container's 500 and a 401 included, so that a
    // caller can name the request whatever is in front of the function.
    if !request_id.is_empty()
        && let Ok(value) = HeaderValue::from_str(&request_id)
    {
        response.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }
    metrics::request(
        route.function(),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// What each route does for an authenticated caller.
async fn operate<S: CredentialsSource, I: OwnerIndex>(
    service: &Service<S, I>,
    route: Route,
    owner: Owner,
    request: &Request,
    deadline: Instant,
) -> Result<Response<Body>, ServiceError> {
    let status = StatusCode::from_u16(route.success_status())
        .map_err(|_| ServiceError::Internal(format!("{route:?}: bad success status")))?;
    let clients = &service.clients;
    Ok(match route {
        Route::CreateClient => {
            let new_client = parse_new_client(request.body().as_ref())?;
            let claim = idempotency_claim(
                single_header(request, &IDEMPOTENCY_KEY)?,
                request.body().as_ref(),
            )?;
            let created = clients.create(&owner, new_client, claim, deadline).await?;
            json_response(status, &CreatedClientBody::from(&created))
        }
        Route::ListClients => {
            let query = request.query_string_parameters_ref();
            let limit = page_limit(query.and_then(|query| query.first("limit")))?;
            let cursor = query.and_then(|query| query.first("cursor"));
            let page = clients.list(&owner, cursor, limit).await?;
            let body: Vec<ClientBody<'_>> = page.clients.iter().map(ClientBody::from).collect();
            let mut response = json_response(status, &body);
            if let (Some(next), Some(limit)) = (&page.next, limit) {
                // Path-absolute, so it works behind any host or stage.
                let link = format!(
                    "<{}?limit={limit}&cursor={next}>; rel=\"next\"",
                    Route::ListClients.path()
                );
                if let Ok(value) = HeaderValue::from_str(&link) {
                    response.headers_mut().insert(LINK, value);
                }
            }
            response
        }
        Route::GetClient => {
            let id = client_id_parameter(request);
            let client = clients.get(&owner, &id).await?;
            json_response(status, &ClientBody::from(&client))
        }
        Route::DeleteClient => {
            let id = client_id_parameter(request);
            clients.delete(&owner, &id, deadline).await?;
            empty_response(status)
        }
        Route::UpdateClient => {
            let id = client_id_parameter(request);
            let update = parse_client_update(request.body().as_ref())?;
            let client = clients.update(&owner, &id, update, deadline).await?;
            json_response(status, &ClientBody::from(&client))
        }
        Route::RotateClientSecret => {
            let id = client_id_parameter(request);
            let rotated = clients.rotate_secret(&owner, &id, deadline).await?;
            json_response(status, &RotatedSecretBody::from(&rotated))
        }
        Route::DisableClient | Route::EnableClient => {
            let id = client_id_parameter(request);
            let wanted = match route {
                Route::DisableClient => ClientStatus::Disabled,
                _ => ClientStatus::Active,
            };
            let client = clients.set_status(&owner, &id, wanted, deadline).await?;
            json_response(status, &ClientBody::from(&client))
        }
        Route::ListCredentials => {
            let id = client_id_parameter(request);
            json_response(status, &clients.credentials(&owner, &id).await?)
        }
        Route::CreateCredential => {
            let key = parse_new_key(request.body().as_ref())?;
            let id = client_id_parameter(request);
            let added = clients.add_credential(&owner, &id, key, deadline).await?;
            json_response(status, &added)
        }
        Route::DeleteCredential => {
            let id = client_id_parameter(request);
            let credential_id = path_parameter(request, "credential_id", "credentials");
            clients
                .remove_credential(&owner, &id, &credential_id, deadline)
                .await?;
            empty_response(status)
        }
    })
}

/// `Idempotency-Key` (lower case: `HeaderName`s are).
static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// The answer's request id: the `request_id` of every log line the request
/// wrote (docs/behaviour.md, "Logs").
static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A header the request may carry once, as text.
fn single_header<'a>(
    request: &'a Request,
    name: &HeaderName,
) -> Result<Option<&'a str>, ServiceError> {
    let mut values = request.headers().get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ServiceError::invalid(format!("{name} must be given once")));
    }
    value
        .to_str()
        .map(Some)
        .map_err(|_| ServiceError::invalid(format!("{name} must be printable ASCII")))
}

/// The `Authorization` header, if there is exactly one and it is text.
fn authorization(request: &Request) -> Result<Option<&str>, AuthError> {
    let mut values = request.headers().get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::Malformed("several authorization headers"));
    }
    value
        .to_str()
        .map(Some)
        .map_err(|_| AuthError::Malformed("authorization header is not text"))
}

/// The `{id}` of the route: API Gateway's path parameter or, when invoked
/// without one (function URLs, `cargo lambda watch`), the path segment
/// after `/api/v1/client/` (the lifecycle routes' paths go on after it).
/// An id that is no client's is answered 404 by the operation.
fn client_id_parameter(request: &Request) -> String {
    path_parameter(request, "id", "client")
}

/// A path parameter (`{name}`): API Gateway's, or, without it, the path
/// segment after `/api/v1/client/` or `…/{after}/` (`after` the segment
/// before the parameter in the route's path).
fn path_parameter(request: &Request, name: &str, after: &str) -> String {
    if let Some(value) = request
        .path_parameters_ref()
        .and_then(|parameters| parameters.first(name))
    {
        return value.to_owned();
    }
    let prefix = match after {
        "client" => format!("{CLIENTS_PATH}/"),
        other => format!("/{other}/"),
    };
    let path = request.uri().path();
    // The client's id is the first such segment; any other parameter is
    // the last (a client may be named `credentials`).
    let at = match after {
        "client" => path.find(&prefix),
        _ => path.rfind(&prefix),
    };
    at.map(|at| &path[at + prefix.len()..])
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
        .to_owned()
}

/// When this invocation must have given up: [`ANSWER_WITHIN`] from now, or
/// Lambda's deadline if nearer, less a margin to deliver the answer.
fn deadline(request: &Request) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|now| now.as_millis() as u64)
        .unwrap_or_default();
    let budget = request
        .lambda_context_ref()
        .and_then(|context| context.deadline.checked_sub(now_ms))
        .filter(|remaining| *remaining > 0)
        .map_or(ANSWER_WITHIN, |remaining| {
            Duration::from_millis(remaining).min(ANSWER_WITHIN)
        });
    Instant::now() + budget.saturating_sub(RESPONSE_MARGIN)
}

/// Lambda's request id of the invocation: every line the runtime and the
/// service write for it carries it (the runtime's span has it as
/// `requestId`), and so do the platform's `START`/`REPORT` lines and the
/// access log (`integrationRequestId`). It is there however the function is
/// invoked (API Gateway, a function URL, `cargo lambda watch`), so it is the
/// one id every answer names. Absent only when the handler is called
/// without the runtime (tests).
fn lambda_request_id(request: &Request) -> Option<&str> {
    request
        .lambda_context_ref()
        .map(|context| context.request_id.as_str())
        .filter(|id| !id.is_empty())
}

/// API Gateway's id of the request (`requestContext.requestId`): what a
/// caller behind it gets as `apigw-requestid`. Logged beside Lambda's, so
/// that either id finds the request's lines.
fn api_request_id(request: &Request) -> Option<String> {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => {
            context.request_id.clone().filter(|id| !id.is_empty())
        }
        _ => None,
    }
}
