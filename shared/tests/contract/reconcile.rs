//! The reconciler against the emulated tenant and the owner index in moto:
//! a backfill imports what only Auth0 had (deployments from before the
//! index), a sweep removes what Auth0 lost, and neither touches what it
//! should not; a creation that never heard its client's id is undone by its
//! `creation_id`; the audit answers the differences and changes nothing.

use std::collections::BTreeMap;

use auth0_emulator::{Fault, Route as Auth0Route};
use aws_sdk_dynamodb::types::AttributeValue;
use m2m_shared::config::DEFAULT_GRANT_AUDIENCE;
use m2m_shared::domain::{Begun, Creation, OwnerIndex, now_micros};
use m2m_shared::owner_index::TOKEN_PK;
use serde_json::{Value, json};

use crate::support::TestEnv;

#[tokio::test]
async fn a_backfill_imports_clients_made_before_the_index() {
    let env = TestEnv::new().await;
    let made_here = env.create_id("owner-a", "Made here").await;
    // Made by the service before the index: M2M, with their owner.
    let legacy_a = test_support::setup::seed_owned_client(&env.emulator, "owner-a", "Legacy A");
    let legacy_b = test_support::setup::seed_owned_client(&env.emulator, "owner-b", "Legacy B");
    // Not the service's: no owner, or not machine-to-machine.
    let foreign = env
        .emulator
        .seed_client(json!({"name": "Ops robot", "app_type": "non_interactive"}));
    let web = env.emulator.seed_client(json!({
        "name": "Web", "app_type": "spa", "client_metadata": {"owner_client_id": "owner-a"}
    }));
    // A scheduled run imports nothing.
    let scheduled = env.reconcile(false).await;
    assert_eq!((scheduled.imported, scheduled.removed), (0, 0));
    env.get(&env.token("owner-a"), &legacy_a)
        .await
        .assert_not_found();

    let backfill = env.reconcile(true).await;
    assert_eq!(
        (backfill.imported, backfill.removed),
        (2, 0),
        "{backfill:?}"
    );
    let token = env.token("owner-a");
    let listed: Vec<String> = env
        .list(&token)
        .await
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, [made_here.clone(), legacy_a.clone()]);
    assert_eq!(env.get(&env.token("owner-b"), &legacy_b).await.status, 200);
    for (owner, id) in [("owner-a", &foreign), ("owner-a", &web)] {
        env.get(&env.token(owner), id).await.assert_not_found();
    }
    // Owners can manage what was imported: counted, and deletable.
    assert_eq!(env.quota_count("owner-a").await, 2);
    assert_eq!(env.delete(&token, &legacy_a).await.status, 204);
    // Idempotent.
    let again = env.reconcile(true).await;
    assert_eq!((again.imported, again.removed), (0, 0));
    env.assert_index_names_the_tenants_clients("owner-a", "after the backfill")
        .await;
}

#[tokio::test]
async fn a_sweep_removes_what_auth0_no_longer_has() {
    let env = TestEnv::new().await;
    let kept = env.create_id("owner-a", "Kept").await;
    let lost = env.create_id("owner-a", "Deleted in the dashboard").await;
    // Someone deletes a client in Auth0's dashboard, past the service.
    env.delete_in_auth0(&lost).await;
    // Clients created by then are old enough for the sweep to judge.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let summary = env.reconcile(false).await;
    assert_eq!((summary.removed, summary.sweep), (1, "done"));
    let token = env.token("owner-a");
    env.get(&token, &lost).await.assert_not_found();
    assert_eq!(env.get(&token, &kept).await.status, 200);
    env.assert_owner_has_clients("owner-a", 1, "after the sweep")
        .await;
}

