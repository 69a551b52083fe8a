//! Concurrent requests against a DynamoDB that serves one request at a
//! time (moto single-threaded: on its threaded server, moto's own lack of
//! locking would look like a race of ours). The quota and the idempotency
//! key hold however the requests interleave.

use std::collections::BTreeSet;

use serde_json::json;

use crate::support::{Options, Reply, TestEnv, join_all};

async fn env(max_clients: &str) -> TestEnv {
    TestEnv::with(Options {
        env: vec![("MAX_CLIENTS_PER_OWNER", max_clients.into())],
        dynamodb_endpoint: Some(test_support::moto::start_single_threaded_server()),
        ..Options::default()
    })
    .await
}

/// `n` requests at once, the `i`-th `request(i)`: their replies, in the
/// order they came.
async fn race<F: Future>(n: usize, request: impl FnMut(usize) -> F) -> Vec<F::Output> {
    join_all((0..n).map(request).collect()).await
}

/// The replies of racing creates that made a client (201s); every other
/// one must be a 409 of `code`.
fn created_or_refused<'a>(replies: &'a [Reply], code: &str) -> Vec<&'a Reply> {
    let (created, refused): (Vec<&Reply>, Vec<&Reply>) =
        replies.iter().partition(|reply| reply.status == 201);
    for reply in refused {
        assert_eq!(reply.status, 409, "{}", reply.text);
        assert_eq!(reply.json["code"], code);
    }
    created
}

/// Auth0 holds `clients` clients, all owner-a's, and the owner index names
/// exactly those.
async fn assert_the_tenant_holds(env: &TestEnv, clients: usize, case: &str) {
    assert_eq!(env.emulator.clients().len(), clients, "{case}");
    env.assert_index_names_the_tenants_clients("owner-a", case)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_simultaneous_creates_with_a_quota_of_5_make_exactly_5() {
    let env = env("5").await;
    let token = env.token("owner-a");
    let replies = race(20, |n| {
        env.create(&token, json!({"name": format!("racer {n}")}))
    })
    .await;
    let statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
    let created = created_or_refused(&replies, "CLIENT_LIMIT_REACHED");
    assert_eq!(created.len(), 5, "{statuses:?}");
    assert_the_tenant_holds(&env, 5, "20 racers").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_simultaneous_creates_with_one_key_make_one_client() {
    let env = env("50").await;
    let token = env.token("owner-a");
    let body = json!({"name": "Exactly once"});
    let replies = race(10, |_| env.create_keyed(&token, "one-key", body.clone())).await;
    let created: BTreeSet<String> = created_or_refused(&replies, "IDEMPOTENCY_KEY_IN_USE")
        .iter()
        .map(|reply| reply.json["client_id"].to_string())
        .collect();
    assert_eq!(created.len(), 1, "one client for all the 201s");
    // Once the first is answered, the repeat replays it: still one client.
    let after = env.create_keyed(&token, "one-key", body).await;
    assert_eq!(
        after.json["client_id"].to_string(),
        *created.first().unwrap()
    );
    assert_the_tenant_holds(&env, 1, "one key").await;
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
    let replies = race(12, |n| {
        let route = routes[n % routes.len()];
        let body = (route == Route::UpdateClient).then(|| json!({"name": format!("renamed {n}")}));
        env.lifecycle(route, &token, &id, body)
    })
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
