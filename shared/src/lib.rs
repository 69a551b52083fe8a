//! The m2m-client-service library. Each Lambda function of the service is a
//! few lines of wiring around [`api`]; everything else lives here:
//!
//! - [`config`]: the environment variables, read and checked once;
//! - [`auth`]: who is calling (Bearer JWT, JWKS);
//! - [`clients`] and [`validation`]: the operations and what they accept,
//!   free of HTTP and AWS;
//! - [`auth0`]: the Auth0 Management API behind [`clients::ClientDirectory`];
//! - [`secrets`]: the management credentials in Secrets Manager;
//! - [`error`]: the one error type, and [`api`]: the one place it becomes a response;
//! - [`app`]: the state a container builds once, and [`http`]: its one HTTP
//!   client, shared by Auth0, the JWKS and Secrets Manager.

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
pub mod error;
pub mod http;
pub mod secret;
pub mod secrets;
pub mod validation;

pub use app::App;

/// Logs as Lambda expects: JSON when the function's log format is JSON,
/// level from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`.
pub fn init_logging() {
    lambda_http::tracing::init_default_subscriber();
}
