//! Clients on Private Key JWT: made, given keys, and minting tokens with
//! client assertions.

use auth0_emulator::{ClientKey, Schema, assertion_grant, client_assertion};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Tenant, m2m};

/// The API the key clients are granted `read:spaces` on.
pub const API: &str = "https://butlrauth/";

pub fn id_of(client: &Value) -> String {
    client["client_id"].as_str().unwrap().to_owned()
}

/// The credential as a create gives it whole.
pub fn credential_body(key: ClientKey) -> Value {
    json!({"credential_type": "public_key", "name": "a key", "pem": key.public_pem(), "alg": "RS256"})
}

/// An M2M client's create body on Private Key JWT with `keys`, as Auth0
/// documents it: RS256 tokens, no `token_endpoint_auth_method`.
pub fn key_client_body(name: &str, keys: &[ClientKey]) -> Value {
    let mut body = m2m(name);
    body.as_object_mut()
        .unwrap()
        .remove("token_endpoint_auth_method");
    body["jwt_configuration"] = json!({"alg": "RS256"});
    let credentials: Vec<Value> = keys.iter().map(|key| credential_body(*key)).collect();
    body["client_authentication_methods"] =
        json!({"private_key_jwt": {"credentials": credentials}});
    body
}

/// The ids a client lists in `client_authentication_methods`.
pub fn enabled_ids(client: &Value) -> Vec<String> {
    client["client_authentication_methods"]["private_key_jwt"]["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|credential| credential["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The JSON `{"client_authentication_methods": ...}` enabling `ids`.
pub fn enabling(ids: &[&str]) -> Value {
    let credentials: Vec<Value> = ids.iter().map(|id| json!({"id": id})).collect();
    json!({"client_authentication_methods": {"private_key_jwt": {"credentials": credentials}}})
}

impl Tenant {
    /// Creates a key client holding `key`, granted `read:spaces` on [`API`];
    /// returns the created client.
    pub async fn key_client(&self, name: &str, key: ClientKey) -> Value {
        let (status, client) = self.create(key_client_body(name, &[key])).await;
        assert_eq!(status, 201, "{client}");
        Schema::CreateClientResponse.check(&client).unwrap();
        self.granted(client, API, &["read:spaces"]).await
    }

    /// [`Tenant::key_client`], with its client id and the id of its one
    /// credential (enabled at creation).
    pub async fn key_client_ids(&self, name: &str, key: ClientKey) -> (Value, String, String) {
        let client = self.key_client(name, key).await;
        let id = id_of(&client);
        let credential = enabled_ids(&client).remove(0);
        (client, id, credential)
    }

    /// A fresh assertion of `client_id` signed with `key`.
    pub fn assertion(&self, client_id: &str, key: ClientKey) -> String {
        client_assertion(client_id, &self.emulator.base_url(), key.private_pem())
    }

    /// `POST /oauth/token` for [`API`] with `assertion`.
    pub async fn mint_with(&self, assertion: &str) -> (StatusCode, Value) {
        self.token_request(assertion_grant(assertion, API)).await
    }

    /// Whether `key` mints a token for `client_id` (a fresh assertion);
    /// a refusal must be OAuth's `invalid_client`.
    pub async fn mints(&self, client_id: &str, key: ClientKey) -> bool {
        let (status, answer) = self.mint_with(&self.assertion(client_id, key)).await;
        if status == 200 {
            Schema::TokenResponse.check(&answer).unwrap();
            return true;
        }
        assert_eq!(status, 401, "{answer}");
        assert_eq!(answer["error"], "invalid_client", "{answer}");
        Schema::TokenError.check(&answer).unwrap();
        false
    }

    fn credentials_path(client_id: &str) -> String {
        format!("/api/v2/clients/{client_id}/credentials")
    }

    /// `POST /api/v2/clients/{id}/credentials` with `key`'s public key.
    pub async fn add_credential(&self, client_id: &str, key: ClientKey) -> (StatusCode, Value) {
        self.post_credential(client_id, credential_body(key)).await
    }

    pub async fn post_credential(&self, client_id: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, &Self::credentials_path(client_id), Some(body))
            .await
    }

    pub async fn list_credentials(&self, client_id: &str) -> (StatusCode, Value) {
        self.get(&Self::credentials_path(client_id)).await
    }

    /// `method` on `/api/v2/clients/{id}/credentials/{credential_id}`.
    pub async fn on_credential(
        &self,
        method: Method,
        client_id: &str,
        credential_id: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let path = format!("{}/{credential_id}", Self::credentials_path(client_id));
        self.call(method, &path, body).await
    }

    /// PATCHes the client to enable exactly `ids` for Private Key JWT.
    pub async fn enable(&self, client_id: &str, ids: &[&str]) -> Value {
        let (status, client) = self.update(client_id, enabling(ids)).await;
        assert_eq!(status, 200, "{client}");
        Schema::UpdateClientResponse.check(&client).unwrap();
        client
    }
}
