//! Test support for the workspace: what the contract tests, the warm-path
//! benchmark and `lambda_bench` each used to write by hand. Dev-only: it is
//! a dev-dependency of the library and a dependency of the tools, never of
//! a function, and it may panic (a failed setup is a failed test).
//!
//! - [`bodies`]: the create bodies the service refuses, with their messages;
//! - [`event`]: API Gateway HTTP API (payload 2.0) events for the route table;
//! - [`setup`]: the Auth0 emulator configured as the service expects it, the
//!   service's environment, caller tokens, Management API tokens, seeded clients;
//! - [`moto`]: AWS (Secrets Manager) on a local moto server, through the real SDK;
//! - [`dynamodb`]: the owner index's table in moto, created from template.yaml's
//!   `ClientsTable` (also by the `create-clients-table` binary, for scripts/local.sh);
//! - [`dynamodb_proxy`]: a DynamoDB (moto behind a proxy) that can apply a
//!   write and then answer late or not at all, honours transactions'
//!   idempotency tokens as DynamoDB does, and records every request;
//! - [`stats`]: percentiles and how figures are printed, and [`report`]:
//!   where benchmark reports are written;
//! - [`tls_proxy`]: an https front (self-signed) for a local plain-http server.

pub mod bodies;
pub mod dynamodb;
pub mod dynamodb_proxy;
pub mod event;
pub mod moto;
pub mod report;
pub mod setup;
pub mod stats;
pub mod tls_proxy;
