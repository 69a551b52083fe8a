//! `DELETE /api/v1/client/{id}`: wiring only. The container's state is built once, before the
//! first invocation, and warms up while the first request is on its way; each invocation is
//! handed to the shared library.

use lambda_http::{Error, run, service_fn};
use m2m_shared::{App, api};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    m2m_shared::init_logging();
    let app = App::from_env().await;
    let app = &app;
    app.serve(run(service_fn(move |request| {
        api::delete_client(app, request)
    })))
    .await
}
