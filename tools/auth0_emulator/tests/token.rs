//! `/oauth/token` and the JWKS: Auth0's client credentials exchange, its
//! error answers, and tokens that verify against the served keys.

mod support;

use std::time::Duration;

use auth0_emulator::{Emulator, EmulatorConfig, Schema, TestKey, public_jwk, public_key_pem};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde_json::{Value, json};
use support::{
    Tenant, assert_auth0_error, credentials_of, fetch_json, management_credentials, send, verify,
};

const API: &str = "https://butlrauth/";

#[tokio::test]
async fn management_tokens_come_in_both_encodings() {
    let tenant = Tenant::start().await;
    let form = tenant
        .http
        .post(tenant.url("/oauth/token"))
        .form(&management_credentials(&tenant.emulator))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    assert!(
        form.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let answer: Value = form.json().await.unwrap();
    Schema::TokenResponse.check(&answer).unwrap();
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["expires_in"], 86400);
    assert!(
        answer["scope"]
            .as_str()
            .unwrap()
            .split(' ')
            .any(|s| s == "create:client_grants")
    );

    let (status, json_answer) = tenant
        .token_request(management_credentials(&tenant.emulator))
        .await;
    assert_eq!(status, 200);
    Schema::TokenResponse.check(&json_answer).unwrap();
    assert_ne!(json_answer["access_token"], answer["access_token"]);

    // Both work on the Management API.
    let (status, _) = send(
        tenant
            .http
            .get(tenant.url("/api/v2/clients"))
            .bearer_auth(answer["access_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn refusals_use_auth0s_oauth_errors() {
    let tenant = Tenant::start().await;
    let base = management_credentials(&tenant.emulator);
    let with = |field: &str, value: Value| {
        let mut body = base.clone();
        body[field] = value;
        body
    };
    // The field sent wrong, and the status, error and description it gets.
    let cases = [
        (
            "client_secret",
            "wrong",
            401,
            "access_denied",
            "Unauthorized",
        ),
        ("client_id", "nobody", 401, "access_denied", "Unauthorized"),
        (
            "audience",
            "https://elsewhere/",
            403,
            "access_denied",
            "Service not enabled within domain: https://elsewhere/",
        ),
        (
            "grant_type",
            "password",
            400,
            "unsupported_grant_type",
            "Unsupported grant type: password",
        ),
    ];
    for (field, value, status, error, description) in cases {
        let body = with(field, json!(value));
        let (got_status, answer) = tenant.token_request(body.clone()).await;
        assert_eq!(got_status, status, "{body}");
        assert_eq!(
            answer,
            json!({"error": error, "error_description": description}),
            "{body}"
        );
        Schema::TokenError.check(&answer).unwrap();
    }
    // None of those is a malformed request.
    assert!(tenant.emulator.schema_violations().is_empty());

    // A request outside ClientCredentialsGrant is, and is recorded.
    let mut missing_secret = base.clone();
    missing_secret
        .as_object_mut()
        .unwrap()
        .remove("client_secret");
    let (status, answer) = tenant.token_request(missing_secret).await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"], "invalid_request");
    let (status, _) = tenant.token_request(with("client_id", json!(42))).await;
    assert_eq!(status, 400);
    let violations = tenant.emulator.take_schema_violations();
    assert_eq!(violations.len(), 2, "{violations:?}");
    assert!(violations[0].contains("client_secret"), "{violations:?}");
}

#[tokio::test]
async fn applications_get_jwts_for_granted_apis_and_for_the_service() {
    let tenant = Tenant::start().await;
    let client = tenant
        .client_with_grant("app", API, &["read:spaces", "write:spaces"])
        .await;
    let credentials = |audience: &str| credentials_of(&client, audience);
    let jwks = tenant.jwks().await;

    let (status, answer) = tenant.token_request(credentials(API)).await;
    assert_eq!(status, 200, "{answer}");
    Schema::TokenResponse.check(&answer).unwrap();
    assert_eq!(answer["scope"], "read:spaces write:spaces");
    let claims = verify(answer["access_token"].as_str().unwrap(), &jwks, API);
    let id = client["client_id"].as_str().unwrap();
    assert_eq!(claims["iss"], tenant.emulator.issuer());
    assert_eq!(claims["sub"], format!("{id}@clients"));
    assert_eq!(claims["azp"], id);
    assert_eq!(claims["gty"], "client-credentials");
    assert_eq!(claims["scope"], "read:spaces write:spaces");
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        86400
    );

    // The service's callers are the tenant's applications: no grant needed.
    let caller_audience = EmulatorConfig::default().caller_audience;
    let (status, answer) = tenant.token_request(credentials(&caller_audience)).await;
    assert_eq!(status, 200, "{answer}");
    let claims = verify(
        answer["access_token"].as_str().unwrap(),
        &jwks,
        &caller_audience,
    );
    assert_eq!(claims["azp"], id);

    // The Management API needs a grant this application does not have.
    let management_api = tenant.url("/api/v2/");
    let (status, answer) = tenant.token_request(credentials(&management_api)).await;
    assert_eq!(status, 403);
    Schema::TokenError.check(&answer).unwrap();
    assert_eq!(
        answer,
        json!({"error": "access_denied", "error_description": format!(
            "Client \"{id}\" is not authorized to access resource server \"{management_api}\". You need to create a \"client-grant\" associated to this API."
        )})
    );

    let mut wrong = credentials(API);
    wrong["client_secret"] = json!("not-it");
    let (status, _) = tenant.token_request(wrong).await;
    assert_eq!(status, 401);

    // An application without the client credentials grant type.
    let spa = tenant.emulator.seed_client(json!({
        "name": "spa", "app_type": "spa", "grant_types": ["authorization_code"]
    }));
    let secret = tenant
        .emulator
        .clients()
        .into_iter()
        .find(|c| c["client_id"] == spa.as_str())
        .unwrap()["client_secret"]
        .clone();
    let (status, answer) = tenant
        .token_request(json!({"grant_type": "client_credentials", "client_id": spa,
            "client_secret": secret, "audience": caller_audience}))
        .await;
    assert_eq!(status, 403);
    assert_eq!(answer["error"], "unauthorized_client");
    assert!(tenant.emulator.schema_violations().is_empty());
}

#[tokio::test]
async fn management_tokens_expire_after_their_lifetime() {
    let tenant =
        Tenant::configured(|config| config.management_token_lifetime = Duration::ZERO).await;
    assert_auth0_error(
        tenant.get("/api/v2/clients").await,
        401,
        "Expired token received for JSON Web Token validation",
        "invalid_token",
    );
    let (status, body) = tenant.get("/api/v2/clients").await;
    assert_eq!(status, 401, "{body}");

    // An unknown token, or none, is invalid rather than expired.
    assert_auth0_error(
        send(
            tenant
                .http
                .get(tenant.url("/api/v2/clients"))
                .bearer_auth("made-up"),
        )
        .await,
        401,
        "Invalid token",
        "invalid_token",
    );
}

#[tokio::test]
async fn jwks_serves_the_published_keys_only() {
    let tenant = Tenant::start().await;
    let raw: Value = fetch_json(tenant.http.get(tenant.emulator.jwks_url())).await;
    assert_eq!(raw, json!({"keys": [public_jwk(TestKey::Dev)]}));
    let key = &raw["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["kid"], "dev-key-1");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["use"], "sig");
    assert!(key["n"].is_string() && key["e"].is_string());

    // Foreign-signed tokens name a key the JWKS does not have.
    let jwks = tenant.jwks().await;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(TestKey::Foreign.kid().into());
    let foreign =
        tenant
            .emulator
            .sign_with(&header, &json!({"exp": 4_000_000_000u64}), TestKey::Foreign);
    assert!(jwks.find("foreign-key").is_none());
    // Even under the dev key's kid, the signature does not verify.
    header.kid = Some("dev-key-1".into());
    let forged =
        tenant
            .emulator
            .sign_with(&header, &json!({"exp": 4_000_000_000u64}), TestKey::Foreign);
    let dev = DecodingKey::from_jwk(jwks.find("dev-key-1").unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_aud = false;
    assert!(jsonwebtoken::decode::<Value>(&forged, &dev, &validation).is_err());
    assert!(jsonwebtoken::decode::<Value>(&foreign, &dev, &validation).is_err());

    tenant.emulator.publish_key(TestKey::Foreign);
    let jwks = tenant.jwks().await;
    assert_eq!(jwks.keys.len(), 2);
    assert!(jwks.find("foreign-key").is_some());
    assert_eq!(tenant.emulator.jwks_fetches(), 3);
}

#[tokio::test]
async fn rotation_keeps_old_keys_and_signs_with_the_new_one() {
    let tenant = Tenant::start().await;
    let claims = json!({"sub": "x", "aud": "a", "exp": 4_000_000_000u64});
    let before = tenant.emulator.sign_caller_token(&claims);
    tenant.emulator.publish_key(TestKey::Rotated);
    tenant.emulator.publish_key(TestKey::Rotated);
    let after = tenant.emulator.sign_caller_token(&claims);
    let jwks = tenant.jwks().await;
    assert_eq!(jwks.keys.len(), 2, "publishing twice adds the key once");
    assert_eq!(
        jsonwebtoken::decode_header(&after).unwrap().kid.as_deref(),
        Some("dev-key-2")
    );
    verify(&before, &jwks, "a");
    verify(&after, &jwks, "a");

    // Tokens the server issues follow the rotation, too.
    let client = tenant.client_with_grant("app", API, &["read:spaces"]).await;
    let (_, answer) = tenant
        .token_request(
            json!({"grant_type": "client_credentials", "client_id": client["client_id"],
            "client_secret": client["client_secret"], "audience": API}),
        )
        .await;
    let issued = answer["access_token"].as_str().unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(issued).unwrap().kid.as_deref(),
        Some("dev-key-2")
    );
}

#[tokio::test]
async fn hmac_signing_uses_the_public_pem_as_secret() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("dev-key-1".into());
    let claims = json!({"sub": "x", "exp": 4_000_000_000u64});
    let token = emulator.sign_with(&header, &claims, TestKey::Dev);
    let pem = public_key_pem(TestKey::Dev);
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    assert_eq!(pem, TestKey::Dev.public_key_pem());
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(
        &token,
        &DecodingKey::from_secret(pem.as_bytes()),
        &validation,
    )
    .unwrap();
    // And the committed public PEM is the private key's public half.
    let rs = emulator.sign_caller_token(&claims);
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(
        &rs,
        &DecodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
        &validation,
    )
    .unwrap();
}
