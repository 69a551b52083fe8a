//! The tenant's APIs (`/api/v2/resource-servers`) and grant updates
//! (`PATCH /api/v2/client-grants/{id}`): what Auth0's Deploy CLI calls to
//! set up the service's tenant, and what each change does to grants and
//! `/oauth/token`.

mod support;

use auth0_emulator::{MANAGEMENT_SCOPES, Route, Schema};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Tenant, assert_auth0_error, credentials_of};

const CONFIGURED_API: &str = "https://butlrauth/";
const NEW_API: &str = "https://new-api.example/";

/// What the Deploy CLI's application is granted besides the service's scopes.
const DEPLOY_SCOPES: &str = "read:resource_servers create:resource_servers \
update:resource_servers delete:resource_servers update:client_grants";

async fn deployer() -> Tenant {
    Tenant::configured(|config| {
        config.resource_servers = vec![CONFIGURED_API.into()];
        config.management_scopes = format!("{MANAGEMENT_SCOPES} {DEPLOY_SCOPES}");
    })
    .await
}

fn new_api() -> Value {
    json!({
        "name": "New API",
        "identifier": NEW_API,
        "signing_alg": "RS256",
        "scopes": [{"value": "read:things", "description": "Read things"}],
    })
}

impl Tenant {
    async fn list_apis(&self, query: &[(&str, &str)]) -> (StatusCode, Value) {
        support::send(
            self.request(Method::GET, "/api/v2/resource-servers")
                .query(query),
        )
        .await
    }

    async fn create_api(&self, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, "/api/v2/resource-servers", Some(body))
            .await
    }

    fn api_id(&self, identifier: &str) -> String {
        let apis = self.emulator.resource_servers();
        let api = apis.iter().find(|api| api["identifier"] == identifier);
        api.and_then(|api| api["id"].as_str()).unwrap().to_owned()
    }
}

#[tokio::test]
async fn a_tenant_lists_its_configured_apis_and_the_management_api() {
    let tenant = deployer().await;
    let (status, apis) = tenant.list_apis(&[]).await;
    assert_eq!(status, 200, "{apis}");
    Schema::ListResourceServers.check(&apis).unwrap();
    let identifiers: Vec<&Value> = apis
        .as_array()
        .unwrap()
        .iter()
        .map(|api| &api["identifier"])
        .collect();
    let management = format!("{}/api/v2/", tenant.emulator.base_url());
    assert_eq!(identifiers, [CONFIGURED_API, management.as_str()]);
    let system = &apis[1];
    assert_eq!(system["name"], "Auth0 Management API");
    assert_eq!(system["is_system"], true);

    // The Deploy CLI's paging: include_totals and a page size.
    let (status, page) = tenant
        .list_apis(&[("include_totals", "true"), ("per_page", "1"), ("page", "1")])
        .await;
    assert_eq!(status, 200, "{page}");
    Schema::ListResourceServers.check(&page).unwrap();
    assert_eq!(page["total"], 2);
    assert_eq!(page["start"], 1);
    assert_eq!(page["resource_servers"][0]["identifier"], management);

    let (status, filtered) = tenant.list_apis(&[("identifiers", CONFIGURED_API)]).await;
    assert_eq!(status, 200);
    assert_eq!(filtered.as_array().unwrap().len(), 1, "{filtered}");
    tenant
        .assert_query_refused(
            "/api/v2/resource-servers?per_page=0",
            "Query validation error: 'Must be greater than or equal to 1' on property per_page (Number of results per page.).",
        )
        .await;
}

