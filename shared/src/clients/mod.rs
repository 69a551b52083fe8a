//! The client operations: what it means to create, list, read, change and
//! delete an M2M client for an owner. Nothing here knows about HTTP,
//! Lambda, Auth0's wire format or DynamoDB: Auth0 sits behind
//! [`ClientDirectory`], the owner index behind [`OwnerIndex`].
//!
//! One file per operation, each read top to bottom like its section of
//! docs/owner-index.md: `create.rs` ("Create", with its undo), `list.rs`
//! ("List and get", with the cursors' key), `change.rs` ("Changes": update,
//! disable and enable, and the protocol they share), `credentials.rs`
//! ("Key credentials": list, add and remove, under that protocol),
//! `rotate.rs` and `delete.rs` ("Delete").
//! Each adds its methods to [`ClientService`], which holds what they share:
//! this file.

mod change;
mod create;
pub mod credentials;
mod delete;
mod list;
mod rotate;
#[cfg(test)]
mod test_fixtures;

use std::time::Duration;

use tokio::sync::OnceCell;
use tracing::{info, warn};

use crate::domain::{
    ClientDirectory, GrantPolicy, IndexedClient, Owner, OwnerIndex, WriteCount,
    is_possible_client_id, now_micros,
};
use crate::error::ServiceError;
use crate::metrics;
use crate::secret_string::SecretString;

/// The operations on an owner's clients: Auth0 (the [`ClientDirectory`])
/// for what only it can do, the owner index for who owns what. Each is
/// confined to the owner's own clients.
pub struct ClientService<D, I> {
    directory: D,
    index: I,
    grant: GrantPolicy,
    max_clients: u32,
    /// Whether clients may use key credentials (`KEY_CREDENTIALS`).
    key_credentials: bool,
    /// How many Auth0-calling operations an owner may begin in a minute.
    writes_per_minute: u32,
    /// The list cursors' key, once the index has one.
    cursor_key: OnceCell<SecretString>,
}

/// A page of an owner's clients, and the cursor of the next one.
pub struct ClientPage {
    pub clients: Vec<IndexedClient>,
    pub next: Option<String>,
}

impl<D: ClientDirectory, I: OwnerIndex> ClientService<D, I> {
    /// The operations, with an owner's quota of `max_clients` and at most
    /// `writes_per_minute` Auth0-calling operations a minute per owner.
    pub fn new(
        directory: D,
        index: I,
        grant: GrantPolicy,
        max_clients: u32,
        writes_per_minute: u32,
    ) -> Self {
        ClientService {
            directory,
            index,
            grant,
            max_clients,
            key_credentials: true,
            writes_per_minute,
            cursor_key: OnceCell::new(),
        }
    }

    /// With key credentials on or off (`KEY_CREDENTIALS`; on by default).
    pub fn with_key_credentials(self, key_credentials: bool) -> Self {
        ClientService {
            key_credentials,
            ..self
        }
    }

    pub fn directory(&self) -> &D {
        &self.directory
    }

    pub fn index(&self) -> &I {
        &self.index
    }

    /// The owner's client as the index has it. Missing, someone else's,
    /// being deleted and impossible ids all answer the same not-found, so
    /// nobody learns what exists.
    async fn indexed(&self, owner: &Owner, client_id: &str) -> Result<IndexedClient, ServiceError> {
        possible(client_id)?;
        self.index
            .get(owner, client_id)
            .await?
            .ok_or(ServiceError::ClientNotFound)
    }

    /// Counts an operation of the owner's that is about to call Auth0
    /// against `OWNER_WRITES_PER_MINUTE` (docs/owner-index.md, "Writes per
    /// minute"): past it, 429 until the minute is over. One owner cannot
    /// spend the tenant's Management API rate limit, which every other
    /// owner and the tenant's own applications share. Called once an
    /// operation knows it will call Auth0, before it writes anything, so
    /// that a refusal leaves nothing behind.
    async fn admit_write(&self, owner: &Owner) -> Result<(), ServiceError> {
        let now = now_micros() / 1_000_000;
        match self
            .index
            .count_owner_write(owner, now, self.writes_per_minute)
            .await
        {
            Ok(WriteCount::Counted) => Ok(()),
            Ok(WriteCount::Refused { until }) => Err(ServiceError::TooManyRequests {
                limit: self.writes_per_minute,
                retry_after: Duration::from_secs(until.saturating_sub(now).max(1)),
            }),
            // Open: the limit guards Auth0's rate limit, not correctness,
            // and a table that cannot count fails the operation's own
            // writes anyway if it is down. Refusing here would turn a
            // blip of the counter into the owner's failed changes.
            Err(problem) => {
                warn!(error = %problem, "owner's writes not counted; the operation goes ahead");
                metrics::write_limit_unchecked();
                Ok(())
            }
        }
    }

    /// A client as answered: with its scopes, in `GRANT_SCOPES` order.
    fn shown(&self, client: IndexedClient) -> IndexedClient {
        IndexedClient {
            scopes: Some(self.grant.scopes_of(client.scopes.as_deref())),
            ..client
        }
    }
}

/// An id that cannot be a client's is not found, without asking anyone.
fn possible(client_id: &str) -> Result<(), ServiceError> {
    if is_possible_client_id(client_id) {
        Ok(())
    } else {
        Err(ServiceError::ClientNotFound)
    }
}

/// Runs `operation`, one on an existing client, and writes its audit line:
/// `done` when it succeeded, else what stopped it.
async fn audited<T>(
    (action, done): (&'static str, &'static str),
    owner: &Owner,
    client_id: &str,
    operation: impl Future<Output = Result<T, ServiceError>>,
) -> Result<T, ServiceError> {
    let outcome = operation.await;
    let result = match &outcome {
        Ok(_) => done,
        Err(ServiceError::ClientNotFound) => "not_found",
        Err(ServiceError::ClientChangeInProgress) => "busy",
        Err(
            ServiceError::CredentialLimitReached { .. }
            | ServiceError::LastCredential
            | ServiceError::CredentialNotFound
            | ServiceError::ClientUsesSecret
            | ServiceError::ClientUsesKeys,
        ) => "refused",
        Err(ServiceError::TooManyRequests { .. }) => "throttled",
        Err(ServiceError::Upstream { .. }) => "upstream_failed",
        Err(_) => "failed",
    };
    // Impossible ids are not echoed: they are caller-controlled text.
    let shown = is_possible_client_id(client_id).then_some(client_id);
    audit(action, owner, shown, result);
    outcome
}

/// One structured line per change of a client, for the audit trail: who,
/// which client, what happened. The request id comes from the span the HTTP
/// layer opens. Nothing secret is ever passed here.
fn audit(action: &'static str, owner: &Owner, client_id: Option<&str>, outcome: &'static str) {
    metrics::client_operation(action, outcome);
    info!(
        target: "audit",
        action,
        owner = owner.as_str(),
        client_id = client_id.unwrap_or(""),
        outcome,
        "audit"
    );
}
