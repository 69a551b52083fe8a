//! The routes behind the service's lifecycle operations: updating a client
//! (`PATCH /api/v2/clients/{id}`), rotating its secret, finding and
//! deleting its grants, and what each does to `/oauth/token`.

mod support;

use std::time::{Duration, Instant};

use auth0_emulator::{Fault, MANAGEMENT_SCOPES, Route, Schema};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Tenant, answer_lost, credentials_of, m2m, send, send_text};

const API: &str = "https://butlrauth/";
const OTHER_API: &str = "https://other/";

/// A tenant with two APIs to grant.
async fn two_apis() -> Tenant {
    Tenant::configured(|config| config.resource_servers = vec![API.into(), OTHER_API.into()]).await
}

/// A tenant whose management application lacks `removed` of the usual scopes.
async fn without_scopes(removed: &[&str]) -> Tenant {
    let scopes: Vec<&str> = MANAGEMENT_SCOPES
        .split_whitespace()
        .filter(|scope| !removed.contains(scope))
        .collect();
    Tenant::with_scopes(&scopes.join(" ")).await
}

fn id_of(value: &Value) -> String {
    value["client_id"].as_str().unwrap().to_owned()
}

/// A created client granted `read:spaces` on `API`: the client (with its
/// secret), its id, and the grant's id.
async fn granted_client(tenant: &Tenant, name: &str) -> (Value, String, String) {
    let client = tenant.client_with_grant(name, API, &["read:spaces"]).await;
    let id = id_of(&client);
    let grants = tenant.emulator.grants();
    let grant = grants
        .iter()
        .find(|g| g["client_id"] == id.as_str())
        .unwrap();
    let grant_id = grant["id"].as_str().unwrap().to_owned();
    (client, id, grant_id)
}

/// Auth0's 403 for a token without any of `scopes`.
fn insufficient_scope(scopes: &str) -> Value {
    json!({"statusCode": 403, "error": "Forbidden",
        "message": format!("Insufficient scope, expected any of: {scopes}"), "errorCode": "insufficient_scope"})
}

/// `/oauth/token`'s refusal of a client without a grant for `audience`.
fn no_grant(client_id: &str, audience: &str) -> Value {
    json!({"error": "access_denied", "error_description": format!(
        "Client \"{client_id}\" is not authorized to access resource server \"{audience}\". You need to create a \"client-grant\" associated to this API."
    )})
}

#[tokio::test]
async fn updates_change_what_is_sent_and_answer_in_auth0s_shape() {
    let tenant = Tenant::start().await;
    let (_, created) = tenant.create(m2m("before")).await;
    let id = id_of(&created);

    let (status, updated) = tenant
        .update(&id, json!({"name": "after", "description": "new words"}))
        .await;
    assert_eq!(status, 200);
    Schema::UpdateClientResponse.check(&updated).unwrap();
    let mut expected = created.clone();
    expected["name"] = json!("after");
    expected["description"] = json!("new words");
    // Nothing else changes; this management application reads keys, so
    // the answer shows the (unchanged) secret, as a read would.
    assert_eq!(updated, expected);
    assert_eq!(tenant.emulator.clients(), std::slice::from_ref(&expected));
    let (_, read) = tenant.get(&format!("/api/v2/clients/{id}")).await;
    assert_eq!(read, expected);

    // One field alone.
    let (status, updated) = tenant.update(&id, json!({"description": ""})).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&updated["name"], &updated["description"]),
        (&json!("after"), &json!(""))
    );
    assert_eq!(tenant.emulator.clients(), [updated]);
    assert_eq!(tenant.emulator.count(Route::UpdateClient), 2);
    assert!(tenant.emulator.schema_violations().is_empty());
}

#[tokio::test]
async fn update_bodies_outside_the_schema_are_refused_and_recorded() {
    let tenant = Tenant::start().await;
    let (_, created) = tenant.create(m2m("kept")).await;
    let id = id_of(&created);
    for body in [
        json!({"name": "a<b"}),
        json!({"name": ""}),
        json!({"description": "d".repeat(141)}),
        // An id cannot be changed: UpdateClientRequestContent has none.
        json!({"client_id": "client_other"}),
        json!({"not_a_field": true}),
        // The schema asks for at least one property.
        json!({}),
        json!(["name"]),
    ] {
        let (status, answer) = tenant.update(&id, body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["errorCode"], "invalid_body", "{body}");
        let message = answer["message"].as_str().unwrap();
        assert!(
            message.starts_with("Payload validation error: "),
            "{message}"
        );
    }
    let status = tenant
        .send_broken_json(Method::PATCH, &format!("/api/v2/clients/{id}"))
        .await;
    assert_eq!(status, 400);
    let violations = tenant.emulator.take_schema_violations();
    assert_eq!(violations.len(), 8, "{violations:?}");
    assert!(
        violations
            .iter()
            .all(|v| v.starts_with("PATCH /api/v2/clients/{id}: ")),
        "{violations:?}"
    );
    assert!(violations[3].contains("client_id"), "{violations:?}");
    assert_eq!(tenant.emulator.clients(), [created]);
}

