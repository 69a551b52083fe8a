//! `/api/v2/clients` and `/api/v2/client-grants` beyond the basics: Auth0's
//! defaults, custom ids, query string checks, paging shapes, grants.

mod support;

use auth0_emulator::Schema;
use reqwest::Method;
use serde_json::{Value, json};
use support::{Tenant, assert_auth0_error, m2m};

#[tokio::test]
async fn a_minimal_create_gets_auth0s_defaults() {
    let tenant = Tenant::start().await;
    let (status, created) = tenant.create(json!({"name": "bare"})).await;
    assert_eq!(status, 201);
    Schema::CreateClientResponse.check(&created).unwrap();
    assert_eq!(created["tenant"], "emulator");
    assert_eq!(created["description"], "");
    assert_eq!(created["global"], false);
    assert_eq!(created["is_first_party"], true);
    assert_eq!(created["oidc_conformant"], true);
    assert_eq!(created["app_type"], "regular_web");
    assert_eq!(
        created["grant_types"],
        json!([
            "authorization_code",
            "implicit",
            "refresh_token",
            "client_credentials"
        ])
    );
    assert_eq!(created["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(created["client_metadata"], json!({}));
    // No `alg`: HS256 (the schema's default), as a real tenant answers a
    // create without one; Private Key JWT needs RS256 asked for.
    assert_eq!(
        created["jwt_configuration"],
        json!({"lifetime_in_seconds": 36000, "secret_encoded": false})
    );
    let secret = created["client_secret"].as_str().unwrap();
    assert_eq!(secret.len(), 64);
    assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );

    // What was sent is kept as sent.
    let (_, m2m_client) = tenant.create(m2m("m2m")).await;
    assert_eq!(m2m_client["app_type"], "non_interactive");
    assert_eq!(m2m_client["grant_types"], json!(["client_credentials"]));
    assert_eq!(
        m2m_client["client_metadata"],
        json!({"owner_client_id": "owner"})
    );
    let stored = tenant.emulator.clients();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1], m2m_client, "stored exactly as answered");
}

#[tokio::test]
async fn custom_client_ids_follow_the_tenant_feature() {
    let tenant = Tenant::start().await;
    let with_id = |id: Value| {
        let mut body = m2m("custom");
        body["client_id"] = id;
        body
    };
    let (status, created) = tenant
        .create(with_id(json!("client_2NxkHEYJ3YoVq8mYaLz9bTQm6Ee")))
        .await;
    assert_eq!(status, 201);
    assert_eq!(created["client_id"], "client_2NxkHEYJ3YoVq8mYaLz9bTQm6Ee");

    tenant.emulator.set_custom_client_ids(false);
    assert_auth0_error(
        tenant.create(with_id(json!("client_other"))).await,
        403,
        "Custom client_id is not supported for this tenant",
        "operation_not_supported",
    );
    // Without an id the same tenant creates, with a generated one.
    let (status, created) = tenant.create(m2m("generated")).await;
    assert_eq!(status, 201);
    assert_eq!(created["client_id"].as_str().unwrap().len(), 32);
    tenant.emulator.set_custom_client_ids(true);
    let (status, _) = tenant.create(with_id(json!("client_other"))).await;
    assert_eq!(status, 201);
    assert!(tenant.emulator.schema_violations().is_empty());

    // Ids that are not strings, empty, or outside the id alphabet are
    // violations: the service never sends them.
    for id in [
        json!(""),
        json!(7),
        json!("has space"),
        json!("x".repeat(65)),
    ] {
        let (status, body) = tenant.create(with_id(id.clone())).await;
        assert_eq!(status, 400, "{id}");
        assert_eq!(body["errorCode"], "invalid_body", "{id}");
    }
    assert_eq!(tenant.emulator.take_schema_violations().len(), 4);
    assert_eq!(tenant.emulator.clients().len(), 3);
}

#[tokio::test]
async fn violations_name_the_property() {
    let tenant = Tenant::start().await;
    let (status, body) = tenant.create(json!({"name": "a<b"})).await;
    assert_eq!(status, 400);
    let message = body["message"].as_str().unwrap();
    assert!(
        message.starts_with("Payload validation error: "),
        "{message}"
    );
    assert!(message.contains("/name"), "{message}");
    for not_an_object in [json!([]), json!("name")] {
        let (status, body) = tenant.create(not_an_object).await;
        assert_eq!(status, 400);
        assert_eq!(body["errorCode"], "invalid_body");
    }
    let status = tenant
        .send_broken_json(Method::POST, "/api/v2/clients")
        .await;
    assert_eq!(status, 400);
    let violations = tenant.emulator.take_schema_violations();
    assert_eq!(violations.len(), 4, "{violations:?}");
    assert!(violations[0].starts_with("POST /api/v2/clients: "));
    assert!(tenant.emulator.clients().is_empty());
}

