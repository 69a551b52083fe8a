//! A tenant with a Management API token, and calls to it.

#![allow(dead_code)] // each test file uses part of it

pub mod keys;

use auth0_emulator::{Emulator, EmulatorConfig, Fault, Route, Schema};
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub struct Tenant {
    pub emulator: Emulator,
    pub http: Client,
    pub token: String,
}

/// The client credentials request of the default config's management
/// application for `emulator`'s Management API (a JSON body, or a form).
pub fn management_credentials(emulator: &Emulator) -> Value {
    json!({
        "grant_type": "client_credentials",
        "client_id": "mgmt-client-id",
        "client_secret": "mgmt-client-secret",
        "audience": format!("{}/api/v2/", emulator.base_url()),
    })
}

/// The client credentials request of `client` (as created or rotated: with
/// its secret) for `audience`.
pub fn credentials_of(client: &Value, audience: &str) -> Value {
    json!({
        "grant_type": "client_credentials",
        "client_id": client["client_id"],
        "client_secret": client["client_secret"],
        "audience": audience,
    })
}

/// Sends `request` and reads its body as JSON into `T`.
pub async fn fetch_json<T: DeserializeOwned>(request: RequestBuilder) -> T {
    request.send().await.unwrap().json().await.unwrap()
}

/// Sends `request`: the status and the body as text (for answers that are
/// meant not to be JSON).
pub async fn send_text(request: RequestBuilder) -> (StatusCode, String) {
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// Whether the answer to `request` was lost: no answer at all, or a status
/// line whose body never came (an outcome the caller cannot know).
pub async fn answer_lost(request: RequestBuilder) -> bool {
    match request.send().await {
        Err(_) => true,
        Ok(response) => response.bytes().await.is_err(),
    }
}

/// Sends `request`: the status and the JSON body, `Null` for a body that is
/// not JSON (a 204's, or one spoiled on purpose).
pub async fn send(request: RequestBuilder) -> (StatusCode, Value) {
    let (status, text) = send_text(request).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

impl Tenant {
    pub async fn start() -> Tenant {
        Self::with(EmulatorConfig::default()).await
    }

    /// A tenant set up as the default one but for what `change` sets.
    pub async fn configured(change: impl FnOnce(&mut EmulatorConfig)) -> Tenant {
        let mut config = EmulatorConfig::default();
        change(&mut config);
        Self::with(config).await
    }

    /// A tenant whose management application was granted only `scopes`.
    pub async fn with_scopes(scopes: &str) -> Tenant {
        Self::configured(|config| config.management_scopes = scopes.into()).await
    }

    pub async fn with(config: EmulatorConfig) -> Tenant {
        let emulator = Emulator::start(config).await.unwrap();
        let http = Client::new();
        let answer: Value = fetch_json(
            http.post(format!("{}/oauth/token", emulator.base_url()))
                .json(&management_credentials(&emulator)),
        )
        .await;
        Schema::TokenResponse.check(&answer).unwrap();
        let token = answer["access_token"].as_str().unwrap().to_owned();
        Tenant {
            emulator,
            http,
            token,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator.base_url())
    }

    /// A request bearing the management token, to send as is or to finish
    /// (a body, a timeout) first.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.token)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        send(request).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn create(&self, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, "/api/v2/clients", Some(body)).await
    }

    /// `method path` with `body`: the answer as it came, for its headers or
    /// a body that is not JSON.
    pub async fn response(&self, method: Method, path: &str, body: Value) -> Response {
        self.request(method, path).json(&body).send().await.unwrap()
    }

    /// `POST /api/v2/clients` with `body`, as [`Tenant::response`].
    pub async fn create_response(&self, body: Value) -> Response {
        self.response(Method::POST, "/api/v2/clients", body).await
    }

    pub async fn grant(&self, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, "/api/v2/client-grants", Some(body))
            .await
    }

    /// `PATCH /api/v2/clients/{id}` with `body`.
    pub async fn update(&self, id: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, &format!("/api/v2/clients/{id}"), Some(body))
            .await
    }

    /// `POST /api/v2/clients/{id}/rotate-secret`, without a body.
    pub async fn rotate(&self, id: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            &format!("/api/v2/clients/{id}/rotate-secret"),
            None,
        )
        .await
    }

    /// `DELETE /api/v2/client-grants/{id}`.
    pub async fn delete_grant(&self, id: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, &format!("/api/v2/client-grants/{id}"), None)
            .await
    }

    /// `GET /api/v2/client-grants` with `query` (encoded here).
    pub async fn list_grants(&self, query: &[(&str, &str)]) -> (StatusCode, Value) {
        send(
            self.request(Method::GET, "/api/v2/client-grants")
                .query(query),
        )
        .await
    }

    /// Sends `method path` with a JSON content type and a body that is not
    /// JSON; returns the status.
    pub async fn send_broken_json(&self, method: Method, path: &str) -> StatusCode {
        let (status, _) = send(
            self.request(method, path)
                .header("content-type", "application/json")
                .body("{\"name\": "),
        )
        .await;
        status
    }

    /// Queues `Fault::Status(code)` on `route`, sends `method path` (with
    /// `body`), and asserts the answer is that status with the Management
    /// API's error body for it; returns the body.
    pub async fn status_fault(
        &self,
        route: Route,
        method: Method,
        path: &str,
        code: u16,
        body: Option<Value>,
    ) -> Value {
        self.emulator.inject(route, Fault::Status(code));
        let (status, answer) = self.call(method, path, body).await;
        assert_eq!(status.as_u16(), code, "{route:?}");
        assert_eq!(answer["statusCode"], code, "{answer}");
        assert_eq!(answer["error"], status.canonical_reason().unwrap());
        assert!(answer["message"].is_string(), "{answer}");
        answer
    }

    /// Asserts that `GET path` is Auth0's 400 for a bad query string, with
    /// `message`.
    pub async fn assert_query_refused(&self, path: &str, message: &str) {
        assert_auth0_error(self.get(path).await, 400, message, "invalid_query_string");
    }
}

