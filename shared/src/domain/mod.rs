//! The domain: the nouns every other module speaks of (the owner, a client
//! in its several states, the grant new clients get), the rule of what a
//! client id can be, and the two ports through which the operations reach
//! what they need: [`ClientDirectory`], where clients and their credentials
//! live (Auth0), and [`OwnerIndex`], who owns what (DynamoDB). It knows
//! nothing of HTTP, Lambda, Auth0's wire format or AWS, and imports only the
//! leaf modules.
//!
//! The nouns are in `owner.rs`, `client.rs` (with the client-id rule),
//! `credential.rs` (key credentials) and `clock.rs` (time as the index
//! counts it), `deadline.rs` (the invocation's deadline, for the index's
//! calls); the ports in `directory.rs`,
//! `index.rs` and `token_store.rs`. This file only gathers them.

mod client;
mod clock;
mod credential;
pub mod deadline;
mod directory;
mod index;
mod owner;
mod token_store;

pub use client::{
    Aspects, ClientStatus, ClientUpdate, CreatedClient, DirectoryClient, DirectoryGrant,
    GrantPolicy, MAX_CLIENT_ID_CHARS, NewClient, PendingChange, RotatedSecret,
    is_possible_client_id,
};
pub use clock::{STALE_AFTER, micros, now_micros, parse_rfc3339, rfc3339};
pub use credential::{
    AuthMethod, Credential, DirectoryCredential, KEY_ALGORITHMS, MAX_CREDENTIALS, NewKey,
};
pub use directory::{ClientDirectory, Clients, Grants, KeyCredentials};
pub use index::{
    Begun, ChangeBegun, Creation, IDEMPOTENCY_TTL_SECONDS, IdempotencyClaim, IdempotencyRecord,
    IndexedClient, KeyState, OwnerIndex, Page, Position, StaleOperation, SweepLease, SweepRemoval,
    SweepState, TableCensus, WRITE_WINDOW_SECONDS, WriteCount,
};
pub use owner::{MAX_OWNER_CHARS, Owner};
pub use token_store::{StoreFuture, StoredToken, TokenItem, TokenStore};
