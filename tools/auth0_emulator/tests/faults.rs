//! Injected faults as a client sees them, on each kind of route, and the
//! request log.

mod support;

use std::time::{Duration, Instant};

use auth0_emulator::{Emulator, EmulatorConfig, Fault, RecordedRequest, Route, Schema};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use support::{
    Tenant, answer_lost, assert_auth0_error, m2m, management_credentials, send, send_text,
};

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn status_faults_answer_auth0s_error_bodies() {
    let tenant = Tenant::start().await;
    for (route, method, path, code, error_code) in [
        (
            Route::ListClients,
            Method::GET,
            "/api/v2/clients",
            500,
            "internal_server_error",
        ),
        (
            Route::ListClients,
            Method::GET,
            "/api/v2/clients",
            503,
            "service_unavailable",
        ),
        (
            Route::GetClient,
            Method::GET,
            "/api/v2/clients/x",
            404,
            "inexistent_client",
        ),
        (
            Route::DeleteClient,
            Method::DELETE,
            "/api/v2/clients/x",
            403,
            "insufficient_scope",
        ),
        (
            Route::CreateClient,
            Method::POST,
            "/api/v2/clients",
            409,
            "client_conflict",
        ),
        (
            Route::CreateGrant,
            Method::POST,
            "/api/v2/client-grants",
            502,
            "service_unavailable",
        ),
        (
            Route::UpdateClient,
            Method::PATCH,
            "/api/v2/clients/x",
            404,
            "inexistent_client",
        ),
        (
            Route::RotateSecret,
            Method::POST,
            "/api/v2/clients/x/rotate-secret",
            403,
            "insufficient_scope",
        ),
        (
            Route::ListGrants,
            Method::GET,
            "/api/v2/client-grants",
            400,
            "invalid_query_string",
        ),
        (
            Route::DeleteGrant,
            Method::DELETE,
            "/api/v2/client-grants/cgr_x",
            403,
            "insufficient_scope",
        ),
    ] {
        let body = (method == Method::POST).then(|| json!({"name": "x"}));
        let answer = tenant.status_fault(route, method, path, code, body).await;
        assert_eq!(answer["errorCode"], error_code, "{answer}");
        if code == 403 {
            // Auth0's message names the scopes the route accepts.
            let message = answer["message"].as_str().unwrap();
            assert!(
                message.starts_with("Insufficient scope, expected any of: "),
                "{message}"
            );
        }
    }
    tenant
        .emulator
        .inject(Route::RotateSecret, Fault::Status(403));
    let (_, answer) = tenant
        .call(Method::POST, "/api/v2/clients/x/rotate-secret", None)
        .await;
    assert_eq!(
        answer["message"],
        "Insufficient scope, expected any of: update:client_keys"
    );
    // The faulted requests changed nothing.
    assert!(tenant.emulator.clients().is_empty());

    // The token endpoint answers in OAuth's shape.
    tenant.emulator.inject(Route::Token, Fault::Status(500));
    let (status, answer) = tenant
        .token_request(json!({"grant_type": "client_credentials"}))
        .await;
    assert_eq!(status, 500);
    Schema::TokenError.check(&answer).unwrap();
    assert_eq!(answer["error"], "server_error");
    assert!(tenant.emulator.schema_violations().is_empty());
}

#[tokio::test]
async fn rate_limits_carry_auth0s_headers() {
    let tenant = Tenant::start().await;
    for route in [Route::CreateClient, Route::Token] {
        tenant.emulator.inject(
            route,
            Fault::RateLimited {
                reset_after_secs: 7,
            },
        );
    }
    let before = unix_now();
    let response = tenant.create_response(m2m("limited")).await;
    assert_eq!(response.status(), 429);
    let header = |name: &str| {
        response.headers()[name]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert!(header("x-ratelimit-limit") > 0);
    assert_eq!(header("x-ratelimit-remaining"), 0);
    let reset = header("x-ratelimit-reset");
    assert!((before + 7..=unix_now() + 7).contains(&reset), "{reset}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"statusCode": 429, "error": "Too Many Requests",
            "message": "Global limit has been reached", "errorCode": "too_many_requests"})
    );
    assert!(tenant.emulator.clients().is_empty());

    let (status, body) = tenant
        .token_request(json!({"grant_type": "client_credentials"}))
        .await;
    assert_eq!(status, 429);
    assert_eq!(body["error"], "too_many_requests");
}