#[tokio::test]
async fn a_created_api_can_be_granted_and_its_tokens_carry_the_granted_scopes() {
    let tenant = deployer().await;
    let (status, api) = tenant.create_api(new_api()).await;
    assert_eq!(status, 201, "{api}");
    Schema::CreateResourceServerResponse.check(&api).unwrap();
    assert_eq!(api["identifier"], NEW_API);
    assert_eq!(api["signing_alg"], "RS256");
    assert_eq!(api["is_system"], false);
    assert_eq!(api["scopes"], new_api()["scopes"]);

    let client = tenant
        .client_with_grant("caller", NEW_API, &["read:things"])
        .await;
    let (status, token) = tenant.token_request(credentials_of(&client, NEW_API)).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["scope"], "read:things");

    assert_auth0_error(
        tenant.create_api(new_api()).await,
        409,
        "A resource server with the same identifier already exists",
        "conflict",
    );
}

#[tokio::test]
async fn a_body_outside_the_published_schema_is_refused_and_recorded() {
    let tenant = deployer().await;
    let (status, answer) = tenant
        .create_api(json!({"identifier": NEW_API, "audience": "not a property"}))
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["errorCode"], "invalid_body");
    let (status, _) = tenant
        .create_api(json!({"identifier": NEW_API, "signing_alg": "ES256"}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(tenant.emulator.take_schema_violations().len(), 2);
    assert!(
        !tenant
            .emulator
            .resource_servers()
            .iter()
            .any(|api| api["identifier"] == NEW_API)
    );
}

#[tokio::test]
async fn an_update_changes_the_named_fields_and_keeps_the_identifier() {
    let tenant = deployer().await;
    tenant.create_api(new_api()).await;
    let id = tenant.api_id(NEW_API);
    let scopes = json!([{"value": "read:things"}, {"value": "write:things"}]);
    let (status, api) = tenant
        .call(
            Method::PATCH,
            &format!("/api/v2/resource-servers/{id}"),
            Some(json!({"name": "Renamed", "scopes": scopes})),
        )
        .await;
    assert_eq!(status, 200, "{api}");
    Schema::UpdateResourceServerResponse.check(&api).unwrap();
    assert_eq!(api["name"], "Renamed");
    assert_eq!(api["scopes"], scopes);
    assert_eq!(api["identifier"], NEW_API);
    assert_eq!(api["signing_alg"], "RS256");

    let (status, _) = tenant
        .call(
            Method::PATCH,
            &format!("/api/v2/resource-servers/{id}"),
            Some(json!({"identifier": "https://changed/"})),
        )
        .await;
    assert_eq!(status, 400, "the identifier cannot change");
    assert_eq!(tenant.emulator.take_schema_violations().len(), 1);
}

#[tokio::test]
async fn an_update_of_a_missing_id_is_auth0s_404_for_its_kind() {
    let tenant = deployer().await;
    let cases = [
        (
            "/api/v2/resource-servers/000000000000000000000000",
            json!({"name": "x"}),
            (
                "The resource server does not exist",
                "inexistent_resource_server",
            ),
        ),
        (
            "/api/v2/client-grants/cgr_missing",
            json!({"scope": []}),
            (
                "The client grant does not exist.",
                "inexistent_client_grant",
            ),
        ),
    ];
    for (path, body, (message, error_code)) in cases {
        let (status, answer) = tenant.call(Method::PATCH, path, Some(body)).await;
        assert_eq!(status, 404, "PATCH {path}: {answer}");
        assert_auth0_error((status, answer), 404, message, error_code);
    }
}

#[tokio::test]
async fn a_deleted_api_can_no_longer_be_granted() {
    let tenant = deployer().await;
    tenant.create_api(new_api()).await;
    let id = tenant.api_id(NEW_API);
    let path = format!("/api/v2/resource-servers/{id}");
    for _ in 0..2 {
        let (status, _) = tenant.call(Method::DELETE, &path, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let (status, client) = tenant.create(support::m2m("caller")).await;
    assert_eq!(status, 201);
    assert_auth0_error(
        tenant
            .grant(json!({"client_id": client["client_id"], "audience": NEW_API, "scope": []}))
            .await,
        404,
        "No resource server found by specified identifier",
        "inexistent_resource_server",
    );
}

#[tokio::test]
async fn the_management_api_can_be_granted_like_any_api() {
    let tenant = deployer().await;
    let (status, client) = tenant.create(support::m2m("manager")).await;
    assert_eq!(status, 201);
    let audience = format!("{}/api/v2/", tenant.emulator.base_url());
    let (status, grant) = tenant
        .grant(json!({"client_id": client["client_id"], "audience": audience, "scope": ["read:clients"]}))
        .await;
    assert_eq!(status, 201, "{grant}");
}

#[tokio::test]
async fn each_route_needs_its_management_scope() {
    // The service's own management scopes, but for changing a grant's.
    let scopes: Vec<&str> = MANAGEMENT_SCOPES
        .split_whitespace()
        .filter(|scope| *scope != "update:client_grants")
        .collect();
    let tenant = Tenant::with_scopes(&scopes.join(" ")).await;
    let refusals = [
        (
            Method::GET,
            "/api/v2/resource-servers",
            "read:resource_servers",
        ),
        (
            Method::POST,
            "/api/v2/resource-servers",
            "create:resource_servers",
        ),
        (
            Method::PATCH,
            "/api/v2/resource-servers/x",
            "update:resource_servers",
        ),
        (
            Method::DELETE,
            "/api/v2/resource-servers/x",
            "delete:resource_servers",
        ),
        (
            Method::PATCH,
            "/api/v2/client-grants/x",
            "update:client_grants",
        ),
    ];
    for (method, path, scope) in refusals {
        assert_auth0_error(
            tenant.call(method, path, Some(new_api())).await,
            403,
            &format!("Insufficient scope, expected any of: {scope}"),
            "insufficient_scope",
        );
    }
    // A refused request records no violation, whatever its body.
    assert!(tenant.emulator.schema_violations().is_empty());
}

#[tokio::test]
async fn the_new_routes_are_told_apart_for_faults_and_counts() {
    let tenant = deployer().await;
    tenant
        .status_fault(
            Route::ListResourceServers,
            Method::GET,
            "/api/v2/resource-servers",
            503,
            None,
        )
        .await;
    tenant
        .status_fault(
            Route::CreateResourceServer,
            Method::POST,
            "/api/v2/resource-servers",
            429,
            Some(new_api()),
        )
        .await;
    assert_eq!(tenant.emulator.count(Route::ListResourceServers), 1);
    assert_eq!(tenant.emulator.count(Route::CreateResourceServer), 1);
    // The faulted create changed nothing.
    assert_eq!(tenant.emulator.resource_servers().len(), 2);
}

#[tokio::test]
async fn a_grant_update_changes_the_scopes_of_the_next_token() {
    let tenant = deployer().await;
    let client = tenant
        .client_with_grant("caller", CONFIGURED_API, &["read:spaces"])
        .await;
    let grant_id = tenant.emulator.grants()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v2/client-grants/{grant_id}");
    let (status, grant) = tenant
        .call(
            Method::PATCH,
            &path,
            Some(json!({"scope": ["read:spaces", "write:spaces"]})),
        )
        .await;
    assert_eq!(status, 200, "{grant}");
    Schema::UpdateClientGrantResponse.check(&grant).unwrap();
    assert_eq!(grant["scope"], json!(["read:spaces", "write:spaces"]));
    assert_eq!(grant["audience"], CONFIGURED_API);
    let (status, token) = tenant
        .token_request(credentials_of(&client, CONFIGURED_API))
        .await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["scope"], "read:spaces write:spaces");

    let (status, _) = tenant
        .call(
            Method::PATCH,
            &path,
            Some(json!({"audience": "https://other/"})),
        )
        .await;
    assert_eq!(status, 400, "a grant's audience cannot change");
    let violations = tenant.emulator.take_schema_violations();
    assert!(
        violations.len() == 1 && violations[0].starts_with("PATCH /api/v2/client-grants/{id}: "),
        "one violation, recorded under the route: {violations:?}"
    );
}
