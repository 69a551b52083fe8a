//! The port to the deployment's shared Management API token
//! (docs/owner-index.md, "The shared management token"): one item that all
//! containers read, that one of them at a time refreshes under a short
//! lease, and that is cleared only while it still holds the token Auth0
//! rejected. DynamoDB in production (the owner index's table); in memory
//! for the lease logic's own tests.
//!
//! The methods return boxed futures so that the token cache can hold the
//! store as `Arc<dyn TokenStore>` without a type parameter rippling through
//! every generic that holds a Management API client.

use std::future::Future;
use std::pin::Pin;

use crate::error::IndexError;
use crate::secret_string::SecretString;

/// A future of the store, boxed (see the module's note).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, IndexError>> + Send + 'a>>;

/// A token as the store holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredToken {
    pub value: SecretString,
    /// When Auth0 says it expires, in milliseconds since the epoch.
    pub expires_ms: u64,
}

/// The token item, as read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenItem {
    pub token: Option<StoredToken>,
    /// Until when (ms since the epoch) a container holds the lease to mint
    /// the next token, if one took it.
    pub lease_until: Option<u64>,
}

pub trait TokenStore: Send + Sync {
    /// The item (a consistent read): empty when there is none.
    fn read(&self) -> StoreFuture<'_, TokenItem>;

    /// Takes the lease until `until` (ms since the epoch), on condition that
    /// no lease lasts beyond `now` and the item holds no token that expires
    /// after `needed`. `false`: another container has it, or a good token
    /// is there now.
    fn lease(&self, now: u64, until: u64, needed: u64) -> StoreFuture<'_, bool>;

    /// Gives back the lease taken until `until`, if it is still that one
    /// (the mint failed: another container need not wait for it to lapse).
    fn release(&self, until: u64) -> StoreFuture<'_, ()>;

    /// Writes a new token and removes the lease.
    fn store<'a>(&'a self, token: &'a StoredToken) -> StoreFuture<'a, ()>;

    /// Removes the token, on condition that it still is `rejected`: `false`
    /// when it is not (another container replaced or removed it already).
    fn invalidate<'a>(&'a self, rejected: &'a SecretString) -> StoreFuture<'a, bool>;
}
