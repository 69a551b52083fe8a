//! The deployment's shared Management API token (docs/owner-index.md, "The
//! shared management token"): many containers of one deployment, sharing
//! its table and its Auth0 tenant, spend one token between them; a token
//! Auth0 rejects is replaced once; a table that fails costs each container
//! its own token, and says so in a metric; `MANAGEMENT_TOKEN_CACHE=container`
//! is the per-container behaviour of before. The containers are `App`
//! values of this process (12 at once), and, for the first of these, 20
//! function processes started at once (this binary again, each running
//! `m2m_shared::run` as a deployed `create_client` does, with its own stub
//! Runtime API), beside the same fleet with `MANAGEMENT_TOKEN_CACHE=container`.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use auth0_emulator::{Fault, Route as Auth0Route};
use lambda_bench::runtime_api::RuntimeApi;
use lambda_bench::upstream::{
    Ask, CALLER, Credentials, Subject, TOKEN_CACHE_VARIABLE, Upstream, event_for,
};
use lambda_bench::{ANSWER_LIMIT, answer, expect_status};
use m2m_shared::auth0::ManagementApi;
use m2m_shared::config::TokenCache;
use m2m_shared::domain::{Clients, TokenStore};
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

/// Set in the environment of a fleet's function processes: the one test
/// that is then not skipped runs the function.
const FUNCTION_PROCESS: &str = "M2M_SHARED_TOKEN_TEST_FUNCTION_PROCESS";
/// Function processes started at once in the fleet test below.
const PROCESSES: usize = 20;
/// Creates queued at each process's Runtime API: the first is its cold
/// request, the second one with the token in memory.
const REQUESTS_PER_PROCESS: usize = 2;

/// A function process of the fleet test below (this binary again, with
/// [`FUNCTION_PROCESS`] set): a create function's whole `main`. Without
/// the variable, nothing to do.
#[tokio::test]
async fn fleet_function_process() {
    if std::env::var_os(FUNCTION_PROCESS).is_some() {
        // It ends when its Runtime API goes away, or is killed.
        let _ = m2m_shared::run::<m2m_shared::CreateClient>().await;
    }
}

/// What a fleet did, as the upstreams and the processes' logs tell.
struct Fleet {
    /// Every request that was not answered 201, and why.
    failures: Vec<String>,
    token_requests: usize,
    secret_reads: usize,
    /// The `ManagementTokens` and `SharedTokenFallbacks` documents of all
    /// processes, by source and reason: what a failure is read with.
    metrics: std::collections::BTreeMap<String, usize>,
}

/// Sets `name` in a process's environment, replacing what it had.
fn set(env: &mut Vec<(String, String)>, name: &str, value: &str) {
    env.retain(|(key, _)| key != name);
    env.push((name.to_owned(), value.to_owned()));
}

