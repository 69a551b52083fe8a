//! One structured audit line per create and delete.

use serde_json::Value;

use crate::support::{TestEnv, logs};

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
