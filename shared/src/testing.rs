//! A directory of clients in memory, standing in for Auth0 in the unit
//! tests of the operations and the reconciler, beside `MemoryIndex`. Each
//! call can be made to fail, to test what is undone.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use tokio::time::Instant;

use crate::domain::{
    ClientUpdate, Clients, CreatedClient, Credential, DirectoryClient, DirectoryCredential,
    DirectoryGrant, GrantPolicy, Grants, KeyCredentials, MAX_CREDENTIALS, NewClient, NewKey, Owner,
};
use crate::error::UpstreamError;
use crate::secret_string::SecretString;

/// Which call fails next (once).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failing {
    Create,
    Grant,
    Delete,
    /// Auth0 keeps answering 429: nothing is processed.
    DeleteRateLimited,
    Secret,
    List,
    /// A read of one client (whether it exists).
    Read,
    Update,
    /// Auth0 keeps answering 429 to an update: nothing is processed.
    UpdateRateLimited,
    Rotate,
    DeleteGrant,
    /// A credential's creation that Auth0 made, but whose answer is lost.
    CreateCredentialLost,
    /// A credential's creation Auth0 refuses: the tenant lacks Private Key JWT.
    CreateCredentialNotEntitled,
    EnableCredentials,
    DeleteCredential,
    ListCredentials,
    /// A change of a grant's scopes.
    GrantScopes,
}

/// A client's credentials in memory: each, and whether it is enabled.
type Keys = Vec<(Credential, bool)>;

#[derive(Default)]
struct State {
    clients: BTreeMap<String, (DirectoryClient, String)>,
    /// Each authorized client's scopes.
    grants: BTreeMap<String, Vec<String>>,
    credentials: BTreeMap<String, Keys>,
    failing: Vec<Failing>,
    calls: Vec<&'static str>,
}

#[derive(Default)]
pub struct MemoryDirectory {
    state: Mutex<State>,
}

impl MemoryDirectory {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn fail_next(&self, call: Failing) {
        self.state().failing.push(call);
    }

    fn call(&self, name: &'static str, failing: Failing) -> Result<(), UpstreamError> {
        let mut state = self.state();
        state.calls.push(name);
        if let Some(at) = state.failing.iter().position(|f| *f == failing) {
            state.failing.remove(at);
            return Err(UpstreamError::Failed(format!("{name}: injected failure")));
        }
        Ok(())
    }

    /// A call that an injected 429 (`rate_limited`, which Auth0 answers
    /// before processing anything) or an injected failure can stop.
    fn call_limited(
        &self,
        name: &'static str,
        rate_limited: Failing,
        failing: Failing,
    ) -> Result<(), UpstreamError> {
        if self.call(name, rate_limited).is_err() {
            return Err(UpstreamError::RateLimited {
                retry_after: std::time::Duration::from_secs(1),
            });
        }
        self.call(name, failing)
    }

    pub fn ids(&self) -> Vec<String> {
        self.state().clients.keys().cloned().collect()
    }

    pub fn has_grant(&self, client_id: &str) -> bool {
        self.state().grants.contains_key(client_id)
    }

    /// The scopes of the client's grant, if it has one.
    pub fn granted(&self, client_id: &str) -> Option<Vec<String>> {
        self.state().grants.get(client_id).cloned()
    }

    /// The client's name and description, as the directory has them.
    pub fn profile(&self, client_id: &str) -> Option<(String, String)> {
        self.state()
            .clients
            .get(client_id)
            .map(|(client, _)| (client.name.clone(), client.description.clone()))
    }

    /// The client's current secret.
    pub fn secret(&self, client_id: &str) -> Option<String> {
        self.state()
            .clients
            .get(client_id)
            .map(|(_, secret)| secret.clone())
    }