#[tokio::test]
async fn faults_queue_per_route_first_in_first_out() {
    let tenant = Tenant::start().await;
    tenant.emulator.inject(Route::GetClient, Fault::Status(500));
    tenant.emulator.inject(Route::GetClient, Fault::Status(503));
    // Another route's fault stays queued for that route.
    let (status, _) = tenant.get("/api/v2/clients").await;
    assert_eq!(status, 200);
    let get = || tenant.get("/api/v2/clients/none");
    assert_eq!(get().await.0, 500);
    assert_eq!(get().await.0, 503);
    assert_eq!(get().await.0, 404);
    assert_eq!(tenant.emulator.count(Route::GetClient), 3);
    assert_eq!(tenant.emulator.count(Route::ListClients), 1);
}

/// Queues `fault` on creates and returns a create of `name`, to send.
fn create_under(tenant: &Tenant, fault: Fault, name: &str) -> RequestBuilder {
    tenant.emulator.inject(Route::CreateClient, fault);
    tenant
        .request(Method::POST, "/api/v2/clients")
        .json(&m2m(name))
}

/// Sends a create of `name` under `fault` that gives up after 150 ms, and
/// asserts that it did; returns how long it waited.
async fn create_giving_up(tenant: &Tenant, fault: Fault, name: &str) -> Duration {
    let started = Instant::now();
    let answer = create_under(tenant, fault, name)
        .timeout(Duration::from_millis(150))
        .send()
        .await;
    assert!(answer.unwrap_err().is_timeout(), "{name}");
    started.elapsed()
}

#[tokio::test]
async fn stalls_hold_the_request_before_any_work() {
    let tenant = Tenant::start().await;
    create_giving_up(&tenant, Fault::Stall(Duration::from_millis(400)), "never").await;
    // The caller gave up first: nothing was created, then or later.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(tenant.emulator.clients().is_empty());
    // A caller that waits gets the work done.
    let patient = create_under(&tenant, Fault::Stall(Duration::from_millis(100)), "patient");
    let started = Instant::now();
    let (status, _) = send(patient).await;
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!((status.as_u16(), tenant.emulator.clients().len()), (201, 1));
}

