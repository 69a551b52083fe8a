//! The scheduled reconciler (EventBridge, every 10 minutes; `{"backfill":
//! true}` to import clients from before the owner index): its whole work
//! is the library's (see `m2m_shared::run_reconciler`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    m2m_shared::run_reconciler().await
}
