//! `DELETE /api/v1/client/{id}`

use serde_json::json;

use crate::support::TestEnv;
use auth0_emulator::Route as Auth0Route;

#[tokio::test]
async fn deletes_the_callers_client_with_an_empty_204() {
    let env = TestEnv::new().await;
    let created = env.create_ok("owner-a", "Doomed").await;
    let kept = env.create_ok("owner-a", "Kept").await;
    let id = created["client_id"].as_str().unwrap();
    let token = env.token("owner-a");

    let reply = env.delete(&token, id).await;
    assert_eq!(reply.status, 204);
    assert_eq!(reply.text, "");
    assert_eq!(reply.header("content-type"), None);

    let remaining: Vec<_> = env
        .emulator
        .clients()
        .iter()
        .map(|c| c["client_id"].clone())
        .collect();
    assert_eq!(remaining, [kept["client_id"].clone()]);
    assert!(env.emulator.grants().iter().all(|g| g["client_id"] != id));
    // Verify ownership, then delete: two calls.
    assert_eq!(env.emulator.count(Auth0Route::GetClient), 1);
    assert_eq!(env.emulator.count(Auth0Route::DeleteClient), 1);

    let not_found = json!({"code": "CLIENT_NOT_FOUND", "message": "client not found"});
    env.get(&token, id).await.assert(404, not_found.clone());
    env.delete(&token, id).await.assert(404, not_found);
}

#[tokio::test]
async fn nobody_deletes_someone_elses_client() {
    let env = TestEnv::new().await;
    let theirs = env.create_ok("owner-b", "Theirs").await;
    let id = theirs["client_id"].as_str().unwrap();
    env.delete(&env.token("owner-a"), id).await.assert(
        404,
        json!({"code": "CLIENT_NOT_FOUND", "message": "client not found"}),
    );
    assert_eq!(env.emulator.clients().len(), 1);
    assert_eq!(env.emulator.count(Auth0Route::DeleteClient), 0);
    // The owner still sees it.
    assert_eq!(env.get(&env.token("owner-b"), id).await.status, 200);
}

#[tokio::test]
async fn impossible_ids_are_404_without_asking_auth0() {
    let env = TestEnv::new().await;
    env.delete(&env.token("owner-a"), "no/slashes")
        .await
        .assert(
            404,
            json!({"code": "CLIENT_NOT_FOUND", "message": "client not found"}),
        );
    assert_eq!(env.emulator.count(Auth0Route::GetClient), 0);
    assert_eq!(env.emulator.count(Auth0Route::DeleteClient), 0);
}