#[tokio::test]
async fn unknown_clients_get_auth0s_404() {
    let tenant = Tenant::start().await;
    let expected = json!({"statusCode": 404, "error": "Not Found",
        "message": "The client does not exist", "errorCode": "inexistent_client"});
    let (status, body) = tenant.update("nobody", json!({"name": "x"})).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, expected.clone()));
    let (status, body) = tenant.rotate("nobody").await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, expected));
    assert!(tenant.emulator.clients().is_empty());
    assert!(tenant.emulator.schema_violations().is_empty());
}

#[tokio::test]
async fn the_new_routes_need_a_management_token() {
    let tenant = Tenant::start().await;
    let (client, id, grant_id) = granted_client(&tenant, "guarded").await;
    let requests = [
        // A body the schema refuses: looked at only after the token.
        (
            Method::PATCH,
            format!("/api/v2/clients/{id}"),
            Some(json!({"name": "<bad>"})),
        ),
        (
            Method::POST,
            format!("/api/v2/clients/{id}/rotate-secret"),
            None,
        ),
        (Method::GET, "/api/v2/client-grants".to_owned(), None),
        (
            Method::DELETE,
            format!("/api/v2/client-grants/{grant_id}"),
            None,
        ),
    ];
    for (method, path, body) in requests {
        for bearer in [None, Some("made-up")] {
            let mut request = tenant.http.request(method.clone(), tenant.url(&path));
            if let Some(token) = bearer {
                request = request.bearer_auth(token);
            }
            if let Some(body) = &body {
                request = request.json(body);
            }
            let (status, answer) = send(request).await;
            assert_eq!(status, 401, "{method} {path}");
            assert_eq!(
                answer,
                json!({"statusCode": 401, "error": "Unauthorized", "message": "Invalid token", "errorCode": "invalid_token"})
            );
        }
    }
    assert_eq!(tenant.emulator.clients(), [client]);
    assert_eq!(tenant.emulator.grants().len(), 1);
    assert!(tenant.emulator.schema_violations().is_empty());
}

#[tokio::test]
async fn the_new_routes_refuse_a_token_without_their_scope() {
    let tenant = without_scopes(&[
        "update:clients",
        "update:client_keys",
        "delete:client_grants",
    ])
    .await;
    let (client, id, grant_id) = granted_client(&tenant, "scoped").await;

    let (status, body) = tenant.update(&id, json!({"name": "renamed"})).await;
    assert_eq!(status, 403);
    assert_eq!(
        body,
        insufficient_scope("update:clients,update:client_keys")
    );
    let (status, body) = tenant.rotate(&id).await;
    assert_eq!(status, 403);
    assert_eq!(body, insufficient_scope("update:client_keys"));
    let (status, body) = tenant.delete_grant(&grant_id).await;
    assert_eq!(status, 403);
    assert_eq!(body, insufficient_scope("delete:client_grants"));
    assert_eq!(tenant.emulator.clients(), [client]);
    assert_eq!(tenant.emulator.grants().len(), 1);

    // An update takes either scope; a rotation only update:client_keys.
    for (lacking, rotation) in [("update:clients", 200), ("update:client_keys", 403)] {
        let tenant = without_scopes(&[lacking]).await;
        let (_, created) = tenant.create(m2m(lacking)).await;
        let id = id_of(&created);
        let (status, _) = tenant.update(&id, json!({"name": "renamed"})).await;
        assert_eq!(status, 200, "without {lacking}");
        let (status, _) = tenant.rotate(&id).await;
        assert_eq!(status.as_u16(), rotation, "without {lacking}");
    }
}

