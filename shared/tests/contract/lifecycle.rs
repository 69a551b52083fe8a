//! The lifecycle routes (docs/behaviour.md, "Lifecycle routes"): update, rotate
//! the secret, disable and enable, and create's chosen scopes, through the
//! handlers, with Auth0's side checked in the emulator (its grants, and the
//! tokens its `/oauth/token` gives the clients made).

use auth0_emulator::Route as Auth0Route;
use m2m_shared::domain::{Aspects, OwnerIndex, PendingChange};
use serde_json::{Value, json};

use crate::support::{Route, TestEnv, UNKNOWN_ID, bearer, keys_of, not_found};

/// The audience new clients are granted (the tests' `GRANT_AUDIENCE`).
const GRANT_AUDIENCE: &str = "https://butlrauth/";

impl TestEnv {
    /// Sends one of the lifecycle routes for the client `id`.
    pub async fn lifecycle(
        &self,
        route: Route,
        token: &str,
        id: &str,
        body: Option<Value>,
    ) -> crate::support::Reply {
        let body = body.map(|body| body.to_string());
        self.send(route, Some(&bearer(token)), Some(id), body.as_deref())
            .await
    }

    /// What the emulator's `/oauth/token` answers the client `id` with
    /// `secret`, for the grant's audience: the status, and the token's
    /// scopes when one is issued.
    pub async fn client_token(&self, id: &str, secret: &str) -> (u16, Option<String>) {
        let answer = reqwest::Client::new()
            .post(format!("{}/oauth/token", self.emulator.base_url()))
            .json(&json!({
                "grant_type": "client_credentials",
                "client_id": id,
                "client_secret": secret,
                "audience": GRANT_AUDIENCE,
            }))
            .send()
            .await
            .expect("the emulator answers");
        let status = answer.status().as_u16();
        let body: Value = answer.json().await.unwrap_or_default();
        (status, body["scope"].as_str().map(str::to_owned))
    }

    /// The scopes of the client's grant in the emulator, if it has one.
    pub fn granted(&self, id: &str) -> Option<Value> {
        self.emulator
            .grants()
            .into_iter()
            .find(|grant| grant["client_id"] == id && grant["audience"] == GRANT_AUDIENCE)
            .map(|grant| grant["scope"].clone())
    }

    /// The client's name in the emulator.
    pub fn name_in_auth0(&self, id: &str) -> Value {
        self.emulator
            .clients()
            .into_iter()
            .find(|client| client["client_id"] == id)
            .map(|client| client["name"].clone())
            .unwrap_or(Value::Null)
    }
}

