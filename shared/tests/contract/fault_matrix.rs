//! Every Auth0 call × every way it can fail: each gives docs/behaviour.md's
//! answer within 12 s, and afterwards the tenant holds no client without its
//! grant, no duplicate from a retry, and every client that should remain,
//! and the owner index names exactly the tenant's clients, with nothing
//! left half-done. (List and get make no Auth0 call: they are not rows.)

use std::time::Instant;

use auth0_emulator::{Fault, Route as Auth0Route};
use serde_json::json;

use crate::support::{
    ANSWER_WITHIN, HANG, LAMBDA_TIMEOUT, Options, RATE_LIMITED, Reply, Route, TestEnv, join_all,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    Token,
    CreateClient,
    CreateGrant,
    Delete,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Failure {
    RateLimitedOnce,
    RateLimitedPersistently,
    Error500,
    Error503,
    Timeout,
    DroppedConnection,
    MalformedJson,
    ExpiredManagementToken,
}

const FAILURES: [Failure; 8] = [
    Failure::RateLimitedOnce,
    Failure::RateLimitedPersistently,
    Failure::Error500,
    Failure::Error503,
    Failure::Timeout,
    Failure::DroppedConnection,
    Failure::MalformedJson,
    Failure::ExpiredManagementToken,
];

/// What the caller must see.
#[derive(Clone, Debug, PartialEq)]
enum Expect {
    Success,
    Failed {
        status: u16,
        code: Option<&'static str>,
    },
}

fn expected(call: Call, failure: Failure) -> Expect {
    use Expect::*;
    use Failure::*;
    let code = match call {
        Call::Token | Call::CreateClient => Some("CLIENT_CREATE_FAILED"),
        Call::CreateGrant => Some("CLIENT_GRANT_CREATE_FAILED"),
        Call::Delete => Some("CLIENT_DELETE_FAILED"),
    };
    let posts = matches!(call, Call::CreateClient | Call::CreateGrant);
    match failure {
        RateLimitedOnce | ExpiredManagementToken => Success,
        // The create (the token's request here) gets the creation's step, 4
        // s: a hung attempt leaves no time to retry.
        Timeout if call == Call::Token => Failed { status: 502, code },
        RateLimitedPersistently => Failed { status: 503, code },
        // Retried where safe; POSTs are never blindly retried.
        Error500 | Error503 | Timeout | DroppedConnection if posts => Failed { status: 502, code },
        Error500 | Error503 | Timeout | DroppedConnection => Success,
        MalformedJson => match call {
            // Only the status of these answers matters: the work was done.
            Call::CreateGrant | Call::Delete => Success,
            _ => Failed { status: 502, code },
        },
    }
}

fn faults(failure: Failure) -> Vec<Fault> {
    match failure {
        Failure::RateLimitedOnce => vec![RATE_LIMITED],
        Failure::RateLimitedPersistently => vec![RATE_LIMITED; 3],
        Failure::Error500 => vec![Fault::Status(500)],
        Failure::Error503 => vec![Fault::Status(503)],
        // One attempt hangs: longer than its timeout.
        Failure::Timeout => vec![Fault::Delay(HANG)],
        Failure::DroppedConnection => vec![Fault::DropConnection],
        Failure::MalformedJson => vec![Fault::MalformedJson],
        Failure::ExpiredManagementToken => vec![Fault::ExpireManagementTokens],
    }
}

fn route_of(call: Call) -> Auth0Route {
    match call {
        Call::Token => Auth0Route::Token,
        Call::CreateClient => Auth0Route::CreateClient,
        Call::CreateGrant => Auth0Route::CreateGrant,
        Call::Delete => Auth0Route::DeleteClient,
    }
}

async fn run_case(call: Call, failure: Failure) {
    let case = format!("{call:?} × {failure:?}");
    let env = TestEnv::with(Options {
        time_budget: Some(LAMBDA_TIMEOUT),
        // The token is fetched by the request under test.
        warm_up: call != Call::Token,
        // The token endpoint's failures, each on its own: with a token per
        // container, the request's only calls before Auth0's are the
        // secret's. The shared token's reads and lease before the token
        // request (three table calls, milliseconds on DynamoDB) would here
        // go to moto, which the whole suite keeps busy, and spend the
        // create step's 4 s on it; shared_token.rs tests that cache.
        env: if call == Call::Token {
            vec![("MANAGEMENT_TOKEN_CACHE", "container".to_owned())]
        } else {
            Vec::new()
        },
        ..Options::default()
    })
    .await;
    let owner = "matrix-owner";
    let token = env.token(owner);

    // Set the scene: an existing client to delete.
    let existing = match call {
        Call::Delete => Some(env.create_id(owner, "Existing").await),
        _ => None,
    };
    let before = env.created_clients();
    if failure == Failure::ExpiredManagementToken && call == Call::Token {
        // The token endpoint has no token of its own to expire.
        return;
    }
    for fault in faults(failure) {
        env.emulator.inject(route_of(call), fault);
    }

    let started = Instant::now();
    let reply: Reply = match call {
        Call::Token | Call::CreateClient | Call::CreateGrant => {
            env.create(&token, json!({"name": "Matrix"})).await
        }
        Call::Delete => env.delete(&token, existing.as_deref().unwrap()).await,
    };
    assert!(
        started.elapsed() < ANSWER_WITHIN,
        "{case}: took {:?}, past the answer's bound",
        started.elapsed()
    );

    match expected(call, failure) {
        Expect::Success => assert!(
            (200..300).contains(&reply.status),
            "{case}: expected success, got {} {}",
            reply.status,
            reply.text
        ),
        Expect::Failed { status, code } => {
            assert_eq!(reply.status, status, "{case}: {}", reply.text);
            assert_eq!(
                reply.header("content-type"),
                Some("application/json"),
                "{case}"
            );
            assert_eq!(reply.json["code"].as_str(), code, "{case}: {}", reply.text);
            assert!(reply.json["message"].is_string(), "{case}");
            assert_eq!(
                reply.header("retry-after").is_some(),
                status == 503,
                "{case}: Retry-After on 503 only"
            );
        }
    }

    // The tenant afterwards.
    env.assert_no_client_without_grant(&case);
    let after = env.created_clients();
    let succeeded = (200..300).contains(&reply.status);
    let expected_count = match call {
        Call::Token | Call::CreateClient | Call::CreateGrant => {
            before.len() + usize::from(succeeded)
        }
        Call::Delete => before.len() - usize::from(succeeded),
    };
    assert_eq!(after.len(), expected_count, "{case}: clients {after:?}");
    env.assert_index_names_the_tenants_clients(owner, &case)
        .await;
}

/// One call × every failure, at once.
async fn run_row(call: Call) {
    join_all(FAILURES.map(|failure| run_case(call, failure)).into()).await;
}

/// Every row of create and delete at once: a hung attempt costs a case its
/// 4 s, and the matrix pays for that once rather than once per row. Each row is a task of its
/// own (all of them in one future would overflow the test's stack).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_auth0_call_and_every_failure() {
    let rows = [
        Call::Token,
        Call::CreateClient,
        Call::CreateGrant,
        Call::Delete,
    ]
    .map(|call| tokio::spawn(run_row(call)));
    for row in rows {
        if let Err(failed) = row.await {
            std::panic::resume_unwind(failed.into_panic());
        }
    }
    // Then the lifecycle routes' calls, a row at a time: after the rows
    // above rather than alongside, so that no more environments run at
    // once than those rows' (timing is what this matrix checks).
    for call in LifecycleCall::ALL {
        if let Err(failed) = tokio::spawn(run_lifecycle_row(call)).await {
            std::panic::resume_unwind(failed.into_panic());
        }
    }
}

