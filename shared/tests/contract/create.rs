//! `POST /api/v1/client`

use m2m_shared::config::{DEFAULT_GRANT_AUDIENCE, DEFAULT_GRANT_SCOPES};
use serde_json::json;

use crate::support::{
    CREATED_KEYS, Event, Options, Route, TestEnv, bearer, keys_of, workspace_yaml,
};
use auth0_emulator::Route as Auth0Route;

fn is_ksuid_client_id(id: &str) -> bool {
    id.strip_prefix("client_").is_some_and(|ksuid| {
        ksuid.len() == 27
            && ksuid.bytes().all(|b| b.is_ascii_alphanumeric())
            && ksuid::Ksuid::from_base62(ksuid).is_ok()
    })
}

fn is_auth0_client_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[tokio::test]
async fn creates_a_client_in_the_documented_shape_owned_by_the_caller() {
    let env = TestEnv::new().await;
    let reply = env
        .create(
            &env.token("owner-a"),
            json!({"name": "My API Client", "description": "Client for accessing internal APIs"}),
        )
        .await;

    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.keys(), CREATED_KEYS);
    assert_eq!(reply.json["name"], "My API Client");
    assert_eq!(
        reply.json["description"],
        "Client for accessing internal APIs"
    );
    // Without a choice, all of GRANT_SCOPES, in their order.
    assert_eq!(reply.json["scopes"], json!(DEFAULT_GRANT_SCOPES));
    let client_id = reply.json["client_id"].as_str().unwrap();
    assert!(is_ksuid_client_id(client_id), "{client_id}");

    // What Auth0 now holds: an M2M app for this owner, with its one grant.
    let clients = env.emulator.clients();
    assert_eq!(clients.len(), 1);
    let stored = &clients[0];
    assert_eq!(stored["client_id"], client_id);
    assert_eq!(stored["client_secret"], reply.json["client_secret"]);
    assert_eq!(stored["app_type"], "non_interactive");
    assert_eq!(stored["grant_types"], json!(["client_credentials"]));
    assert_eq!(stored["token_endpoint_auth_method"], "client_secret_post");
    // The owner, and the creation that made it (its chosen id: issue 19,
    // finding 4).
    assert_eq!(
        stored["client_metadata"],
        json!({"owner_client_id": "owner-a", "creation_id": client_id})
    );

    let grants = env.emulator.grants();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0]["client_id"], client_id);
    assert_eq!(grants[0]["audience"], DEFAULT_GRANT_AUDIENCE);
    assert_eq!(grants[0]["scope"], json!(DEFAULT_GRANT_SCOPES));
}