/// A client of `owner` made with `body`: its 201 body.
async fn created(env: &TestEnv, owner: &str, body: Value) -> Value {
    let reply = env.create(&env.token(owner), body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    env.remember_sensitive(reply.json["client_secret"].as_str().unwrap());
    reply.json
}

#[tokio::test]
async fn a_client_created_with_two_scopes_gets_tokens_with_exactly_those() {
    let env = TestEnv::new().await;
    let client = created(
        &env,
        "owner-a",
        json!({"name": "Scoped", "scopes": ["read:hives", "read:spaces"]}),
    )
    .await;
    assert_eq!(
        keys_of(&client),
        [
            "client_id",
            "client_secret",
            "description",
            "name",
            "scopes"
        ]
    );
    // In GRANT_SCOPES order, whatever the request's.
    assert_eq!(client["scopes"], json!(["read:spaces", "read:hives"]));
    let id = client["client_id"].as_str().unwrap();
    let secret = client["client_secret"].as_str().unwrap();
    assert_eq!(env.granted(id), Some(json!(["read:spaces", "read:hives"])));
    let (status, scope) = env.client_token(id, secret).await;
    assert_eq!(
        (status, scope.as_deref()),
        (200, Some("read:spaces read:hives"))
    );

    let got = env.get(&env.token("owner-a"), id).await;
    assert_eq!(
        got.json,
        json!({
            "id": id, "client_id": id, "name": "Scoped", "description": "",
            "scopes": ["read:spaces", "read:hives"], "status": "active",
        })
    );
    // Without a choice, all of GRANT_SCOPES; list items say so too.
    let all = created(&env, "owner-a", json!({"name": "All"})).await;
    assert_eq!(all["scopes"].as_array().unwrap().len(), 12);
    let listed = env.list(&env.token("owner-a")).await;
    assert_eq!(listed.json[0]["scopes"], client["scopes"]);
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
    let env = TestEnv::new().await;
    let client = created(
        &env,
        "owner-a",
        json!({"name": "Before", "description": "d"}),
    )
    .await;
    let id = client["client_id"].as_str().unwrap();
    let token = env.token("owner-a");
    let reply = env
        .lifecycle(
            Route::UpdateClient,
            &token,
            id,
            Some(json!({"name": "After"})),
        )
        .await;
    assert_eq!(
        reply.json,
        json!({
            "id": id, "client_id": id, "name": "After", "description": "d",
            "scopes": client["scopes"], "status": "active",
        }),
        "{}",
        reply.text
    );
    assert_eq!(reply.status, 200);
    assert_eq!(env.name_in_auth0(id), "After");
    assert_eq!(env.list(&token).await.json[0]["name"], "After");
    let reply = env
        .lifecycle(
            Route::UpdateClient,
            &token,
            id,
            Some(json!({"description": ""})),
        )
        .await;
    assert_eq!(
        (reply.status, &reply.json["description"]),
        (200, &json!(""))
    );
    assert_eq!(env.get(&token, id).await.json["description"], "");
    // The same values again: answered from the index, no Auth0 call.
    let patches = env.emulator.count(Auth0Route::UpdateClient);
    let again = env
        .lifecycle(
            Route::UpdateClient,
            &token,
            id,
            Some(json!({"name": "After"})),
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(env.emulator.count(Auth0Route::UpdateClient), patches);
}

#[tokio::test]
async fn bad_updates_are_400_and_change_nothing() {
    let env = TestEnv::new().await;
    let id = env.create_id("owner-a", "Unchanged").await;
    let token = env.token("owner-a");
    for (body, message) in [
        (
            json!({}),
            "name or description is required: nothing to update",
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
            "unknown field `status`: only name and description are accepted",
        ),
        (
            json!({"scopes": ["read:spaces"]}),
            "unknown field `scopes`: only name and description are accepted",
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
}

#[tokio::test]
async fn a_rotation_retires_the_old_secret_at_once() {
    let env = TestEnv::new().await;
    let client = created(&env, "owner-a", json!({"name": "Rotated"})).await;
    let id = client["client_id"].as_str().unwrap();
    let old = client["client_secret"].as_str().unwrap();
    let reply = env
        .lifecycle(Route::RotateClientSecret, &env.token("owner-a"), id, None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(keys_of(&reply.json), ["client_id", "client_secret"]);
    assert_eq!(reply.json["client_id"], id);
    let new = reply.json["client_secret"].as_str().unwrap();
    env.remember_sensitive(new);
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
    let env = TestEnv::new().await;
    let client = created(
        &env,
        "owner-a",
        json!({"name": "Switched", "scopes": ["write:rooms", "read:rooms"]}),
    )
    .await;
    let id = client["client_id"].as_str().unwrap();
    let secret = client["client_secret"].as_str().unwrap();
    let token = env.token("owner-a");

    let disabled = env.lifecycle(Route::DisableClient, &token, id, None).await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    assert_eq!(
        disabled.json,
        json!({
            "id": id, "client_id": id, "name": "Switched", "description": "",
            "scopes": ["read:rooms", "write:rooms"], "status": "disabled",
        })
    );
    assert_eq!(env.granted(id), None, "a disabled client's grant is gone");
    assert_eq!(env.client_token(id, secret).await.0, 403);
    assert_eq!(env.get(&token, id).await.json["status"], "disabled");
    assert_eq!(env.list(&token).await.json[0]["status"], "disabled");
    // Idempotent, and without an Auth0 call.
    let calls = env.emulator.requests().len();
    let again = env.lifecycle(Route::DisableClient, &token, id, None).await;
    assert_eq!((again.status, &again.json), (200, &disabled.json));
    assert_eq!(env.emulator.requests().len(), calls);

    let enabled = env.lifecycle(Route::EnableClient, &token, id, None).await;
    assert_eq!(enabled.status, 200, "{}", enabled.text);
    assert_eq!(enabled.json["status"], "active");
    assert_eq!(env.granted(id), Some(json!(["read:rooms", "write:rooms"])));
    let (status, scope) = env.client_token(id, secret).await;
    assert_eq!(
        (status, scope.as_deref()),
        (200, Some("read:rooms write:rooms"))
    );
    let again = env.lifecycle(Route::EnableClient, &token, id, None).await;
    assert_eq!((again.status, &again.json), (200, &enabled.json));
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
    env.remember_sensitive(rotated.json["client_secret"].as_str().unwrap());
    // Gets and lists show it as it was.
    assert_eq!(env.get(&token, &id).await.json["name"], "Busy");
}