/// An Auth0 call of a lifecycle route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LifecycleCall {
    /// `PATCH /api/v2/clients/{id}`, of an update.
    Update,
    /// `POST /api/v2/clients/{id}/rotate-secret`.
    Rotate,
    /// `GET /api/v2/client-grants`, of a disable.
    ListGrants,
    /// `DELETE /api/v2/client-grants/{id}`, of a disable.
    DeleteGrant,
    /// `POST /api/v2/client-grants`, of an enable.
    EnableGrant,
}

impl LifecycleCall {
    const ALL: [LifecycleCall; 5] = [
        LifecycleCall::Update,
        LifecycleCall::Rotate,
        LifecycleCall::ListGrants,
        LifecycleCall::DeleteGrant,
        LifecycleCall::EnableGrant,
    ];

    fn route(self) -> Route {
        match self {
            LifecycleCall::Update => Route::UpdateClient,
            LifecycleCall::Rotate => Route::RotateClientSecret,
            LifecycleCall::ListGrants | LifecycleCall::DeleteGrant => Route::DisableClient,
            LifecycleCall::EnableGrant => Route::EnableClient,
        }
    }

    fn auth0_route(self) -> Auth0Route {
        match self {
            LifecycleCall::Update => Auth0Route::UpdateClient,
            LifecycleCall::Rotate => Auth0Route::RotateSecret,
            LifecycleCall::ListGrants => Auth0Route::ListGrants,
            LifecycleCall::DeleteGrant => Auth0Route::DeleteGrant,
            LifecycleCall::EnableGrant => Auth0Route::CreateGrant,
        }
    }