/// Asserts that `answer` is the Management API's error answer: `status`,
/// with the body `{statusCode, error, message, errorCode}` of that status,
/// its reason phrase, `message` and `error_code`.
pub fn assert_auth0_error(
    (got, body): (StatusCode, Value),
    status: u16,
    message: &str,
    error_code: &str,
) {
    let reason = match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        429 => "Too Many Requests",
        other => panic!("no reason phrase listed for {other}"),
    };
    assert_eq!(got.as_u16(), status, "{body}");
    assert_eq!(
        body,
        json!({"statusCode": status, "error": reason, "message": message, "errorCode": error_code})
    );
}

pub fn m2m(name: &str) -> Value {
    json!({
        "name": name,
        "description": "d",
        "app_type": "non_interactive",
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_post",
        "client_metadata": {"owner_client_id": "owner"},
    })
}

impl Tenant {
    /// `POST /oauth/token` with a JSON body: the status and the JSON answer
    /// (a body that is not JSON fails the test).
    pub async fn token_request(&self, body: Value) -> (StatusCode, Value) {
        let (status, text) = send_text(self.http.post(self.url("/oauth/token")).json(&body)).await;
        (status, serde_json::from_str(&text).unwrap())
    }

    /// Creates an M2M client and grants it `scopes` on `audience`; returns
    /// the created client (with its secret).
    pub async fn client_with_grant(&self, name: &str, audience: &str, scopes: &[&str]) -> Value {
        let (status, client) = self.create(m2m(name)).await;
        assert_eq!(status, 201, "{client}");
        self.granted(client, audience, scopes).await
    }

    /// Grants `client` `scopes` on `audience`; returns the client.
    pub async fn granted(&self, client: Value, audience: &str, scopes: &[&str]) -> Value {
        let (status, grant) = self
            .grant(json!({"client_id": client["client_id"], "audience": audience, "scope": scopes}))
            .await;
        assert_eq!(status, 201, "{grant}");
        client
    }

    /// The served JWKS.
    pub async fn jwks(&self) -> jsonwebtoken::jwk::JwkSet {
        fetch_json(self.http.get(self.emulator.jwks_url())).await
    }
}

/// Verifies `token` against `jwks` (RS256, any audience) and returns its claims.
pub fn verify(token: &str, jwks: &jsonwebtoken::jwk::JwkSet, audience: &str) -> Value {
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(jwks.find(&kid).unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[audience]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims
}