/// [`PROCESSES`] function processes of `create_client` (each as a deployed
/// one: Lambda's variables, its own Runtime API, [`REQUESTS_PER_PROCESS`]
/// creates waiting there), started at once with `MANAGEMENT_TOKEN_CACHE=
/// cache` against one Auth0 emulator, one Secrets Manager stub that counts
/// its reads, and one empty table (moto single-threaded, so that the
/// lease's conditional write is one); run until each has answered.
async fn run_fleet(cache: &str) -> Fleet {
    let upstream = Upstream::start().await.expect("the emulator and stubs");
    // Ahead of the processes on the CPUs: on 2 shared cores, 20 starting
    // processes (unoptimized builds) would otherwise keep moto from
    // answering the token item's calls within their 1 s limit, and each
    // process would rightly fall back to a token of its own (the failure
    // then lists SharedTokenFallbacks Reason=table_error).
    let dynamodb = moto::start_single_threaded_server_ahead();
    // A name of its own, whatever else this moto holds (a free port is
    // picked, then released, before moto binds it: two servers started at
    // once by parallel tests can end up one). `Upstream`'s table, in the
    // test process's moto, goes unused.
    let table = format!("m2m-clients-fleet-{cache}-{}", std::process::id());
    test_support::dynamodb::create_clients_table(
        &test_support::dynamodb::client_at(&dynamodb),
        &table,
    )
    .await;
    let subject = Subject::Function(m2m_shared::Route::CreateClient);
    let token = upstream.caller_token(CALLER);
    let logs: PathBuf = [env!("CARGO_TARGET_TMPDIR"), "shared-token-fleet"]
        .iter()
        .collect();
    std::fs::create_dir_all(&logs).unwrap();
    // Every process's Runtime API, its events queued, before any starts.
    let mut apis = Vec::with_capacity(PROCESSES);
    for p in 0..PROCESSES {
        let api = RuntimeApi::start().await.expect("a stub Runtime API");
        for r in 0..REQUESTS_PER_PROCESS {
            let n = p * REQUESTS_PER_PROCESS + r;
            api.invoke(event_for(&upstream, subject, Ask::Success, &token, n).await);
        }
        apis.push(api);
    }
    let test_name = fleet_function_process_name();
    let mut processes = Vec::with_capacity(PROCESSES);
    for (p, api) in apis.iter().enumerate() {
        let mut env = upstream.environment(subject, &api.address(), Credentials::InEnvironment);
        set(&mut env, "AWS_ENDPOINT_URL_DYNAMODB", &dynamodb);
        set(&mut env, "CLIENTS_TABLE", &table);
        set(&mut env, TOKEN_CACHE_VARIABLE, cache);
        set(&mut env, FUNCTION_PROCESS, "1");
        let log = logs.join(format!("{cache}-{p:02}.log"));
        let out = std::fs::File::create(&log).unwrap();
        // Ahead of the machine's other work (where the OS allows it, as
        // for moto), behind moto: 20 containers have 20 machines' CPUs,
        // not a share of 2 cores among other jobs, and a process starved
        // for a second misses its table call's limit as moto would.
        let process = tokio::process::Command::new("nice")
            .args(["-n", "-5"])
            .arg(std::env::current_exe().unwrap())
            .args([test_name.as_str(), "--exact", "--nocapture"])
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .stderr(out.try_clone().unwrap())
            .stdout(out)
            .kill_on_drop(true)
            .spawn()
            .expect("start a function process");
        processes.push((process, log));
    }
    let answered = join_all(
        apis.iter()
            .zip(&processes)
            .enumerate()
            .map(|(p, (api, (_, log)))| async move {
                let mut failures = Vec::new();
                for r in 0..REQUESTS_PER_PROCESS {
                    let what = format!("process {p}'s request {r}");
                    let status = answer(api.outcome(ANSWER_LIMIT).await, &what, log)
                        .and_then(|outcome| expect_status(&outcome, Some(201), &what, log));
                    if let Err(failure) = status {
                        failures.push(failure);
                        break;
                    }
                }
                failures
            })
            .collect(),
    )
    .await;
    let mut metrics = std::collections::BTreeMap::new();
    for (mut process, log) in processes {
        process.kill().await.unwrap();
        for line in std::fs::read_to_string(&log).unwrap().lines() {
            let Ok(line) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let counted = match (
                line.get("ManagementTokens"),
                line.get("SharedTokenFallbacks"),
            ) {
                (Some(_), _) => format!(
                    "ManagementTokens Source={}",
                    line["Source"].as_str().unwrap_or_default()
                ),
                (_, Some(_)) => format!(
                    "SharedTokenFallbacks Reason={}",
                    line["Reason"].as_str().unwrap_or_default()
                ),
                _ => continue,
            };
            *metrics.entry(counted).or_insert(0) += 1;
        }
    }
    Fleet {
        failures: answered.into_iter().flatten().collect(),
        token_requests: upstream.emulator.count(Auth0Route::Token),
        secret_reads: upstream.secret_reads(),
        metrics,
    }
}

/// [`fleet_function_process`] as the test harness names it (the module
/// path without the crate's name).
fn fleet_function_process_name() -> String {
    let module = module_path!()
        .split_once("::")
        .map_or(module_path!(), |(_, path)| path);
    format!("{module}::fleet_function_process")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_function_processes_started_at_once_fetch_one_token_between_them() {
    let shared = run_fleet("shared").await;
    assert!(shared.failures.is_empty(), "{:#?}", shared.failures);
    assert_eq!(shared.token_requests, 1, "{:?}", shared.metrics);
    assert_eq!(shared.secret_reads, 1, "{:?}", shared.metrics);

    // The same fleet, each process with a token of its own: the counts
    // above are the shared token's doing.
    let own = run_fleet("container").await;
    assert!(own.failures.is_empty(), "{:#?}", own.failures);
    assert_eq!(own.token_requests, PROCESSES, "{:?}", own.metrics);
    assert_eq!(own.secret_reads, PROCESSES, "{:?}", own.metrics);
}