    /// The client's credentials (their ids), and which are enabled.
    pub fn credentials(&self, client_id: &str) -> Vec<(String, bool)> {
        self.state()
            .credentials
            .get(client_id)
            .map(|keys| {
                keys.iter()
                    .map(|(key, enabled)| (key.credential_id.clone(), *enabled))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The calls made so far, by name.
    pub fn calls(&self) -> Vec<&'static str> {
        self.state().calls.clone()
    }

    /// A client made outside the service's index (before it existed).
    pub fn seed(&self, id: &str, owner: Option<&str>) {
        self.seed_made_by(id, owner, None);
    }

    /// A client as a creation made it (`creation_id` in its metadata),
    /// with an id of the directory's own choosing.
    pub fn seed_made_by(&self, id: &str, owner: Option<&str>, creation_id: Option<&str>) {
        self.state().clients.insert(
            id.to_owned(),
            (
                DirectoryClient {
                    client_id: id.to_owned(),
                    name: format!("seeded {id}"),
                    description: String::new(),
                    machine_to_machine: true,
                    owner: owner.map(str::to_owned),
                    creation_id: creation_id.map(str::to_owned),
                },
                format!("secret-of-{id}"),
            ),
        );
    }
}

impl Clients for MemoryDirectory {
    async fn create_client(
        &self,
        client: &NewClient,
        owner: &Owner,
        requested_id: &str,
        _deadline: Instant,
        _discard_deadline: Instant,
    ) -> Result<CreatedClient, UpstreamError> {
        // As the adapter answers a creation it could not confirm and then
        // discarded by the id it chose: nothing is left.
        self.call("create_client", Failing::Create)
            .map_err(|failed| UpstreamError::NotDone(failed.to_string()))?;
        if client.public_key.is_some()
            && self
                .call("create_client", Failing::CreateCredentialNotEntitled)
                .is_err()
        {
            return Err(UpstreamError::NotEntitled("create client".into()));
        }
        let secret = format!("secret-of-{requested_id}");
        let credentials = client.public_key.as_ref().map(|key| {
            let credential = credential_of(requested_id, 0, key);
            self.state()
                .credentials
                .insert(requested_id.to_owned(), vec![(credential.clone(), true)]);
            vec![credential]
        });
        self.state().clients.insert(
            requested_id.to_owned(),
            (
                DirectoryClient {
                    client_id: requested_id.to_owned(),
                    name: client.name.clone(),
                    description: client.description.clone(),
                    machine_to_machine: true,
                    owner: Some(owner.as_str().to_owned()),
                    creation_id: Some(requested_id.to_owned()),
                },
                secret.clone(),
            ),
        );
        Ok(CreatedClient {
            client_id: requested_id.to_owned(),
            name: client.name.clone(),
            description: client.description.clone(),
            client_secret: credentials.is_none().then(|| SecretString::new(secret)),
            scopes: Vec::new(),
            credentials,
        })
    }

    async fn list_page(
        &self,
        from: Option<&str>,
        _deadline: Instant,
    ) -> Result<(Vec<DirectoryClient>, Option<String>), UpstreamError> {
        self.call("list_page", Failing::List)?;
        // Two clients a page, so that sweeps take several.
        let state = self.state();
        let all: Vec<&DirectoryClient> = state.clients.values().map(|(c, _)| c).collect();
        let start: usize = from.and_then(|f| f.parse().ok()).unwrap_or(0);
        let page: Vec<DirectoryClient> = all
            .iter()
            .skip(start)
            .take(2)
            .map(|c| (*c).clone())
            .collect();
        let next = (start + 2 < all.len()).then(|| (start + 2).to_string());
        Ok((page, next))
    }

    async fn client_secret(
        &self,
        client_id: &str,
        _deadline: Instant,
    ) -> Result<Option<SecretString>, UpstreamError> {
        self.call("client_secret", Failing::Secret)?;
        Ok(self
            .state()
            .clients
            .get(client_id)
            .map(|(_, secret)| SecretString::new(secret.clone())))
    }

    async fn client_exists(
        &self,
        client_id: &str,
        _deadline: Instant,
    ) -> Result<bool, UpstreamError> {
        self.call("client_exists", Failing::Read)?;
        Ok(self.state().clients.contains_key(client_id))
    }

    async fn update_client(
        &self,
        client_id: &str,
        update: &ClientUpdate,
        _deadline: Instant,
    ) -> Result<bool, UpstreamError> {
        self.call_limited("update_client", Failing::UpdateRateLimited, Failing::Update)?;
        let mut state = self.state();
        let Some((client, _)) = state.clients.get_mut(client_id) else {
            return Ok(false);
        };
        if let Some(name) = &update.name {
            client.name.clone_from(name);
        }
        if let Some(description) = &update.description {
            client.description.clone_from(description);
        }
        Ok(true)
    }

    async fn rotate_secret(
        &self,
        client_id: &str,
        _deadline: Instant,
    ) -> Result<Option<SecretString>, UpstreamError> {
        self.call("rotate_secret", Failing::Rotate)?;
        let mut state = self.state();
        let rotations = state.calls.len();
        Ok(state.clients.get_mut(client_id).map(|(_, secret)| {
            *secret = format!("rotated-{rotations}-{client_id}");
            SecretString::new(secret.clone())
        }))
    }

    async fn delete_client(
        &self,
        client_id: &str,
        _deadline: Instant,
    ) -> Result<(), UpstreamError> {
        self.call_limited("delete_client", Failing::DeleteRateLimited, Failing::Delete)?;
        let mut state = self.state();
        state.clients.remove(client_id);
        state.grants.remove(client_id);
        state.credentials.remove(client_id);
        Ok(())
    }
}

impl Grants for MemoryDirectory {
    async fn create_grant(
        &self,
        client_id: &str,
        grant: &GrantPolicy,
        _deadline: Instant,
    ) -> Result<(), UpstreamError> {
        self.call("create_grant", Failing::Grant)?;
        // Like Auth0's 409 for a second grant: the first one stays.
        self.state()
            .grants
            .entry(client_id.to_owned())
            .or_insert_with(|| grant.scopes.clone());
        Ok(())
    }

    async fn set_grant_scopes(
        &self,
        client_id: &str,
        grant: &GrantPolicy,
        _deadline: Instant,
    ) -> Result<(), UpstreamError> {
        self.call("set_grant_scopes", Failing::GrantScopes)?;
        self.state()
            .grants
            .insert(client_id.to_owned(), grant.scopes.clone());
        Ok(())
    }

    async fn delete_grant(
        &self,
        client_id: &str,
        _audience: &str,
        _deadline: Instant,
    ) -> Result<(), UpstreamError> {
        self.call("delete_grant", Failing::DeleteGrant)?;
        self.state().grants.remove(client_id);
        Ok(())
    }

    async fn list_grants(
        &self,
        _audience: &str,
        from: Option<&str>,
        _deadline: Instant,
    ) -> Result<(Vec<DirectoryGrant>, Option<String>), UpstreamError> {
        self.call("list_grants", Failing::List)?;
        // Every grant at once: the audit's paging is the clients' own.
        let grants = self
            .state()
            .grants
            .iter()
            .filter(|_| from.is_none())
            .map(|(client_id, scopes)| DirectoryGrant {
                client_id: client_id.clone(),
                scopes: scopes.clone(),
            })
            .collect();
        Ok((grants, None))
    }
}

impl KeyCredentials for MemoryDirectory {
    async fn list_credentials(
        &self,
        client_id: &str,
        _deadline: Instant,
    ) -> Result<Option<Vec<DirectoryCredential>>, UpstreamError> {
        self.call("list_credentials", Failing::ListCredentials)?;
        let state = self.state();
        Ok(state.clients.contains_key(client_id).then(|| {
            let keys = state.credentials.get(client_id);
            keys.into_iter()
                .flatten()
                .map(|(credential, _)| DirectoryCredential {
                    credential: credential.clone(),
                    kid: credential.thumbprint_sha256.clone(),
                })
                .collect()
        }))
    }

    async fn create_credential(
        &self,
        client_id: &str,
        key: &NewKey,
        _deadline: Instant,
    ) -> Result<DirectoryCredential, UpstreamError> {
        self.call("create_credential", Failing::CreateCredentialNotEntitled)
            .map_err(|_| UpstreamError::NotEntitled("create credential".into()))?;
        let mut state = self.state();
        let count = state.calls.len();
        let keys = state.credentials.entry(client_id.to_owned()).or_default();
        if keys.len() >= MAX_CREDENTIALS
            || keys
                .iter()
                .any(|(held, _)| held.thumbprint_sha256 == key.thumbprint_sha256)
        {
            return Err(UpstreamError::Conflict("credential_limit_exceeded".into()));
        }
        let credential = credential_of(client_id, count, key);
        keys.push((credential.clone(), false));
        drop(state);
        // Made, but the answer lost: as a timed-out POST.
        self.call("create_credential", Failing::CreateCredentialLost)?;
        Ok(DirectoryCredential {
            kid: credential.thumbprint_sha256.clone(),
            credential,
        })
    }

    async fn enable_credentials(
        &self,
        client_id: &str,
        credential_ids: &[&str],
        _deadline: Instant,
    ) -> Result<bool, UpstreamError> {
        self.call("enable_credentials", Failing::EnableCredentials)?;
        let mut state = self.state();
        if !state.clients.contains_key(client_id) {
            return Ok(false);
        }
        for (credential, enabled) in state.credentials.entry(client_id.to_owned()).or_default() {
            *enabled = credential_ids.contains(&credential.credential_id.as_str());
        }
        Ok(true)
    }

    async fn delete_credential(
        &self,
        client_id: &str,
        credential_id: &str,
        _deadline: Instant,
    ) -> Result<(), UpstreamError> {
        self.call("delete_credential", Failing::DeleteCredential)?;
        let mut state = self.state();
        let keys = state.credentials.entry(client_id.to_owned()).or_default();
        if keys
            .iter()
            .any(|(credential, enabled)| *enabled && credential.credential_id == credential_id)
        {
            return Err(UpstreamError::Failed("delete credential: HTTP 409".into()));
        }
        keys.retain(|(credential, _)| credential.credential_id != credential_id);
        Ok(())
    }
}

/// A credential of `key`, as the directory makes it (`number` tells it apart).
fn credential_of(client_id: &str, number: usize, key: &NewKey) -> Credential {
    Credential {
        credential_id: format!("cred_{number}_{client_id}"),
        alg: key.alg.clone(),
        thumbprint_sha256: key.thumbprint_sha256.clone(),
        created_at: "2026-01-01T00:00:00Z".into(),
        expires_at: key.expires_at.clone(),
    }
}
