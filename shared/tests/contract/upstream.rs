//! Auth0 failing: 502/503 with the operation's code, retries where safe,
//! and never a client left without its grant.

use std::time::Duration;

use auth0_emulator::{Fault, Route as Auth0Route};
use serde_json::{Value, json};

use crate::support::{HANG, LAMBDA_TIMEOUT, Options, RATE_LIMITED, Route, TestEnv, sample_event};

/// The body of a 502 from create.
fn create_failed() -> Value {
    json!({"code": "CLIENT_CREATE_FAILED", "message": "failed to create the client"})
}

#[tokio::test]
async fn a_failed_grant_rolls_the_client_back() {
    let env = TestEnv::new().await;
    env.emulator
        .inject(Auth0Route::CreateGrant, Fault::Status(500));
    let reply = env
        .create(&env.token("owner-a"), json!({"name": "Half made"}))
        .await;
    reply.assert(
        502,
        json!({"code": "CLIENT_GRANT_CREATE_FAILED", "message": "failed to authorize the client for API access"}),
    );
    assert!(
        env.emulator.clients().is_empty(),
        "the client was not rolled back"
    );
    assert_eq!(env.emulator.count(Auth0Route::DeleteClient), 1);
    // POSTs are not blindly retried.
    assert_eq!(env.emulator.count(Auth0Route::CreateGrant), 1);
}

#[tokio::test]
async fn a_rate_limit_that_clears_is_invisible_to_the_caller() {
    let env = TestEnv::new().await;
    env.emulator.inject(Auth0Route::CreateClient, RATE_LIMITED);
    let created = env.create_ok("owner-a", "Patient").await;
    assert_eq!(env.emulator.count(Auth0Route::CreateClient), 2);
    assert_eq!(env.emulator.clients().len(), 1);
    assert_eq!(env.emulator.clients()[0]["client_id"], created["client_id"]);
    env.assert_no_client_without_grant("a cleared rate limit");
}

#[tokio::test]
async fn create_failures_answer_502_client_create_failed() {
    for fault in [
        Fault::Status(500),
        Fault::Status(503),
        Fault::MalformedJson,
        Fault::DropConnection,
    ] {
        let env = TestEnv::new().await;
        env.emulator.inject(Auth0Route::CreateClient, fault);
        let reply = env
            .create(&env.token("owner-a"), json!({"name": "Unlucky"}))
            .await;
        reply.assert(502, create_failed());
        // Never blindly retried, and nothing left behind.
        assert_eq!(env.emulator.count(Auth0Route::CreateClient), 1, "{fault:?}");
        assert!(env.emulator.clients().is_empty(), "{fault:?}");
        env.assert_no_client_without_grant(&format!("{fault:?}"));
    }
}

