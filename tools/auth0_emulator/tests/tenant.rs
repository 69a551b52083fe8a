//! The emulator answers like Auth0: its shapes are checked against Auth0's
//! published schemas, its errors against Auth0's documented bodies.

use std::time::{Duration, Instant};

mod support;

use auth0_emulator::{Fault, Route, Schema, TestKey};
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Value, json};
use support::{
    Tenant, answer_lost, assert_auth0_error, m2m, management_credentials, send, send_text,
};

#[tokio::test]
async fn token_endpoint_checks_credentials_and_audience() {
    let tenant = Tenant::start().await;
    let token_url = tenant.url("/oauth/token");
    let mut wrong_secret = management_credentials(&tenant.emulator);
    wrong_secret["client_secret"] = json!("wrong");
    let (status, body) = send(tenant.http.post(&token_url).form(&wrong_secret)).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"error": "access_denied", "error_description": "Unauthorized"})
    );
    let mut wrong_audience = management_credentials(&tenant.emulator);
    wrong_audience["audience"] = json!("https://elsewhere/");
    let (status, _) = send(tenant.http.post(&token_url).json(&wrong_audience)).await;
    assert_eq!(status, 403);
    // A request without a token gets Auth0's 401.
    let (status, body) = send(tenant.http.get(tenant.url("/api/v2/clients"))).await;
    assert_eq!(status, 401);
    assert_eq!(body["errorCode"], "invalid_token");
}

#[tokio::test]
async fn creates_clients_in_auth0s_shapes() {
    let tenant = Tenant::start().await;
    let (status, created) = tenant.create(m2m("one")).await;
    assert_eq!(status, 201);
    Schema::CreateClientResponse.check(&created).unwrap();
    let id = created["client_id"].as_str().unwrap();
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(created["client_secret"].as_str().unwrap().len(), 64);

    let mut custom = m2m("two");
    custom["client_id"] = json!("client_custom1");
    let (status, created) = tenant.create(custom.clone()).await;
    assert_eq!(status, 201);
    assert_eq!(created["client_id"], "client_custom1");
    assert_auth0_error(
        tenant.create(custom).await,
        409,
        "A client with the same client_id already exists",
        "client_conflict",
    );
    assert!(tenant.emulator.schema_violations().is_empty());
}

#[tokio::test]
async fn tenants_without_custom_ids_refuse_them() {
    let tenant = Tenant::configured(|config| config.custom_client_ids = false).await;
    let mut custom = m2m("custom");
    custom["client_id"] = json!("client_custom1");
    let (status, body) = tenant.create(custom).await;
    assert_eq!(status, 403);
    assert_eq!(body["errorCode"], "operation_not_supported");
    assert_eq!(body["statusCode"], 403);
    assert!(tenant.emulator.clients().is_empty());
}

