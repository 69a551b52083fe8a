//! `/oauth/token` with Private Key JWT: a client rotates its keys without
//! downtime, and every rule Auth0 documents for the client assertion is
//! enforced.

mod support;

use auth0_emulator::{
    ClientKey, Schema, assertion_claims, assertion_grant, client_assertion, sign_assertion,
};
use jsonwebtoken::{Algorithm, Header};
use reqwest::Method;
use serde_json::{Value, json};
use support::keys::{API, id_of};
use support::{Tenant, credentials_of, verify};

#[tokio::test]
async fn a_client_rotates_its_key_without_downtime() {
    let tenant = Tenant::start().await;
    // Created with key A, which is enabled at once.
    let (client, id, key_a) = tenant.key_client_ids("rotating", ClientKey::A).await;
    assert!(client.get("client_secret").is_none(), "{client}");
    assert!(client.get("token_endpoint_auth_method").is_none());

    let (status, token) = tenant.mint_with(&tenant.assertion(&id, ClientKey::A)).await;
    assert_eq!(status, 200, "{token}");
    let claims = verify(
        token["access_token"].as_str().unwrap(),
        &tenant.jwks().await,
        API,
    );
    assert_eq!(claims["sub"], format!("{id}@clients"));
    assert_eq!(claims["scope"], "read:spaces");
    assert_eq!(token["scope"], "read:spaces");

    // Key B added: stored, but not enabled until the client lists it.
    let (status, added) = tenant.add_credential(&id, ClientKey::B).await;
    assert_eq!(status, 201, "{added}");
    let key_b = added["id"].as_str().unwrap().to_owned();
    assert!(!tenant.mints(&id, ClientKey::B).await);
    assert!(tenant.mints(&id, ClientKey::A).await);

    // Both enabled: either key mints (the callers move to B meanwhile).
    tenant.enable(&id, &[&key_a, &key_b]).await;
    assert!(tenant.mints(&id, ClientKey::A).await);
    assert!(tenant.mints(&id, ClientKey::B).await);

    // A disabled, then deleted: only B mints.
    tenant.enable(&id, &[&key_b]).await;
    assert!(!tenant.mints(&id, ClientKey::A).await);
    let (status, _) = tenant
        .on_credential(Method::DELETE, &id, &key_a, None)
        .await;
    assert_eq!(status, 204);
    let (_, left) = tenant.list_credentials(&id).await;
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(left[0]["id"], key_b.as_str());
    assert!(tenant.mints(&id, ClientKey::B).await);
    assert!(!tenant.mints(&id, ClientKey::A).await);
}

#[tokio::test]
async fn assertions_come_as_a_form_as_auth0_documents_them() {
    let tenant = Tenant::start().await;
    let id = id_of(&tenant.key_client("form", ClientKey::A).await);
    let grant = assertion_grant(&tenant.assertion(&id, ClientKey::A), API);
    let answer = tenant
        .http
        .post(tenant.url("/oauth/token"))
        .form(&grant)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    // `client_id` may come too, if it is the assertion's.
    let mut with_id = assertion_grant(&tenant.assertion(&id, ClientKey::A), API);
    with_id["client_id"] = Value::from(id.as_str());
    assert_eq!(tenant.token_request(with_id.clone()).await.0, 200);
    with_id["client_id"] = Value::from("someone-else");
    with_id["client_assertion"] = Value::from(tenant.assertion(&id, ClientKey::A));
    assert_eq!(tenant.token_request(with_id).await.0, 401);
}

#[tokio::test]
async fn a_replayed_assertion_is_refused() {
    let tenant = Tenant::start().await;
    let id = id_of(&tenant.key_client("replay", ClientKey::A).await);
    let assertion = tenant.assertion(&id, ClientKey::A);
    assert_eq!(tenant.mint_with(&assertion).await.0, 200);
    let (status, answer) = tenant.mint_with(&assertion).await;
    assert_eq!(status, 401);
    assert_eq!(
        answer,
        json!({"error": "invalid_client", "error_description": "jti has been used before"})
    );
    // A new assertion (a new jti) is fine.
    assert!(tenant.mints(&id, ClientKey::A).await);
}

#[tokio::test]
async fn an_expired_credential_no_longer_mints() {
    let tenant = Tenant::start().await;
    let (_, id, credential) = tenant.key_client_ids("expiring", ClientKey::A).await;
    assert!(tenant.mints(&id, ClientKey::A).await);

    assert!(tenant.emulator.expire_credential(&credential));
    let (status, answer) = tenant.mint_with(&tenant.assertion(&id, ClientKey::A)).await;
    assert_eq!(status, 401);
    assert_eq!(answer["error_description"], "the credential has expired");

    // A later expiry set with PATCH brings it back.
    let (status, patched) = tenant
        .on_credential(
            Method::PATCH,
            &id,
            &credential,
            Some(json!({"expires_at": "2099-01-01T00:00:00+01:00"})),
        )
        .await;
    assert_eq!(status, 201, "{patched}");
    Schema::PatchClientCredentialResponse
        .check(&patched)
        .unwrap();
    assert_eq!(patched["expires_at"], "2098-12-31T23:00:00.000Z");
    assert!(tenant.mints(&id, ClientKey::A).await);
}

