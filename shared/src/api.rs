//! The HTTP side: one handler per route, taking an API Gateway request and
//! always answering with a documented status and JSON body. This is the only
//! module that knows about `lambda_http`, and [`error_response`] is the only
//! place errors become responses.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_http::http::StatusCode;
use lambda_http::http::header::{
    AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE,
};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use tokio::time::Instant;
use tracing::{Instrument, error, info, info_span, warn};

use crate::app::{App, Service};
use crate::auth::AuthError;
use crate::auth0::CredentialsSource;
use crate::clients::{ClientSummary, CreatedClient, Owner};
use crate::error::{Operation, ServiceError, UpstreamError};
use crate::validation::parse_new_client;

/// Time budget when the invocation carries no deadline (tests, local runs).
const DEFAULT_TIME_BUDGET: Duration = Duration::from_secs(25);
/// Kept back from the invocation's deadline to deliver the answer.
const RESPONSE_MARGIN: Duration = Duration::from_millis(500);

/// The handlers' error type. They never fail: every outcome is a response.
pub type HandlerError = lambda_http::Error;

/// `POST /api/v1/client`
pub async fn create_client<S: CredentialsSource>(
    app: &App<S>,
    request: Request,
) -> Result<Response<Body>, HandlerError> {
    respond(
        "create_client",
        app,
        &request,
        async |service, owner, deadline| {
            let new_client = parse_new_client(request.body().as_ref())?;
            let created = service.clients.create(&owner, new_client, deadline).await?;
            Ok(json_response(
                StatusCode::CREATED,
                &CreatedClientBody::from(&created),
            ))
        },
    )
    .await
}

/// `GET /api/v1/client`
pub async fn list_clients<S: CredentialsSource>(
    app: &App<S>,
    request: Request,
) -> Result<Response<Body>, HandlerError> {
    respond(
        "list_clients",
        app,
        &request,
        async |service, owner, deadline| {
            let clients = service.clients.list(&owner, deadline).await?;
            let body: Vec<ClientBody<'_>> = clients.iter().map(ClientBody::from).collect();
            Ok(json_response(StatusCode::OK, &body))
        },
    )
    .await
}

/// `GET /api/v1/client/{id}`
pub async fn get_client<S: CredentialsSource>(
    app: &App<S>,
    request: Request,
) -> Result<Response<Body>, HandlerError> {
    respond(
        "get_client",
        app,
        &request,
        async |service, owner, deadline| {
            let client = service
                .clients
                .get(&owner, &client_id_parameter(&request), deadline)
                .await?;
            Ok(json_response(StatusCode::OK, &ClientBody::from(&client)))
        },
    )
    .await
}

/// `DELETE /api/v1/client/{id}`
pub async fn delete_client<S: CredentialsSource>(
    app: &App<S>,
    request: Request,
) -> Result<Response<Body>, HandlerError> {
    respond(
        "delete_client",
        app,
        &request,
        async |service, owner, deadline| {
            service
                .clients
                .delete(&owner, &client_id_parameter(&request), deadline)
                .await?;
            let mut response = Response::new(Body::Empty);
            *response.status_mut() = StatusCode::NO_CONTENT;
            Ok(response)
        },
    )
    .await
}

/// What every route does around its own work: find the service,
/// authenticate the caller, then turn the outcome into a response, inside a
/// span that tags every log line with the route and request id.
async fn respond<S: CredentialsSource>(
    route: &'static str,
    app: &App<S>,
    request: &Request,
    operation: impl AsyncFnOnce(&Service<S>, Owner, Instant) -> Result<Response<Body>, ServiceError>,
) -> Result<Response<Body>, HandlerError> {
    let deadline = deadline(request);
    let span = info_span!("request", route, request_id = %request_id(request));
    let outcome = async {
        let service = app.service()?;
        let owner = service
            .authenticator
            .authenticate(authorization(request)?)
            .await?;
        operation(service, owner, deadline).await
    }
    .instrument(span.clone())
    .await;
    Ok(match outcome {
        Ok(response) => response,
        Err(problem) => {
            span.in_scope(|| log_failure(&problem));
            error_response(&problem)
        }
    })
}