/// Sends `method` to the Management API at `path` with `body`, past the
/// service (Auth0's dashboard, or a request whose answer the service lost).
async fn in_auth0(env: &TestEnv, method: reqwest::Method, path: &str, body: Value) -> Value {
    let http = reqwest::Client::new();
    let management = test_support::setup::management_token(&http, &env.emulator).await;
    let answer = http
        .request(method, format!("{}{path}", env.emulator.base_url()))
        .bearer_auth(management)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{path}: {}", answer.status());
    answer.json().await.unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_creation_that_never_heard_its_auth0_id_is_undone_by_its_creation_id_at_once() {
    let env = TestEnv::new().await;
    // The sweep ran: the next is a day away.
    assert_eq!(env.reconcile(false).await.sweep, "done");
    // A create whose POST Auth0 processed under an id of its own (a tenant
    // without custom client ids), and whose answer was lost: its record
    // knows the id it chose, not Auth0's.
    let creation = Creation {
        owner: test_support::setup::owner("owner-a"),
        chosen_id: "client_2Vq1XRrT5Fpml4JCeT0f6QfLost".into(),
        client_id: None,
        name: "Made unseen".into(),
        description: String::new(),
        started_at: now_micros(),
        idempotency: None,
        scopes: vec![],
    };
    let begun = env.index().begin_creation(&creation, 50).await.unwrap();
    assert_eq!(begun, Begun::Started);
    let made = env.emulator.seed_client(json!({
        "name": "Made unseen",
        "app_type": "non_interactive",
        "grant_types": ["client_credentials"],
        "client_metadata": {"owner_client_id": "owner-a", "creation_id": creation.chosen_id},
    }));
    let grant = json!({"client_id": made, "audience": DEFAULT_GRANT_AUDIENCE, "scope": []});
    in_auth0(&env, reqwest::Method::POST, "/api/v2/client-grants", grant).await;
    let kept = env.create_id("owner-a", "Kept").await;
    assert_eq!(env.quota_count("owner-a").await, 2);

    let summary = env.reconcile(false).await;
    assert_eq!(
        (summary.repaired_creations, summary.failed, summary.sweep),
        (1, 0, "skipped"),
        "{summary:?}"
    );
    let ids: Vec<Value> = env.client_ids();
    assert_eq!(ids, [json!(kept)], "only the kept client is left");
    assert_eq!(
        env.emulator.grants().len(),
        1,
        "{:?}",
        env.emulator.grants()
    );
    env.assert_owner_has_clients("owner-a", 1, "after the undo")
        .await;
}

#[tokio::test]
async fn the_audit_answers_the_differences_and_changes_nothing() {
    let env = TestEnv::new().await;
    // Alike in both: no difference.
    env.create_id("owner-a", "Alike").await;
    let renamed = env.create_id("owner-a", "Renamed").await;
    let gone = env.create_id("owner-b", "Deleted in the dashboard").await;
    let legacy = test_support::setup::seed_owned_client(&env.emulator, "owner-b", "Legacy");
    in_auth0(
        &env,
        reqwest::Method::PATCH,
        &format!("/api/v2/clients/{renamed}"),
        json!({"name": "Renamed in the dashboard"}),
    )
    .await;
    env.delete_in_auth0(&gone).await;
    // Someone edits the table by hand: owner-a's count is off by one.
    env.dynamodb
        .update_item()
        .table_name(&env.table)
        .key("pk", AttributeValue::S("OWNER#owner-a".into()))
        .key("sk", AttributeValue::S("QUOTA".into()))
        .update_expression("SET #count = :three")
        .expression_attribute_names("#count", "count")
        .expression_attribute_values(":three", AttributeValue::N("3".into()))
        .send()
        .await
        .unwrap();
    let before = (env.emulator.clients(), env.emulator.grants());
    // The owners' items and the service's, each as sorted text (the
    // management token's item is the token cache's, not the audit's).
    let scan = || async {
        let mut items: Vec<String> = env
            .dynamodb
            .scan()
            .table_name(&env.table)
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .items
            .unwrap_or_default()
            .into_iter()
            .filter(|item| item.get("pk") != Some(&AttributeValue::S(TOKEN_PK.into())))
            .map(|item| format!("{:?}", item.into_iter().collect::<BTreeMap<_, _>>()))
            .collect();
        items.sort();
        items
    };
    let table_before = scan().await;

    let answer = env.reconcile_event(&json!({"audit": true})).await;
    assert_eq!(
        answer,
        json!({
            "audit": {
                "only_in_auth0": [{"client_id": legacy, "owner": "owner-b"}],
                "only_in_table": [{"client_id": gone, "owner": "owner-b"}],
                "differing": [{
                    "client_id": renamed, "owner": "owner-a", "fields": ["name"],
                    "change_under_way": false,
                }],
                "quota_mismatches": [
                    {"owner": "owner-a", "count": 3, "clients": 2, "creations": 0},
                ],
            },
            "complete": true,
            "auth0_clients": 3,
            "table_clients": 3,
        })
    );
    assert!(!answer.to_string().contains("secret"), "{answer}");
    assert_eq!((env.emulator.clients(), env.emulator.grants()), before);
    assert_eq!(scan().await, table_before, "the audit wrote to the table");
}

/// The reconciler's sweep metrics logged so far: `(SweepFaults, SweepAge)`.
fn sweep_metrics() -> Vec<(f64, Option<f64>)> {
    crate::support::logs::lines()
        .iter()
        .filter_map(|line| {
            let faults = line.get("SweepFaults")?.as_f64()?;
            Some((faults, line.get("SweepAge").and_then(Value::as_f64)))
        })
        .collect()
}

#[tokio::test]
async fn every_run_reports_its_sweeps_age_and_whether_a_fault_stopped_it() {
    let env = TestEnv::new().await;
    let done = env.reconcile_event(&json!({"backfill": true})).await;
    assert_eq!(done["sweep"], "done", "{done}");
    // Just finished: its age is under a minute, and nothing stopped it.
    assert!(
        sweep_metrics()
            .iter()
            .any(|(faults, age)| *faults == 0.0 && age.is_some_and(|age| age < 60.0)),
        "{:?}",
        sweep_metrics()
    );
    // Auth0 cannot be listed: the sweep stops, and says so.
    env.inject_times(Auth0Route::ListClients, Fault::Status(500), 10);
    let failed = env.reconcile_event(&json!({"backfill": true})).await;
    assert_eq!(failed["sweep"], "failed", "{failed}");
    assert!(
        sweep_metrics()
            .iter()
            .any(|(faults, age)| *faults == 1.0 && age.is_some()),
        "{:?}",
        sweep_metrics()
    );
}
