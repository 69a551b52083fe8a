//! The lifecycle routes (docs/behaviour.md, "Lifecycle routes"): update, rotate
//! the secret, disable and enable, and create's chosen scopes, through the
//! handlers, with Auth0's side checked in the emulator (its grants, and the
//! tokens its `/oauth/token` gives the clients made).

use auth0_emulator::{Fault as Auth0Fault, Route as Auth0Route};
use m2m_shared::domain::{Aspects, OwnerIndex, PendingChange};
use serde_json::{Value, json};

use crate::support::{CREATED_KEYS, Reply, Route, TestEnv, UNKNOWN_ID, bearer, keys_of, not_found};

/// One of owner-a's clients, as create answered.
struct Made {
    json: Value,
    id: String,
    secret: String,
}

/// A test environment with one of owner-a's clients, created with `body`.
async fn made(body: Value) -> (TestEnv, Made) {
    let env = TestEnv::new().await;
    let json = env.create_with("owner-a", body).await;
    let field = |name: &str| json[name].as_str().unwrap().to_owned();
    let client = Made {
        id: field("client_id"),
        secret: field("client_secret"),
        json,
    };
    (env, client)
}

/// A test environment with one of owner-a's clients, named `name`, that
/// chose `scopes`.
async fn made_with_scopes(name: &str, scopes: [&str; 2]) -> (TestEnv, Made) {
    made(json!({"name": name, "scopes": scopes})).await
}

/// What get and a change's 200 show of the client `id`, which
/// authenticates with a secret and has not been used.
fn shown(id: &str, name: &str, description: &str, scopes: Value, status: &str) -> Value {
    json!({
        "id": id, "client_id": id, "name": name, "description": description,
        "scopes": scopes, "status": status,
        "auth_method": "client_secret_post", "last_used_at": null,
    })
}

/// The client's grant has exactly `scopes`, in this order, and so do the
/// tokens its credentials get.
async fn assert_tokens_carry(env: &TestEnv, client: &Made, scopes: [&str; 2]) {
    assert_eq!(env.granted(&client.id), Some(json!(scopes)));
    let (status, token) = env.client_token(&client.id, &client.secret).await;
    assert_eq!(
        (status, token["scope"].as_str()),
        (200, Some(scopes.join(" ").as_str()))
    );
}

/// `route` (with `body`) once more, where the client already is as it
/// asks: `earlier`'s answer again, from the index, without an Auth0 call
/// (docs/behaviour.md, "Lifecycle routes").
async fn assert_a_repeat_costs_nothing(
    env: &TestEnv,
    (route, body): (Route, Option<Value>),
    token: &str,
    id: &str,
    earlier: &Reply,
) {
    let calls = env.emulator.requests().len();
    let again = env.lifecycle(route, token, id, body).await;
    assert_eq!(
        (again.status, &again.json),
        (200, &earlier.json),
        "{route:?}"
    );
    assert_eq!(
        env.emulator.requests().len(),
        calls,
        "{route:?}: Auth0 asked"
    );
}

#[tokio::test]
async fn a_client_created_with_two_scopes_gets_tokens_with_exactly_those() {
    let (env, client) = made_with_scopes("Scoped", ["read:hives", "read:spaces"]).await;
    assert_eq!(keys_of(&client.json), CREATED_KEYS);
    // In GRANT_SCOPES order, whatever the request's.
    assert_eq!(client.json["scopes"], json!(["read:spaces", "read:hives"]));
    assert_tokens_carry(&env, &client, ["read:spaces", "read:hives"]).await;
    let id = client.id.as_str();

    let got = env.get(&env.token("owner-a"), id).await;
    let scopes = json!(["read:spaces", "read:hives"]);
    assert_eq!(got.json, shown(id, "Scoped", "", scopes, "active"));
    // Without a choice, all of GRANT_SCOPES; list items say so too.
    let all = env.create_with("owner-a", json!({"name": "All"})).await;
    assert_eq!(all["scopes"].as_array().unwrap().len(), 12);
    let listed = env.list(&env.token("owner-a")).await;
    assert_eq!(listed.json[0]["scopes"], client.json["scopes"]);
    assert_eq!(listed.json[1]["scopes"], all["scopes"]);
    assert_eq!(keys_of(&listed.json[1]), keys_of(&got.json));
}

