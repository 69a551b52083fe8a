//! Upstream economy: the Auth0 calls each operation costs, the management
//! tokens and JWKS fetches a container makes, and the connections its
//! calls travel on.

use std::collections::BTreeSet;
use std::time::Duration;

use auth0_emulator::{Fault, Route as Auth0Route};
use serde_json::json;

use crate::support::{Options, Route, TestEnv};

/// What a container has fetched from Auth0 so far.
#[derive(Debug, PartialEq, Eq)]
struct Fetches {
    /// Management API tokens requested.
    tokens: usize,
    /// JWKS documents fetched.
    jwks: usize,
}

fn fetches(env: &TestEnv) -> Fetches {
    Fetches {
        tokens: env.emulator.count(Auth0Route::Token),
        jwks: env.emulator.jwks_fetches(),
    }
}

/// owner-a's create, served as a function's main serves its first request:
/// while the container's warm-up is still on its way.
async fn create_during_the_warm_up(env: &TestEnv, name: &str) {
    let token = env.token("owner-a");
    let create = env.create(&token, json!({"name": name}));
    let reply = env.app.serve(Route::CreateClient, create).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
}

/// The calls made since `before` calls had been made.
fn calls_since(env: &TestEnv, before: usize) -> Vec<Auth0Route> {
    env.management_calls().split_off(before)
}

#[tokio::test]
async fn create_2_get_0_list_0_delete_1_auth0_calls() {
    let env = TestEnv::new().await;
    let token = env.token("owner-a");

    let before = env.management_calls().len();
    let created = env.create_ok("owner-a", "Counted").await;
    assert_eq!(
        calls_since(&env, before),
        [Auth0Route::CreateClient, Auth0Route::CreateGrant]
    );
    let id = created["client_id"].as_str().unwrap();

    let before = env.management_calls().len();
    assert_eq!(env.get(&token, id).await.status, 200);
    assert_eq!(env.list(&token).await.status, 200);
    assert!(
        calls_since(&env, before).is_empty(),
        "the owner index answers"
    );

    let before = env.management_calls().len();
    assert_eq!(env.delete(&token, id).await.status, 204);
    assert_eq!(calls_since(&env, before), [Auth0Route::DeleteClient]);

    // Refusals cost nothing upstream: no token, a bad body, an impossible id.
    let before = env.management_calls().len();
    env.send(Route::ListClients, None, None, None).await;
    assert_eq!(
        env.create(&token, json!({"description": "no name"}))
            .await
            .status,
        400
    );
    assert_eq!(env.get(&token, "not/possible").await.status, 404);
    assert!(calls_since(&env, before).is_empty());
}

#[tokio::test]
async fn list_costs_no_auth0_call_however_large_the_tenant() {
    let env = TestEnv::new().await;
    for n in 0..300 {
        env.emulator.seed_client(json!({
            "name": format!("someone's {n}"),
            "app_type": "non_interactive",
            "client_metadata": {"owner_client_id": "owner-b"}
        }));
    }
    env.legacy_client("owner-a", "mine").await;
    let reply = env.list(&env.token("owner-a")).await;
    assert_eq!(reply.json.as_array().unwrap().len(), 1, "{}", reply.text);
    assert_eq!(env.emulator.count(Auth0Route::ListClients), 0);
}

/// `rounds` times: owner-a creates a client, gets it, lists, deletes it.
async fn create_get_list_delete(env: &TestEnv, rounds: usize) {
    let token = env.token("owner-a");
    for n in 0..rounds {
        let id = env.create_id("owner-a", &format!("client {n}")).await;
        assert_eq!(env.get(&token, &id).await.status, 200);
        assert_eq!(env.list(&token).await.status, 200);
        assert_eq!(env.delete(&token, &id).await.status, 204);
    }
}

#[tokio::test]
async fn a_container_fetches_one_management_token_and_one_jwks() {
    let env = TestEnv::new().await;
    create_get_list_delete(&env, 5).await;
    assert_eq!(fetches(&env), Fetches { tokens: 1, jwks: 1 });
}

