//! `/api/v2/clients/{id}/credentials` and a client's
//! `client_authentication_methods`: Auth0's shapes, its limits (two keys, an
//! enabled key cannot be deleted), its scopes, a plan without Private Key
//! JWT, and the bodies Auth0 refuses.

mod support;

use auth0_emulator::{
    AUTH0_RECORDED_CERTIFICATE_KID, AUTH0_RECORDED_CERTIFICATE_PEM, ClientKey, EC_PUBLIC_PEM,
    Fault, HUGE_RSA_PUBLIC_PEM, MANAGEMENT_SCOPES, Route, SMALL_RSA_PUBLIC_PEM, Schema,
    jwk_thumbprint,
};
use reqwest::Method;
use serde_json::{Value, json};
use support::keys::{credential_body, enabled_ids, enabling, id_of, key_client_body};
use support::{Tenant, answer_lost, assert_auth0_error};

/// The credential with `kid`, answered as Auth0 answers one.
fn assert_credential(credential: &Value, kid: &str, alg: &str) {
    Schema::ClientCredential.check(credential).unwrap();
    assert!(credential["id"].as_str().unwrap().starts_with("cred_"));
    assert_eq!(credential["credential_type"], "public_key");
    assert_eq!(credential["kid"], kid);
    assert_eq!(credential["alg"], alg);
    assert_eq!(credential["created_at"], credential["updated_at"]);
    // Times as Auth0 writes them: UTC, milliseconds.
    let created = credential["created_at"].as_str().unwrap();
    assert_eq!(created.len(), "2026-07-01T12:29:31.850Z".len(), "{created}");
    assert!(created.ends_with('Z'));
    // The PEM is never given back.
    assert!(credential.get("pem").is_none(), "{credential}");
}

#[tokio::test]
async fn a_client_is_created_with_its_key_enabled() {
    let tenant = Tenant::start().await;
    let (status, client) = tenant
        .create(key_client_body("with a key", &[ClientKey::A]))
        .await;
    assert_eq!(status, 201, "{client}");
    Schema::CreateClientResponse.check(&client).unwrap();
    let id = id_of(&client);
    // The key in full became a credential; the client lists its id.
    let enabled = enabled_ids(&client);
    assert_eq!(enabled.len(), 1);
    assert_eq!(
        client["client_authentication_methods"],
        json!({"private_key_jwt": {"credentials": [{"id": enabled[0]}]}})
    );
    assert_eq!(client["jwt_configuration"]["alg"], "RS256");
    assert!(client.get("token_endpoint_auth_method").is_none());
    assert!(client.get("client_secret").is_none());

    let (status, read) = tenant.get(&format!("/api/v2/clients/{id}")).await;
    assert_eq!(status, 200);
    Schema::GetClientResponse.check(&read).unwrap();
    assert_eq!(
        read["client_authentication_methods"],
        client["client_authentication_methods"]
    );

    let (status, listed) = tenant.list_credentials(&id).await;
    assert_eq!(status, 200);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], enabled[0].as_str());
    assert_eq!(listed[0]["name"], "a key");
    assert!(listed[0].get("expires_at").is_none());
    assert_credential(&listed[0], &ClientKey::A.thumbprint(), "RS256");

    let (status, one) = tenant
        .on_credential(Method::GET, &id, &enabled[0], None)
        .await;
    assert_eq!(status, 200);
    Schema::GetClientCredentialResponse.check(&one).unwrap();
    assert_eq!(&one, &listed[0]);
    assert_eq!(tenant.emulator.credentials(&id), vec![one]);
}

