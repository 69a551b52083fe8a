//! Key clients (Private Key JWT) in the contract tests: the `public_key`
//! bodies of the committed test keys, the credentials routes, and a token
//! got with a client assertion, as a caller gets it.

use serde_json::{Value, json};

use super::{Event, Reply, Route, TestEnv, bearer};
use auth0_emulator::{ClientKey, Emulator, assertion_grant, client_assertion};
use m2m_shared::config::DEFAULT_GRANT_AUDIENCE;

/// The `public_key` of `key` (RS256, no expiry).
pub fn public_key(key: ClientKey) -> Value {
    json!({"pem": key.public_pem(), "alg": "RS256"})
}

impl TestEnv {
    /// Creates a client for `owner` that authenticates with `key`; its 201 body.
    pub async fn create_with_key(&self, owner: &str, name: &str, key: ClientKey) -> Value {
        self.create_with(owner, json!({"name": name, "public_key": public_key(key)}))
            .await
    }

    /// `GET …/credentials` of the client `id`.
    pub async fn list_credentials(&self, token: &str, id: &str) -> Reply {
        self.send(Route::ListCredentials, Some(&bearer(token)), Some(id), None)
            .await
    }

    /// `POST …/credentials` of `body` to the client `id`.
    pub async fn add_credential(&self, token: &str, id: &str, body: &Value) -> Reply {
        let text = body.to_string();
        self.send(
            Route::CreateCredential,
            Some(&bearer(token)),
            Some(id),
            Some(&text),
        )
        .await
    }

    /// `DELETE …/credentials/{credential_id}` of the client `id`.
    pub async fn remove_credential(&self, token: &str, id: &str, credential_id: &str) -> Reply {
        let event = Event::new(Route::DeleteCredential)
            .bearer(token)
            .id(id)
            .credential(credential_id);
        self.dispatch(Route::DeleteCredential, &event.text()).await
    }

    /// [`mint_with_key`] at this environment's emulator.
    pub async fn mint_with_key(&self, id: &str, key: ClientKey) -> u16 {
        mint_with_key(&self.emulator, id, key).await
    }
}

/// The status of `emulator`'s `/oauth/token` for the client `id` asking
/// for a token for the API it was granted, with a client assertion signed
/// by `key` (as README shows a caller doing it).
pub async fn mint_with_key(emulator: &Emulator, id: &str, key: ClientKey) -> u16 {
    let assertion = client_assertion(id, &emulator.base_url(), key.private_pem());
    let grant = assertion_grant(&assertion, DEFAULT_GRANT_AUDIENCE);
    reqwest::Client::new()
        .post(format!("{}/oauth/token", emulator.base_url()))
        .json(&grant)
        .send()
        .await
        .expect("the emulator answers")
        .status()
        .as_u16()
}
