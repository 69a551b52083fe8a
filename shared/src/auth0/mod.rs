//! The Auth0 Management API adapter: the
//! [`ClientDirectory`](crate::domain::ClientDirectory) the service runs on
//! in production. One file per concern: `wire.rs` holds the JSON shapes of
//! Auth0's published schema; `clients.rs`, `grants.rs` and `credentials.rs`
//! the calls on each resource, each file implementing that resource's part
//! of the port ([`Clients`](crate::domain::Clients),
//! [`Grants`](crate::domain::Grants),
//! [`KeyCredentials`](crate::domain::KeyCredentials));
//! `management_api.rs` the adapter and its authenticated call, `token.rs`
//! and `shared_token.rs` the Management API token, `transport.rs` one
//! call's retries.
//!
//! The Management API token, from who asks for it to what a 401 does:
//!
//! 1. **Who asks.** Every call of the resource files goes through
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

pub use management_api::ManagementApi;
pub use token::{CredentialsSource, ManagementCredentials, ManagementTokens, TOKEN_EXPIRY_MARGIN};
pub use transport::{ATTEMPT_TIMEOUT, MAX_RETRIES};