#[tokio::test]
async fn kids_are_the_keys_rfc_7638_thumbprints_as_auth0_makes_them() {
    let tenant = Tenant::start().await;
    let id = id_of(&tenant.key_client("kids", ClientKey::A).await);
    // A certificate a real tenant took, and the kid it answered.
    assert_eq!(
        jwk_thumbprint(AUTH0_RECORDED_CERTIFICATE_PEM).unwrap(),
        AUTH0_RECORDED_CERTIFICATE_KID
    );
    let (status, from_certificate) = tenant
        .post_credential(
            &id,
            json!({"credential_type": "public_key", "pem": AUTH0_RECORDED_CERTIFICATE_PEM,
                   "expires_at": "2036-06-28T11:18:10Z"}),
        )
        .await;
    assert_eq!(status, 201, "{from_certificate}");
    Schema::PostClientCredentialResponse
        .check(&from_certificate)
        .unwrap();
    assert_credential(&from_certificate, AUTH0_RECORDED_CERTIFICATE_KID, "RS256");
    assert_eq!(from_certificate["name"], "");
    assert_eq!(from_certificate["expires_at"], "2036-06-28T11:18:10.000Z");

    // A kid given is kept.
    let other = id_of(&tenant.key_client("named", ClientKey::B).await);
    let mut named = credential_body(ClientKey::Max);
    named["kid"] = json!("my-own-key-id");
    named["alg"] = json!("PS256");
    let (status, answer) = tenant.post_credential(&other, named).await;
    assert_eq!(status, 201, "{answer}");
    assert_credential(&answer, "my-own-key-id", "PS256");
}

#[tokio::test]
async fn a_client_holds_at_most_two_keys() {
    let tenant = Tenant::start().await;
    let id = id_of(&tenant.key_client("two keys", ClientKey::A).await);
    let (status, second) = tenant.add_credential(&id, ClientKey::B).await;
    assert_eq!(status, 201, "{second}");
    // A third, enabled or not, is refused.
    assert_auth0_error(
        tenant.add_credential(&id, ClientKey::C).await,
        409,
        "A client cannot have more than 2 credentials",
        "credential_limit_exceeded",
    );
    let (_, listed) = tenant.list_credentials(&id).await;
    let listed = listed.as_array().unwrap();
    // Newest first, as Auth0 lists them.
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["id"], second["id"]);

    // Once one is deleted there is room again.
    let (status, _) = tenant
        .on_credential(Method::DELETE, &id, second["id"].as_str().unwrap(), None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(tenant.add_credential(&id, ClientKey::C).await.0, 201);

    // A create may give two keys, not three.
    let (status, two) = tenant
        .create(key_client_body(
            "two at once",
            &[ClientKey::A, ClientKey::B],
        ))
        .await;
    assert_eq!(status, 201, "{two}");
    assert_eq!(enabled_ids(&two).len(), 2);
    let before = tenant.emulator.clients().len();
    assert_auth0_error(
        tenant
            .create(key_client_body(
                "three at once",
                &[ClientKey::A, ClientKey::B, ClientKey::C],
            ))
            .await,
        409,
        "A client cannot have more than 2 credentials",
        "credential_limit_exceeded",
    );
    assert_eq!(tenant.emulator.clients().len(), before);
}

#[tokio::test]
async fn an_enabled_key_cannot_be_deleted_and_the_same_key_not_added_twice() {
    let tenant = Tenant::start().await;
    let (_, id, enabled) = tenant.key_client_ids("in use", ClientKey::A).await;
    let refused = tenant
        .on_credential(Method::DELETE, &id, &enabled, None)
        .await;
    assert_eq!(refused.0, 409, "{}", refused.1);
    assert_eq!(refused.1["errorCode"], "credential_in_use");
    assert!(tenant.mints(&id, ClientKey::A).await);
    assert_eq!(tenant.emulator.credentials(&id).len(), 1);

    assert_auth0_error(
        tenant.add_credential(&id, ClientKey::A).await,
        409,
        "A credential with the same key or kid already exists for this client",
        "credential_conflict",
    );
    // Disabled (the client then has no key it can use), it goes.
    tenant.enable(&id, &[]).await;
    assert!(!tenant.mints(&id, ClientKey::A).await);
    let (status, _) = tenant
        .on_credential(Method::DELETE, &id, &enabled, None)
        .await;
    assert_eq!(status, 204);
    assert!(tenant.emulator.credentials(&id).is_empty());
}