#[tokio::test]
async fn bad_scopes_are_refused_and_nothing_is_made() {
    let env = TestEnv::new().await;
    let token = env.token("owner-a");
    for (scopes, message) in [
        (
            json!([]),
            "scopes must not be empty: leave it out for all scopes",
        ),
        (
            json!(["read:spaces", "read:spaces"]),
            "scope `read:spaces` is listed twice",
        ),
        (
            json!(["read:spaces", "admin"]),
            "scope `admin` is not one this service grants",
        ),
        (
            json!(["create:m2m_clients"]),
            "scope `create:m2m_clients` is not one this service grants",
        ),
        (json!("read:spaces"), "scopes must be an array of strings"),
        (json!([1]), "scopes must be an array of strings"),
    ] {
        let reply = env
            .create(&token, json!({"name": "Bad", "scopes": scopes}))
            .await;
        reply.assert(400, json!({"code": "INVALID_REQUEST", "message": message}));
    }
    assert!(env.emulator.clients().iter().all(|c| c["name"] != "Bad"));
    assert_eq!(env.emulator.count(Auth0Route::CreateClient), 0);
}

#[tokio::test]
async fn an_update_renames_in_auth0_and_in_what_list_shows() {
    let (env, client) = made(json!({"name": "Before", "description": "d"})).await;
    let id = client.id.as_str();
    let token = env.token("owner-a");
    let reply = env.update(&token, id, json!({"name": "After"})).await;
    let scopes = client.json["scopes"].clone();
    let expected = shown(id, "After", "d", scopes, "active");
    assert_eq!(reply.json, expected, "{}", reply.text);
    assert_eq!(reply.status, 200);
    assert_eq!(env.name_in_auth0(id), "After");
    assert_eq!(env.list(&token).await.json[0]["name"], "After");
    let reply = env.update(&token, id, json!({"description": ""})).await;
    assert_eq!(
        (reply.status, &reply.json["description"]),
        (200, &json!(""))
    );
    assert_eq!(env.get(&token, id).await.json["description"], "");
    let same = (Route::UpdateClient, Some(json!({"name": "After"})));
    assert_a_repeat_costs_nothing(&env, same, &token, id, &reply).await;
}

#[tokio::test]
async fn bad_updates_are_400_and_change_nothing() {
    let env = TestEnv::new().await;
    let id = env.create_id("owner-a", "Unchanged").await;
    let token = env.token("owner-a");
    for (body, message) in [
        (
            json!({}),
            "name, description or scopes is required: nothing to update",
        ),
        (json!({"name": "  "}), "client name is required"),
        (
            json!({"name": "<b>"}),
            "client name must not contain '<', '>' or control characters",
        ),
        (json!({"name": 1}), "client name must be a string"),
        (
            json!({"description": "d".repeat(141)}),
            "client description must be at most 140 characters",
        ),
        (
            json!({"name": "x", "status": "disabled"}),
            "unknown field `status`: only name, description and scopes are accepted",
        ),
        (
            json!({"scopes": []}),
            "scopes must not be empty: leave it out for all scopes",
        ),
        (
            json!({"scopes": ["read:spaces", "admin"]}),
            "scope `admin` is not one this service grants",
        ),
        (
            json!({"name": "x", "scopes": ["update:m2m_clients"]}),
            "scope `update:m2m_clients` is not one this service grants",
        ),
        (json!([]), "request body must be a JSON object"),
    ] {
        let reply = env
            .lifecycle(Route::UpdateClient, &token, &id, Some(body))
            .await;
        reply.assert(400, json!({"code": "INVALID_REQUEST", "message": message}));
    }
    let empty = env
        .send(Route::UpdateClient, Some(&bearer(&token)), Some(&id), None)
        .await;
    empty.assert(
        400,
        json!({"code": "INVALID_REQUEST", "message": "request body is required"}),
    );
    assert_eq!(env.name_in_auth0(&id), "Unchanged");
    assert_eq!(env.emulator.count(Auth0Route::UpdateClient), 0);
    assert_eq!(env.emulator.count(Auth0Route::UpdateGrant), 0);
    assert_eq!(env.granted(&id).unwrap().as_array().unwrap().len(), 12);
}

