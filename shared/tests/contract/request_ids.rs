//! Every answer names its request in `x-request-id`: Lambda's request id of
//! the invocation, which the runtime gives however the function is invoked
//! (API Gateway, a function URL, `cargo lambda watch`). Only a handler
//! called without the runtime, as most tests here call it, falls back to
//! API Gateway's id. That the function's log lines carry the same id is
//! `shared/tests/logging.rs`'s to show, on a real function process.

use lambda_http::{Context, Request, RequestExt};
use m2m_shared::App;
use test_support::event::REQUEST_ID;

use crate::support::{Reply, Route, TestEnv, sample_event};

/// `request` as the Lambda runtime hands it over: with its invocation's id.
fn invoked(request: Request, lambda_request_id: &str) -> Request {
    let mut context = Context::default();
    context.request_id = lambda_request_id.to_owned();
    request.with_lambda_context(context)
}

#[tokio::test]
async fn every_answer_names_lambdas_request_id() {
    let env = TestEnv::new().await;
    let token = env.token("owner-a");
    let cases = [
        (
            Route::CreateClient,
            sample_event(Route::CreateClient).bearer(&token),
            201,
        ),
        (
            Route::GetClient,
            sample_event(Route::GetClient).bearer(&token),
            404,
        ),
        (
            Route::CreateClient,
            sample_event(Route::CreateClient).bearer(&token).body("{}"),
            400,
        ),
        (Route::ListClients, sample_event(Route::ListClients), 401),
    ];
    for (route, event, status) in cases {
        let id = format!("lambda-request-{status}");
        let reply = env
            .dispatch_request(route, invoked(event.request(), &id))
            .await;
        assert_eq!(reply.status, status, "{route:?}: {}", reply.text);
        assert_eq!(
            reply.header("x-request-id"),
            Some(id.as_str()),
            "the {status}"
        );
    }
}

#[tokio::test]
async fn a_cold_misconfigured_container_names_the_request_too() {
    // AUTH0_DOMAIN (like every other setting) is missing: every answer is
    // the 500, the first one included.
    let app = App::from_lookup(|_| None).await;
    let request = invoked(
        sample_event(Route::DeleteClient).request(),
        "lambda-request-cold",
    );
    let reply =
        Reply::from_response(m2m_shared::api::handle(&app, Route::DeleteClient, request).await);
    reply.assert_internal_error();
    assert_eq!(reply.header("x-request-id"), Some("lambda-request-cold"));

    // Called without the runtime: API Gateway's id.
    let request = sample_event(Route::DeleteClient).request();
    let reply =
        Reply::from_response(m2m_shared::api::handle(&app, Route::DeleteClient, request).await);
    assert_eq!(reply.header("x-request-id"), Some(REQUEST_ID));
}
