//! Key clients (Private Key JWT) for the credentials routes' requests: made
//! in the emulator through its Management API as the service makes them
//! (the key whole in the create, a second key added, then both enabled),
//! and recorded in the owner index with their credentials.

use auth0_emulator::ClientKey;
use m2m_shared::domain::Credential;
use serde_json::{Value, json};
use test_support::setup;

use super::{CALLER, Upstream};

/// A `public_key` credential of `key`, as Auth0's create and credentials
/// routes take it.
fn credential(key: ClientKey) -> Value {
    json!({"credential_type": "public_key", "pem": key.public_pem(), "alg": "RS256"})
}

impl Upstream {
    /// A key client of the caller holding `keys` (one or two), in the
    /// tenant and the owner index; its id and its credentials' ids, in the
    /// order of `keys`.
    pub async fn seed_key_client(&self, name: &str, keys: &[ClientKey]) -> (String, Vec<String>) {
        let http = reqwest::Client::new();
        let token = setup::management_token(&http, &self.emulator).await;
        let base = self.emulator.base_url();
        let send = async |request: reqwest::RequestBuilder| -> Value {
            let answer = request.bearer_auth(&token).send().await;
            let answer = answer.unwrap_or_else(|e| panic!("the emulator: {e}"));
            answer.json().await.unwrap_or_default()
        };
        let (first, more) = keys.split_first().expect("a key client has a key");
        let created = send(http.post(format!("{base}/api/v2/clients")).json(&json!({
            "name": name,
            "app_type": "non_interactive",
            "grant_types": ["client_credentials"],
            "client_metadata": {"owner_client_id": CALLER},
            "jwt_configuration": {"alg": "RS256"},
            "client_authentication_methods": {"private_key_jwt": {"credentials": [credential(*first)]}},
        })))
        .await;
        let id = created["client_id"]
            .as_str()
            .expect("a client id")
            .to_owned();
        let path = format!("{base}/api/v2/clients/{id}");
        let mut ids = vec![
            created["client_authentication_methods"]["private_key_jwt"]["credentials"][0]["id"]
                .as_str()
                .expect("a credential id")
                .to_owned(),
        ];
        for key in more {
            let added = send(
                http.post(format!("{path}/credentials"))
                    .json(&credential(*key)),
            )
            .await;
            ids.push(added["id"].as_str().expect("a credential id").to_owned());
        }
        let enabled: Vec<Value> = ids.iter().map(|id| json!({"id": id})).collect();
        let methods =
            json!({"client_authentication_methods": {"private_key_jwt": {"credentials": enabled}}});
        send(http.patch(&path).json(&methods)).await;

        let credentials = keys
            .iter()
            .zip(&ids)
            .map(|(key, credential_id)| Credential {
                credential_id: credential_id.clone(),
                alg: "RS256".into(),
                thumbprint_sha256: key.thumbprint(),
                created_at: "2026-01-01T00:00:00Z".into(),
                expires_at: None,
            })
            .collect();
        self.index_client(&id, name, Some(credentials)).await;
        (id, ids)
    }
}