#[tokio::test]
async fn an_update_of_scopes_changes_what_the_next_token_carries() {
    let (env, client) = made_with_scopes("Rescoped", ["read:rooms", "write:rooms"]).await;
    let id = client.id.as_str();
    let token = env.token("owner-a");
    assert_tokens_carry(&env, &client, ["read:rooms", "write:rooms"]).await;

    let body = json!({"scopes": ["read:hives", "read:spaces"]});
    let reply = env.update(&token, id, body.clone()).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let scopes = json!(["read:spaces", "read:hives"]);
    let expected = shown(id, "Rescoped", "", scopes, "active");
    assert_eq!(reply.json, expected);
    assert_eq!(env.get(&token, id).await.json, expected);
    assert_eq!(env.list(&token).await.json[0]["scopes"], expected["scopes"]);
    // The grant was changed, not replaced: the same one, new scopes.
    assert_eq!(env.emulator.count(Auth0Route::UpdateGrant), 1);
    assert_tokens_carry(&env, &client, ["read:spaces", "read:hives"]).await;
    assert_a_repeat_costs_nothing(&env, (Route::UpdateClient, Some(body)), &token, id, &reply)
        .await;

    // A disabled client has no grant: its new scopes wait for enable.
    let disabled = env.lifecycle(Route::DisableClient, &token, id, None).await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    let narrowed = env
        .update(
            &token,
            id,
            json!({"name": "Renamed too", "scopes": ["write:rooms", "read:rooms"]}),
        )
        .await;
    assert_eq!(narrowed.status, 200, "{}", narrowed.text);
    assert_eq!(
        narrowed.json["scopes"],
        json!(["read:rooms", "write:rooms"])
    );
    assert_eq!(narrowed.json["status"], "disabled");
    assert_eq!(env.granted(id), None);
    assert_eq!(env.client_token(id, &client.secret).await.0, 403);
    let enabled = env.lifecycle(Route::EnableClient, &token, id, None).await;
    assert_eq!(enabled.status, 200, "{}", enabled.text);
    assert_tokens_carry(&env, &client, ["read:rooms", "write:rooms"]).await;
    assert_eq!(env.name_in_auth0(id), "Renamed too");
    env.assert_index_names_the_tenants_clients("owner-a", "after the scopes changed")
        .await;
}

#[tokio::test]
async fn a_scopes_update_that_answered_502_leaves_them_as_they_were_after_the_reconciler() {
    let (env, client) = made_with_scopes("Unsure", ["read:rooms", "write:rooms"]).await;
    let id = client.id.as_str();
    let token = env.token("owner-a");
    // Auth0 changes the grant each time, and answers 500 each time.
    env.inject_times(
        Auth0Route::UpdateGrant,
        Auth0Fault::HandledThenStatus(500),
        3,
    );
    let failed = env
        .update(&token, id, json!({"scopes": ["read:hives"]}))
        .await;
    failed.assert(
        502,
        json!({"code": "CLIENT_UPDATE_FAILED", "message": failed.json["message"]}),
    );
    // What get shows is what the client was; Auth0 may differ until the
    // reconciler sets it back.
    let got = env.get(&token, id).await;
    assert_eq!(got.json["scopes"], json!(["read:rooms", "write:rooms"]));
    assert_eq!(env.granted(id), Some(json!(["read:hives"])));
    let summary = env.reconcile(false).await;
    assert_eq!(summary.repaired_changes, 1, "{summary:?}");
    assert_tokens_carry(&env, &client, ["read:rooms", "write:rooms"]).await;
    assert_eq!(
        env.get(&token, id).await.json["scopes"],
        json!(["read:rooms", "write:rooms"])
    );
    env.assert_index_names_the_tenants_clients("owner-a", "after the repair")
        .await;
}

