//! One structured audit line per create, delete and lifecycle request.

use serde_json::Value;

use crate::support::{Route, TestEnv, logs};

fn audit_lines(owner: &str) -> Vec<Value> {
    logs::lines()
        .into_iter()
        .filter(|line| line["target"] == "audit" && line["fields"]["owner"] == owner)
        .collect()
}

#[tokio::test]
async fn creates_and_deletes_leave_an_audit_line_each() {
    let env = TestEnv::new().await;
    let owner = "audited-owner";
    let created = env.create_ok(owner, "Audited").await;
    let id = created["client_id"].as_str().unwrap();
    assert_eq!(env.delete(&env.token(owner), id).await.status, 204);
    assert_eq!(env.delete(&env.token(owner), id).await.status, 404);

    let lines = audit_lines(owner);
    let summary: Vec<(String, String, String)> = lines
        .iter()
        .map(|line| {
            let field = |name: &str| line["fields"][name].as_str().unwrap_or_default().to_owned();
            (field("action"), field("client_id"), field("outcome"))
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("create_client".into(), id.to_owned(), "created".into()),
            ("delete_client".into(), id.to_owned(), "deleted".into()),
            ("delete_client".into(), id.to_owned(), "not_found".into()),
        ]
    );
    for line in &lines {
        assert_eq!(line["level"], "INFO");
        // The request id of the invocation, from the HTTP layer's span.
        assert_eq!(
            line["span"]["request_id"],
            test_support::event::REQUEST_ID,
            "{line}"
        );
        let text = line.to_string();
        assert!(!text.contains(created["client_secret"].as_str().unwrap()));
    }
}

#[tokio::test]
async fn failed_creates_are_audited_too() {
    let env = TestEnv::new().await;
    let owner = "audited-failure-owner";
    env.emulator.inject(
        auth0_emulator::Route::CreateGrant,
        auth0_emulator::Fault::Status(500),
    );
    let reply = env
        .create(&env.token(owner), serde_json::json!({"name": "Doomed"}))
        .await;
    assert_eq!(reply.status, 502);
    let lines = audit_lines(owner);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["fields"]["outcome"], "grant_failed_rolled_back");
    assert_eq!(lines[0]["fields"]["action"], "create_client");
}

#[tokio::test]
async fn every_change_leaves_an_audit_line_with_its_outcome() {
    let env = TestEnv::new().await;
    let owner = "audited-lifecycle-owner";
    let token = env.token(owner);
    let id = env.create_id(owner, "Audited").await;
    let rename = Some(serde_json::json!({"name": "Renamed"}));
    env.emulator.inject(
        auth0_emulator::Route::RotateSecret,
        auth0_emulator::Fault::Status(500),
    );
    for (route, body, status) in [
        (Route::UpdateClient, rename.clone(), 200),
        (Route::RotateClientSecret, None, 502),
        (Route::RotateClientSecret, None, 200),
        (Route::DisableClient, None, 200),
        (Route::EnableClient, None, 200),
    ] {
        let reply = env.lifecycle(route, &token, &id, body).await;
        assert_eq!(reply.status, status, "{route:?}: {}", reply.text);
    }
    let other = env.token("someone-else");
    assert_eq!(
        env.lifecycle(Route::UpdateClient, &other, &id, rename)
            .await
            .status,
        404
    );
    let summary: Vec<(String, String, String)> = audit_lines(owner)
        .iter()
        .skip(1)
        .map(|line| {
            assert_eq!(line["span"]["request_id"], test_support::event::REQUEST_ID);
            let field = |name: &str| line["fields"][name].as_str().unwrap_or_default().to_owned();
            (field("action"), field("client_id"), field("outcome"))
        })
        .collect();
    let line = |action: &str, outcome: &str| (action.to_owned(), id.clone(), outcome.to_owned());
    assert_eq!(
        summary,
        [
            line("update_client", "updated"),
            line("rotate_client_secret", "upstream_failed"),
            line("rotate_client_secret", "rotated"),
            line("disable_client", "disabled"),
            line("enable_client", "enabled"),
        ]
    );
    // The refused one is audited under its caller.
    let theirs = audit_lines("someone-else");
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["fields"]["outcome"], "not_found");
}
