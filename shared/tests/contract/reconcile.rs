//! The reconciler against the emulated tenant and the owner index in moto:
//! a backfill imports what only Auth0 had (deployments from before the
//! index), a sweep removes what Auth0 lost, and neither touches what it
//! should not.

use serde_json::json;

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
    assert_eq!(env.quota_count("owner-a").await, 1);
    env.assert_index_names_the_tenants_clients("owner-a", "after the sweep")
        .await;
}
