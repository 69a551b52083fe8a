//! A tenant with a Management API token, and calls to it.

#![allow(dead_code)] // each test file uses part of it

use auth0_emulator::{Emulator, EmulatorConfig, Schema};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

pub struct Tenant {
    pub emulator: Emulator,
    pub http: Client,
    pub token: String,
}

impl Tenant {
    pub async fn start() -> Tenant {
        Self::with(EmulatorConfig::default()).await
    }

    pub async fn with(config: EmulatorConfig) -> Tenant {
        let emulator = Emulator::start(config).await.unwrap();
        let http = Client::new();
        let answer: Value = http
            .post(format!("{}/oauth/token", emulator.base_url()))
            .json(&json!({
                "grant_type": "client_credentials",
                "client_id": "mgmt-client-id",
                "client_secret": "mgmt-client-secret",
                "audience": format!("{}/api/v2/", emulator.base_url()),
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
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

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn create(&self, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, "/api/v2/clients", Some(body))
            .await
    }
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
    /// `POST /oauth/token` with a JSON body: the status and the JSON answer.
    pub async fn token_request(&self, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url("/oauth/token"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    /// Creates an M2M client and grants it `scopes` on `audience`; returns
    /// the created client (with its secret).
    pub async fn client_with_grant(&self, name: &str, audience: &str, scopes: &[&str]) -> Value {
        let (status, client) = self.create(m2m(name)).await;
        assert_eq!(status, 201, "{client}");
        let (status, grant) = self
            .call(
                reqwest::Method::POST,
                "/api/v2/client-grants",
                Some(json!({"client_id": client["client_id"], "audience": audience, "scope": scopes})),
            )
            .await;
        assert_eq!(status, 201, "{grant}");
        client
    }

    /// The served JWKS.
    pub async fn jwks(&self) -> jsonwebtoken::jwk::JwkSet {
        self.http
            .get(self.emulator.jwks_url())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
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
