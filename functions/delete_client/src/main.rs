//! `DELETE /api/v1/client/{id}`: the route's row of the library's table is all this binary
//! knows; the library builds the container's state once and answers every
//! invocation (see `m2m_shared::run`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    m2m_shared::run::<m2m_shared::DeleteClient>().await
}
