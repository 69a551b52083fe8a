//! The service's contract, end to end: every documented status, body and
//! error code, through the real handlers, a stateful Auth0 emulator and
//! Secrets Manager on moto.

mod support;

mod audit;
mod authentication;
mod authorization;
mod budgets;
mod concurrency;
mod configuration;
mod crashes;
mod create;
mod delete;
mod deploy_cli;
mod economy;
mod events;
mod fault_matrix;
mod fuzz;
mod hostile_tokens;
mod index;
mod key_credentials;
mod key_rotation_http;
mod layout;
mod lifecycle;
mod local_http;
mod log_events;
mod outbound;
mod python_client;
mod read;
mod readme;
mod reconcile;
mod request_ids;
mod routes;
mod secrets;
mod shared_token;
mod unknown_outcomes;
mod upstream;
mod write_limit;