#[tokio::test]
async fn bodies_outside_the_schema_are_refused_and_recorded() {
    let tenant = Tenant::start().await;
    for body in [
        json!({"name": "<script>"}),
        json!({"name": "ok", "not_a_field": true}),
        json!({"description": "no name"}),
        json!({"name": "ok", "description": "d".repeat(141)}),
        json!({"name": "ok", "app_type": "spaceship"}),
    ] {
        let (status, answer) = tenant.create(body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["errorCode"], "invalid_body");
    }
    let (status, _) = tenant
        .grant(json!({"client_id": "x", "audience": "https://butlrauth/", "scope": [""]}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(tenant.emulator.take_schema_violations().len(), 6);
}

#[tokio::test]
async fn reads_page_filter_and_show_no_secret_without_read_client_keys() {
    // A management application not granted read:client_keys.
    let tenant = Tenant::with_scopes("read:clients create:clients delete:clients").await;
    for n in 0..5 {
        tenant.create(m2m(&format!("c{n}"))).await;
    }
    tenant
        .emulator
        .seed_client(json!({"name": "web", "app_type": "spa"}));

    let (status, page) = tenant
        .get("/api/v2/clients?per_page=2&page=1&include_totals=true&app_type=non_interactive")
        .await;
    assert_eq!(status, 200);
    Schema::ListClientsOffsetPaginated.check(&page).unwrap();
    assert_eq!(page["total"], 5);
    assert_eq!(page["start"], 2);
    assert_eq!(page["clients"].as_array().unwrap().len(), 2);
    assert_eq!(page["clients"][0]["name"], "c2");

    let (_, all) = tenant.get("/api/v2/clients").await;
    assert_eq!(all.as_array().unwrap().len(), 6);
    for client in all.as_array().unwrap() {
        Schema::Client.check(client).unwrap();
        assert!(client.get("client_secret").is_none());
    }

    let (_, fields) = tenant
        .get("/api/v2/clients?fields=client_id,name&include_fields=true")
        .await;
    let mut keys: Vec<_> = fields[0].as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["client_id", "name"]);

    let (status, error) = tenant.get("/api/v2/clients?per_page=101").await;
    assert_eq!(status, 400);
    assert_eq!(error["errorCode"], "invalid_query_string");

    let id = all[0]["client_id"].as_str().unwrap();
    let (status, one) = tenant.get(&format!("/api/v2/clients/{id}")).await;
    assert_eq!(status, 200);
    Schema::GetClientResponse.check(&one).unwrap();
    assert!(one.get("client_secret").is_none());
}

#[tokio::test]
async fn missing_clients_and_deletes_behave_like_auth0() {
    let tenant = Tenant::start().await;
    assert_auth0_error(
        tenant.get("/api/v2/clients/nope").await,
        404,
        "The client does not exist",
        "inexistent_client",
    );
    let (_, created) = tenant.create(m2m("doomed")).await;
    let id = created["client_id"].as_str().unwrap();
    let grant =
        json!({"client_id": id, "audience": "https://butlrauth/", "scope": ["read:spaces"]});
    let (status, created_grant) = tenant.grant(grant.clone()).await;
    assert_eq!(status, 201);
    Schema::CreateClientGrantResponse
        .check(&created_grant)
        .unwrap();
    let (status, conflict) = tenant.grant(grant).await;
    assert_eq!(status, 409);
    assert_eq!(conflict["statusCode"], 409);

    for _ in 0..2 {
        let (status, _) = tenant
            .call(
                reqwest::Method::DELETE,
                &format!("/api/v2/clients/{id}"),
                None,
            )
            .await;
        assert_eq!(status, 204);
    }
    assert!(
        tenant.emulator.grants().is_empty(),
        "grants go with their client"
    );
    assert_auth0_error(
        tenant
            .grant(json!({"client_id": id, "audience": "https://butlrauth/"}))
            .await,
        404,
        "Client not found",
        "inexistent_client",
    );
}

#[tokio::test]
async fn faults_are_observable() {
    let tenant = Tenant::start().await;
    tenant.emulator.inject(
        Route::ListClients,
        Fault::RateLimited {
            reset_after_secs: 5,
        },
    );
    let response = tenant
        .request(reqwest::Method::GET, "/api/v2/clients")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    for header in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        assert!(response.headers().contains_key(header), "{header}");
    }

    tenant
        .emulator
        .inject(Route::ListClients, Fault::Status(503));
    let (status, body) = tenant.get("/api/v2/clients").await;
    assert_eq!(status, 503);
    assert_eq!(body["statusCode"], 503);

    tenant
        .emulator
        .inject(Route::ListClients, Fault::Delay(Duration::from_millis(300)));
    let started = Instant::now();
    let (status, _) = tenant.get("/api/v2/clients").await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    tenant
        .emulator
        .inject(Route::ListClients, Fault::DropConnection);
    assert!(answer_lost(tenant.request(reqwest::Method::GET, "/api/v2/clients")).await);

    tenant
        .emulator
        .inject(Route::ListClients, Fault::MalformedJson);
    let (_, text) = send_text(tenant.request(reqwest::Method::GET, "/api/v2/clients")).await;
    assert!(serde_json::from_str::<Value>(&text).is_err());

    tenant
        .emulator
        .inject(Route::ListClients, Fault::ExpireManagementTokens);
    let (status, body) = tenant.get("/api/v2/clients").await;
    assert_eq!(status, 401);
    assert_eq!(
        body["message"],
        "Expired token received for JSON Web Token validation"
    );
    assert_eq!(tenant.emulator.count(Route::ListClients), 6);
}

#[tokio::test]
async fn caller_tokens_verify_against_the_served_jwks_and_keys_rotate() {
    let tenant = Tenant::start().await;
    let jwks = tenant.jwks().await;
    assert_eq!(jwks.keys.len(), 1);
    let claims = json!({"sub": "x", "exp": 4_000_000_000u64});
    let token = tenant.emulator.sign_caller_token(&claims);
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let key = DecodingKey::from_jwk(jwks.find(&kid).unwrap()).unwrap();
    let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();

    tenant.emulator.publish_key(TestKey::Rotated);
    let jwks = tenant.jwks().await;
    assert_eq!(jwks.keys.len(), 2);
    let rotated = tenant.emulator.sign_caller_token(&claims);
    assert_eq!(
        jsonwebtoken::decode_header(&rotated)
            .unwrap()
            .kid
            .as_deref(),
        Some("dev-key-2")
    );
    assert_eq!(tenant.emulator.jwks_fetches(), 2);
}