#[tokio::test]
async fn a_container_has_its_token_and_keys_before_its_first_request() {
    let env = TestEnv::new().await;
    assert_eq!(fetches(&env), Fetches { tokens: 1, jwks: 1 });
    assert!(env.management_calls().is_empty());

    // The first request then costs its own Auth0 calls and nothing more.
    let before = env.emulator.requests().len();
    env.create_ok("owner-a", "First").await;
    let since: Vec<Auth0Route> = env.emulator.requests()[before..]
        .iter()
        .map(|r| r.route)
        .collect();
    assert_eq!(since, [Auth0Route::CreateClient, Auth0Route::CreateGrant]);
}

#[tokio::test]
async fn a_request_during_the_warm_up_waits_for_it_instead_of_fetching_again() {
    let env = TestEnv::without_warm_up().await;
    // The first request needs the management token too.
    create_during_the_warm_up(&env, "Early").await;
    assert_eq!(fetches(&env), Fetches { tokens: 1, jwks: 1 });
}

#[tokio::test]
async fn a_read_functions_start_fetches_no_management_token() {
    // List and get read the owner index alone: their containers spend none
    // of the tenant's Management API tokens, and never read the secret.
    for route in [Route::ListClients, Route::GetClient] {
        let env = TestEnv::without_warm_up().await;
        let token = env.token("owner-a");
        let reply = env.app.serve(route, env.list(&token)).await;
        assert_eq!(reply.status, 200, "{route:?}: {}", reply.text);
        assert_eq!(fetches(&env), Fetches { tokens: 0, jwks: 1 }, "{route:?}");
        assert!(env.management_calls().is_empty(), "{route:?}");
    }
}

#[tokio::test]
async fn a_request_behind_a_failed_warm_up_fetches_for_itself() {
    let env = TestEnv::without_warm_up().await;
    env.emulator.inject(Auth0Route::Jwks, Fault::Status(503));
    // Three: the warm-up's token request and its two retries.
    for _ in 0..3 {
        env.emulator.inject(Auth0Route::Token, Fault::Status(503));
    }
    // The warm-up's JWKS fetch and token request both fail; the request
    // that waited for them is not refused for it: it fetches both itself.
    create_during_the_warm_up(&env, "Behind").await;
    assert_eq!(fetches(&env), Fetches { tokens: 4, jwks: 2 });
}

#[tokio::test]
async fn a_management_token_is_replaced_only_when_it_is_about_to_expire() {
    // Replaced 60 s before it expires: a 61 s token is good for 1 s.
    let mut options = Options::default();
    options.emulator.management_token_lifetime = Duration::from_secs(61);
    let env = TestEnv::with(options).await;
    for n in 0..3 {
        env.create_ok("owner-a", &format!("early {n}")).await;
    }
    assert_eq!(env.emulator.count(Auth0Route::Token), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for n in 0..3 {
        env.create_ok("owner-a", &format!("late {n}")).await;
    }
    assert_eq!(fetches(&env), Fetches { tokens: 2, jwks: 1 });
}

/// The client-side ports of every TCP connection to `port` on 127.0.0.1
/// that is open or closed within the last minute (TIME_WAIT), from the
/// kernel's table.
#[cfg(target_os = "linux")]
fn connections_to(port: u16) -> BTreeSet<u16> {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let endpoint = |field: &str| -> Option<u16> {
        let (_, port) = field.split_once(':')?;
        u16::from_str_radix(port, 16).ok()
    };
    let mut clients = BTreeSet::new();
    for line in table.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(remote), Some(state)) = (
            fields.get(1).and_then(|f| endpoint(f)),
            fields.get(2).and_then(|f| endpoint(f)),
            fields.get(3),
        ) else {
            continue;
        };
        const LISTEN: &str = "0A";
        if remote == port {
            clients.insert(local);
        } else if local == port && *state != LISTEN {
            clients.insert(remote);
        }
    }
    clients
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn auth0_calls_reuse_the_pooled_connections_of_the_start_up() {
    let env = TestEnv::new().await;
    let port: u16 = env
        .emulator
        .base_url()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap();
    // The JWKS and the management token were fetched at start-up,
    // concurrently, on the client the Auth0 calls use.
    let before = connections_to(port);
    create_get_list_delete(&env, 10).await;
    let after = connections_to(port);
    // 30 Management API calls, all on the connections the start-up opened.
    assert_eq!(env.emulator.count(Auth0Route::Token), 1);
    assert_eq!(env.management_calls().len(), 30);
    let opened: Vec<_> = after.difference(&before).collect();
    assert!(
        opened.is_empty(),
        "new connections to Auth0 from ports {opened:?}"
    );
    // One per concurrent start-up fetch at most.
    assert!(
        (1..=2).contains(&after.len()),
        "connections to Auth0: {after:?}"
    );
}