#[tokio::test]
async fn rotation_replaces_the_secret_at_the_token_endpoint_at_once() {
    let tenant = Tenant::start().await;
    let (client, id, _) = granted_client(&tenant, "rotating").await;
    let (status, _) = tenant.token_request(credentials_of(&client, API)).await;
    assert_eq!(status, 200);

    let (status, rotated) = tenant.rotate(&id).await;
    assert_eq!(status, 200);
    Schema::RotateClientSecretResponse.check(&rotated).unwrap();
    let secret = rotated["client_secret"].as_str().unwrap();
    assert_ne!(rotated["client_secret"], client["client_secret"]);
    // As a created client's: 64 characters of the same alphabet.
    assert_eq!(secret.len(), 64);
    assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    let mut expected = client.clone();
    expected["client_secret"] = rotated["client_secret"].clone();
    assert_eq!(rotated, expected, "only the secret changes");
    assert_eq!(tenant.emulator.clients(), std::slice::from_ref(&expected));

    // The old secret is refused at once, the new one accepted at once.
    let (status, answer) = tenant.token_request(credentials_of(&client, API)).await;
    assert_eq!(status, 401);
    assert_eq!(
        answer,
        json!({"error": "access_denied", "error_description": "Unauthorized"})
    );
    let (status, answer) = tenant.token_request(credentials_of(&rotated, API)).await;
    assert_eq!(status, 200, "{answer}");
    Schema::TokenResponse.check(&answer).unwrap();
    assert_eq!(answer["scope"], "read:spaces");

    // Each rotation retires the secret before it.
    let (_, again) = tenant.rotate(&id).await;
    assert_ne!(again["client_secret"], rotated["client_secret"]);
    let (status, _) = tenant.token_request(credentials_of(&rotated, API)).await;
    assert_eq!(status, 401);
    let (status, _) = tenant.token_request(credentials_of(&again, API)).await;
    assert_eq!(status, 200);
    assert_eq!(tenant.emulator.count(Route::RotateSecret), 2);
    assert!(tenant.emulator.schema_violations().is_empty());
}

#[tokio::test]
async fn a_secret_shows_only_in_the_rotation_answer_without_read_client_keys() {
    let tenant =
        Tenant::with_scopes("create:clients read:clients update:clients update:client_keys").await;
    let (_, created) = tenant.create(m2m("secretive")).await;
    let id = id_of(&created);
    let (_, rotated) = tenant.rotate(&id).await;
    assert_eq!(
        rotated["client_secret"],
        tenant.emulator.clients()[0]["client_secret"]
    );
    let (_, updated) = tenant.update(&id, json!({"name": "renamed"})).await;
    Schema::UpdateClientResponse.check(&updated).unwrap();
    let (_, read) = tenant.get(&format!("/api/v2/clients/{id}")).await;
    let (_, list) = tenant.get("/api/v2/clients").await;
    for answer in [&updated, &read, &list[0]] {
        assert_eq!(answer["name"], "renamed");
        assert!(answer.get("client_secret").is_none(), "{answer}");
    }
}

#[tokio::test]
async fn a_deleted_grant_refuses_tokens_until_granted_again() {
    let tenant = two_apis().await;
    let (client, id, _) = granted_client(&tenant, "regranted").await;
    let (status, _) = tenant
        .grant(json!({"client_id": id, "audience": OTHER_API}))
        .await;
    assert_eq!(status, 201);

    // Found as the service finds it: by client and audience.
    let (status, found) = tenant
        .list_grants(&[("client_id", id.as_str()), ("audience", API)])
        .await;
    assert_eq!(status, 200);
    let grant_id = found[0]["id"].as_str().unwrap().to_owned();
    let (status, body) = tenant.delete_grant(&grant_id).await;
    assert_eq!((status.as_u16(), body), (204, Value::Null));
    let remaining = tenant.emulator.grants();
    assert_eq!(remaining.len(), 1);
    assert_eq!(remaining[0]["audience"], OTHER_API);

    let (status, refusal) = tenant.token_request(credentials_of(&client, API)).await;
    assert_eq!(status, 403);
    Schema::TokenError.check(&refusal).unwrap();
    assert_eq!(refusal, no_grant(&id, API));
    // Its grant for the other API still works.
    let (status, _) = tenant
        .token_request(credentials_of(&client, OTHER_API))
        .await;
    assert_eq!(status, 200);

    // A second delete is Auth0's 204 all the same.
    let (status, _) = tenant.delete_grant(&grant_id).await;
    assert_eq!(status, 204);

    let (status, regranted) = tenant
        .grant(json!({"client_id": id, "audience": API, "scope": ["read:spaces"]}))
        .await;
    assert_eq!(status, 201);
    assert_ne!(regranted["id"], grant_id.as_str());
    let (status, answer) = tenant.token_request(credentials_of(&client, API)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["scope"], "read:spaces");
    assert_eq!(tenant.emulator.count(Route::DeleteGrant), 2);
    assert!(tenant.emulator.schema_violations().is_empty());
}