/// The documented answer to every failure.
pub fn error_response(problem: &ServiceError) -> Response<Body> {
    match problem {
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
        ServiceError::InvalidRequest(message) => json_response(
            StatusCode::BAD_REQUEST,
            &ErrorBody {
                code: Some("INVALID_REQUEST"),
                message,
            },
        ),
        ServiceError::ClientNotFound => json_response(
            StatusCode::NOT_FOUND,
            &ErrorBody {
                code: Some("CLIENT_NOT_FOUND"),
                message: "client not found",
            },
        ),
        ServiceError::Upstream { operation, cause } => {
            let (code, message) = match operation {
                Operation::CreateClient => {
                    (Some("CLIENT_CREATE_FAILED"), "failed to create the client")
                }
                Operation::CreateGrant => (
                    Some("CLIENT_GRANT_CREATE_FAILED"),
                    "failed to authorize the client for API access",
                ),
                Operation::DeleteClient => {
                    (Some("CLIENT_DELETE_FAILED"), "failed to delete the client")
                }
                Operation::ReadClients => {
                    (None, "failed to read clients from the identity provider")
                }
            };
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
                _ => json_response(StatusCode::BAD_GATEWAY, &ErrorBody { code, message }),
            }
        }
        ServiceError::Internal(_) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &ErrorBody::message("Internal server error"),
        ),
    }
}

fn log_failure(problem: &ServiceError) {
    match problem {
        ServiceError::Unauthorized(_)
        | ServiceError::InvalidRequest(_)
        | ServiceError::ClientNotFound => {
            info!(error = %problem, "request refused")
        }
        ServiceError::Upstream { .. } => warn!(error = %problem, "upstream failure"),
        ServiceError::Internal(_) => error!(error = %problem, "internal error"),
    }
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
/// without one (function URLs, `cargo lambda watch`), the last path segment.
fn client_id_parameter(request: &Request) -> String {
    if let Some(id) = request
        .path_parameters_ref()
        .and_then(|parameters| parameters.first("id"))
    {
        return id.to_owned();
    }
    request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// When this invocation must have given up: Lambda's deadline less a margin
/// to deliver the answer.
fn deadline(request: &Request) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|now| now.as_millis() as u64)
        .unwrap_or_default();
    let budget = request
        .lambda_context_ref()
        .and_then(|context| context.deadline.checked_sub(now_ms))
        .filter(|remaining| *remaining > 0)
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_TIME_BUDGET);
    Instant::now() + budget.saturating_sub(RESPONSE_MARGIN)
}

/// The invocation's request id: Lambda's, or else API Gateway's.
fn request_id(request: &Request) -> String {
    if let Some(context) = request.lambda_context_ref() {
        return context.request_id.clone();
    }
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => {
            context.request_id.clone().unwrap_or_default()
        }
        _ => String::new(),
    }
}

fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
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

/// The 201 of create: the only body that ever carries a secret.
#[derive(Serialize)]
struct CreatedClientBody<'a> {
    name: &'a str,
    description: &'a str,
    client_id: &'a str,
    client_secret: &'a str,
}

impl<'a> From<&'a CreatedClient> for CreatedClientBody<'a> {
    fn from(client: &'a CreatedClient) -> Self {
        CreatedClientBody {
            name: &client.name,
            description: &client.description,
            client_id: &client.client_id,
            client_secret: client.client_secret.expose(),
        }
    }
}

/// A client in list and get answers: `id` and `client_id` are both the Auth0 id.
#[derive(Serialize)]
struct ClientBody<'a> {
    id: &'a str,
    name: &'a str,
    description: &'a str,
    client_id: &'a str,
}

impl<'a> From<&'a ClientSummary> for ClientBody<'a> {
    fn from(client: &'a ClientSummary) -> Self {
        ClientBody {
            id: &client.client_id,
            name: &client.name,
            description: &client.description,
            client_id: &client.client_id,
        }
    }
}