#[tokio::test]
async fn unknown_clients_and_credentials() {
    let tenant = Tenant::start().await;
    let id = id_of(&tenant.key_client("known", ClientKey::A).await);
    let not_found = "The client does not exist";
    assert_auth0_error(
        tenant.list_credentials("nobody").await,
        404,
        not_found,
        "inexistent_client",
    );
    assert_auth0_error(
        tenant.add_credential("nobody", ClientKey::B).await,
        404,
        not_found,
        "inexistent_client",
    );
    for method in [Method::GET, Method::PATCH] {
        let body = (method == Method::PATCH).then(|| json!({"expires_at": null}));
        assert_auth0_error(
            tenant.on_credential(method, &id, "cred_none", body).await,
            404,
            "Credential does not exist",
            "inexistent_credential",
        );
    }
    // The published DELETE has no 404: deleting what is not there is done.
    let (status, _) = tenant
        .on_credential(Method::DELETE, &id, "cred_none", None)
        .await;
    assert_eq!(status, 204);
    // Enabling a credential the client does not hold is refused.
    let (status, answer) = tenant.update(&id, enabling(&["cred_none"])).await;
    assert_eq!(status, 400, "{answer}");
    // A deleted client's credentials go with it.
    let (status, _) = tenant
        .call(Method::DELETE, &format!("/api/v2/clients/{id}"), None)
        .await;
    assert_eq!(status, 204);
    assert!(tenant.emulator.credentials(&id).is_empty());
}

#[tokio::test]
async fn a_tenant_without_private_key_jwt_refuses_it() {
    let tenant = Tenant::configured(|config| config.private_key_jwt = false).await;
    let upgrade = "Please upgrade your subscription to use Private Key JWT authentication";
    assert_auth0_error(
        tenant
            .create(key_client_body("refused", &[ClientKey::A]))
            .await,
        403,
        upgrade,
        "insufficient_entitlement",
    );
    assert!(tenant.emulator.clients().is_empty());

    let (status, client) = tenant.create(support::m2m("secret")).await;
    assert_eq!(status, 201);
    let id = id_of(&client);
    assert_auth0_error(
        tenant.add_credential(&id, ClientKey::A).await,
        403,
        upgrade,
        "insufficient_entitlement",
    );
    assert_auth0_error(
        tenant.update(&id, enabling(&[])).await,
        403,
        upgrade,
        "insufficient_entitlement",
    );
    assert!(tenant.emulator.credentials(&id).is_empty());

    // The plan upgraded, the same requests succeed.
    tenant.emulator.set_private_key_jwt(true);
    assert_eq!(tenant.add_credential(&id, ClientKey::A).await.0, 201);
}

#[tokio::test]
async fn the_credential_scopes_are_checked() {
    let scopes: Vec<&str> = MANAGEMENT_SCOPES
        .split_whitespace()
        .filter(|scope| !scope.ends_with(":client_credentials"))
        .collect();
    let tenant = Tenant::with_scopes(&scopes.join(" ")).await;
    let (_, client) = tenant.create(support::m2m("no scopes")).await;
    let id = id_of(&client);
    let expected = |scope: &str| format!("Insufficient scope, expected any of: {scope}");
    assert_auth0_error(
        tenant
            .create(key_client_body("refused", &[ClientKey::A]))
            .await,
        403,
        &expected("create:client_credentials"),
        "insufficient_scope",
    );
    assert_auth0_error(
        tenant.add_credential(&id, ClientKey::A).await,
        403,
        &expected("create:client_credentials"),
        "insufficient_scope",
    );
    assert_auth0_error(
        tenant.list_credentials(&id).await,
        403,
        &expected("read:client_credentials"),
        "insufficient_scope",
    );
    assert_auth0_error(
        tenant
            .on_credential(Method::DELETE, &id, "cred_x", None)
            .await,
        403,
        &expected("delete:client_credentials"),
        "insufficient_scope",
    );
    assert_auth0_error(
        tenant
            .on_credential(
                Method::PATCH,
                &id,
                "cred_x",
                Some(json!({"expires_at": null})),
            )
            .await,
        403,
        &expected("update:client_credentials"),
        "insufficient_scope",
    );
    assert_auth0_error(
        tenant.update(&id, enabling(&[])).await,
        403,
        &expected("update:client_credentials"),
        "insufficient_scope",
    );
    // Refused before the body was looked at: nothing recorded.
    assert!(tenant.emulator.schema_violations().is_empty());
}

