//! The m2m-client-service library. Each Lambda function of the service is
//! one call to [`run`] with its row of the route table; everything else
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
//!   table), [`config`], [`http`] (the one HTTP client), [`logging`],
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
pub mod clients;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod logging;
pub mod routes;
pub mod secret_string;
pub mod secrets_manager;
pub mod validation;

use std::convert::Infallible;

pub use app::App;
pub use routes::Route;

/// A function's whole `main`: logging, the container's state built once,
/// then the Lambda runtime loop handing every request for `route` to
/// [`api::handle`], which always answers.
pub async fn run(route: Route) -> Result<(), lambda_http::Error> {
    logging::init();
    let app = App::from_env().await;
    let app = &app;
    let handler = lambda_http::service_fn(move |request| async move {
        Ok::<_, Infallible>(api::handle(app, route, request).await)
    });
    app.serve(lambda_http::run(handler)).await
}
