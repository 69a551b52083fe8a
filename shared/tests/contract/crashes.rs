//! Create, delete and the changes (update, a scopes update, disable, enable) stopped at every step, after each table write and
//! each Auth0 call, as when a function is killed mid-way; then one run of
//! the reconciler. Afterwards the owner index's invariants hold
//! (docs/owner-index.md): no client in Auth0 without an item naming it, no
//! item shown for a client Auth0 lacks, nothing half-done, the quota equal
//! to the clients, and the idempotency key free again where no client came
//! of it.

use std::time::Duration;

use auth0_emulator::{Fault, Route as Auth0Route};
use serde_json::json;

use crate::support::stopping::{StopAt, StoppingIndex};
use crate::support::{Route, TestEnv, sample_event};

const OWNER: &str = "owner-a";

/// Where a stopped request stops: at a call of the owner index, or before
/// Auth0 does anything with a call (the emulator stalls it).
#[derive(Clone, Copy, Debug)]
enum Stop {
    Index(StopAt),
    BeforeAuth0(Auth0Route),
}

/// Every step a change (whose Auth0 call is `auth0`) may stop at.
fn change_stops(auth0: Auth0Route) -> [Stop; 4] {
    [
        // The change recorded; Auth0 not asked.
        Stop::Index(StopAt::After("begin_change")),
        // Auth0 asked; it never processed the call.
        Stop::BeforeAuth0(auth0),
        // Auth0 changed; the index not yet.
        Stop::Index(StopAt::Before("end_change")),
        // All done: only the answer was lost.
        Stop::Index(StopAt::After("end_change")),
    ]
}

/// Sends `route`'s request for `id` through a container that stops at
/// `stop`, and kills it there.
async fn stopped(env: &TestEnv, route: Route, id: Option<&str>, stop: Stop) {
    stopped_with(env, route, id, stop, None).await;
}

