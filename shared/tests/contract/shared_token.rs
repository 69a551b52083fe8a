//! The deployment's shared Management API token (docs/owner-index.md, "The
//! shared management token"): many containers of one deployment, sharing
//! its table and its Auth0 tenant, spend one token between them; a token
//! Auth0 rejects is replaced once; a table that fails costs each container
//! its own token, and says so in a metric; `MANAGEMENT_TOKEN_CACHE=container`
//! is the per-container behaviour of before.

use std::sync::Arc;
use std::time::Duration;

use auth0_emulator::{Fault, Route as Auth0Route};
use m2m_shared::auth0::ManagementApi;
use m2m_shared::config::TokenCache;
use m2m_shared::domain::{ClientDirectory, TokenStore};
use m2m_shared::owner_index::DynamoTokenStore;
use m2m_shared::secrets_manager::SecretsManagerSource;
use test_support::setup::{config_from, service_env};
use tokio::time::Instant;

use crate::support::{Options, TestEnv, aws_config_at, closed_url, join_all, logs, moto};

/// Containers started at once in the tests below.
const CONTAINERS: usize = 12;

/// An environment whose table is served one request at a time (moto
/// single-threaded: its threaded server applies conditional writes without
/// a lock), not warmed up: the containers of the test start it.
async fn cold_deployment() -> TestEnv {
    TestEnv::with(Options {
        dynamodb_endpoint: Some(moto::start_single_threaded_server()),
        warm_up: false,
        ..Options::default()
    })
    .await
}

/// [`CONTAINERS`] fresh containers of `env`, configured as deployed.
fn containers_of(env: &TestEnv) -> Vec<m2m_shared::App> {
    (0..CONTAINERS)
        .map(|_| env.container_configured(|_| {}))
        .collect()
}

/// How many `SharedTokenFallbacks` documents of `reason` were written so far
/// (by any test of this process).
fn fallbacks(reason: &str) -> usize {
    logs::lines()
        .iter()
        .filter(|line| line.get("SharedTokenFallbacks").is_some() && line["Reason"] == reason)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_started_at_once_fetch_one_token_between_them() {
    let env = cold_deployment().await;
    let containers = containers_of(&env);
    // Each as a function's main: its warm-up beside its first request.
    let replies = join_all(
        containers
            .iter()
            .map(|app| app.serve(m2m_shared::Route::CreateClient, env.create_through(app)))
            .collect(),
    )
    .await;
    for reply in &replies {
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    assert_eq!(env.emulator.count(Auth0Route::Token), 1);
    assert!(
        env.shared_token_item().await.is_some_and(|item| {
            item.contains_key("token") && !item.contains_key("lease_until")
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_shared_token_is_replaced_once_not_by_every_container() {
    let env = cold_deployment().await;
    let containers = containers_of(&env);
    join_all(containers.iter().map(|app| app.warm_up()).collect()).await;
    assert_eq!(env.emulator.count(Auth0Route::Token), 1);

    // Auth0 stops accepting it (the first create that reaches it expires
    // every token issued so far): every container's next call gets a 401.
    env.emulator
        .inject(Auth0Route::CreateClient, Fault::ExpireManagementTokens);
    let replies = join_all(
        containers
            .iter()
            .map(|app| env.create_through(app))
            .collect(),
    )
    .await;
    for reply in &replies {
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    assert_eq!(env.emulator.count(Auth0Route::Token), 2, "replaced once");
}

/// A token store whose table cannot be used: missing, or behind a closed
/// port.
async fn broken_stores(env: &TestEnv) -> Vec<(&'static str, Arc<dyn TokenStore>)> {
    vec![
        (
            "a missing table",
            Arc::new(DynamoTokenStore::new(env.dynamodb.clone(), "no-such-table")),
        ),
        (
            "a closed port",
            Arc::new(DynamoTokenStore::new(
                aws_sdk_dynamodb::Client::new(&aws_config_at(&closed_url())),
                "m2m-clients",
            )),
        ),
    ]
}

#[tokio::test]
async fn an_unreachable_table_falls_back_to_a_token_of_the_containers_own() {
    let env = TestEnv::without_warm_up().await;
    let config = config_from(&service_env(&env.emulator, &env.secret_id, &env.table));
    let before = fallbacks("table_error");
    let mut containers = 0;
    for (case, store) in broken_stores(&env).await {
        for _ in 0..2 {
            containers += 1;
            let directory = ManagementApi::new(
                m2m_shared::http::client().unwrap(),
                config.auth0_base_url.clone(),
                config.management_audience(),
                SecretsManagerSource::new(env.secrets.clone(), &env.secret_id),
                config.custom_client_ids,
                Some(store.clone()),
            );
            let started = Instant::now();
            // Two calls: the token fetched once, then kept in memory.
            for _ in 0..2 {
                let deadline = Instant::now() + Duration::from_secs(10);
                let page = directory.list_page(None, deadline).await;
                assert!(page.is_ok(), "{case}: {page:?}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "{case}: {:?}",
                started.elapsed()
            );
            assert_eq!(env.emulator.count(Auth0Route::Token), containers, "{case}");
        }
    }
    assert!(
        fallbacks("table_error") >= before + containers,
        "one SharedTokenFallbacks per container that fell back"
    );
    assert!(
        logs::text().contains("the shared Management API token is unavailable"),
        "a warning says so"
    );
}

#[tokio::test]
async fn management_token_cache_container_keeps_a_token_per_container() {
    let env = TestEnv::without_warm_up().await;
    let containers: Vec<_> = (0..3)
        .map(|_| {
            env.container_configured(|config| {
                config.management_token_cache = TokenCache::Container;
            })
        })
        .collect();
    for app in &containers {
        app.warm_up().await;
        assert_eq!(env.create_through(app).await.status, 201);
        assert_eq!(env.create_through(app).await.status, 201);
    }
    assert_eq!(env.emulator.count(Auth0Route::Token), 3);
    assert!(
        env.shared_token_item().await.is_none(),
        "the table has no token"
    );
}

#[tokio::test]
async fn a_container_start_with_a_valid_shared_token_reads_no_secret_and_fetches_no_token() {
    let env = TestEnv::new().await;
    // A deployment's usual state: a create has made the list cursors' key.
    env.create_ok("owner-a", "First").await;
    assert_eq!(env.emulator.count(Auth0Route::Token), 1);
    // Its Secrets Manager is unreachable: a read would fail its create.
    let app = env.container_reading_the_secret_through(
        moto::client_at(&closed_url(), "testing", "testing"),
        &env.secret_id,
    );
    let before = env.table_calls.all().len();
    app.warm_up().await;
    // Its start read the token item and the list cursors' key, once each,
    // side by side, and nothing else.
    assert_eq!(env.table_calls.since(before), ["GetItem", "GetItem"]);
    let before = env.table_calls.all().len();
    assert_eq!(env.create_through(&app).await.status, 201);
    assert_eq!(env.emulator.count(Auth0Route::Token), 1);
    // Its first create reads neither again: it only writes.
    assert!(
        !env.table_calls
            .since(before)
            .iter()
            .any(|call| call == "GetItem"),
        "{:?}",
        env.table_calls.since(before)
    );
}
