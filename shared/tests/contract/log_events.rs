//! Auth0's log stream (`auth0_log_events`, docs/owner-index.md, "Auth0's log
//! stream"): the sample events of `events/`, as EventBridge delivers them,
//! followed against the emulator and the owner index on moto. A client's
//! `last_used_at` on get and list is the newest token exchange, whatever the
//! events' order and repeats; a client deleted in the dashboard leaves the
//! index (and its quota) once Auth0 answers 404 for it, and only then.

use auth0_emulator::{Fault as Auth0Fault, Route as Auth0Route};
use serde_json::{Value, json};

use crate::support::TestEnv;

/// The sample event `events/auth0_log_events-<case>.json` about `id`.
fn sample(case: &str, id: &str) -> Value {
    let path = format!(
        "{}/../events/auth0_log_events-{case}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text.replace("{{CLIENT_ID}}", id)).unwrap()
}

/// The `seccft` sample for `id`, at `date`.
fn exchanged(id: &str, date: &str) -> Value {
    let mut event = sample("seccft", id);
    event["detail"]["data"]["date"] = json!(date);
    event
}

/// A test environment with one client of owner-a's named `name`: the
/// environment and the client's id.
async fn with_client(name: &str) -> (TestEnv, String) {
    let env = TestEnv::new().await;
    let id = env.create_id("owner-a", name).await;
    (env, id)
}

async fn followed(env: &TestEnv, event: &Value) -> String {
    let answer = env.follow_log_event(event).await.expect("followed");
    answer["outcome"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn get_and_list_show_the_newest_token_exchange_whatever_the_order_and_repeats() {
    let (env, id) = with_client("Used").await;
    let other = env.create_id("owner-a", "Unused").await;
    let token = env.token("owner-a");
    assert_eq!(env.get(&token, &id).await.json["last_used_at"], Value::Null);

    let sample = sample("seccft", &id);
    let newest = sample["detail"]["data"]["date"].clone();
    assert_eq!(followed(&env, &sample).await, "recorded");
    // The same event again (EventBridge delivers at least once), and an
    // older one arriving late: nothing moves back.
    assert_eq!(followed(&env, &sample).await, "not_newer");
    let older = exchanged(&id, "2026-12-06T23:02:00.000Z");
    assert_eq!(followed(&env, &older).await, "not_newer");
    // A client the index does not know (the caller's own application, say).
    let unknown = exchanged("AUTH0SOMEONEELSE0000000000000001", "2026-12-06T23:30:00Z");
    assert_eq!(followed(&env, &unknown).await, "unknown_client");

    let got = env.get(&token, &id).await;
    assert_eq!(got.json["last_used_at"], newest);
    let listed = env.list(&token).await;
    assert_eq!(listed.json[0]["last_used_at"], newest);
    assert_eq!(listed.json[1]["last_used_at"], Value::Null, "{other}");
    // A later one moves it on, in UTC whatever the event's offset.
    let later = exchanged(&id, "2026-12-07T01:00:00.5+01:00");
    assert_eq!(followed(&env, &later).await, "recorded");
    assert_eq!(
        env.get(&token, &id).await.json["last_used_at"],
        "2026-12-07T00:00:00.5Z"
    );
}

#[tokio::test]
async fn a_dashboard_deletion_removes_the_client_after_auth0s_404_and_frees_its_quota() {
    let env = TestEnv::with_env(vec![("MAX_CLIENTS_PER_OWNER", "1".into())]).await;
    let token = env.token("owner-a");
    let body = json!({"name": "Deleted in the dashboard"});
    let created = env
        .create_keyed(&token, "dashboard-key", body.clone())
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["client_id"].as_str().unwrap().to_owned();
    env.delete_in_auth0(&id).await;
    // Until the event, the index still counts it.
    let refused = env.create(&token, json!({"name": "Second"})).await;
    assert_eq!(refused.status, 409, "{}", refused.text);

    let event = sample("client-deleted", &id);
    let gets = env.emulator.count(Auth0Route::GetClient);
    assert_eq!(followed(&env, &event).await, "removed");
    assert_eq!(
        env.emulator.count(Auth0Route::GetClient),
        gets + 1,
        "asked Auth0 first"
    );
    env.get(&token, &id).await.assert_not_found();
    assert_eq!(env.list(&token).await.json, json!([]));
    assert_eq!(env.quota_count("owner-a").await, 0);
    // Its Idempotency-Key is released with it: a repeat runs anew.
    let repeat = env.create_keyed(&token, "dashboard-key", body).await;
    assert_eq!(repeat.status, 201, "{}", repeat.text);
    assert_ne!(repeat.json["client_id"], json!(id));
    // Delivered again: nothing left to remove, nothing else touched.
    assert_eq!(followed(&env, &event).await, "unknown_client");
    env.assert_owner_has_clients("owner-a", 1, "after the event")
        .await;
}

#[tokio::test]
async fn a_deletion_event_for_a_client_auth0_still_has_removes_nothing() {
    let (env, id) = with_client("Still there").await;
    let token = env.token("owner-a");
    assert_eq!(
        followed(&env, &sample("client-deleted", &id)).await,
        "still_in_auth0"
    );
    assert_eq!(env.get(&token, &id).await.status, 200);
    env.assert_owner_has_clients("owner-a", 1, "kept").await;
}

#[tokio::test]
async fn auth0_failing_to_answer_fails_the_invocation_and_its_retry_removes_the_client() {
    let (env, id) = with_client("Unsure").await;
    env.delete_in_auth0(&id).await;
    let event = sample("client-deleted", &id);
    // Auth0 cannot say (every attempt of the GET): the item stays, and the
    // invocation fails, so that Lambda invokes it again.
    env.inject_times(Auth0Route::GetClient, Auth0Fault::Status(500), 3);
    let failed = env.follow_log_event(&event).await;
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(env.quota_count("owner-a").await, 1);
    assert_eq!(env.get(&env.token("owner-a"), &id).await.status, 200);
    assert_eq!(followed(&env, &event).await, "removed");
    assert_eq!(env.quota_count("owner-a").await, 0);
}

#[tokio::test]
async fn events_that_are_not_a_client_deleted_or_a_token_exchange_change_nothing() {
    let (env, id) = with_client("Untouched").await;
    let calls = env.emulator.requests().len();
    let mut others = Vec::new();
    // A key credential deleted (a path below the client's), a client read,
    // an event without a date, another type, EventBridge's scheduled event.
    for (method, path) in [
        ("delete", format!("/api/v2/clients/{id}/credentials/cred_1")),
        ("get", format!("/api/v2/clients/{id}")),
    ] {
        let mut event = sample("client-deleted", &id);
        event["detail"]["data"]["details"]["request"] = json!({"method": method, "path": path});
        others.push(event);
    }
    let mut undated = sample("seccft", &id);
    undated["detail"]["data"]["date"] = json!("yesterday");
    others.push(undated);
    let mut failed_exchange = sample("seccft", &id);
    failed_exchange["detail"]["data"]["type"] = json!("feccft");
    others.push(failed_exchange);
    others.push(json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}));
    for event in others {
        let answer = env.follow_log_event(&event).await.unwrap();
        assert_eq!(answer["outcome"], "ignored", "{event}");
    }
    assert_eq!(env.emulator.requests().len(), calls, "Auth0 asked");
    let got = env.get(&env.token("owner-a"), &id).await;
    assert_eq!(got.json["last_used_at"], Value::Null);
}
