//! Time (docs/behaviour.md, "Upstream failures"): whatever Auth0 and
//! Secrets Manager do, a request is answered within 12 s of its start, with
//! the documented error and nothing left behind in the tenant; each Auth0
//! attempt gets its 4 s, and the steps of create each keep their time. The
//! invocations have a deployed function's deadline (29 s), so the bound is
//! the service's own.
//!
//! Every case waits for something that hangs, so they all run at once, in
//! one test: the suite pays for the longest (11 s), not for their sum.

use std::time::{Duration, Instant};

use auth0_emulator::{ClientKey, Fault, Route as Auth0Route};
use serde_json::{Value, json};

use m2m_shared::owner_index::DynamoIndex;

use crate::support::keys::public_key;
use crate::support::{
    ANSWER_WITHIN, HANG, LAMBDA_TIMEOUT, Options, Reply, Route, TestEnv, aws_config_at, logs, moto,
    sample_event, silent_url,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hung_and_slow_upstreams_are_answered_in_time() {
    let mut cases: Vec<tokio::task::JoinHandle<()>> = Vec::new();
    for route in Route::ALL {
        for warm in [true, false] {
            cases.push(tokio::spawn(hung_auth0(route, warm)));
        }
    }
    cases.push(tokio::spawn(a_hung_owner_index()));
    cases.push(tokio::spawn(a_slow_creation_and_a_hung_grant()));
    cases.push(tokio::spawn(little_time_left_for_a_create()));
    cases.push(tokio::spawn(a_hung_secrets_manager()));
    // Each case a task of its own: all of them in one future would
    // overflow the test's stack.
    for case in cases {
        if let Err(failed) = case.await {
            std::panic::resume_unwind(failed.into_panic());
        }
    }
}

/// Every Auth0 call a request can make, the token's included.
const AUTH0_CALLS: [Auth0Route; 11] = [
    Auth0Route::Token,
    Auth0Route::ListCredentials,
    Auth0Route::CreateCredential,
    Auth0Route::DeleteCredential,
    Auth0Route::CreateClient,
    Auth0Route::CreateGrant,
    Auth0Route::DeleteClient,
    Auth0Route::UpdateClient,
    Auth0Route::RotateSecret,
    Auth0Route::ListGrants,
    Auth0Route::DeleteGrant,
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

/// What a failed rotation says: it cannot tell which secret is valid.
const ROTATE_FAILED_MESSAGE: &str = "failed to rotate the client secret: it may or may not have been rotated, so the secret you hold may no longer work; rotate again to get a secret that does";

/// Makes every attempt of the next call to `route` hang (the tenant carries
/// the request out; its answer never comes).
fn hang(env: &TestEnv, route: Auth0Route) {
    env.inject_times(route, Fault::Delay(HANG), 4);
}

/// The documented answer of `route` when Auth0 fails it; `None` for the
/// routes the owner index answers alone, which Auth0 cannot fail.
fn upstream_failure(route: Route) -> Option<Value> {
    match route {
        Route::CreateClient => {
            Some(json!({"code": "CLIENT_CREATE_FAILED", "message": "failed to create the client"}))
        }
        Route::ListClients | Route::GetClient => None,
        Route::DeleteClient => {
            Some(json!({"code": "CLIENT_DELETE_FAILED", "message": "failed to delete the client"}))
        }
        Route::UpdateClient => {
            Some(json!({"code": "CLIENT_UPDATE_FAILED", "message": "failed to update the client"}))
        }
        Route::RotateClientSecret => Some(json!({
            "code": "CLIENT_SECRET_ROTATE_FAILED",
            "message": ROTATE_FAILED_MESSAGE,
        })),
        Route::DisableClient => Some(json!({
            "code": "CLIENT_GRANT_DELETE_FAILED",
            "message": "failed to revoke the client's API access",
        })),
        Route::EnableClient => Some(json!({
            "code": "CLIENT_GRANT_CREATE_FAILED",
            "message": "failed to authorize the client for API access",
        })),
        Route::ListCredentials => None,
        Route::CreateCredential => Some(
            json!({"code": "CREDENTIAL_CREATE_FAILED", "message": "failed to add the credential"}),
        ),
        Route::DeleteCredential => Some(
            json!({"code": "CREDENTIAL_DELETE_FAILED", "message": "failed to remove the credential"}),
        ),
    }
}

/// Sends `route`'s request for `owner` and asserts it was answered within
/// the bound; returns the reply.
async fn timed(env: &TestEnv, route: Route, owner: &str, id: Option<&str>, case: &str) -> Reply {
    let mut event = sample_event(route).bearer(&env.token(owner));
    if let Some(id) = id {
        event = event.id(id);
        // A key client's first credential: the one a removal removes.
        if route == Route::DeleteCredential {
            let listed = env.list_credentials(&env.token(owner), id).await;
            event = event.credential(listed.json[0]["credential_id"].as_str().unwrap());
        }
    }
    let started = Instant::now();
    let reply = env.dispatch(route, &event.text()).await;
    let took = started.elapsed();
    assert!(took < ANSWER_WITHIN, "{case}: answered after {took:?}");
    reply
}

/// `route` on a container whose Auth0 hangs on every call. `warm`: the
/// container has its management token, so the Management API calls hang;
/// otherwise the token request does.
async fn hung_auth0(route: Route, warm: bool) {
    let case = format!("{route:?}, {}", if warm { "warm" } else { "cold" });
    let env = deployed(warm).await;
    let owner = "patient-owner";
    // Every route but create asks for a client that exists (once a token
    // can be had); one to enable is disabled first.
    let existing = match (warm, route) {
        (true, Route::CreateClient) | (false, _) => None,
        // The credentials routes are a key client's; a removal needs two keys.
        (true, Route::ListCredentials | Route::CreateCredential | Route::DeleteCredential) => {
            let created = env.create_with_key(owner, "Existing", ClientKey::A).await;
            let id = created["client_id"].as_str().unwrap().to_owned();
            if route == Route::DeleteCredential {
                let body = public_key(ClientKey::C);
                let added = env.add_credential(&env.token(owner), &id, &body).await;
                assert_eq!(added.status, 201, "{case}: {}", added.text);
            }
            Some(id)
        }
        (true, _) => Some(env.create_id(owner, "Existing").await),
    };
    if let (Route::EnableClient, Some(id)) = (route, &existing) {
        let token = env.token(owner);
        let disabled = env.lifecycle(Route::DisableClient, &token, id, None).await;
        assert_eq!(disabled.status, 200, "{case}: {}", disabled.text);
    }
    for call in AUTH0_CALLS {
        hang(&env, call);
    }

    let reply = timed(&env, route, owner, existing.as_deref(), &case).await;
    match (upstream_failure(route), &existing) {
        (Some(failure), _) if route == Route::CreateClient || existing.is_some() => {
            reply.assert(502, failure)
        }
        // Nothing to delete: the owner index says so without Auth0.
        (Some(_), _) => reply.assert_not_found(),
        // Reads never wait for Auth0.
        (None, Some(_)) => assert_eq!(reply.status, 200, "{case}: {}", reply.text),
        (None, None) if route == Route::ListClients => reply.assert(200, json!([])),
        (None, None) => reply.assert_not_found(),
    }

    // The tenant afterwards: a create left nothing; a hung DELETE was
    // carried out, only its answers lost (the client is no longer shown,
    // and the reconciler finishes the deletion in the index); the client
    // the other routes found is still there, with its grant (a hung
    // disable never got past listing it; a hung enable made it).
    env.assert_no_client_without_grant(&case);
    let expected: Vec<Value> = match route {
        Route::DeleteClient => Vec::new(),
        _ => existing.into_iter().map(Value::from).collect(),
    };
    assert_eq!(env.client_ids(), expected, "{case}");
}

/// An owner index (DynamoDB) that takes connections and never answers:
/// every route gets the documented 500 in time, and nothing is asked of
/// Auth0 that the index could not record. (Every route's first table call
/// is a read, delete's too: it reads the client before counting the
/// owner's write, so no write whose outcome is unknown is made.)
async fn a_hung_owner_index() {
    let env = deployed(true).await;
    let app = env.container_with_index(DynamoIndex::from_config(
        "m2m-clients",
        &aws_config_at(&silent_url().await),
    ));
    app.warm_up().await;
    for route in Route::ALL {
        let request = sample_event(route).bearer(&env.token("owner-a")).request();
        let started = Instant::now();
        let reply = Reply::from_response(m2m_shared::api::handle(&app, route, request).await);
        let took = started.elapsed();
        assert!(
            took < ANSWER_WITHIN,
            "{route:?} with a hung table: {took:?}"
        );
        reply.assert_internal_error();
    }
    assert_eq!(env.emulator.count(Auth0Route::CreateClient), 0);
}

/// The documented answer of a create whose grant failed.
fn grant_failed() -> Value {
    json!({"code": "CLIENT_GRANT_CREATE_FAILED", "message": "failed to authorize the client for API access"})
}

/// A creation that is slow but succeeds leaves the grant its attempt, and
/// the rollback of the client its time when the grant hangs.
async fn a_slow_creation_and_a_hung_grant() {
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
    assert!(env.client_ids().is_empty());
    assert!(env.emulator.grants().is_empty());
}

/// With little time left, each step of create keeps its share of it.
async fn little_time_left_for_a_create() {
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
    assert_eq!(env.client_ids(), [created["client_id"].clone()]);
    env.assert_no_client_without_grant("a slow creation and grant");
}

/// A Secrets Manager that takes connections and never answers, at a
/// container's start and on its requests: the documented 500 in time, the
/// cause in the log. Without a bound of its own the read would hang, so the
/// case fails at 30 s rather than wait for ever.
async fn a_hung_secrets_manager() {
    let env = TestEnv::new().await;
    // The containers must mint a token: with the shared one valid, none
    // would read the secret.
    env.forget_shared_token().await;
    let hung = silent_url().await;
    let secret_id = "m2m/hung-secret";
    let container = || {
        env.container_reading_the_secret_through(
            moto::client_at(&hung, "testing", "testing"),
            secret_id,
        )
    };
    let checks = async {
        tokio::join!(
            // A container that warms up before its first request
            // (provisioned concurrency).
            async {
                let app = container();
                let started = Instant::now();
                app.warm_up().await;
                let warmed_up = started.elapsed();
                assert!(warmed_up < ANSWER_WITHIN, "start-up took {warmed_up:?}");
                let started = Instant::now();
                env.create_through(&app).await.assert_internal_error();
                let answered = started.elapsed();
                assert!(answered < ANSWER_WITHIN, "answered after {answered:?}");
            },
            // A request that arrives while its container warms up (on
            // demand): it waits for the warm-up's read, then makes its own.
            async {
                let app = container();
                let started = Instant::now();
                app.serve(Route::CreateClient, env.create_through(&app))
                    .await
                    .assert_internal_error();
                let answered = started.elapsed();
                assert!(answered < ANSWER_WITHIN, "answered after {answered:?}");
            },
        )
    };
    tokio::time::timeout(Duration::from_secs(30), checks)
        .await
        .expect("a hung Secrets Manager hung the service");
    assert!(
        logs::text()
            .contains("cannot read secret m2m/hung-secret: Secrets Manager did not answer in time"),
        "the log names the problem"
    );
}
