//! What the operations' unit tests share: a service over Auth0 and the
//! owner index in memory, owners, deadlines and create requests.

use std::time::Duration;

use tokio::time::Instant;

use super::ClientService;
use crate::config::DEFAULT_OWNER_WRITES_PER_MINUTE;
use crate::domain::{CreatedClient, GrantPolicy, IdempotencyClaim, NewClient, Owner};
use crate::error::{Operation, ServiceError};
use crate::owner_index::MemoryIndex;
pub use crate::testing::Failing;
use crate::testing::MemoryDirectory;

pub type Service = ClientService<MemoryDirectory, MemoryIndex>;

pub fn service(max_clients: u32) -> Service {
    ClientService::new(
        MemoryDirectory::default(),
        MemoryIndex::new(),
        GrantPolicy {
            audience: "https://butlrauth/".into(),
            scopes: vec!["read:spaces".into()],
        },
        max_clients,
        DEFAULT_OWNER_WRITES_PER_MINUTE,
    )
}

pub fn owner(id: &str) -> Owner {
    Owner::parse(id).unwrap()
}

pub fn later() -> Instant {
    Instant::now() + Duration::from_secs(11)
}

pub fn named(name: &str) -> NewClient {
    NewClient {
        name: name.into(),
        description: format!("{name} description"),
        scopes: None,
        public_key: None,
    }
}

/// `key`'s public key, as a request gives it (RS256, no expiry).
pub fn public(key: auth0_emulator::ClientKey) -> crate::domain::NewKey {
    let body = serde_json::json!({"pem": key.public_pem(), "alg": "RS256"});
    crate::validation::parse_new_key(body.to_string().as_bytes()).unwrap()
}

/// A client named `name` that authenticates with `key` instead of a secret.
pub fn keyed(name: &str, key: auth0_emulator::ClientKey) -> NewClient {
    NewClient {
        public_key: Some(public(key)),
        ..named(name)
    }
}

pub fn claim(key: &str, body: &str) -> Option<IdempotencyClaim> {
    crate::validation::idempotency_claim(Some(key), body.as_bytes()).unwrap()
}

pub async fn create(service: &Service, who: &str, name: &str) -> CreatedClient {
    create_as(service, who, named(name), None).await.unwrap()
}

/// `who`'s create of `client`, under an idempotency key if `claim` holds one.
pub async fn create_as(
    service: &Service,
    who: &str,
    client: NewClient,
    claim: Option<IdempotencyClaim>,
) -> Result<CreatedClient, ServiceError> {
    service.create(&owner(who), client, claim, later()).await
}

/// `who`'s create of a client named `name` under the idempotency key
/// `key`, its request's body `{"name": name}`.
pub async fn create_keyed(
    service: &Service,
    who: &str,
    name: &str,
    key: &str,
) -> Result<CreatedClient, ServiceError> {
    let body = format!(r#"{{"name": "{name}"}}"#);
    create_as(service, who, named(name), claim(key, &body)).await
}

/// A client named `name` that asks for `scopes`.
pub fn choosing(name: &str, scopes: &[&str]) -> NewClient {
    NewClient {
        scopes: Some(scopes.iter().map(|scope| (*scope).to_owned()).collect()),
        ..named(name)
    }
}

/// The operation an upstream failure stopped, if `outcome` is one.
pub fn failed_upstream<T>(outcome: &Result<T, ServiceError>) -> Option<Operation> {
    match outcome {
        Err(ServiceError::Upstream { operation, .. }) => Some(*operation),
        _ => None,
    }
}

pub async fn listed(service: &Service, who: &str) -> Vec<String> {
    let page = service.list(&owner(who), None, None).await.unwrap();
    page.clients.into_iter().map(|c| c.name).collect()
}

pub fn scoped_service() -> Service {
    ClientService::new(
        MemoryDirectory::default(),
        MemoryIndex::new(),
        GrantPolicy {
            audience: "https://butlrauth/".into(),
            scopes: ["read:spaces", "read:rooms", "read:hives"]
                .map(str::to_owned)
                .to_vec(),
        },
        50,
        DEFAULT_OWNER_WRITES_PER_MINUTE,
    )
}

/// A service of `service(50)`'s with one client of `owner-a`'s, named
/// `name`.
pub async fn with_client(name: &str) -> (Service, CreatedClient) {
    let service = service(50);
    let created = create(&service, "owner-a", name).await;
    (service, created)
}

/// A service of [`scoped_service`]'s with one client of `owner-a`'s, named
/// `name`, and that client's id.
pub async fn scoped_with_client(name: &str) -> (Service, String) {
    let service = scoped_service();
    let created = create(&service, "owner-a", name).await;
    (service, created.client_id)
}
