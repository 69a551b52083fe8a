//! Issue 19, "An answer states what happened, and stays true: writes whose
//! outcome is unknown": one test per finding (several where the finding
//! names several operations), each asserting what CONTRACT.md ("Writes
//! whose outcome is unknown") says must hold instead. DynamoDB's late and
//! lost answers come from `test_support::dynamodb_proxy` in front of moto,
//! met by the owner index a deployed function has (its SDK retries and
//! timeouts); Auth0's from the emulator's fault queues.
//!
//! They failed before the fix, each for its finding: they are ignored
//! (with what fails today) until the fixes land.

mod answers;

use std::time::{Duration, Instant};

use auth0_emulator::{EmulatorConfig, Fault as Auth0Fault, Route as Auth0Route};
use serde_json::json;
use test_support::dynamodb_proxy::{DynamoProxy, Fault, Operation, ProxiedRequest};

use self::answers::{
    Client, OWNER, Scene, assert_change_answer_holds, assert_create_answer_holds,
    assert_delete_answer_holds,
};
use crate::support::{LAMBDA_TIMEOUT, Options, RATE_LIMITED, Reply, Route, TestEnv, moto};

/// Longer than the owner index's calls may take (a 2 s attempt, 3 s in
/// all, retries included): every retry of a write whose answer is held
/// meets the write already applied (or, for a transaction, in progress).
const HOLD: Duration = Duration::from_secs(6);

/// An environment whose owner index is a deployed function's, on a table
/// behind `proxy`.
async fn behind(proxy: &DynamoProxy) -> TestEnv {
    TestEnv::with(Options {
        dynamodb_endpoint: Some(proxy.url().to_owned()),
        deployed_table_client: true,
        time_budget: Some(LAMBDA_TIMEOUT),
        ..Options::default()
    })
    .await
}

/// An environment as deployed (a Lambda deadline), on moto.
async fn deployed() -> TestEnv {
    TestEnv::with(Options {
        time_budget: Some(LAMBDA_TIMEOUT),
        ..Options::default()
    })
    .await
}

/// A client of the owner named `name`, on a table behind a new proxy: the
/// proxy, the environment (a deployed function's owner index), the
/// client's id and the client as it is.
async fn a_client_behind_a_proxy(name: &str) -> (DynamoProxy, TestEnv, String, Client) {
    let proxy = DynamoProxy::start(moto::url()).await;
    let env = behind(&proxy).await;
    let id = env.create_id(OWNER, name).await;
    let before = Client::of(&env, &id).await;
    (proxy, env, id, before)
}

/// Holds the answer of the next `operation` for which `when` holds, past
/// the owner index's call and its retries.
fn answer_late(
    proxy: &DynamoProxy,
    operation: Operation,
    when: impl Fn(&ProxiedRequest) -> bool + Send + Sync + 'static,
) {
    proxy.inject_when(operation, when, Fault::AnswerLate(HOLD));
}

/// Whether a request touches the item of the client `id`.
fn touching(id: &str) -> impl Fn(&ProxiedRequest) -> bool + Send + Sync + 'static {
    let item = format!("CLIENT#{id}");
    move |request| request.touches(&item)
}

/// Holds the answer of the write to the client `id`'s item that mentions
/// `text` (the value a change records), past the owner index's call and
/// its retries.
fn answer_late_the_write_of(proxy: &DynamoProxy, id: &str, text: &str) {
    let on_item = touching(id);
    let text = text.to_owned();
    answer_late(proxy, Operation::UpdateItem, move |request| {
        on_item(request) && request.mentions(&text)
    });
}

/// The reply to `request`, once the proxy has sent every answer it held;
/// and the scenario happened as set up (every fault queued was met).
async fn once_settled(proxy: &DynamoProxy, request: impl Future<Output = Reply>) -> Reply {
    let reply = request.await;
    proxy.settled().await;
    assert_eq!(
        proxy.queued_faults(),
        0,
        "the test's fault was never met: {:?}",
        proxy.requests()
    );
    reply
}