/// Claims as [`assertion_claims`] makes them for `id` at `tenant`, with
/// `change` applied.
fn claims_with(tenant: &Tenant, id: &str, change: impl FnOnce(&mut Value)) -> Value {
    let mut claims = assertion_claims(id, &tenant.emulator.base_url());
    change(&mut claims);
    claims
}

#[tokio::test]
async fn every_rule_of_the_assertion_is_checked() {
    let tenant = Tenant::start().await;
    let client = tenant.key_client("rules", ClientKey::A).await;
    let id = id_of(&client);
    let kid = ClientKey::A.thumbprint();
    let base = tenant.emulator.base_url();
    let now = assertion_claims(&id, &base)["iat"].as_u64().unwrap();
    let rs256 = Header::new(Algorithm::RS256);
    let a = ClientKey::A.private_pem();

    let signed = |claims: Value| sign_assertion(&rs256, &claims, a);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "another tenant's aud",
            signed(claims_with(&tenant, &id, |c| {
                c["aud"] = json!("https://other.auth0.com/")
            })),
            "aud must be the tenant's URL",
        ),
        (
            "the tenant's URL without its trailing slash",
            signed(claims_with(&tenant, &id, |c| c["aud"] = json!(base))),
            "aud must be the tenant's URL",
        ),
        (
            "a sub other than the client",
            signed(claims_with(&tenant, &id, |c| c["sub"] = json!("someone"))),
            "sub must be the client id, as iss",
        ),
        (
            "an exp in the past",
            signed(claims_with(&tenant, &id, |c| {
                c["iat"] = json!(now - 120);
                c["exp"] = json!(now - 60);
            })),
            "the assertion has expired",
        ),
        (
            "an exp more than 5 minutes after iat",
            signed(claims_with(&tenant, &id, |c| {
                c["iat"] = json!(now);
                c["exp"] = json!(now + 301);
            })),
            "'exp' claim must specify a time that is no more than 5 minutes after 'iat'",
        ),
        (
            "an exp more than 5 minutes ahead, without iat",
            signed(claims_with(&tenant, &id, |c| {
                c.as_object_mut().unwrap().remove("iat");
                c["exp"] = json!(now + 600);
            })),
            "'exp' claim must specify a time that is no more than 5 minutes after 'iat'",
        ),
        (
            "an nbf ahead",
            signed(claims_with(&tenant, &id, |c| c["nbf"] = json!(now + 60))),
            "the assertion is not valid yet (nbf)",
        ),
        (
            "no jti",
            signed(claims_with(&tenant, &id, |c| {
                c.as_object_mut().unwrap().remove("jti");
            })),
            "jti must be a string of 1 to 64 characters",
        ),
        (
            "an alg other than the credential's",
            sign_assertion(
                &Header::new(Algorithm::RS384),
                &assertion_claims(&id, &base),
                a,
            ),
            "the assertion's alg is not the alg of an enabled credential",
        ),
        (
            "a kid of no enabled credential",
            sign_assertion(
                &Header {
                    kid: Some(ClientKey::B.thumbprint()),
                    ..rs256.clone()
                },
                &assertion_claims(&id, &base),
                a,
            ),
            "no enabled credential has the assertion's kid",
        ),
        (
            "a key the client does not hold",
            client_assertion(&id, &base, ClientKey::B.private_pem()),
            "the assertion's signature matches no enabled credential",
        ),
        (
            "not a JWT",
            "not.a.jwt".to_owned(),
            "client_assertion is not a JWT",
        ),
    ];
    for (case, assertion, description) in cases {
        let (status, answer) = tenant.mint_with(&assertion).await;
        assert_eq!(status, 401, "{case}: {answer}");
        assert_eq!(answer["error"], "invalid_client", "{case}");
        assert!(
            answer["error_description"]
                .as_str()
                .unwrap()
                .starts_with(description),
            "{case}: {answer}"
        );
    }
    // The token endpoint's URL is taken as the audience too, and the kid
    // Auth0 gave the credential names it.
    let to_endpoint = claims_with(&tenant, &id, |c| {
        c["aud"] = json!(format!("{base}/oauth/token"))
    });
    assert_eq!(tenant.mint_with(&signed(to_endpoint)).await.0, 200);
    let with_kid = Header {
        kid: Some(kid),
        ..rs256.clone()
    };
    let named = sign_assertion(&with_kid, &assertion_claims(&id, &base), a);
    assert_eq!(tenant.mint_with(&named).await.0, 200);
}

