//! Time (docs/behaviour.md, "Upstream failures"): whatever Auth0 does, a
//! request is answered within 12 s of its start, with the documented error
//! and nothing left behind in the tenant; each Auth0 attempt gets its 4 s,
//! and the steps of create each keep their time. The invocations have a
//! deployed function's deadline (29 s), so the bound is the service's own.

use std::time::Instant;

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