// ---- Finding 1: DynamoDB writes applied but answered late -------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_1_create_whose_final_transaction_is_answered_late_states_what_happened() {
    let proxy = DynamoProxy::start(moto::url()).await;
    let env = behind(&proxy).await;
    let before = Scene::of(&env).await;
    // The transaction that lists the new client.
    answer_late(&proxy, Operation::TransactWriteItems, |request| {
        request.touches("CLIENT#")
    });
    let token = env.token(OWNER);
    let created = env.create(&token, json!({"name": "Late"}));
    let reply = once_settled(&proxy, created).await;
    assert_create_answer_holds(&env, &reply, &before, "create, listed late").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_1_create_whose_first_transaction_is_answered_late_leaves_nothing_that_blocks_its_retry()
 {
    let proxy = DynamoProxy::start(moto::url()).await;
    let env = behind(&proxy).await;
    let token = env.token(OWNER);
    let body = json!({"name": "Recorded late"});
    // The transaction that records the creation, its key and quota slot.
    answer_late(&proxy, Operation::TransactWriteItems, |request| {
        request.touches("CREATING#") && request.touches("IDEMPOTENCY#")
    });
    let first = env.create_keyed(&token, "late-key", body.clone()).await;
    let after_first = Scene::of(&env).await;
    // The caller repeats its request at once, as a 500 invites.
    let repeated = env.create_keyed(&token, "late-key", body);
    let repeat = once_settled(&proxy, repeated).await;
    let now = Scene::of(&env).await;
    let context = format!(
        "first answered {} {}; then {after_first:?}; the repeat answered {} {}; now {now:?}",
        first.status, first.text, repeat.status, repeat.text
    );
    assert_eq!(repeat.status, 201, "the repeat: {context}");
    if first.status == 201 {
        assert_eq!(
            repeat.json["client_id"], first.json["client_id"],
            "{context}"
        );
    } else {
        assert_eq!(
            after_first.quota,
            after_first.listed.len() as u64,
            "a failed create kept a quota slot: {context}"
        );
    }
    assert_eq!((now.listed.len(), now.quota), (1, 1), "{context}");
    env.reconcile(false).await;
    env.assert_index_names_the_tenants_clients(OWNER, &context)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_1_delete_whose_mark_is_answered_late_states_what_happened() {
    let (proxy, env, id, before) = a_client_behind_a_proxy("Doomed").await;
    answer_late(&proxy, Operation::UpdateItem, touching(&id));
    let reply = once_settled(&proxy, env.delete(&env.token(OWNER), &id)).await;
    assert_delete_answer_holds(&env, &reply, &before, "delete, marked late").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_1_update_whose_final_write_is_answered_late_states_what_happened() {
    let (proxy, env, id, before) = a_client_behind_a_proxy("Before").await;
    // The write that records the new name.
    answer_late_the_write_of(&proxy, &id, "After");
    let token = env.token(OWNER);
    let renamed = env.update(&token, &id, json!({"name": "After"}));
    let reply = once_settled(&proxy, renamed).await;
    let after = before.renamed("After");
    assert_change_answer_holds(&env, &reply, (&before, &after), "update, ended late").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_1_disable_whose_final_write_is_answered_late_states_what_happened() {
    let (proxy, env, id, before) = a_client_behind_a_proxy("Disabled late").await;
    // The write that records the client disabled.
    answer_late_the_write_of(&proxy, &id, "disabled");
    let token = env.token(OWNER);
    let disabled = env.lifecycle(Route::DisableClient, &token, &id, None);
    let reply = once_settled(&proxy, disabled).await;
    let after = before.disabled();
    assert_change_answer_holds(&env, &reply, (&before, &after), "disable, ended late").await;
}

// ---- Finding 2: an Auth0 change applied, its answer lost, then 429 ------

/// A change (`route`, with `body`) whose Auth0 call (`call`) is applied,
/// its answer lost, and its retries rate limited: it must answer 502
/// `code`, and leave the client as it was (Auth0 set back by the
/// reconciler); `changed` is what it would have made of the client.
async fn applied_then_rate_limited(
    (route, body): (Route, Option<serde_json::Value>),
    call: Auth0Route,
    code: &str,
    changed: impl Fn(&Client) -> Client,
) {
    let env = deployed().await;
    let id = env.create_id(OWNER, "Before").await;
    let before = Client::of(&env, &id).await;
    env.emulator.inject(call, Auth0Fault::DropConnection);
    env.inject_times(call, RATE_LIMITED, 2);
    let reply = env.lifecycle(route, &env.token(OWNER), &id, body).await;
    assert!(
        env.emulator.count(call) >= 2,
        "the scenario: the first {call:?} applied, a retry rate limited"
    );
    let now = Client::of(&env, &id).await;
    let context = format!("answered {} {}; now {now:?}", reply.status, reply.text);
    assert_eq!(
        (reply.status, &reply.json["code"]),
        (502, &json!(code)),
        "{context}"
    );
    let after = changed(&before);
    let case = format!("{route:?}, lost then 429");
    assert_change_answer_holds(&env, &reply, (&before, &after), &case).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_2_update_applied_then_rate_limited_answers_502_and_is_set_back() {
    let renamed = (Route::UpdateClient, Some(json!({"name": "After"})));
    applied_then_rate_limited(
        renamed,
        Auth0Route::UpdateClient,
        "CLIENT_UPDATE_FAILED",
        |c| c.renamed("After"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_2_disable_applied_then_rate_limited_answers_502_and_is_set_back() {
    let disabled = (Route::DisableClient, None);
    applied_then_rate_limited(
        disabled,
        Auth0Route::DeleteGrant,
        "CLIENT_GRANT_DELETE_FAILED",
        Client::disabled,
    )
    .await;
}

// ---- Finding 3: two sweeps at once; removal without asking Auth0 -------

/// 150 clients of the owner, made before the index (and imported), old
/// enough for a sweep to judge.
async fn with_150_clients() -> (DynamoProxy, TestEnv) {
    let proxy = DynamoProxy::start(moto::url()).await;
    let env = TestEnv::with(Options {
        dynamodb_endpoint: Some(proxy.url().to_owned()),
        ..Options::default()
    })
    .await;
    for n in 0..150 {
        env.legacy_client(OWNER, &format!("Legacy {n}")).await;
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    (proxy, env)
}

/// Two runs of the reconciler at once (`backfill` each); then every one
/// of the 150 live clients must still be listed and counted.
async fn two_sweeps_at_once(backfills: (bool, bool)) {
    let (_proxy, env) = with_150_clients().await;
    let (first, second) = tokio::join!(env.reconcile(backfills.0), env.reconcile(backfills.1));
    let scene = Scene::of(&env).await;
    let context = format!(
        "summaries {first:?} and {second:?}; listed {}, in Auth0 {}, quota {}",
        scene.listed.len(),
        scene.in_auth0.len(),
        scene.quota
    );
    assert_eq!((first.removed, second.removed), (0, 0), "{context}");
    assert_eq!((scene.listed.len(), scene.quota), (150, 150), "{context}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_3_two_backfills_at_once_remove_no_live_client() {
    two_sweeps_at_once((true, true)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_3_a_backfill_while_the_scheduled_sweep_runs_removes_no_live_client() {
    two_sweeps_at_once((false, true)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_3_a_sweep_removes_an_item_only_after_auth0_answers_404_for_it() {
    let env = deployed().await;
    let gone = env.create_id(OWNER, "Deleted in the dashboard").await;
    let live = env.create_id(OWNER, "Edited in the dashboard").await;
    env.delete_in_auth0(&gone).await;
    // Someone edits the other one's metadata in the dashboard: the sweep's
    // listing no longer shows it as the service's, yet it exists.
    let http = reqwest::Client::new();
    let management = test_support::setup::management_token(&http, &env.emulator).await;
    let edited = http
        .patch(format!("{}/api/v2/clients/{live}", env.emulator.base_url()))
        .bearer_auth(management)
        .json(&json!({"client_metadata": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(edited.status(), 200);
    tokio::time::sleep(Duration::from_millis(5)).await;

    let summary = env.reconcile(false).await;
    let asked: Vec<String> = env
        .emulator
        .requests()
        .into_iter()
        .filter(|request| request.route == Auth0Route::GetClient)
        .map(|request| request.path)
        .collect();
    let context = format!("{summary:?}; GETs of clients: {asked:?}");
    let token = env.token(OWNER);
    env.get(&token, &gone).await.assert_not_found();
    assert_eq!(
        env.get(&token, &live).await.status,
        200,
        "a live client's item was removed: {context}"
    );
    assert!(
        asked.contains(&format!("/api/v2/clients/{gone}")),
        "removed without asking Auth0: {context}"
    );
    assert_eq!(env.quota_count(OWNER).await, 1, "{context}");
}

// ---- Finding 4: a create's POST lost on a tenant without custom ids ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_4_create_whose_post_answer_is_lost_without_custom_ids_leaves_no_client() {
    let env = TestEnv::with(Options {
        emulator: EmulatorConfig {
            custom_client_ids: false,
            ..test_support::setup::emulator_config()
        },
        env: vec![("CUSTOM_CLIENT_IDS", "false".into())],
        time_budget: Some(LAMBDA_TIMEOUT),
        ..Options::default()
    })
    .await;
    let before = Scene::of(&env).await;
    env.emulator
        .inject(Auth0Route::CreateClient, Auth0Fault::DropConnection);
    let reply = env
        .create(&env.token(OWNER), json!({"name": "Made unseen"}))
        .await;
    assert_eq!(
        env.emulator.queued_faults(Auth0Route::CreateClient),
        0,
        "the scenario: the POST was processed, its answer lost"
    );
    assert_create_answer_holds(&env, &reply, &before, "create, POST lost, Auth0's ids").await;
    assert!(
        env.emulator.grants().is_empty(),
        "{:?}",
        env.emulator.grants()
    );
}

// ---- Finding 5: a 502 locks the client for two minutes -----------------

/// A client whose update answered 502 (Auth0 failing): its id and what it
/// was before.
async fn after_a_502(env: &TestEnv) -> (String, Client) {
    let id = env.create_id(OWNER, "Before").await;
    let before = Client::of(env, &id).await;
    env.inject_times(Auth0Route::UpdateClient, Auth0Fault::Status(500), 3);
    let failed = env
        .update(&env.token(OWNER), &id, json!({"name": "After"}))
        .await;
    assert_eq!(failed.status, 502, "the scenario: {}", failed.text);
    (id, before)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_5_a_change_right_after_a_502_proceeds() {
    let env = deployed().await;
    let (id, before) = after_a_502(&env).await;
    let reply = env
        .update(&env.token(OWNER), &id, json!({"name": "Second"}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let after = before.renamed("Second");
    assert_change_answer_holds(&env, &reply, (&before, &after), "the change after a 502").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_5_a_change_asking_for_what_the_client_is_after_a_502_proceeds() {
    let env = deployed().await;
    let (id, before) = after_a_502(&env).await;
    let shown = before.shown.clone().unwrap();
    let reply = env
        .update(
            &env.token(OWNER),
            &id,
            json!({"name": shown["name"], "description": shown["description"]}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_change_answer_holds(&env, &reply, (&before, &before), "as it is, after a 502").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_5_a_change_whose_record_is_answered_late_locks_no_client() {
    let (proxy, env, id, before) = a_client_behind_a_proxy("Before").await;
    // The first write of the change: its record on the item.
    answer_late(&proxy, Operation::UpdateItem, touching(&id));
    let token = env.token(OWNER);
    let renamed = env.update(&token, &id, json!({"name": "First"}));
    let first = once_settled(&proxy, renamed).await;
    // The caller's next change, at once (not two minutes later, nor after
    // the reconciler).
    let second = env.update(&token, &id, json!({"name": "Second"})).await;
    let now = Client::of(&env, &id).await;
    assert_eq!(
        second.status, 200,
        "the next change, after the first answered {} {}: {}; now {now:?}",
        first.status, first.text, second.text
    );
    let after = before.renamed("Second");
    assert_change_answer_holds(&env, &second, (&before, &after), "after one recorded late").await;
}

// ---- Finding 6: DynamoDB calls and the deadline; replays ---------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_6_a_table_call_that_hangs_is_answered_within_the_deadline() {
    let proxy = DynamoProxy::start(moto::url()).await;
    let budget = Duration::from_millis(1500);
    let env = TestEnv::with(Options {
        dynamodb_endpoint: Some(proxy.url().to_owned()),
        deployed_table_client: true,
        time_budget: Some(budget),
        ..Options::default()
    })
    .await;
    let id = env.create_id(OWNER, "Read slowly").await;
    // Every attempt of the client's read hangs.
    for _ in 0..3 {
        proxy.inject_when(
            Operation::GetItem,
            touching(&id),
            Fault::Stall(Duration::from_secs(10)),
        );
    }
    let started = Instant::now();
    let reply = env.get(&env.token(OWNER), &id).await;
    let took = started.elapsed();
    assert!(
        took < budget,
        "answered {} after {took:?}, past the deadline of {budget:?}",
        reply.status
    );
    reply.assert_internal_error();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_6_a_replay_of_a_create_whose_client_was_deleted_in_auth0_runs_anew() {
    let env = deployed().await;
    let token = env.token(OWNER);
    let body = json!({"name": "Replayed"});
    let first = env.create_keyed(&token, "replay-key", body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let first_id = first.json["client_id"].as_str().unwrap().to_owned();
    env.delete_in_auth0(&first_id).await;
    let repeat = env.create_keyed(&token, "replay-key", body).await;
    assert_eq!(repeat.status, 201, "{}", repeat.text);
    let made = repeat.json["client_id"].as_str().unwrap_or_default();
    assert_ne!(made, first_id, "the deleted client replayed");
    let secret = repeat.json["client_secret"].as_str().unwrap_or_default();
    assert_eq!(env.client_token(made, secret).await.0, 200);
}

// ---- Finding 7: bounds on a list and on an owner's writes --------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_7_a_quota_whose_list_cannot_be_answered_is_refused_at_configuration() {
    let env = TestEnv::with_env(vec![("MAX_CLIENTS_PER_OWNER", "100000".into())]).await;
    let listed = env.list(&env.token(OWNER)).await;
    assert_eq!(
        listed.status, 500,
        "a quota of 100000 was accepted: list answered {} {}",
        listed.status, listed.text
    );
    listed.assert_internal_error();
    assert!(
        crate::support::logs::text()
            .contains("environment variable MAX_CLIENTS_PER_OWNER is invalid"),
        "the log names the setting"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_7_an_owners_writes_past_owner_writes_per_minute_get_429() {
    let env = TestEnv::with_env(vec![("OWNER_WRITES_PER_MINUTE", "3".into())]).await;
    let token = env.token(OWNER);
    let first = env.create_id(OWNER, "One").await;
    env.create_id(OWNER, "Two").await;
    let renamed = env.update(&token, &first, json!({"name": "Uno"})).await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    // The fourth Auth0-calling operation within the minute.
    let refused = env.delete(&token, &first).await;
    assert_eq!(
        refused.status, 429,
        "the fourth write within a minute, past OWNER_WRITES_PER_MINUTE=3: {} {}",
        refused.status, refused.text
    );
    assert_eq!(
        refused.json["code"], "TOO_MANY_REQUESTS",
        "{}",
        refused.text
    );
    let retry_after: u64 = refused
        .header("retry-after")
        .and_then(|seconds| seconds.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // Refused, so nothing was done; other owners are not held back.
    assert_eq!(env.get(&token, &first).await.status, 200);
    env.create_id("owner-b", "Theirs").await;
}