#[tokio::test]
async fn query_strings_are_checked_like_auth0s() {
    let tenant = Tenant::start().await;
    let cases = [
        (
            "/api/v2/clients?per_page=101",
            "Query validation error: 'Must be less than or equal to 100' on property per_page (Number of results per page. Defaults to 50.).",
        ),
        (
            "/api/v2/clients?per_page=ten",
            "Query validation error: 'Expected type integer but found type string' on property per_page (Number of results per page. Defaults to 50.).",
        ),
        (
            "/api/v2/clients?page=-1",
            "Query validation error: 'Must be greater than or equal to 0' on property page (Page index of the results to return. First page is 0.).",
        ),
        (
            "/api/v2/clients?include_totals=yes",
            "Query validation error: 'Expected type boolean but found type string' on property include_totals (Return results inside an object that contains the total result count (true) or as a direct array of results (false, default).).",
        ),
        (
            "/api/v2/clients?page=1&page=2",
            "Query validation error: 'Expected type integer but found type array' on property page (Page index of the results to return. First page is 0.).",
        ),
        (
            "/api/v2/clients?sort=name",
            "Query validation error: 'Additional properties not allowed: sort'.",
        ),
        (
            "/api/v2/clients/abc?include_fields=1",
            "Query validation error: 'Expected type boolean but found type string' on property include_fields (Whether specified fields are to be included (true) or excluded (false).).",
        ),
        (
            "/api/v2/client-grants?per_page=0",
            "Query validation error: 'Must be greater than or equal to 1' on property per_page (Number of results per page.).",
        ),
    ];
    for (path, message) in cases {
        tenant.assert_query_refused(path, message).await;
    }
    // Bad query strings are Auth0's answers, not schema violations.
    assert!(tenant.emulator.schema_violations().is_empty());
}

