//! The HTTP side: [`handle_route`] takes an API Gateway request for one
//! route, a type of [`operations`] ([`handle`]: for a [`Route`] chosen at
//! run time), and always answers with a documented status and
//! JSON body: a handler cannot fail, and its type says so. This is the only
//! module that knows about `lambda_http`; [`response`] is the only place
//! errors become responses.

pub mod operations;
pub mod response;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_http::http::header::{AUTHORIZATION, HeaderValue};
use lambda_http::http::{HeaderName, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use tokio::time::Instant;
use tracing::{Instrument, info_span};

use crate::app::App;
use crate::auth0::CredentialsSource;
use crate::domain::{OwnerIndex, deadline};
use crate::error::{AuthError, ServiceError};
use crate::metrics;
use crate::routes::Route;
use operations::{
    Call, CreateClient, CreateCredential, DeleteClient, DeleteCredential, DisableClient,
    EnableClient, GetClient, ListClients, ListCredentials, Operation, RotateClientSecret,
    UpdateClient,
};
use response::error_response;

/// Every request is answered within this long of its start, whatever its
/// upstreams do (docs/behaviour.md, "Upstream failures"), or by Lambda's
/// deadline if that is nearer: a caller waiting longer than this for an
/// error gains nothing, and API Gateway gives up at 30 s.
const ANSWER_WITHIN: Duration = Duration::from_secs(12);
/// Kept back from the answer's bound to deliver the answer, with room for
/// a busy container whose timers fire late.
const RESPONSE_MARGIN: Duration = Duration::from_secs(1);

/// Answers one request for `route`, chosen at run time: the tests' and
/// tools' way in. A deployed function calls [`handle_route`] with its
/// route's type instead, so that it links only that route's operation.
pub async fn handle<S: CredentialsSource, I: OwnerIndex>(
    app: &App<S, I>,
    route: Route,
    request: Request,
) -> Response<Body> {
    match route {
        Route::CreateClient => handle_route::<CreateClient, _, _>(app, request).await,
        Route::ListClients => handle_route::<ListClients, _, _>(app, request).await,
        Route::GetClient => handle_route::<GetClient, _, _>(app, request).await,
        Route::DeleteClient => handle_route::<DeleteClient, _, _>(app, request).await,
        Route::UpdateClient => handle_route::<UpdateClient, _, _>(app, request).await,
        Route::RotateClientSecret => handle_route::<RotateClientSecret, _, _>(app, request).await,
        Route::DisableClient => handle_route::<DisableClient, _, _>(app, request).await,
        Route::EnableClient => handle_route::<EnableClient, _, _>(app, request).await,
        Route::ListCredentials => handle_route::<ListCredentials, _, _>(app, request).await,
        Route::CreateCredential => handle_route::<CreateCredential, _, _>(app, request).await,
        Route::DeleteCredential => handle_route::<DeleteCredential, _, _>(app, request).await,
    }
}

/// Answers one request for the route `O`: finds the service, authenticates
/// the caller, runs the route's operation and turns the outcome into a
/// response, inside a span that tags every log line with the route and
/// request id.
pub async fn handle_route<O: Operation, S: CredentialsSource, I: OwnerIndex>(
    app: &App<S, I>,
    request: Request,
) -> Response<Body> {
    let route = O::ROUTE;
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
        let status = StatusCode::from_u16(route.success_status())
            .map_err(|_| ServiceError::Internal(format!("{route:?}: bad success status")))?;
        let call = Call {
            service,
            owner,
            request: &request,
            deadline,
            status,
        };
        // On the heap: the operation's future, which the runtime's stack
        // need not hold. The owner index's calls find the deadline there.
        Box::pin(deadline::within(deadline, O::operate(call))).await
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

/// The answer's request id: the `request_id` of every log line the request
/// wrote (docs/behaviour.md, "Logs").
static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

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
