//! The owner index in DynamoDB: one table (`CLIENTS_TABLE`), the items and
//! indexes of docs/owner-index.md. Writes that belong together are one
//! transaction; every conditional write states the rule it keeps.
//!
//! One file per kind of item, each with what the operations do with it:
//! `clients.rs` (client items: list, get, delete), `creations.rs` (create),
//! `quota.rs` (the quota and the idempotency keys), `changes.rs` (update,
//! disable, enable), `repairs.rs` (the reconciler's query of operations
//! that stopped half-way), `sweep.rs` (its sweep of Auth0, and the sweep's
//! lease), `census.rs` (the audit's reading of every owner), `write_limit.rs`
//! (an owner's writes per minute), `cursor_key.rs` and `management_token.rs`.
//! Below them, `keys.rs` says where each item lives, `codec.rs` holds what
//! every item shares: attribute values, errors, the deadline, the table's
//! requests and transactions; and `settle.rs` the single-item writes settled
//! by reading. This file is the port ([`OwnerIndex`]), each of its calls one
//! of theirs.

mod census;
mod changes;
mod clients;
mod codec;
mod creations;
mod cursor_key;
mod keys;
mod management_token;
mod quota;
mod repairs;
mod settle;
mod sweep;
mod usage;
mod write_limit;

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;

use codec::Table;
pub use keys::TOKEN_PK;
pub use management_token::DynamoTokenStore;

use crate::domain::{
    Begun, ChangeBegun, Creation, IdempotencyRecord, IndexedClient, Owner, OwnerIndex, Page,
    PendingChange, Position, StaleOperation, SweepLease, SweepRemoval, SweepState, TableCensus,
    TokenStore, WriteCount,
};
use crate::error::IndexError;
use crate::secret_string::SecretString;

/// A table call may take this long in all, retries included: DynamoDB
/// answers in milliseconds, and a request must still be answered in time.
pub const TABLE_CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// The owner index in one DynamoDB table.
pub struct DynamoIndex {
    table: Table,
}

impl DynamoIndex {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoIndex {
            table: Table::new(client, table.into()),
        }
    }

    /// A client of the container's AWS configuration ([`crate::aws`]),
    /// whose calls each end within [`TABLE_CALL_TIMEOUT`].
    pub fn from_config(table: impl Into<String>, sdk_config: &aws_config::SdkConfig) -> Self {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(crate::aws::ATTEMPT_TIMEOUT)
            .operation_timeout(TABLE_CALL_TIMEOUT)
            .build();
        let mut config =
            aws_sdk_dynamodb::config::Builder::from(sdk_config).timeout_config(timeouts);
        if let Some(url) = crate::aws::service_endpoint("DYNAMODB") {
            config = config.endpoint_url(url);
        }
        Self::new(Client::from_conf(config.build()), table)
    }
}

impl OwnerIndex for DynamoIndex {
    fn token_store(&self) -> Option<Arc<dyn TokenStore>> {
        Some(Arc::new(DynamoTokenStore::in_table(self.table.clone())))
    }

