//! The port to where clients and their credentials live: Auth0 in
//! production (`auth0::ManagementApi`). One trait per resource (the
//! clients, their grants, their key credentials), so that an adapter
//! implements each where it keeps that resource's calls; the operations
//! ask for all three as [`ClientDirectory`].

use std::future::Future;

use tokio::time::Instant;

use super::client::{
    ClientUpdate, CreatedClient, DirectoryClient, DirectoryGrant, GrantPolicy, NewClient,
};
use super::credential::{DirectoryCredential, NewKey};
use super::owner::Owner;
use crate::error::UpstreamError;
use crate::secret_string::SecretString;

/// Where clients live (Auth0 in production): every resource of the port.
/// Every call gets the instant by which it must have given up, retries
/// included.
pub trait ClientDirectory: Clients + Grants + KeyCredentials {}

impl<D: Clients + Grants + KeyCredentials> ClientDirectory for D {}

/// The clients themselves.
pub trait Clients: Send + Sync {
    /// Creates an M2M client recording `owner`, asking for the id
    /// `requested_id` (a tenant without custom client ids gives its own:
    /// the answer says which). A creation whose outcome could not be seen by
    /// `deadline` is undone by `discard_deadline`, the later instant.
    fn create_client(
        &self,
        client: &NewClient,
        owner: &Owner,
        requested_id: &str,
        deadline: Instant,
        discard_deadline: Instant,
    ) -> impl Future<Output = Result<CreatedClient, UpstreamError>> + Send;

    /// One page of the directory's M2M clients, whoever owns them, from the
    /// checkpoint `from` (the start without one); the checkpoint of the next
    /// page, if any.
    fn list_page(
        &self,
        from: Option<&str>,
        deadline: Instant,
    ) -> impl Future<Output = Result<(Vec<DirectoryClient>, Option<String>), UpstreamError>> + Send;

    /// The client's current secret, if the client exists (an idempotent
    /// replay answers with it).
    fn client_secret(
        &self,
        client_id: &str,
        deadline: Instant,
    ) -> impl Future<Output = Result<Option<SecretString>, UpstreamError>> + Send;

    /// Whether the client exists (`GET /api/v2/clients/{id}`): `false`
    /// only when the directory says there is no such client. The sweep
    /// removes an item only then.
    fn client_exists(
        &self,
        client_id: &str,
        deadline: Instant,
    ) -> impl Future<Output = Result<bool, UpstreamError>> + Send;

    /// Sets what `update` names; `false` if there is no such client.
    fn update_client(
        &self,
        client_id: &str,
        update: &ClientUpdate,
        deadline: Instant,
    ) -> impl Future<Output = Result<bool, UpstreamError>> + Send;

    /// Replaces the client's secret (the old one stops working); the new
    /// one, or `None` if there is no such client.
    fn rotate_secret(
        &self,
        client_id: &str,
        deadline: Instant,
    ) -> impl Future<Output = Result<Option<SecretString>, UpstreamError>> + Send;

    /// Deletes the client; deleting one that does not exist succeeds.
    fn delete_client(
        &self,
        client_id: &str,
        deadline: Instant,
    ) -> impl Future<Output = Result<(), UpstreamError>> + Send;
}

/// The clients' grants: what each may ask tokens for.
pub trait Grants: Send + Sync {
    /// Authorizes `client_id` for the policy's API and scopes; a client
    /// authorized already stays so.
    fn create_grant(
        &self,
        client_id: &str,
        grant: &GrantPolicy,
        deadline: Instant,
    ) -> impl Future<Output = Result<(), UpstreamError>> + Send;

    /// Makes the client's grant for the policy's API hold exactly the
    /// policy's scopes (`PATCH` of its grant; a client without one is
    /// granted them). Repeating it sets the same scopes again.
    fn set_grant_scopes(
        &self,
        client_id: &str,
        grant: &GrantPolicy,
        deadline: Instant,
    ) -> impl Future<Output = Result<(), UpstreamError>> + Send;

    /// Takes the client's authorization for `audience` away, if it has one.
    fn delete_grant(
        &self,
        client_id: &str,
        audience: &str,
        deadline: Instant,
    ) -> impl Future<Output = Result<(), UpstreamError>> + Send;

    /// One page of the grants for `audience`, from the checkpoint `from`
    /// (the start without one); the checkpoint of the next page, if any.
    fn list_grants(
        &self,
        audience: &str,
        from: Option<&str>,
        deadline: Instant,
    ) -> impl Future<Output = Result<(Vec<DirectoryGrant>, Option<String>), UpstreamError>> + Send;
}

/// The clients' key credentials (Private Key JWT).
pub trait KeyCredentials: Send + Sync {
    /// The client's credentials, enabled or not; `None` if there is no
    /// such client.
    fn list_credentials(
        &self,
        client_id: &str,
        deadline: Instant,
    ) -> impl Future<Output = Result<Option<Vec<DirectoryCredential>>, UpstreamError>> + Send;

    /// Stores `key` as a credential of the client, not yet enabled. Never
    /// sent twice: a creation whose answer is lost is found by listing.
    fn create_credential(
        &self,
        client_id: &str,
        key: &NewKey,
        deadline: Instant,
    ) -> impl Future<Output = Result<DirectoryCredential, UpstreamError>> + Send;

    /// Makes `credential_ids` the client's enabled credentials, exactly;
    /// `false` if there is no such client.
    fn enable_credentials(
        &self,
        client_id: &str,
        credential_ids: &[&str],
        deadline: Instant,
    ) -> impl Future<Output = Result<bool, UpstreamError>> + Send;

    /// Deletes a credential no longer enabled; deleting one that does not
    /// exist succeeds.
    fn delete_credential(
        &self,
        client_id: &str,
        credential_id: &str,
        deadline: Instant,
    ) -> impl Future<Output = Result<(), UpstreamError>> + Send;
}