#[tokio::test]
async fn delays_hold_the_answer_after_the_work_is_done() {
    let tenant = Tenant::start().await;
    let waited = create_giving_up(&tenant, Fault::Delay(Duration::from_millis(400)), "slow").await;
    assert!(waited < Duration::from_millis(400));
    // The client timed out, yet the tenant created the client: what a
    // caller must be ready for.
    assert_eq!(tenant.emulator.clients().len(), 1);

    tenant
        .emulator
        .inject(Route::ListClients, Fault::Delay(Duration::from_millis(200)));
    let started = Instant::now();
    let (status, body) = tenant.get("/api/v2/clients").await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(status, 200);
    assert_eq!(body.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn dropped_connections_leave_no_usable_answer() {
    let tenant = Tenant::start().await;
    let (_, created) = tenant.create(m2m("doomed")).await;
    let id = created["client_id"].as_str().unwrap();
    for (route, method, path) in [
        (
            Route::ListClients,
            Method::GET,
            "/api/v2/clients".to_owned(),
        ),
        (Route::Token, Method::POST, "/oauth/token".to_owned()),
        // A 204 has no body to break; the client still sees none.
        (
            Route::DeleteClient,
            Method::DELETE,
            format!("/api/v2/clients/{id}"),
        ),
    ] {
        tenant.emulator.inject(route, Fault::DropConnection);
        let failed = answer_lost(tenant.request(method, &path).json(&json!({}))).await;
        assert!(failed, "{route:?}: a usable answer came through");
    }
    // The delete was done all the same.
    assert!(tenant.emulator.clients().is_empty());
    // The server is still fine for the next request.
    let (status, _) = tenant.get("/api/v2/clients").await;
    assert_eq!(status, 200);
    tenant.emulator.take_schema_violations();
}

#[tokio::test]
async fn malformed_json_keeps_status_and_content_type() {
    let tenant = Tenant::start().await;
    let response = create_under(&tenant, Fault::MalformedJson, "garbled")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.unwrap();
    assert!(!text.is_empty());
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert_eq!(tenant.emulator.clients().len(), 1, "the work was done");

    tenant.emulator.inject(Route::Token, Fault::MalformedJson);
    let (_, text) = send_text(
        tenant
            .http
            .post(tenant.url("/oauth/token"))
            .json(&management_credentials(&tenant.emulator)),
    )
    .await;
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");

    tenant
        .emulator
        .inject(Route::ListClients, Fault::MalformedJson);
    let (status, body) = tenant.get("/api/v2/clients").await;
    assert_eq!((status.as_u16(), body), (200, Value::Null));
}

#[tokio::test]
async fn expiring_management_tokens_forces_a_new_one() {
    let tenant = Tenant::start().await;
    let (status, body) = send(create_under(
        &tenant,
        Fault::ExpireManagementTokens,
        "after expiry",
    ))
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        body["message"],
        "Expired token received for JSON Web Token validation"
    );
    // Later requests with the old token fail too; a new token works.
    let (status, _) = tenant.get("/api/v2/clients").await;
    assert_eq!(status, 401);
    let (_, fresh) = tenant
        .token_request(management_credentials(&tenant.emulator))
        .await;
    let (status, _) = send(
        tenant
            .http
            .post(tenant.url("/api/v2/clients"))
            .bearer_auth(fresh["access_token"].as_str().unwrap())
            .json(&m2m("with a fresh token")),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(tenant.emulator.count(Route::CreateClient), 2);
}

#[tokio::test]
async fn every_request_is_recorded_in_order() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let http = reqwest::Client::new();
    emulator.inject(Route::Jwks, Fault::Status(500));
    let base = emulator.base_url();
    http.get(emulator.jwks_url()).send().await.unwrap();
    http.get(format!("{base}/api/v2/clients?per_page=5&page=0"))
        .bearer_auth("anything")
        .send()
        .await
        .unwrap();
    http.delete(format!("{base}/api/v2/clients/abc"))
        .send()
        .await
        .unwrap();
    assert_auth0_error(
        send(http.get(format!("{base}/api/v2/users"))).await,
        404,
        "Not Found",
        "not_found",
    );
    let (status, body) = send(http.put(format!("{base}/api/v2/clients/abc"))).await;
    assert_eq!(status, 404);
    assert_eq!(body["errorCode"], "not_found");
    let record =
        |route, method: &str, path: &str, query: &str, authorization_present| RecordedRequest {
            route,
            method: method.into(),
            path: path.into(),
            query: query.into(),
            authorization_present,
        };
    assert_eq!(
        emulator.requests(),
        [
            record(Route::Jwks, "GET", "/.well-known/jwks.json", "", false),
            record(
                Route::ListClients,
                "GET",
                "/api/v2/clients",
                "per_page=5&page=0",
                true
            ),
            record(
                Route::DeleteClient,
                "DELETE",
                "/api/v2/clients/abc",
                "",
                false
            ),
            record(Route::Other, "GET", "/api/v2/users", "", false),
            record(Route::Other, "PUT", "/api/v2/clients/abc", "", false),
        ]
    );
    assert_eq!(emulator.jwks_fetches(), 1, "faulted fetches count");
    assert_eq!(
        emulator.base_url(),
        format!("http://{}", base.trim_start_matches("http://"))
    );
    assert_eq!(emulator.issuer(), format!("{base}/"));
    assert_eq!(emulator.jwks_url(), format!("{base}/.well-known/jwks.json"));
}