#[tokio::test]
async fn the_new_credentials_work_for_the_butlr_api() {
    let env = TestEnv::new().await;
    let created = env.create_ok("owner-a", "Worker").await;
    let (status, token) = env
        .client_token(
            created["client_id"].as_str().unwrap(),
            created["client_secret"].as_str().unwrap(),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(token["token_type"], "Bearer");
    let scopes: Vec<&str> = token["scope"].as_str().unwrap().split(' ').collect();
    assert_eq!(scopes, DEFAULT_GRANT_SCOPES);
}

/// What a deployment grants new clients unless told otherwise is what the
/// service grants without configuration (the tests above).
#[test]
fn template_yaml_grants_new_clients_the_services_defaults() {
    let template = workspace_yaml("template.yaml");
    let parameter = |name: &str| {
        template["Parameters"][name]["Default"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has a default"))
            .to_owned()
    };
    assert_eq!(parameter("GrantAudience"), DEFAULT_GRANT_AUDIENCE);
    assert_eq!(
        parameter("GrantScopes")
            .split_whitespace()
            .collect::<Vec<_>>(),
        DEFAULT_GRANT_SCOPES
    );
}

#[tokio::test]
async fn description_is_optional_and_the_name_is_trimmed() {
    let env = TestEnv::new().await;
    let reply = env
        .create(&env.token("owner-a"), json!({"name": "  Spaced out  "}))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.json["name"], "Spaced out");
    assert_eq!(reply.json["description"], "");
    assert_eq!(env.emulator.clients()[0]["name"], "Spaced out");
}

#[tokio::test]
async fn invalid_bodies_get_400_invalid_request_and_never_reach_auth0() {
    let env = TestEnv::new().await;
    let token = env.token("owner-a");
    // The validation's unit test checks the same bodies' messages.
    let cases = test_support::bodies::invalid_create_bodies();
    for (body, message) in cases {
        let reply = env
            .send(
                Route::CreateClient,
                Some(&bearer(&token)),
                None,
                Some(&body),
            )
            .await;
        reply.assert(400, json!({"code": "INVALID_REQUEST", "message": message}));
    }
    // A request without a body at all.
    let reply = env
        .send(Route::CreateClient, Some(&bearer(&token)), None, None)
        .await;
    reply.assert(
        400,
        json!({"code": "INVALID_REQUEST", "message": "request body is required"}),
    );
    assert_eq!(env.emulator.count(Auth0Route::CreateClient), 0);
    assert!(env.emulator.clients().is_empty());
}

#[tokio::test]
async fn authentication_comes_before_validation() {
    let env = TestEnv::new().await;
    let reply = env
        .send(Route::CreateClient, None, None, Some("not json"))
        .await;
    reply.assert(401, json!({"message": "missing or malformed jwt"}));
}

#[tokio::test]
async fn tenants_without_custom_ids_fall_back_to_auth0_ids_once_per_container() {
    let mut options = Options::default();
    options.emulator.custom_client_ids = false;
    let env = TestEnv::with(options).await;

    let first = env.create_ok("owner-a", "First").await;
    assert!(
        is_auth0_client_id(first["client_id"].as_str().unwrap()),
        "{first}"
    );
    // Refused with client_id, then accepted without it.
    assert_eq!(env.emulator.count(Auth0Route::CreateClient), 2);

    let second = env.create_ok("owner-a", "Second").await;
    assert!(is_auth0_client_id(second["client_id"].as_str().unwrap()));
    // The container remembers: no second refusal.
    assert_eq!(env.emulator.count(Auth0Route::CreateClient), 3);
    assert_eq!(env.emulator.clients().len(), 2);
    assert_eq!(env.emulator.grants().len(), 2);
    assert!(env.emulator.take_schema_violations().is_empty());
}

#[tokio::test]
async fn custom_ids_can_be_turned_off() {
    let env = TestEnv::with_env(vec![("CUSTOM_CLIENT_IDS", "false".into())]).await;
    let created = env.create_ok("owner-a", "Plain").await;
    assert!(is_auth0_client_id(created["client_id"].as_str().unwrap()));
    assert_eq!(env.emulator.count(Auth0Route::CreateClient), 1);
}

#[tokio::test]
async fn grant_settings_come_from_the_configuration() {
    let env = TestEnv::with_env(vec![("GRANT_SCOPES", "read:spaces read:rooms".into())]).await;
    env.create_ok("owner-a", "Reader").await;
    assert_eq!(
        env.emulator.grants()[0]["scope"],
        json!(["read:spaces", "read:rooms"])
    );
}

#[tokio::test]
async fn one_management_token_serves_the_whole_container() {
    let env = TestEnv::new().await;
    for n in 0..3 {
        let created = env.create_ok("owner-a", &format!("client {n}")).await;
        let id = created["client_id"].as_str().unwrap();
        assert_eq!(env.get(&env.token("owner-a"), id).await.status, 200);
    }
    assert_eq!(env.list(&env.token("owner-a")).await.status, 200);
    assert_eq!(env.emulator.count(Auth0Route::Token), 1);
}

#[tokio::test]
async fn upstream_calls_per_create_are_exactly_two() {
    let env = TestEnv::new().await;
    env.create_ok("owner-a", "Counted").await;
    assert_eq!(env.management_calls().len(), 2);
}

#[tokio::test]
async fn the_secret_is_only_ever_in_the_201() {
    let env = TestEnv::new().await;
    let created = env.create_ok("owner-a", "Secretive").await;
    let secret = created["client_secret"].as_str().unwrap();
    let id = created["client_id"].as_str().unwrap();
    let token = env.token("owner-a");
    for reply in [env.list(&token).await, env.get(&token, id).await] {
        assert_eq!(reply.status, 200);
        assert!(!reply.text.contains(secret));
        // Its method may be `client_secret_post`; the secret is never a field.
        assert!(!reply.text.contains("\"client_secret\""));
    }
    let reply = env.delete(&token, id).await;
    assert!(!reply.text.contains(secret));
    assert_eq!(keys_of(&created).len(), 5);
}

#[tokio::test]
async fn non_utf8_bodies_are_400() {
    // API Gateway passes a body that is not text base64-encoded.
    let env = TestEnv::new().await;
    let mut event = Event::new(Route::CreateClient)
        .bearer(&env.token("owner-a"))
        .json();
    // 0xff 0xfe 0x13 0x26 0x05 0x04 0xfa 0xfb 0x38, base64-encoded.
    event["body"] = json!("//4TJgUE+vs4");
    event["isBase64Encoded"] = json!(true);
    let reply = env.dispatch(Route::CreateClient, &event.to_string()).await;
    reply.assert(
        400,
        json!({"code": "INVALID_REQUEST", "message": "request body must be valid JSON"}),
    );
}