    async fn idempotency(
        &self,
        owner: &Owner,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, IndexError> {
        creations::idempotency(&self.table, owner, key).await
    }

    async fn begin_creation(
        &self,
        creation: &Creation,
        max_clients: u32,
    ) -> Result<Begun, IndexError> {
        creations::begin(&self.table, creation, max_clients).await
    }

    async fn record_client_id(&self, creation: &Creation) -> Result<(), IndexError> {
        creations::record_client_id(&self.table, creation).await
    }

    async fn finish_creation(
        &self,
        creation: &Creation,
        client: &IndexedClient,
    ) -> Result<(), IndexError> {
        creations::finish(&self.table, creation, client).await
    }

    async fn abandon_creation(&self, creation: &Creation) -> Result<(), IndexError> {
        creations::abandon(&self.table, creation).await
    }

    async fn list(
        &self,
        owner: &Owner,
        after: Option<&Position>,
        limit: Option<usize>,
    ) -> Result<Page, IndexError> {
        clients::list(&self.table, owner, after, limit).await
    }

    async fn get(
        &self,
        owner: &Owner,
        client_id: &str,
    ) -> Result<Option<IndexedClient>, IndexError> {
        clients::get(&self.table, owner, client_id).await
    }

    async fn begin_deletion(
        &self,
        owner: &Owner,
        client_id: &str,
    ) -> Result<Option<IndexedClient>, IndexError> {
        clients::begin_deletion(&self.table, owner, client_id).await
    }

    async fn cancel_deletion(&self, client: &IndexedClient) -> Result<(), IndexError> {
        clients::cancel_deletion(&self.table, client).await
    }

    async fn remove(&self, client: &IndexedClient) -> Result<(), IndexError> {
        clients::remove(&self.table, client).await
    }

    async fn begin_change(
        &self,
        client: &IndexedClient,
        change: &PendingChange,
        stale_before: u64,
    ) -> Result<ChangeBegun, IndexError> {
        changes::begin(&self.table, client, change, stale_before).await
    }

    async fn end_change(
        &self,
        client: &IndexedClient,
        change_id: &str,
    ) -> Result<bool, IndexError> {
        changes::end(&self.table, client, change_id).await
    }

    async fn count_owner_write(
        &self,
        owner: &Owner,
        now: u64,
        limit: u32,
    ) -> Result<WriteCount, IndexError> {
        // Bounded as every call of the index is: a count that does not
        // answer in time is a failure, which the service lets through.
        codec::by_deadline(
            "count an owner's write",
            codec::call_deadline(),
            write_limit::count(&self.table, owner, now, limit),
        )
        .await
    }

    async fn cursor_key(&self, create: bool) -> Result<Option<SecretString>, IndexError> {
        cursor_key::read_or_make(&self.table, create).await
    }

    async fn stale_operations(
        &self,
        started_before: u64,
    ) -> Result<Vec<StaleOperation>, IndexError> {
        repairs::stale_operations(&self.table, started_before).await
    }

    async fn mark_swept(
        &self,
        owner: &Owner,
        client_id: &str,
        generation: u64,
    ) -> Result<bool, IndexError> {
        sweep::mark_swept(&self.table, owner, client_id, generation).await
    }

    async fn import(
        &self,
        client: &IndexedClient,
        creation_id: Option<&str>,
        generation: u64,
    ) -> Result<(), IndexError> {
        sweep::import(&self.table, client, creation_id, generation).await
    }

    async fn unswept(
        &self,
        generation: u64,
        created_before: u64,
    ) -> Result<Vec<IndexedClient>, IndexError> {
        sweep::unswept(&self.table, generation, created_before).await
    }

    async fn sweep_state(&self) -> Result<SweepState, IndexError> {
        sweep::state(&self.table).await
    }

    async fn take_sweep_lease(&self, lease: &SweepLease) -> Result<Option<SweepState>, IndexError> {
        sweep::take_lease(&self.table, lease).await
    }

    async fn save_sweep_state(
        &self,
        state: &SweepState,
        lease: &SweepLease,
    ) -> Result<bool, IndexError> {
        sweep::save_state(&self.table, state, lease).await
    }

    async fn begin_sweep_removal(
        &self,
        client: &IndexedClient,
        generation: u64,
        lease: &SweepLease,
    ) -> Result<SweepRemoval, IndexError> {
        sweep::begin_removal(&self.table, client, generation, lease).await
    }

    async fn owner_of(&self, client_id: &str) -> Result<Option<Owner>, IndexError> {
        usage::owner_of(&self.table, client_id).await
    }

    async fn record_use(
        &self,
        owner: &Owner,
        client_id: &str,
        at: u64,
    ) -> Result<bool, IndexError> {
        usage::record_use(&self.table, owner, client_id, at).await
    }

    async fn census(&self) -> Result<TableCensus, IndexError> {
        census::census(&self.table).await
    }
}
