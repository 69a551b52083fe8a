//! `DELETE /api/v1/client/{id}`

use crate::support::TestEnv;
use auth0_emulator::Route as Auth0Route;

#[tokio::test]
async fn deletes_the_callers_client_with_an_empty_204() {
    let env = TestEnv::new().await;
    let id = env.create_id("owner-a", "Doomed").await;
    let kept = env.create_id("owner-a", "Kept").await;
    let token = env.token("owner-a");

    let reply = env.delete(&token, &id).await;
    assert_eq!(reply.status, 204);
    assert_eq!(reply.text, "");
    assert_eq!(reply.header("content-type"), None);

    assert_eq!(env.client_ids(), [kept]);
    assert!(env.emulator.grants().iter().all(|g| g["client_id"] != id));
    // Ownership comes from the owner index: one Auth0 call, the deletion.
    assert_eq!(env.emulator.count(Auth0Route::GetClient), 0);
    assert_eq!(env.emulator.count(Auth0Route::DeleteClient), 1);

    env.get(&token, &id).await.assert_not_found();
    env.delete(&token, &id).await.assert_not_found();
}

#[tokio::test]
async fn nobody_deletes_someone_elses_client() {
    let env = TestEnv::new().await;
    let id = env.create_id("owner-b", "Theirs").await;
    env.delete(&env.token("owner-a"), &id)
        .await
        .assert_not_found();
    assert_eq!(env.emulator.clients().len(), 1);
    assert_eq!(env.emulator.count(Auth0Route::DeleteClient), 0);
    // The owner still sees it.
    assert_eq!(env.get(&env.token("owner-b"), &id).await.status, 200);
}

#[tokio::test]
async fn impossible_ids_are_404_without_asking_auth0() {
    let env = TestEnv::new().await;
    env.delete(&env.token("owner-a"), "no/slashes")
        .await
        .assert_not_found();
    assert_eq!(env.emulator.count(Auth0Route::GetClient), 0);
    assert_eq!(env.emulator.count(Auth0Route::DeleteClient), 0);
}