/// [`stopped`], with `body` instead of the route's sample body.
async fn stopped_with(
    env: &TestEnv,
    route: Route,
    id: Option<&str>,
    stop: Stop,
    body: Option<&str>,
) {
    let index = match stop {
        Stop::Index(at) => StoppingIndex::new(env.index(), at),
        Stop::BeforeAuth0(call) => {
            env.emulator
                .inject(call, Fault::Stall(Duration::from_secs(30)));
            // Stops nowhere.
            StoppingIndex::new(env.index(), StopAt::Before("never"))
        }
    };
    let app = env.container_with_index(index);
    app.warm_up().await;
    let mut event = sample_event(route).bearer(&env.token(OWNER));
    if route == Route::CreateClient {
        event = event
            .header("idempotency-key", "crash-key")
            .body(r#"{"name": "Crashed"}"#);
    }
    if let Some(id) = id {
        event = event.id(id);
    }
    if let Some(body) = body {
        event = event.body(body);
    }
    let request = event.request();
    let killed = tokio::time::timeout(
        Duration::from_secs(2),
        m2m_shared::api::handle(&app, route, request),
    )
    .await;
    assert!(killed.is_err(), "{stop:?}: the request should have stopped");
}

async fn check(env: &TestEnv, case: &str) {
    env.reconcile(false).await;
    env.assert_index_names_the_tenants_clients(OWNER, case)
        .await;
    env.assert_no_client_without_grant(case);
    // Idempotent: a second run finds nothing to do.
    let again = env.reconcile(false).await;
    assert_eq!(
        (
            again.repaired_creations,
            again.finished_deletions,
            again.removed
        ),
        (0, 0, 0),
        "{case}"
    );
    // The key is free, or stands for the client that was made: either way
    // its repeat is answered 201, and the invariants still hold.
    let repeat = env
        .create_keyed(&env.token(OWNER), "crash-key", json!({"name": "Crashed"}))
        .await;
    assert_eq!(repeat.status, 201, "{case}: {}", repeat.text);
    env.assert_index_names_the_tenants_clients(OWNER, case)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_stopped_at_any_step_is_repaired() {
    for stop in [
        // The creation recorded; Auth0 not asked.
        Stop::Index(StopAt::After("begin_creation")),
        // The client made in Auth0; its grant never processed.
        Stop::BeforeAuth0(Auth0Route::CreateGrant),
        // Client and grant made; the creation never marked complete.
        Stop::Index(StopAt::Before("finish_creation")),
        // All done: only the answer was lost.
        Stop::Index(StopAt::After("finish_creation")),
    ] {
        let env = TestEnv::new().await;
        let kept = env.create_id(OWNER, "Kept").await;
        stopped(&env, Route::CreateClient, None, stop).await;
        check(&env, &format!("create stopped at {stop:?}")).await;
        assert!(
            env.emulator
                .clients()
                .iter()
                .any(|c| c["client_id"] == kept.as_str()),
            "{stop:?}: the other client is untouched"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_stopped_at_any_step_is_finished() {
    for stop in [
        // Marked as being deleted; Auth0 not asked.
        Stop::BeforeAuth0(Auth0Route::DeleteClient),
        Stop::Index(StopAt::After("begin_deletion")),
        // Deleted in Auth0; the item never removed.
        Stop::Index(StopAt::Before("remove")),
        // All done: only the answer was lost.
        Stop::Index(StopAt::After("remove")),
    ] {
        let env = TestEnv::new().await;
        let doomed = env.create_id(OWNER, "Doomed").await;
        stopped(&env, Route::DeleteClient, Some(&doomed), stop).await;
        // Whatever happened, the client is no longer shown.
        env.get(&env.token(OWNER), &doomed).await.assert_not_found();
        check(&env, &format!("delete stopped at {stop:?}")).await;
        assert!(
            env.emulator
                .clients()
                .iter()
                .all(|c| c["client_id"] != doomed.as_str()),
            "{stop:?}: the client the caller deleted is gone"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_stopped_at_any_step_leaves_auth0_matching_what_is_shown() {
    for (route, auth0) in [
        (Route::UpdateClient, Auth0Route::UpdateClient),
        (Route::DisableClient, Auth0Route::DeleteGrant),
        (Route::EnableClient, Auth0Route::CreateGrant),
    ] {
        for stop in change_stops(auth0) {
            let case = format!("{route:?} stopped at {stop:?}");
            let env = TestEnv::new().await;
            let token = env.token(OWNER);
            let id = env.create_id(OWNER, "Changed").await;
            if route == Route::EnableClient {
                let disabled = env.lifecycle(Route::DisableClient, &token, &id, None).await;
                assert_eq!(disabled.status, 200, "{case}: {}", disabled.text);
            }
            stopped(&env, route, Some(&id), stop).await;
            let summary = env.reconcile(false).await;
            assert_eq!(summary.failed, 0, "{case}: {summary:?}");
            let shown = env.get(&token, &id).await;
            assert_eq!(shown.status, 200, "{case}: {}", shown.text);
            assert_eq!(env.name_in_auth0(&id), shown.json["name"], "{case}");
            assert_eq!(
                env.granted(&id).is_some(),
                shown.json["status"] == "active",
                "{case}: the grant and the status"
            );
            // Nothing is left under way: the client changes again at once.
            let again = env.update(&token, &id, json!({"name": "Again"})).await;
            assert_eq!(again.status, 200, "{case}: {}", again.text);
            assert_eq!(env.name_in_auth0(&id), "Again", "{case}");
            env.assert_index_names_the_tenants_clients(OWNER, &case)
                .await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scopes_update_stopped_at_any_step_leaves_the_grant_matching_what_is_shown() {
    for stop in change_stops(Auth0Route::UpdateGrant) {
        let case = format!("a scopes update stopped at {stop:?}");
        let env = TestEnv::new().await;
        let token = env.token(OWNER);
        let id = env
            .create_with(OWNER, json!({"name": "Rescoped", "scopes": ["read:rooms"]}))
            .await["client_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let body = r#"{"scopes": ["read:hives", "write:hives"]}"#;
        stopped_with(&env, Route::UpdateClient, Some(&id), stop, Some(body)).await;
        let summary = env.reconcile(false).await;
        assert_eq!(summary.failed, 0, "{case}: {summary:?}");
        let shown = env.get(&token, &id).await;
        assert_eq!(shown.status, 200, "{case}: {}", shown.text);
        assert_eq!(
            env.granted(&id),
            Some(shown.json["scopes"].clone()),
            "{case}"
        );
        // Nothing is left under way: the scopes change again at once.
        let again = env
            .update(&token, &id, json!({"scopes": ["read:spaces"]}))
            .await;
        assert_eq!(again.status, 200, "{case}: {}", again.text);
        assert_eq!(env.granted(&id), Some(json!(["read:spaces"])), "{case}");
        env.assert_index_names_the_tenants_clients(OWNER, &case)
            .await;
    }
}
