//! `GET /api/v1/client` and `GET /api/v1/client/{id}`

use serde_json::json;

use crate::support::{TestEnv, UNKNOWN_ID};
use auth0_emulator::Route as Auth0Route;

#[tokio::test]
async fn lists_only_the_callers_clients_oldest_first() {
    let env = TestEnv::new().await;
    let mine_1 = env.create_ok("owner-a", "Mine 1").await;
    let _theirs = env.create_ok("owner-b", "Theirs").await;
    let mine_2 = env.create_ok("owner-a", "Mine 2").await;
    // Applications the owner index does not name are not the caller's to
    // see, whatever their metadata says.
    env.emulator.seed_client(json!({
        "name": "A web app",
        "app_type": "regular_web",
        "client_metadata": {"owner_client_id": "owner-a"}
    }));
    env.emulator.seed_client(json!({
        "name": "Before the index",
        "app_type": "non_interactive",
        "client_metadata": {"owner_client_id": "owner-a"}
    }));
    env.emulator
        .seed_client(json!({"name": "Ops robot", "app_type": "non_interactive"}));

    let reply = env.list(&env.token("owner-a")).await;
    let expected = |created: &serde_json::Value| {
        json!({
            "id": created["client_id"],
            "name": created["name"],
            "description": created["description"],
            "client_id": created["client_id"],
            "scopes": created["scopes"],
            "status": "active",
            "auth_method": "client_secret_post", "last_used_at": null,
        })
    };
    reply.assert(200, json!([expected(&mine_1), expected(&mine_2)]));
    // Answered by the owner index alone.
    assert_eq!(env.emulator.count(Auth0Route::ListClients), 0);
}

#[tokio::test]
async fn an_owner_without_clients_gets_an_empty_list() {
    let env = TestEnv::new().await;
    env.create_ok("owner-b", "Theirs").await;
    env.list(&env.token("owner-a")).await.assert(200, json!([]));
}

#[tokio::test]
async fn lists_all_of_a_callers_clients_without_asking_auth0() {
    let env = TestEnv::new().await;
    for n in 0..130 {
        let owner = if n % 5 == 0 { "owner-a" } else { "owner-b" };
        env.legacy_client(owner, &format!("legacy {n}")).await;
    }
    let reply = env.list(&env.token("owner-a")).await;
    assert_eq!(reply.status, 200);
    let names: Vec<&str> = reply
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..130).step_by(5).map(|n| format!("legacy {n}")).collect();
    assert_eq!(names, expected, "every one, oldest first");
    assert!(reply.header("link").is_none(), "no pages without a limit");
    assert_eq!(env.emulator.count(Auth0Route::ListClients), 0);
}

#[tokio::test]
async fn gets_one_of_the_callers_clients() {
    let env = TestEnv::new().await;
    let id = env.create_id("owner-a", "Mine").await;
    env.get(&env.token("owner-a"), &id).await.assert(
        200,
        json!({
            "id": id,
            "name": "Mine",
            "description": "Mine description",
            "client_id": id,
            "scopes": m2m_shared::config::DEFAULT_GRANT_SCOPES,
            "status": "active",
            "auth_method": "client_secret_post", "last_used_at": null,
        }),
    );
}

#[tokio::test]
async fn unknown_foreign_and_impossible_ids_are_all_the_same_404() {
    let env = TestEnv::new().await;
    let theirs = env.create_id("owner-b", "Theirs").await;
    let web_app = env.emulator.seed_client(json!({
        "name": "Web", "app_type": "spa", "client_metadata": {"owner_client_id": "owner-a"}
    }));
    let token = env.token("owner-a");
    for id in [UNKNOWN_ID, &theirs, &web_app] {
        env.get(&token, id).await.assert_not_found();
    }
    for impossible in [
        "has space",
        "a.b",
        "../../clients",
        &"x".repeat(65),
        "caf\u{e9}",
    ] {
        env.get(&token, impossible).await.assert_not_found();
    }
    // Get never asks Auth0.
    assert_eq!(env.emulator.count(Auth0Route::GetClient), 0);
}