#[tokio::test]
async fn deletes_and_secret_reads_are_retried_on_5xx() {
    let env = TestEnv::new().await;
    let token = env.token("owner-a");
    let id = env.create_id("owner-a", "Flaky delete").await;
    env.emulator
        .inject(Auth0Route::DeleteClient, Fault::Status(503));
    env.emulator
        .inject(Auth0Route::DeleteClient, Fault::DropConnection);
    assert_eq!(env.delete(&token, &id).await.status, 204);
    assert_eq!(env.emulator.count(Auth0Route::DeleteClient), 3);
    // An idempotent replay reads the secret back: a read, retried too.
    let body = json!({"name": "Replayed"});
    let first = env.create_keyed(&token, "retry-key", body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    env.emulator
        .inject(Auth0Route::GetClient, Fault::Status(503));
    let again = env.create_keyed(&token, "retry-key", body).await;
    assert_eq!(again.json, first.json);
    assert_eq!(env.emulator.count(Auth0Route::GetClient), 2);
}

#[tokio::test]
async fn a_replay_whose_secret_cannot_be_read_answers_502_without_upstream_detail() {
    let env = TestEnv::new().await;
    let token = env.token("owner-a");
    let body = json!({"name": "Unreadable"});
    assert_eq!(
        env.create_keyed(&token, "key-1", body.clone()).await.status,
        201
    );
    env.inject_times(Auth0Route::GetClient, Fault::MalformedJson, 3);
    env.create_keyed(&token, "key-1", body)
        .await
        .assert(502, create_failed());
}

#[tokio::test]
async fn a_delete_auth0_keeps_failing_answers_502_and_is_finished_by_the_reconciler() {
    let env = TestEnv::new().await;
    let token = env.token("owner-a");
    let id = env.create_id("owner-a", "Doomed").await;
    env.inject_times(Auth0Route::DeleteClient, Fault::Status(500), 3);
    env.delete(&token, &id).await.assert(
        502,
        json!({"code": "CLIENT_DELETE_FAILED", "message": "failed to delete the client"}),
    );
    // Auth0 may or may not have deleted it: the caller asked for it gone,
    // so it is no longer shown, and the reconciler finishes the deletion.
    assert_eq!(env.emulator.clients().len(), 1);
    env.get(&token, &id).await.assert_not_found();
    env.list(&token).await.assert(200, json!([]));
    let summary = env.reconcile(false).await;
    assert_eq!(summary.finished_deletions, 1);
    assert!(env.emulator.clients().is_empty());
    env.assert_index_names_the_tenants_clients("owner-a", "after the reconciler")
        .await;
    env.delete(&token, &id).await.assert_not_found();
}

#[tokio::test]
async fn an_expired_management_token_is_replaced_once() {
    let env = TestEnv::new().await;
    let id = env.create_id("owner-a", "Before").await;
    env.emulator
        .inject(Auth0Route::DeleteClient, Fault::ExpireManagementTokens);
    assert_eq!(env.delete(&env.token("owner-a"), &id).await.status, 204);
    assert_eq!(env.emulator.count(Auth0Route::Token), 2);
    assert_eq!(env.emulator.count(Auth0Route::DeleteClient), 2);
}

#[tokio::test]
async fn token_endpoint_failures_are_upstream_failures() {
    let env = TestEnv::without_warm_up().await;
    env.inject_times(Auth0Route::Token, Fault::Status(503), 3);
    let reply = env
        .create(&env.token("owner-a"), json!({"name": "No token"}))
        .await;
    reply.assert(502, create_failed());
    // Nothing was sent, so there was nothing to discard.
    assert_eq!(env.emulator.count(Auth0Route::Token), 3);
    assert_eq!(env.emulator.count(Auth0Route::CreateClient), 0);
    assert_eq!(env.emulator.count(Auth0Route::DeleteClient), 0);
    // Once Auth0 recovers, so does the service.
    env.create_ok("owner-a", "Token again").await;
}

#[tokio::test]
async fn a_token_request_that_fails_is_retried() {
    // A 503, and an answer lost after Auth0 issued the token.
    for (fault, route) in [
        (Fault::Status(503), Route::CreateClient),
        (Fault::DropConnection, Route::DeleteClient),
    ] {
        let env = TestEnv::without_warm_up().await;
        let legacy = env.legacy_client("owner-a", "Doomed").await;
        env.emulator.inject(Auth0Route::Token, fault);
        let event = sample_event(route)
            .id(&legacy)
            .bearer(&env.token("owner-a"));
        let reply = env.dispatch(route, &event.text()).await;
        assert!(
            (200..300).contains(&reply.status),
            "{fault:?}: {}",
            reply.text
        );
        assert_eq!(env.emulator.count(Auth0Route::Token), 2, "{fault:?}");
    }
}

#[tokio::test]
async fn a_slow_auth0_is_given_up_on_within_the_budget() {
    let env = TestEnv::new().await;
    let id = env.create_id("owner-a", "Slow").await;
    let delay = Duration::from_millis(300);
    env.emulator
        .inject(Auth0Route::DeleteClient, Fault::Delay(delay));
    let started = std::time::Instant::now();
    assert_eq!(env.delete(&env.token("owner-a"), &id).await.status, 204);
    assert!(started.elapsed() >= delay);
}

/// One Auth0 call rate-limited on every attempt: a 503 with the
/// operation's code and message, after three attempts, and the tenant as it
/// was (a client that was there stays).
async fn kept_rate_limited(call: Auth0Route, route: Route, body: Value) {
    let env = TestEnv::new().await;
    let existing = env.legacy_client("owner-a", "Existing").await;
    env.inject_times(call, RATE_LIMITED, 3);
    let event = sample_event(route)
        .id(&existing)
        .bearer(&env.token("owner-a"));
    let reply = env.dispatch(route, &event.text()).await;
    reply.assert(503, body);
    let retry_after = reply.header("retry-after");
    assert!(
        retry_after.is_some_and(|v| v.parse::<u64>().is_ok_and(|s| s >= 1)),
        "{call:?}: Retry-After {retry_after:?}"
    );
    assert_eq!(env.emulator.count(call), 3, "{call:?}");
    assert_eq!(env.client_ids(), [Value::from(existing)], "{call:?}");
    env.assert_index_names_the_tenants_clients("owner-a", &format!("{call:?}"))
        .await;
}

#[tokio::test]
async fn persistent_rate_limits_answer_503_with_retry_after() {
    let busy = "the identity provider is busy, retry later";
    tokio::join!(
        // The grant is retried, then the client rolled back.
        kept_rate_limited(
            Auth0Route::CreateGrant,
            Route::CreateClient,
            json!({"code": "CLIENT_GRANT_CREATE_FAILED",
                "message": format!("failed to authorize the client for API access: {busy}")}),
        ),
        kept_rate_limited(
            Auth0Route::CreateClient,
            Route::CreateClient,
            json!({"code": "CLIENT_CREATE_FAILED",
                "message": format!("failed to create the client: {busy}")}),
        ),
        kept_rate_limited(
            Auth0Route::DeleteClient,
            Route::DeleteClient,
            json!({"code": "CLIENT_DELETE_FAILED",
                "message": format!("failed to delete the client: {busy}")}),
        ),
    );
}

#[tokio::test]
async fn long_rate_limits_are_not_waited_for() {
    let env = TestEnv::new().await;
    let id = env.create_id("owner-a", "Waiting").await;
    let minute = Fault::RateLimited {
        reset_after_secs: 60,
    };
    env.emulator.inject(Auth0Route::DeleteClient, minute);
    let started = std::time::Instant::now();
    let reply = env.delete(&env.token("owner-a"), &id).await;
    assert_eq!(reply.status, 503);
    assert!(started.elapsed() < Duration::from_secs(5));
    let retry_after: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((55..=60).contains(&retry_after), "{retry_after}");
}

/// A token request that waited out Auth0's rate limit, then had its next
/// attempt cut short by the request's deadline: the caller hears of the
/// rate limit (503 and `Retry-After`), as when the waiting used the time
/// up, not of a failure. The token request changes nothing in Auth0, so
/// nothing was made that the answer would hide.
#[tokio::test]
async fn a_token_request_cut_short_after_a_rate_limit_is_answered_503() {
    let env = TestEnv::with(Options {
        time_budget: Some(LAMBDA_TIMEOUT),
        warm_up: false,
        env: vec![("MANAGEMENT_TOKEN_CACHE", "container".to_owned())],
        ..Options::default()
    })
    .await;
    env.emulator.inject(Auth0Route::Token, RATE_LIMITED);
    env.emulator.inject(Auth0Route::Token, Fault::Delay(HANG));
    let reply = env
        .create(&env.token("owner-a"), json!({"name": "Late"}))
        .await;
    assert_eq!(reply.status, 503, "{}", reply.text);
    assert_eq!(reply.json["code"], "CLIENT_CREATE_FAILED", "{}", reply.text);
    assert!(reply.header("retry-after").is_some());
    assert_eq!(env.emulator.count(Auth0Route::Token), 2);
    assert!(env.emulator.clients().is_empty());
}