#[tokio::test]
async fn the_grants_list_filters_by_client_and_audience() {
    let tenant = two_apis().await;
    let (_, a, _) = granted_client(&tenant, "a").await;
    let (_, b, _) = granted_client(&tenant, "b").await;
    for client_id in [&a, &b] {
        tenant
            .grant(json!({"client_id": client_id, "audience": OTHER_API}))
            .await;
    }
    let stored = tenant.emulator.grants();
    // (client, audience) of each grant listed (the shape is checked apart).
    let listed = |body: &Value| -> Vec<(String, String)> {
        body.as_array()
            .or_else(|| body["client_grants"].as_array())
            .unwrap()
            .iter()
            .map(|g| (id_of(g), g["audience"].as_str().unwrap().to_owned()))
            .collect()
    };
    let pair = |client_id: &str, audience: &str| (client_id.to_owned(), audience.to_owned());

    let (status, body) = tenant.list_grants(&[("client_id", a.as_str())]).await;
    assert_eq!(status, 200);
    Schema::ListClientGrants.check(&body).unwrap();
    assert_eq!(listed(&body), [pair(&a, API), pair(&a, OTHER_API)]);
    let (_, body) = tenant.list_grants(&[("audience", OTHER_API)]).await;
    assert_eq!(listed(&body), [pair(&a, OTHER_API), pair(&b, OTHER_API)]);
    let (_, body) = tenant
        .list_grants(&[("client_id", b.as_str()), ("audience", API)])
        .await;
    assert_eq!(
        body,
        Value::Array(vec![stored[1].clone()]),
        "the stored grant, bare"
    );
    for no_match in [
        [("client_id", "nobody")],
        [("subject_type", "user")],
        [("allow_any_organization", "true")],
        [("default_for", "third_party_clients")],
    ] {
        let (status, body) = tenant.list_grants(&no_match).await;
        assert_eq!((status.as_u16(), body), (200, json!([])), "{no_match:?}");
    }
    let (_, body) = tenant.list_grants(&[("subject_type", "client")]).await;
    assert_eq!(listed(&body).len(), 4);

    // With totals, and checkpoint paged.
    let (_, body) = tenant
        .list_grants(&[
            ("client_id", a.as_str()),
            ("include_totals", "true"),
            ("per_page", "1"),
            ("page", "1"),
        ])
        .await;
    Schema::ListClientGrantsOffsetPaginated
        .check(&body)
        .unwrap();
    assert_eq!(listed(&body), [pair(&a, OTHER_API)]);
    assert_eq!(
        (&body["start"], &body["limit"], &body["total"]),
        (&json!(1), &json!(1), &json!(2))
    );
    let (_, first) = tenant
        .list_grants(&[("audience", OTHER_API), ("take", "1")])
        .await;
    assert_eq!(listed(&first), [pair(&a, OTHER_API)]);
    Schema::ListClientGrantsCheckpointPaginated
        .check(&first)
        .unwrap();
    let next = first["next"].as_str().unwrap();
    let (_, last) = tenant
        .list_grants(&[("audience", OTHER_API), ("take", "1"), ("from", next)])
        .await;
    assert_eq!(listed(&last), [pair(&b, OTHER_API)]);
    Schema::ListClientGrantsCheckpointPaginated
        .check(&last)
        .unwrap();
    assert!(last.get("next").is_none());

    // The query string is checked as Auth0 checks it.
    for (path, message) in [
        (
            "/api/v2/client-grants?allow_any_organization=false",
            "Query validation error: 'No enum match for: false' on property allow_any_organization (Optional filter on allow_any_organization.).",
        ),
        (
            "/api/v2/client-grants?allow_any_organization=yes",
            "Query validation error: 'Expected type boolean but found type string' on property allow_any_organization (Optional filter on allow_any_organization.).",
        ),
        (
            "/api/v2/client-grants?subject_type=robot",
            "Query validation error: 'No enum match for: \"robot\"' on property subject_type (The type of application access the client grant allows.).",
        ),
        (
            "/api/v2/client-grants?client_id=a&client_id=b",
            "Query validation error: 'Expected type string but found type array' on property client_id (Optional filter on client_id.).",
        ),
        (
            "/api/v2/client-grants?take=101",
            "Query validation error: 'Must be less than or equal to 100' on property take (Number of results per page. Defaults to 50.).",
        ),
        (
            "/api/v2/client-grants?take=1&from=cgr_x",
            "Query validation error: 'Invalid checkpoint' on property from (Optional Id from which to start selection.).",
        ),
        (
            "/api/v2/client-grants?name=a",
            "Query validation error: 'Additional properties not allowed: name'.",
        ),
    ] {
        tenant.assert_query_refused(path, message).await;
    }
    assert!(tenant.emulator.schema_violations().is_empty());
}