#[tokio::test]
async fn bodies_auth0_refuses_are_recorded_violations() {
    let tenant = Tenant::start().await;
    let id = id_of(&tenant.key_client("bodies", ClientKey::A).await);
    let with = |change: &dyn Fn(&mut Value)| {
        let mut body = credential_body(ClientKey::B);
        change(&mut body);
        body
    };
    let refused_credentials = [
        with(&|b| b["pem"] = json!(ClientKey::B.private_pem())),
        with(&|b| b["pem"] = json!(SMALL_RSA_PUBLIC_PEM)),
        with(&|b| b["pem"] = json!(HUGE_RSA_PUBLIC_PEM)),
        with(&|b| b["pem"] = json!(EC_PUBLIC_PEM)),
        with(&|b| b["pem"] = json!("not a pem")),
        with(&|b| b["alg"] = json!("HS256")),
        with(&|b| b["expires_at"] = json!("2020-01-01T00:00:00Z")),
        with(&|b| b["expires_at"] = json!("next week")),
        with(&|b| {
            b.as_object_mut().unwrap().remove("pem");
        }),
    ];
    for body in refused_credentials {
        let (status, answer) = tenant.post_credential(&id, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["errorCode"], "invalid_body");
        // A private key sent by mistake is never echoed.
        assert!(!answer.to_string().contains("MII"), "{answer}");
    }
    assert_eq!(tenant.emulator.take_schema_violations().len(), 9);
    assert_eq!(tenant.emulator.credentials(&id).len(), 1);

    // Clients: both authentication methods, or a key without RS256 tokens.
    let mut both = key_client_body("both", &[ClientKey::B]);
    both["token_endpoint_auth_method"] = json!("client_secret_post");
    let mut hs256 = key_client_body("hs256", &[ClientKey::B]);
    hs256["jwt_configuration"] = json!({"alg": "HS256"});
    let mut no_alg = key_client_body("no alg", &[ClientKey::B]);
    no_alg.as_object_mut().unwrap().remove("jwt_configuration");
    for body in [both, hs256, no_alg] {
        let (status, answer) = tenant.create(body).await;
        assert_eq!(status, 400, "{answer}");
    }
    let (status, _) = tenant
        .update(
            &id,
            json!({"token_endpoint_auth_method": "client_secret_post"}),
        )
        .await;
    assert_eq!(status, 400);
    let listed = enabled_ids(&tenant.get(&format!("/api/v2/clients/{id}")).await.1);
    let mut twice = enabling(&[&listed[0], &listed[0]]);
    twice["jwt_configuration"] = json!({"alg": "RS256"});
    assert_eq!(tenant.update(&id, twice).await.0, 400);
    assert_eq!(tenant.emulator.take_schema_violations().len(), 5);
    assert_eq!(tenant.emulator.clients().len(), 1);
}

#[tokio::test]
async fn a_credential_whose_answer_is_lost_was_created() {
    let tenant = Tenant::start().await;
    let id = id_of(&tenant.key_client("lost answer", ClientKey::A).await);
    tenant
        .emulator
        .inject_for(Route::CreateCredential, &id, Fault::DropConnection);
    let sent = tenant
        .request(Method::POST, &format!("/api/v2/clients/{id}/credentials"))
        .json(&credential_body(ClientKey::B));
    assert!(answer_lost(sent).await, "the answer was meant to be lost");
    // It took the second slot: reading shows it, a third is refused.
    let (_, listed) = tenant.list_credentials(&id).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["kid"], ClientKey::B.thumbprint());
    assert_eq!(tenant.add_credential(&id, ClientKey::C).await.0, 409);
    assert_eq!(tenant.emulator.count(Route::CreateCredential), 2);
    // Injected statuses answer with this route's errors.
    tenant
        .emulator
        .inject(Route::GetCredential, Fault::Status(404));
    assert_auth0_error(
        tenant
            .on_credential(Method::GET, &id, "cred_any", None)
            .await,
        404,
        "Credential does not exist",
        "inexistent_credential",
    );
}