#[tokio::test]
async fn lists_filter_page_and_project() {
    let tenant = Tenant::start().await;
    for n in 0..3 {
        tenant.create(m2m(&format!("m{n}"))).await;
    }
    tenant
        .emulator
        .seed_client(json!({"name": "third party", "is_first_party": false, "app_type": "spa"}));
    tenant
        .emulator
        .seed_client(json!({"name": "global", "global": true}));

    let names = |body: &Value| -> Vec<String> {
        let list = body
            .as_array()
            .or_else(|| body["clients"].as_array())
            .unwrap();
        list.iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };

    let (_, body) = tenant
        .get("/api/v2/clients?app_type=spa,non_interactive")
        .await;
    assert_eq!(names(&body), ["m0", "m1", "m2", "third party"]);
    let (_, body) = tenant.get("/api/v2/clients?is_first_party=false").await;
    assert_eq!(names(&body), ["third party"]);
    let (_, body) = tenant.get("/api/v2/clients?is_global=true").await;
    assert_eq!(names(&body), ["global"]);
    let (_, body) = tenant.get("/api/v2/clients?per_page=0").await;
    assert_eq!(body, json!([]));
    let (_, body) = tenant.get("/api/v2/clients?per_page=2&page=2").await;
    assert_eq!(names(&body), ["global"]);

    // include_totals: exactly the schema's four members.
    let (_, body) = tenant
        .get("/api/v2/clients?per_page=2&page=1&include_totals=true")
        .await;
    Schema::ListClientsOffsetPaginated.check(&body).unwrap();
    let mut members: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
    members.sort();
    assert_eq!(members, ["clients", "limit", "start", "total"]);
    assert_eq!(
        (&body["start"], &body["limit"], &body["total"]),
        (&json!(2), &json!(2), &json!(5))
    );

    // Checkpoint paging.
    let (_, first) = tenant.get("/api/v2/clients?take=3").await;
    Schema::ListClientsCheckpointPaginated
        .check(&first)
        .unwrap();
    assert_eq!(names(&first), ["m0", "m1", "m2"]);
    let next = first["next"].as_str().unwrap().to_owned();
    let (_, second) = tenant
        .get(&format!("/api/v2/clients?take=3&from={next}"))
        .await;
    assert_eq!(names(&second), ["third party", "global"]);
    assert!(second.get("next").is_none());

    // fields: kept, or dropped with include_fields=false; the secret only
    // to a management application granted read:client_keys (this one is).
    let (_, body) = tenant
        .get("/api/v2/clients?fields=name,client_secret")
        .await;
    let stored = tenant.emulator.clients()[0]["client_secret"].clone();
    assert_eq!(body[0], json!({"name": "m0", "client_secret": stored}));
    let keyless = Tenant::with_scopes("read:clients create:clients").await;
    keyless.create(m2m("hidden")).await;
    let (_, body) = keyless
        .get("/api/v2/clients?fields=name,client_secret")
        .await;
    assert_eq!(body[0], json!({"name": "hidden"}));
    let (_, body) = tenant
        .get("/api/v2/clients?fields=name,client_metadata&include_fields=false")
        .await;
    let client = body[0].as_object().unwrap();
    assert!(client.contains_key("client_id"));
    assert!(!client.contains_key("name"));
    assert!(!client.contains_key("client_metadata"));
    assert!(client.contains_key("client_secret"), "not excluded: shown");
    let (_, body) = tenant.get("/api/v2/clients?fields=").await;
    assert!(
        body[0].get("jwt_configuration").is_some(),
        "empty fields: all"
    );

    let id = tenant.emulator.clients()[0]["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = tenant
        .get(&format!(
            "/api/v2/clients/{id}?fields=client_id,name,description,client_metadata"
        ))
        .await;
    assert_eq!(status, 200);
    Schema::GetClientResponse.check(&body).unwrap();
    assert_eq!(
        body,
        json!({"client_id": id, "name": "m0", "description": "d", "client_metadata": {"owner_client_id": "owner"}})
    );
}

#[tokio::test]
async fn seeded_clients_get_defaults_and_show_in_reads() {
    let tenant = Tenant::start().await;
    let generated = tenant.emulator.seed_client(json!({"name": "someone's"}));
    assert_eq!(generated.len(), 32);
    let chosen = tenant
        .emulator
        .seed_client(json!({"client_id": "abc123def456", "name": "doc"}));
    assert_eq!(chosen, "abc123def456");
    let stored = tenant.emulator.clients();
    assert_eq!(stored[0]["client_id"], generated.as_str());
    assert_eq!(stored[1]["client_secret"].as_str().unwrap().len(), 64);
    for client in &stored {
        let mut read = client.clone();
        read.as_object_mut().unwrap().remove("client_secret");
        Schema::Client.check(&read).unwrap();
    }
    let (status, body) = tenant.get("/api/v2/clients/abc123def456").await;
    assert_eq!(status, 200);
    assert_eq!(body["name"], "doc");
    assert_eq!(body["client_secret"], stored[1]["client_secret"]);
}

#[tokio::test]
async fn grants_check_client_audience_and_duplicates() {
    let tenant = Tenant::configured(|config| {
        config.resource_servers = vec!["https://butlrauth/".into(), "https://other/".into()];
    })
    .await;
    let (_, client) = tenant.create(m2m("granted")).await;
    let id = client["client_id"].as_str().unwrap();
    let grant =
        |audience: &str| json!({"client_id": id, "audience": audience, "scope": ["read:spaces"]});

    let (status, created) = tenant.grant(grant("https://butlrauth/")).await;
    assert_eq!(status, 201);
    Schema::CreateClientGrantResponse.check(&created).unwrap();
    let grant_id = created["id"].as_str().unwrap();
    assert!(grant_id.starts_with("cgr_") && grant_id.len() == 20);
    assert_eq!(created["scope"], json!(["read:spaces"]));
    assert_eq!(tenant.emulator.grants(), std::slice::from_ref(&created));

    let (status, _) = tenant.grant(grant("https://other/")).await;
    assert_eq!(status, 201);
    assert_auth0_error(
        tenant.grant(grant("https://nowhere/")).await,
        404,
        "No resource server found by specified identifier",
        "inexistent_resource_server",
    );
    assert_auth0_error(
        tenant.grant(grant("https://butlrauth/")).await,
        409,
        "A client grant for this client and audience already exists",
        "client_grant_conflict",
    );
    assert_auth0_error(
        tenant
            .grant(json!({"client_id": "nobody", "audience": "https://butlrauth/"}))
            .await,
        404,
        "Client not found",
        "inexistent_client",
    );

    // Listing, filtered and in its three shapes.
    let (status, all) = tenant
        .get(&format!("/api/v2/client-grants?client_id={id}"))
        .await;
    assert_eq!(status, 200);
    Schema::ListClientGrants.check(&all).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 2);
    let (_, one) = tenant
        .get("/api/v2/client-grants?audience=https%3A%2F%2Fother%2F&include_totals=true")
        .await;
    Schema::ListClientGrants.check(&one).unwrap();
    assert_eq!(one["total"], 1);
    assert_eq!(one["client_grants"][0]["audience"], "https://other/");
    let (_, page) = tenant.get("/api/v2/client-grants?take=1").await;
    Schema::ListClientGrants.check(&page).unwrap();
    assert_eq!(page["next"], "1");

    // A deleted client's grants go with it.
    let (status, _) = tenant
        .call(Method::DELETE, &format!("/api/v2/clients/{id}"), None)
        .await;
    assert_eq!(status, 204);
    assert!(tenant.emulator.grants().is_empty());
    assert!(tenant.emulator.schema_violations().is_empty());
}
