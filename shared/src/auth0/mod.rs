//! The Auth0 Management API adapter: the [`ClientDirectory`] the service
//! runs on in production. One file per concern: `wire.rs` holds the JSON
//! shapes of Auth0's published schema, `clients.rs` and `grants.rs` the
//! calls on each resource, `management_api.rs` the adapter and its
//! authenticated call, `token.rs` and `shared_token.rs` the Management API
//! token, `transport.rs` one call's retries; this file implements the port,
//! each of its operations one resource's call.
//!
//! The Management API token, from who asks for it to what a 401 does:
//!
//! 1. **Who asks.** Every call of `clients.rs` and `grants.rs` goes through
//!    [`ManagementApi`]'s `call` (`management_api.rs`), which asks the
//!    container's [`ManagementTokens`] (`token.rs`) for a token first. A
//!    container's warm-up asks once ahead of its first request
//!    ([`ManagementApi::warm_up`]).
//! 2. **Memory.** A token this container holds is used until
//!    [`TOKEN_EXPIRY_MARGIN`] before it expires: warm requests ask nothing
//!    of anyone.
//! 3. **The shared item.** Past that, with `MANAGEMENT_TOKEN_CACHE=shared`
//!    (the default), `shared_token.rs` reads the deployment's token item
//!    (a [`TokenStore`](crate::domain::TokenStore): the owner index's
//!    table). A good token there is used and kept in memory. Without one,
//!    one container takes the item's lease, mints the next token and
//!    writes it back; the others wait for it. A table that fails, or a wait
//!    that would make the request late, falls back to a token of this
//!    container's own (as with `MANAGEMENT_TOKEN_CACHE=container`).
//! 4. **A mint from the secret.** Minting reads the management credentials
//!    from the [`CredentialsSource`] (Secrets Manager), once per container,
//!    and asks Auth0's `/oauth/token` for a token (`token.rs`, through
//!    `transport.rs`). Auth0 refusing the credentials (401, 403) has them
//!    forgotten, so that a rotated secret is read again, and is a
//!    credentials error for the caller.
//! 5. **A 401 on a call.** Auth0 no longer takes the token: `call` drops it
//!    from memory and from the shared item if the item still holds it
//!    ([`ManagementTokens::invalidate`]), asks for a token again (step 2
//!    on) and sends the call once more. A fresh token rejected too is a
//!    failure.
//!
//! docs/owner-index.md, "The shared management token", says why the token
//! is shared and how the item's conditions keep it minted once.

mod clients;
mod credentials;
mod grants;
mod management_api;
mod shared_token;
mod token;
mod transport;
pub mod wire;

use tokio::time::Instant;

pub use management_api::ManagementApi;
pub use token::{CredentialsSource, ManagementCredentials, ManagementTokens, TOKEN_EXPIRY_MARGIN};
pub use transport::{ATTEMPT_TIMEOUT, MAX_RETRIES};

use crate::domain::{
    ClientDirectory, ClientUpdate, CreatedClient, DirectoryClient, DirectoryCredential,
    DirectoryGrant, GrantPolicy, NewClient, NewKey, Owner,
};
use crate::error::UpstreamError;
use crate::secret_string::SecretString;

/// Each operation of the port is one resource's call.
impl<S: CredentialsSource> ClientDirectory for ManagementApi<S> {
    async fn create_client(
        &self,
        client: &NewClient,
        owner: &Owner,
        requested_id: &str,
        deadline: Instant,
        discard_deadline: Instant,
    ) -> Result<CreatedClient, UpstreamError> {
        clients::create(
            self,
            client,
            owner,
            requested_id,
            deadline,
            discard_deadline,
        )
        .await
    }

    async fn create_grant(
        &self,
        client_id: &str,
        grant: &GrantPolicy,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        grants::create(self, client_id, grant, deadline).await
    }

    async fn client_secret(
        &self,
        client_id: &str,
        deadline: Instant,
    ) -> Result<Option<SecretString>, UpstreamError> {
        clients::secret(self, client_id, deadline).await
    }

    async fn list_page(
        &self,
        from: Option<&str>,
        deadline: Instant,
    ) -> Result<(Vec<DirectoryClient>, Option<String>), UpstreamError> {
        clients::list_page(self, from, deadline).await
    }

    async fn delete_grant(
        &self,
        client_id: &str,
        audience: &str,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        grants::delete(self, client_id, audience, deadline).await
    }

    async fn set_grant_scopes(
        &self,
        client_id: &str,
        grant: &GrantPolicy,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        grants::set_scopes(self, client_id, grant, deadline).await
    }

    async fn client_exists(
        &self,
        client_id: &str,
        deadline: Instant,
    ) -> Result<bool, UpstreamError> {
        clients::exists(self, client_id, deadline).await
    }

    async fn list_grants(
        &self,
        audience: &str,
        from: Option<&str>,
        deadline: Instant,
    ) -> Result<(Vec<DirectoryGrant>, Option<String>), UpstreamError> {
        grants::list(self, audience, from, deadline).await
    }

    async fn update_client(
        &self,
        client_id: &str,
        update: &ClientUpdate,
        deadline: Instant,
    ) -> Result<bool, UpstreamError> {
        clients::update(self, client_id, update, deadline).await
    }

    async fn rotate_secret(
        &self,
        client_id: &str,
        deadline: Instant,
    ) -> Result<Option<SecretString>, UpstreamError> {
        clients::rotate_secret(self, client_id, deadline).await
    }

    async fn list_credentials(
        &self,
        client_id: &str,
        deadline: Instant,
    ) -> Result<Option<Vec<DirectoryCredential>>, UpstreamError> {
        credentials::list(self, client_id, deadline).await
    }

    async fn create_credential(
        &self,
        client_id: &str,
        key: &NewKey,
        deadline: Instant,
    ) -> Result<DirectoryCredential, UpstreamError> {
        credentials::create(self, client_id, key, deadline).await
    }

    async fn enable_credentials(
        &self,
        client_id: &str,
        credential_ids: &[&str],
        deadline: Instant,
    ) -> Result<bool, UpstreamError> {
        credentials::enable(self, client_id, credential_ids, deadline).await
    }

    async fn delete_credential(
        &self,
        client_id: &str,
        credential_id: &str,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        credentials::delete(self, client_id, credential_id, deadline).await
    }

    async fn delete_client(&self, client_id: &str, deadline: Instant) -> Result<(), UpstreamError> {
        clients::delete(self, client_id, deadline).await
    }
}