#[tokio::test]
async fn credentials_of_each_algorithm_verify_theirs() {
    let tenant = Tenant::start().await;
    let base = tenant.emulator.base_url();
    for (alg, name, key) in [
        (Algorithm::RS384, "RS384", ClientKey::B),
        (Algorithm::PS256, "PS256", ClientKey::Max),
    ] {
        let mut body = support::keys::key_client_body(name, &[key]);
        body["client_authentication_methods"]["private_key_jwt"]["credentials"][0]["alg"] =
            json!(name);
        let (status, client) = tenant.create(body).await;
        assert_eq!(status, 201, "{client}");
        let id = id_of(&client);
        let (_, credentials) = tenant.list_credentials(&id).await;
        assert_eq!(credentials[0]["alg"], name);
        // The caller API needs no grant.
        let assertion = sign_assertion(
            &Header::new(alg),
            &assertion_claims(&id, &base),
            key.private_pem(),
        );
        let caller_api = "https://m2m-client-service/";
        let (status, answer) = tenant
            .token_request(assertion_grant(&assertion, caller_api))
            .await;
        assert_eq!(status, 200, "{name}: {answer}");
        let rs256 = sign_assertion(
            &Header::new(Algorithm::RS256),
            &assertion_claims(&id, &base),
            key.private_pem(),
        );
        assert_eq!(tenant.mint_with(&rs256).await.0, 401, "{name}");
    }
}

#[tokio::test]
async fn a_key_client_takes_no_secret_and_a_secret_client_no_assertion() {
    let tenant = Tenant::start().await;
    let id = id_of(&tenant.key_client("keys only", ClientKey::A).await);
    // The emulator's own record still has the secret Auth0 hides.
    let record = tenant
        .emulator
        .clients()
        .into_iter()
        .find(|c| c["client_id"] == id.as_str())
        .unwrap();
    let (status, answer) = tenant.token_request(credentials_of(&record, API)).await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["error"], "invalid_client");
    // Reads never show it.
    let (_, read) = tenant.get(&format!("/api/v2/clients/{id}")).await;
    assert!(read.get("client_secret").is_none(), "{read}");
    // A secret and an assertion at once are refused as malformed.
    let mut both = assertion_grant(&tenant.assertion(&id, ClientKey::A), API);
    both["client_secret"] = record["client_secret"].clone();
    assert_eq!(tenant.token_request(both).await.0, 400);
    assert_eq!(tenant.emulator.take_schema_violations().len(), 1);

    // A client with a secret and no keys gets no token for an assertion.
    let secret_client = tenant
        .client_with_grant("secret", API, &["read:spaces"])
        .await;
    let (status, answer) = tenant
        .mint_with(&tenant.assertion(&id_of(&secret_client), ClientKey::A))
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        answer["error_description"],
        "the client has no credentials enabled for private_key_jwt"
    );
    assert_eq!(
        tenant
            .token_request(credentials_of(&secret_client, API))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn a_client_goes_back_to_its_hidden_secret() {
    let tenant = Tenant::start().await;
    // A client made with a secret, then moved to a key as Auth0 documents.
    let client = tenant
        .client_with_grant("moved", API, &["read:spaces"])
        .await;
    let id = id_of(&client);
    let (_, credential) = tenant.add_credential(&id, ClientKey::A).await;
    let (status, refused) = tenant
        .update(
            &id,
            support::keys::enabling(&[credential["id"].as_str().unwrap()]),
        )
        .await;
    // Still on client_secret_post: the two methods are exclusive.
    assert_eq!(status, 400, "{refused}");
    assert_eq!(tenant.emulator.take_schema_violations().len(), 1);
    let mut moving = support::keys::enabling(&[credential["id"].as_str().unwrap()]);
    moving["token_endpoint_auth_method"] = Value::Null;
    moving["jwt_configuration"] = json!({"alg": "RS256"});
    let (status, moved) = tenant.update(&id, moving).await;
    assert_eq!(status, 200, "{moved}");
    assert!(moved.get("client_secret").is_none());
    // The PATCH merged jwt_configuration, as Auth0 does.
    assert_eq!(
        moved["jwt_configuration"],
        json!({"alg": "RS256", "lifetime_in_seconds": 36000, "secret_encoded": false})
    );
    assert!(tenant.mints(&id, ClientKey::A).await);
    assert_eq!(
        tenant.token_request(credentials_of(&client, API)).await.0,
        401
    );

    // Back to the secret, which is the one it had.
    let (status, back) = tenant
        .update(
            &id,
            json!({"token_endpoint_auth_method": "client_secret_post", "client_authentication_methods": null}),
        )
        .await;
    assert_eq!(status, 200, "{back}");
    assert_eq!(back["client_secret"], client["client_secret"]);
    assert!(back.get("client_authentication_methods").is_none());
    assert_eq!(
        tenant.token_request(credentials_of(&client, API)).await.0,
        200
    );
    assert!(!tenant.mints(&id, ClientKey::A).await);
}
