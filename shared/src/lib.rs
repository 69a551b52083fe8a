//! The m2m-client-service library. Each Lambda function of the service is
//! one call to [`run`] with its route's type (its row of the route table); everything else
//! lives here. Modules depend on the ones listed after them, never on those
//! before (README, "Layout", draws the graph):
//!
//! - [`api`]: the HTTP side, and the one place errors become responses;
//! - [`app`]: the state a container builds once, and its warm-up;
//! - [`auth`]: who is calling (Bearer JWT, JWKS);
//! - [`clients`] and [`validation`]: the operations and what they accept,
//!   free of HTTP and AWS;
//! - [`secrets_manager`]: the management credentials in Secrets Manager,
//!   a source for [`auth0`]: the Auth0 Management API behind the domain's
//!   [`domain::ClientDirectory`];
//! - the leaves: [`domain`] (the nouns and the port), [`routes`] (the route
//!   table), [`config`], [`http`] (the one HTTP client), [`logging`], [`metrics`],
//!   [`secret_string`] and [`error`].

// Request data and upstream answers reach most of this crate: nothing in it
// may unwrap, expect or panic outside tests.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod api;
pub mod app;
pub mod auth;
pub mod auth0;
pub mod aws;
pub mod clients;
pub mod config;
pub mod cursor;
pub mod domain;
pub mod error;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod owner_index;
pub mod public_key;
pub mod reconcile;
pub mod routes;
pub mod secret_string;
pub mod secrets_manager;
#[cfg(test)]
mod testing;
pub mod validation;

use std::convert::Infallible;

pub use api::operations::{
    CreateClient, CreateCredential, DeleteClient, DeleteCredential, DisableClient, EnableClient,
    GetClient, ListClients, ListCredentials, Operation, RotateClientSecret, UpdateClient,
};
pub use app::App;
pub use routes::Route;

/// A function's whole `main` (`run::<GetClient>()`): logging, the
/// container's state built once, then the Lambda runtime loop handing every
/// request for the route `O` to [`api::handle_route`], which always
/// answers. The route is a type, not a value, so that the binary links only
/// its own operation.
pub async fn run<O: Operation>() -> Result<(), lambda_http::Error> {
    logging::init();
    let app = App::from_env().await;
    let app = &app;
    let handler = lambda_http::service_fn(move |request| async move {
        Ok::<_, Infallible>(api::handle_route::<O, _, _>(app, request).await)
    });
    app.serve(O::ROUTE, lambda_http::run(handler)).await
}

/// The reconciler's whole `main` (`reconcile_clients`, on a schedule): each
/// invocation is one [`reconcile::Reconciler::answer`]: a run, answered
/// with its summary, or an audit. A run that fails answers an error, which
/// Lambda counts (and an alarm can watch); the next run starts over.
pub async fn run_reconciler() -> Result<(), lambda_http::Error> {
    run_on_events(answer::<false>).await
}

/// `auth0_log_events`'s whole `main` (on an EventBridge rule for Auth0's log
/// stream): each invocation follows one event
/// ([`reconcile::Reconciler::follow`]). One that fails answers an error,
/// and Lambda invokes it again (asynchronous invocations are retried).
pub async fn run_log_events() -> Result<(), lambda_http::Error> {
    run_on_events(answer::<true>).await
}

/// One event's answer, on the heap: a run of the reconciler, or
/// (`LOG_EVENTS`) an event of Auth0's log stream. Each function names its
/// own, and links only that. Never inlined: a release build would otherwise
/// make it in the function's crate, which would then lay the answer's future
/// out itself, deeper than the compiler's default recursion limit allows.
#[inline(never)]
fn answer<'a, const LOG_EVENTS: bool>(
    reconciler: &'a DeployedReconciler,
    event: &'a serde_json::Value,
    deadline: tokio::time::Instant,
) -> BoxedAnswer<'a> {
    if LOG_EVENTS {
        Box::pin(reconciler.answer_log_event(event, deadline))
    } else {
        Box::pin(reconciler.answer(event, deadline))
    }
}

/// The container's reconciler, as `reconcile::from_env` builds it.
type DeployedReconciler = reconcile::Reconciler<
    auth0::ManagementApi<secrets_manager::SecretsManagerSource>,
    owner_index::DynamoIndex,
>;

/// How an event function answers one event: a function of the caller's
/// (a pointer, not a flag), so that each binary links only its own answer.
type EventAnswer = for<'a> fn(
    &'a DeployedReconciler,
    &'a serde_json::Value,
    tokio::time::Instant,
) -> BoxedAnswer<'a>;

/// An event's answer, on the heap.
type BoxedAnswer<'a> = std::pin::Pin<
    Box<dyn Future<Output = Result<serde_json::Value, error::ServiceError>> + Send + 'a>,
>;

/// The runtime loop of a function invoked by events rather than routes:
/// the reconciler a container builds once, answering each event with
/// `answer` (a run of the reconciler, or an event of Auth0's log stream).
async fn run_on_events(answer: EventAnswer) -> Result<(), lambda_http::Error> {
    use lambda_http::{LambdaEvent, lambda_runtime};
    use serde_json::Value;

    logging::init();
    let reconciler = match reconcile::from_env().await {
        Ok(reconciler) => Some(reconciler),
        Err(problem) => {
            tracing::error!(error = %problem, "configuration error: every invocation will fail until it is fixed");
            None
        }
    };
    let reconciler = &reconciler;
    let handler = lambda_runtime::service_fn(move |event: LambdaEvent<Value>| async move {
        let reconciler = reconciler
            .as_ref()
            .ok_or("the function is not configured (see the log)")?;
        let deadline = reconcile::deadline(event.context.deadline);
        // Boxed (by `answer`): the answers' futures nested in the runtime's
        // are deeper than the compiler lays out by default.
        answer(reconciler, &event.payload, deadline)
            .await
            .map_err(|problem| format!("the invocation failed: {problem}"))
    });
    lambda_runtime::run(handler).await
}