#[tokio::test]
async fn a_rotation_retires_the_old_secret_at_once() {
    let (env, client) = made(json!({"name": "Rotated"})).await;
    let (id, old) = (client.id.as_str(), client.secret.as_str());
    let reply = env
        .lifecycle(Route::RotateClientSecret, &env.token("owner-a"), id, None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(keys_of(&reply.json), ["client_id", "client_secret"]);
    assert_eq!(reply.json["client_id"], id);
    let new = reply.json["client_secret"].as_str().unwrap();
    assert_ne!(new, old);
    assert_eq!(env.client_token(id, old).await.0, 401);
    assert_eq!(env.client_token(id, new).await.0, 200);
    // An idempotent replay of the create now answers with the current one.
    assert!(
        env.get(&env.token("owner-a"), id)
            .await
            .json
            .get("client_secret")
            .is_none()
    );
}

#[tokio::test]
async fn disable_stops_new_tokens_and_enable_restores_the_chosen_scopes() {
    let (env, client) = made_with_scopes("Switched", ["write:rooms", "read:rooms"]).await;
    let (id, secret) = (client.id.as_str(), client.secret.as_str());
    let token = env.token("owner-a");

    let disabled = env.lifecycle(Route::DisableClient, &token, id, None).await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    let scopes = json!(["read:rooms", "write:rooms"]);
    assert_eq!(disabled.json, shown(id, "Switched", "", scopes, "disabled"));
    assert_eq!(env.granted(id), None, "a disabled client's grant is gone");
    assert_eq!(env.client_token(id, secret).await.0, 403);
    assert_eq!(env.get(&token, id).await.json["status"], "disabled");
    assert_eq!(env.list(&token).await.json[0]["status"], "disabled");
    assert_a_repeat_costs_nothing(&env, (Route::DisableClient, None), &token, id, &disabled).await;

    let enabled = env.lifecycle(Route::EnableClient, &token, id, None).await;
    assert_eq!(enabled.status, 200, "{}", enabled.text);
    assert_eq!(enabled.json["status"], "active");
    assert_tokens_carry(&env, &client, ["read:rooms", "write:rooms"]).await;
    assert_a_repeat_costs_nothing(&env, (Route::EnableClient, None), &token, id, &enabled).await;
    env.assert_index_names_the_tenants_clients("owner-a", "after enable")
        .await;
}

#[tokio::test]
async fn another_owners_client_and_impossible_ids_are_404_on_every_lifecycle_route() {
    let env = TestEnv::new().await;
    let theirs = env.create_id("owner-b", "Theirs").await;
    let token = env.token("owner-a");
    let calls = env.emulator.requests().len();
    for route in [
        Route::UpdateClient,
        Route::RotateClientSecret,
        Route::DisableClient,
        Route::EnableClient,
    ] {
        let body = (route == Route::UpdateClient).then(|| json!({"name": "Mine now"}));
        for id in [theirs.as_str(), UNKNOWN_ID, "a.b", &"x".repeat(65)] {
            let reply = env.lifecycle(route, &token, id, body.clone()).await;
            assert_eq!(
                (reply.status, &reply.json),
                (404, &not_found()),
                "{route:?} {id}"
            );
        }
    }
    assert_eq!(
        env.emulator.requests().len(),
        calls,
        "nothing reached Auth0"
    );
    assert_eq!(env.name_in_auth0(&theirs), "Theirs");
    assert!(env.granted(&theirs).is_some());
}

#[tokio::test]
async fn a_change_under_way_makes_another_wait() {
    let env = TestEnv::new().await;
    let id = env.create_id("owner-a", "Busy").await;
    let owner = test_support::setup::owner("owner-a");
    let running = PendingChange::begin(Aspects::ACCESS);
    let read = env
        .index()
        .get(&owner, &id)
        .await
        .unwrap()
        .expect("the client");
    env.index()
        .begin_change(&read, &running, 0)
        .await
        .expect("a change begun");
    let token = env.token("owner-a");
    for (route, body) in [
        (Route::UpdateClient, Some(json!({"name": "Other"}))),
        (Route::DisableClient, None),
        (Route::EnableClient, None),
    ] {
        let reply = env.lifecycle(route, &token, &id, body).await;
        reply.assert(
            409,
            json!({
                "code": "CLIENT_CHANGE_IN_PROGRESS",
                "message": "another change to this client is in progress; retry shortly",
            }),
        );
    }
    // A rotation does not change what the index records: it goes ahead.
    let rotated = env
        .lifecycle(Route::RotateClientSecret, &token, &id, None)
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    // Gets and lists show it as it was.
    assert_eq!(env.get(&token, &id).await.json["name"], "Busy");
}
