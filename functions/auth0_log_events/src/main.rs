//! Auth0's log stream, on an EventBridge rule (deployed only when the
//! template's `Auth0LogEventSource` is set): `seccft` events record when a
//! client last got a token, a client deleted in Auth0 leaves the owner
//! index at once. Its whole work is the library's (see
//! `m2m_shared::run_log_events`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    m2m_shared::run_log_events().await
}
