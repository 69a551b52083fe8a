//! Concurrent requests against a DynamoDB that serves one request at a
//! time (moto single-threaded: on its threaded server, moto's own lack of
//! locking would look like a race of ours). The quota and the idempotency
//! key hold however the requests interleave.

use std::collections::BTreeSet;

pub use futures_like::join_all;
use serde_json::json;

use crate::support::{Options, TestEnv};

/// Awaits every future, all at once.
mod futures_like {
    pub async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
        let handles: Vec<_> = futures.into_iter().map(Box::pin).collect();
        let mut outputs = Vec::with_capacity(handles.len());
        let mut pending: Vec<_> = handles.into_iter().map(Some).collect();
        std::future::poll_fn(|context| {
            let mut done = true;
            for slot in pending.iter_mut() {
                if let Some(future) = slot {
                    match future.as_mut().poll(context) {
                        std::task::Poll::Ready(output) => {
                            outputs.push(output);
                            *slot = None;
                        }
                        std::task::Poll::Pending => done = false,
                    }
                }
            }
            if done {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await;
        outputs
    }
}

async fn env(max_clients: &str) -> TestEnv {
    TestEnv::with(Options {
        env: vec![("MAX_CLIENTS_PER_OWNER", max_clients.into())],
        dynamodb_endpoint: Some(test_support::moto::start_single_threaded_server()),
        ..Options::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_simultaneous_creates_with_a_quota_of_5_make_exactly_5() {
    let env = env("5").await;
    let token = env.token("owner-a");
    let replies = join_all(
        (0..20)
            .map(|n| env.create(&token, json!({"name": format!("racer {n}")})))
            .collect(),
    )
    .await;
    let statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        5,
        "{statuses:?}"
    );
    for reply in replies.iter().filter(|reply| reply.status != 201) {
        assert_eq!(reply.status, 409, "{}", reply.text);
        assert_eq!(reply.json["code"], "CLIENT_LIMIT_REACHED");
    }
    assert_eq!(env.emulator.clients().len(), 5);
    env.assert_index_names_the_tenants_clients("owner-a", "20 racers")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_simultaneous_creates_with_one_key_make_one_client() {
    let env = env("50").await;
    let token = env.token("owner-a");
    let body = json!({"name": "Exactly once"});
    let replies = join_all(
        (0..10)
            .map(|_| env.create_keyed(&token, "one-key", body.clone()))
            .collect(),
    )
    .await;
    let created: BTreeSet<String> = replies
        .iter()
        .filter(|reply| reply.status == 201)
        .map(|reply| reply.json["client_id"].to_string())
        .collect();
    assert_eq!(created.len(), 1, "one client for all the 201s");
    for reply in replies.iter().filter(|reply| reply.status != 201) {
        assert_eq!(reply.status, 409, "{}", reply.text);
        assert_eq!(reply.json["code"], "IDEMPOTENCY_KEY_IN_USE");
    }
    assert_eq!(env.emulator.clients().len(), 1);
    // Once the first is answered, the repeat replays it.
    let after = env.create_keyed(&token, "one-key", body).await;
    assert_eq!(
        after.json["client_id"].to_string(),
        *created.first().unwrap()
    );
    env.assert_index_names_the_tenants_clients("owner-a", "one key")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_changes_of_one_client_leave_auth0_agreeing_with_what_is_shown() {
    use crate::support::Route;
    let env = env("50").await;
    let token = env.token("owner-a");
    let id = env.create_id("owner-a", "Contested").await;
    let routes = [
        Route::DisableClient,
        Route::EnableClient,
        Route::UpdateClient,
    ];
    let replies = join_all(
        (0..12)
            .map(|n| {
                let route = routes[n % routes.len()];
                let body =
                    (route == Route::UpdateClient).then(|| json!({"name": format!("renamed {n}")}));
                env.lifecycle(route, &token, &id, body)
            })
            .collect(),
    )
    .await;
    for reply in &replies {
        assert!(
            reply.status == 200 || reply.json["code"] == "CLIENT_CHANGE_IN_PROGRESS",
            "{} {}",
            reply.status,
            reply.text
        );
    }
    assert!(replies.iter().any(|reply| reply.status == 200));
    // Whoever won, Auth0 says what get shows, and nothing is left under way.
    let shown = env.get(&token, &id).await;
    assert_eq!(env.name_in_auth0(&id), shown.json["name"]);
    assert_eq!(env.granted(&id).is_some(), shown.json["status"] == "active");
    let summary = env.reconcile(false).await;
    assert_eq!(summary.repaired_changes, 0, "{summary:?}");
}