#[tokio::test]
async fn faults_apply_to_the_new_routes() {
    let tenant = Tenant::start().await;
    let (client, id, grant_id) = granted_client(&tenant, "faulted").await;
    let update_path = format!("/api/v2/clients/{id}");
    let rotate_path = format!("/api/v2/clients/{id}/rotate-secret");
    let grant_path = format!("/api/v2/client-grants/{grant_id}");
    let stored_secret = || tenant.emulator.clients()[0]["client_secret"].clone();

    // Status faults answer instead of the tenant (their bodies are checked
    // in faults.rs).
    let name = Some(json!({"name": "faulted away"}));
    tenant
        .status_fault(Route::UpdateClient, Method::PATCH, &update_path, 500, name)
        .await;
    tenant
        .status_fault(Route::RotateSecret, Method::POST, &rotate_path, 503, None)
        .await;
    tenant
        .status_fault(Route::DeleteGrant, Method::DELETE, &grant_path, 404, None)
        .await;
    tenant.emulator.inject(
        Route::UpdateClient,
        Fault::RateLimited {
            reset_after_secs: 3,
        },
    );
    let response = tenant
        .response(Method::PATCH, &update_path, json!({"name": "limited"}))
        .await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["x-ratelimit-remaining"], "0");
    assert_eq!(
        tenant.emulator.clients(),
        std::slice::from_ref(&client),
        "nothing changed"
    );
    assert_eq!(tenant.emulator.grants().len(), 1);

    // A stalled rotation whose caller gave up changes nothing, then or later.
    tenant.emulator.inject(
        Route::RotateSecret,
        Fault::Stall(Duration::from_millis(400)),
    );
    let answer = tenant
        .request(Method::POST, &rotate_path)
        .timeout(Duration::from_millis(150))
        .send()
        .await;
    assert!(answer.unwrap_err().is_timeout());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(stored_secret(), client["client_secret"]);
    // A caller that waits has it rotated, after the stall.
    tenant.emulator.inject(
        Route::RotateSecret,
        Fault::Stall(Duration::from_millis(100)),
    );
    let started = Instant::now();
    let (status, rotated) = tenant.rotate(&id).await;
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(status, 200);
    assert_eq!(stored_secret(), rotated["client_secret"]);

    // A delayed update is made though its caller gave up.
    tenant.emulator.inject(
        Route::UpdateClient,
        Fault::Delay(Duration::from_millis(400)),
    );
    let answer = tenant
        .request(Method::PATCH, &update_path)
        .json(&json!({"name": "made anyway"}))
        .timeout(Duration::from_millis(150))
        .send()
        .await;
    assert!(answer.unwrap_err().is_timeout());
    assert_eq!(tenant.emulator.clients()[0]["name"], "made anyway");

    // A rotation whose answer is spoiled has rotated: the caller lost the
    // new secret and the old one no longer works.
    tenant
        .emulator
        .inject(Route::RotateSecret, Fault::MalformedJson);
    let (status, body) = tenant.rotate(&id).await;
    assert_eq!((status.as_u16(), body), (200, Value::Null));
    assert_ne!(stored_secret(), rotated["client_secret"]);
    let (status, _) = tenant.token_request(credentials_of(&rotated, API)).await;
    assert_eq!(status, 401);

    // A delete behind a dropped connection has deleted.
    tenant
        .emulator
        .inject(Route::DeleteGrant, Fault::DropConnection);
    assert!(answer_lost(tenant.request(Method::DELETE, &grant_path)).await);
    assert!(tenant.emulator.grants().is_empty());

    // A spoiled 204 stays an empty 204.
    tenant
        .emulator
        .inject(Route::DeleteGrant, Fault::MalformedJson);
    let (status, text) = send_text(tenant.request(Method::DELETE, &grant_path)).await;
    assert_eq!((status.as_u16(), text.as_str()), (204, ""));

    tenant
        .emulator
        .inject(Route::DeleteGrant, Fault::ExpireManagementTokens);
    let (status, body) = tenant.delete_grant(&grant_id).await;
    assert_eq!(status, 401);
    assert_eq!(
        body["message"],
        "Expired token received for JSON Web Token validation"
    );

    // Every request was counted on its route, faulted or not.
    assert_eq!(tenant.emulator.count(Route::UpdateClient), 3);
    assert_eq!(tenant.emulator.count(Route::RotateSecret), 4);
    assert_eq!(tenant.emulator.count(Route::DeleteGrant), 4);
    assert!(tenant.emulator.schema_violations().is_empty());
}