#[tokio::test]
async fn table_calls_per_operation() {
    let env = TestEnv::new().await;
    let token = env.token("owner-a");
    let calls = &env.table_calls;
    let tables = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();

    // Every write is first counted against OWNER_WRITES_PER_MINUTE (the
    // owner's first one opens its window: two updates). A container's
    // first create reads the cursor key (and the very first one of a
    // deployment makes it); then: the creation begun and finished.
    let before = calls.all().len();
    let id = env.create_id("owner-a", "First").await;
    assert_eq!(
        calls.since(before),
        tables(&[
            "UpdateItem",
            "UpdateItem",
            "GetItem",
            "PutItem",
            "TransactWriteItems",
            "TransactWriteItems"
        ])
    );
    let before = calls.all().len();
    env.create_id("owner-a", "Second").await;
    assert_eq!(
        calls.since(before),
        tables(&["UpdateItem", "TransactWriteItems", "TransactWriteItems"])
    );
    // With an idempotency key, its record is read first.
    let before = calls.all().len();
    let keyed = env
        .create_keyed(&token, "counted", json!({"name": "Keyed"}))
        .await;
    assert_eq!(keyed.status, 201);
    assert_eq!(
        calls.since(before),
        tables(&[
            "GetItem",
            "UpdateItem",
            "TransactWriteItems",
            "TransactWriteItems"
        ])
    );

    let before = calls.all().len();
    assert_eq!(env.get(&token, &id).await.status, 200);
    assert_eq!(calls.since(before), tables(&["GetItem"]));
    let before = calls.all().len();
    assert_eq!(env.list(&token).await.status, 200);
    assert_eq!(calls.since(before), tables(&["Query"]));
    let before = calls.all().len();
    assert_eq!(env.delete(&token, &id).await.status, 204);
    assert_eq!(
        calls.since(before),
        tables(&["GetItem", "UpdateItem", "UpdateItem", "TransactWriteItems"])
    );
    // Refusals cost nothing: no token, a bad body, an impossible id.
    let before = calls.all().len();
    env.send(Route::ListClients, None, None, None).await;
    env.create(&token, json!({"description": "no name"})).await;
    env.get(&token, "not/possible").await;
    assert!(calls.since(before).is_empty());
}

#[tokio::test]
async fn the_lifecycle_routes_cost_one_auth0_call_each_and_disable_two() {
    let env = TestEnv::new().await;
    let token = env.token("owner-a");
    let id = env.create_id("owner-a", "Counted").await;
    let table = &env.table_calls;
    let tables = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    // A change: the item read, the owner's write counted, the change
    // begun, then ended.
    let change = tables(&["GetItem", "UpdateItem", "UpdateItem", "UpdateItem"]);
    for (route, body, auth0, items) in [
        (
            Route::UpdateClient,
            Some(json!({"name": "Renamed"})),
            vec![Auth0Route::UpdateClient],
            change.clone(),
        ),
        (
            Route::RotateClientSecret,
            None,
            vec![Auth0Route::RotateSecret],
            tables(&["GetItem", "UpdateItem"]),
        ),
        (
            Route::DisableClient,
            None,
            vec![Auth0Route::ListGrants, Auth0Route::DeleteGrant],
            change.clone(),
        ),
        // Already disabled: answered from the index alone.
        (Route::DisableClient, None, vec![], tables(&["GetItem"])),
        (
            Route::EnableClient,
            None,
            vec![Auth0Route::CreateGrant],
            change.clone(),
        ),
    ] {
        let (before, before_table) = (env.management_calls().len(), table.all().len());
        let reply = env.lifecycle(route, &token, &id, body).await;
        assert_eq!(reply.status, 200, "{route:?}: {}", reply.text);
        assert_eq!(calls_since(&env, before), auth0, "{route:?}");
        assert_eq!(table.since(before_table), items, "{route:?}");
    }
}