    fn expected(self, failure: Failure) -> Expect {
        use Expect::*;
        use Failure::*;
        let code = Some(match self.route() {
            Route::UpdateClient => "CLIENT_UPDATE_FAILED",
            Route::RotateClientSecret => "CLIENT_SECRET_ROTATE_FAILED",
            Route::DisableClient => "CLIENT_GRANT_DELETE_FAILED",
            _ => "CLIENT_GRANT_CREATE_FAILED",
        });
        // POSTs are never blindly retried; PATCH, GET and DELETE are.
        let posts = matches!(self, LifecycleCall::Rotate | LifecycleCall::EnableGrant);
        match failure {
            RateLimitedOnce | ExpiredManagementToken => Success,
            RateLimitedPersistently => Failed { status: 503, code },
            Error500 | Error503 | Timeout | DroppedConnection if posts => {
                Failed { status: 502, code }
            }
            Error500 | Error503 | Timeout | DroppedConnection => Success,
            MalformedJson => match self {
                // Answers whose body we read: the new secret, the grants.
                LifecycleCall::Rotate | LifecycleCall::ListGrants => Failed { status: 502, code },
                // Only the status matters.
                _ => Success,
            },
        }
    }
}

/// One lifecycle call failing one way: the documented answer in time, and
/// afterwards (once the reconciler has run, as it does every few minutes)
/// Auth0 and what get shows agree, on the new values if the caller was
/// told it succeeded and on the old ones otherwise.
async fn run_lifecycle_case(call: LifecycleCall, failure: Failure) {
    let case = format!("{call:?} × {failure:?}");
    let env = TestEnv::with(Options {
        time_budget: Some(LAMBDA_TIMEOUT),
        ..Options::default()
    })
    .await;
    let owner = "matrix-owner";
    let token = env.token(owner);
    let client = env.create_ok(owner, "Original").await;
    let id = client["client_id"].as_str().unwrap();
    let old_secret = client["client_secret"].as_str().unwrap();
    if call == LifecycleCall::EnableGrant {
        let disabled = env.lifecycle(Route::DisableClient, &token, id, None).await;
        assert_eq!(disabled.status, 200, "{case}: {}", disabled.text);
    }
    for fault in faults(failure) {
        env.emulator.inject(call.auth0_route(), fault);
    }

    let body = (call == LifecycleCall::Update).then(|| json!({"name": "Renamed"}));
    let started = Instant::now();
    let reply = env.lifecycle(call.route(), &token, id, body).await;
    assert!(
        started.elapsed() < ANSWER_WITHIN,
        "{case}: took {:?}, past the answer's bound",
        started.elapsed()
    );
    let succeeded = match call.expected(failure) {
        Expect::Success => {
            assert_eq!(reply.status, 200, "{case}: {}", reply.text);
            true
        }
        Expect::Failed { status, code } => {
            assert_eq!(reply.status, status, "{case}: {}", reply.text);
            assert_eq!(reply.json["code"].as_str(), code, "{case}: {}", reply.text);
            assert_eq!(
                reply.header("retry-after").is_some(),
                status == 503,
                "{case}: Retry-After on 503 only"
            );
            false
        }
    };

    env.reconcile(false).await;
    let shown = env.get(&token, id).await;
    assert_eq!(shown.status, 200, "{case}: {}", shown.text);
    assert_eq!(env.name_in_auth0(id), shown.json["name"], "{case}: names");
    assert_eq!(
        env.granted(id).is_some(),
        shown.json["status"] == "active",
        "{case}: the grant and the status"
    );
    let (name, status) = match (call.route(), succeeded) {
        (Route::UpdateClient, true) => ("Renamed", "active"),
        (Route::DisableClient, true) | (Route::EnableClient, false) => ("Original", "disabled"),
        _ => ("Original", "active"),
    };
    assert_eq!(
        (&shown.json["name"], &shown.json["status"]),
        (&json!(name), &json!(status)),
        "{case}: what the caller was told"
    );
    if call == LifecycleCall::Rotate {
        let new_secret = reply.json["client_secret"].as_str();
        let old_works = env.client_token(id, old_secret).await.0 == 200;
        match (succeeded, reply.status) {
            (true, _) => {
                assert!(!old_works, "{case}: the old secret still works");
                assert_eq!(
                    env.client_token(id, new_secret.unwrap()).await.0,
                    200,
                    "{case}"
                );
            }
            // Not processed: the old secret stands.
            (false, 503) => assert!(old_works, "{case}"),
            // Either may be valid: the answer claims neither.
            (false, _) => assert!(
                reply.json["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("rotate again")),
                "{case}: {}",
                reply.text
            ),
        }
    }
    env.assert_index_names_the_tenants_clients(owner, &case)
        .await;
}

/// One lifecycle call × every failure, at once.
async fn run_lifecycle_row(call: LifecycleCall) {
    join_all(
        FAILURES
            .map(|failure| run_lifecycle_case(call, failure))
            .into(),
    )
    .await;
}
