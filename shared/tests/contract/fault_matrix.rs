//! Every Auth0 call × every way it can fail: each gives docs/behaviour.md's
//! answer within 12 s, and afterwards the tenant holds no client without its
//! grant, no duplicate from a retry, and every client that should remain,
//! and the owner index names exactly the tenant's clients, with nothing
//! left half-done. (List and get make no Auth0 call: they are not rows.)

use std::time::Instant;

use auth0_emulator::{Fault, Route as Auth0Route};
use serde_json::json;

use crate::support::{ANSWER_WITHIN, HANG, LAMBDA_TIMEOUT, Options, RATE_LIMITED, Reply, TestEnv};

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

async fn run_row(call: Call) {
    let [a, b, c, d, e, f, g, h] = FAILURES;
    tokio::join!(
        run_case(call, a),
        run_case(call, b),
        run_case(call, c),
        run_case(call, d),
        run_case(call, e),
        run_case(call, f),
        run_case(call, g),
        run_case(call, h),
    );
}

/// Every row at once: a hung attempt costs a case its 4 s, and the matrix
/// pays for that once rather than once per row. Each row is a task of its
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
}
