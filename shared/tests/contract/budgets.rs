//! Time (docs/behaviour.md, "Upstream failures"): whatever Auth0 does, a
//! request is answered within 12 s of its start, with the documented error
//! and nothing left behind in the tenant; each Auth0 attempt gets its 4 s,
//! and the steps of create each keep their time. The invocations have a
//! deployed function's deadline (29 s), so the bound is the service's own.

use std::time::{Duration, Instant};

use auth0_emulator::{Fault, Route as Auth0Route};
use serde_json::{Value, json};

use crate::support::{
    ANSWER_WITHIN, HANG, LAMBDA_TIMEOUT, Options, Reply, Route, TestEnv, sample_event,
};

/// Every Auth0 call a request can make, the token's included.
const AUTH0_CALLS: [Auth0Route; 6] = [
    Auth0Route::Token,
    Auth0Route::CreateClient,
    Auth0Route::CreateGrant,
    Auth0Route::ListClients,
    Auth0Route::GetClient,
    Auth0Route::DeleteClient,
];

/// A container as deployed: the function's deadline, warmed up or not.
async fn deployed(warm_up: bool) -> TestEnv {
    TestEnv::with(Options {
        time_budget: Some(LAMBDA_TIMEOUT),
        warm_up,
        ..Options::default()
    })
    .await
}

/// The documented answer of `route` when Auth0 fails it.
fn upstream_failure(route: Route) -> Value {
    match route {
        Route::CreateClient => {
            json!({"code": "CLIENT_CREATE_FAILED", "message": "failed to create the client"})
        }
        Route::ListClients | Route::GetClient => {
            json!({"message": "failed to read clients from the identity provider"})
        }
        Route::DeleteClient => {
            json!({"code": "CLIENT_DELETE_FAILED", "message": "failed to delete the client"})
        }
    }
}

/// Sends `route`'s request for `owner` and asserts it was answered within
/// the bound; returns the reply.
async fn timed(env: &TestEnv, route: Route, owner: &str, id: Option<&str>, case: &str) -> Reply {
    let mut event = sample_event(route).bearer(&env.token(owner));
    if let Some(id) = id {
        event = event.id(id);
    }
    let started = Instant::now();
    let reply = env.dispatch(route, &event.text()).await;
    let took = started.elapsed();
    assert!(took < ANSWER_WITHIN, "{case}: answered after {took:?}");
    reply
}

/// `route` on a container whose Auth0 hangs on every call (answers never
/// come, though the tenant carries the requests out). `warm`: the
/// container has its management token, so the Management API calls hang;
/// otherwise the token request does.
async fn hung_auth0(route: Route, warm: bool) {
    let case = format!("{route:?}, {}", if warm { "warm" } else { "cold" });
    let env = deployed(warm).await;
    let owner = "patient-owner";
    // Reads and deletes ask for a client that exists (once a token can be had).
    let existing = match (warm, route) {
        (true, Route::GetClient | Route::DeleteClient | Route::ListClients) => {
            Some(env.create_id(owner, "Existing").await)
        }
        _ => None,
    };
    for call in AUTH0_CALLS {
        env.inject_times(call, Fault::Delay(HANG), 4);
    }

    let reply = timed(&env, route, owner, existing.as_deref(), &case).await;
    reply.assert(502, upstream_failure(route));

    // The tenant afterwards: the client that existed still does, with its
    // grant; a create left nothing.
    env.assert_no_client_without_grant(&case);
    let ids: Vec<Value> = env
        .emulator
        .clients()
        .iter()
        .map(|client| client["client_id"].clone())
        .collect();
    let expected: Vec<Value> = existing.into_iter().map(Value::from).collect();
    assert_eq!(ids, expected, "{case}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_auth0_is_answered_within_12_s_on_every_route() {
    let [create, list, get, delete] = Route::ALL;
    tokio::join!(
        hung_auth0(create, true),
        hung_auth0(list, true),
        hung_auth0(get, true),
        hung_auth0(delete, true),
        hung_auth0(create, false),
        hung_auth0(list, false),
        hung_auth0(get, false),
        hung_auth0(delete, false),
    );
}

/// The documented answer of a create whose grant failed.
fn grant_failed() -> Value {
    json!({"code": "CLIENT_GRANT_CREATE_FAILED", "message": "failed to authorize the client for API access"})
}

#[tokio::test]
async fn a_slow_creation_and_a_hung_grant_are_rolled_back_within_12_s() {
    let env = deployed(true).await;
    // Slow, but well within the creation's 4 s.
    let creation = Duration::from_secs(3);
    env.emulator
        .inject(Auth0Route::CreateClient, Fault::Delay(creation));
    env.emulator
        .inject(Auth0Route::CreateGrant, Fault::Delay(HANG));
    let started = Instant::now();
    let reply = timed(&env, Route::CreateClient, "owner-a", None, "hung grant").await;
    reply.assert(502, grant_failed());
    // The grant was sent and waited for as long as an attempt may.
    assert_eq!(env.emulator.count(Auth0Route::CreateGrant), 1);
    let took = started.elapsed();
    assert!(took >= creation + Duration::from_millis(3500), "{took:?}");
    // Then the client was rolled back: nothing is left.
    assert_eq!(env.emulator.count(Auth0Route::DeleteClient), 1);
    assert!(env.emulator.clients().is_empty());
    assert!(env.emulator.grants().is_empty());
}

#[tokio::test]
async fn with_little_time_left_each_step_of_create_keeps_its_share() {
    // An invocation with 7 s left: 6 s to share, about 2.2 s for the
    // creation, as long for the grant and 1.6 s for a rollback.
    let env = TestEnv::with(Options {
        time_budget: Some(Duration::from_secs(7)),
        ..Options::default()
    })
    .await;
    // A creation that takes most of its share must not eat the grant's:
    // the slow grant that follows still fits in its own.
    env.emulator.inject(
        Auth0Route::CreateClient,
        Fault::Delay(Duration::from_millis(1600)),
    );
    env.emulator.inject(
        Auth0Route::CreateGrant,
        Fault::Delay(Duration::from_millis(1800)),
    );
    let created = env.create_ok("owner-a", "Just in time").await;
    assert_eq!(env.emulator.clients().len(), 1);
    assert_eq!(env.emulator.clients()[0]["client_id"], created["client_id"]);
    env.assert_no_client_without_grant("a slow creation and grant");
}
