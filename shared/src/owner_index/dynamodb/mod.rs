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

/// Writes the port's calls that are each one function of an item's module,
/// given the table and the call's arguments: `call(arguments) -> answer =>
/// module::function`, one line a call.
macro_rules! table_calls {
    ($($call:ident($($arg:ident: $type:ty),*) -> $answer:ty => $function:path;)*) => {
        $(
            async fn $call(&self, $($arg: $type),*) -> Result<$answer, IndexError> {
                $function(&self.table, $($arg),*).await
            }
        )*
    };
}

impl OwnerIndex for DynamoIndex {
    fn token_store(&self) -> Option<Arc<dyn TokenStore>> {
        Some(Arc::new(DynamoTokenStore::in_table(self.table.clone())))
    }

    table_calls! {
        idempotency(owner: &Owner, key: &str) -> Option<IdempotencyRecord> => creations::idempotency;
        begin_creation(creation: &Creation, max_clients: u32) -> Begun => creations::begin;
        record_client_id(creation: &Creation) -> () => creations::record_client_id;
        finish_creation(creation: &Creation, client: &IndexedClient) -> () => creations::finish;
        abandon_creation(creation: &Creation) -> () => creations::abandon;
        list(owner: &Owner, after: Option<&Position>, limit: Option<usize>) -> Page => clients::list;
        get(owner: &Owner, client_id: &str) -> Option<IndexedClient> => clients::get;
        begin_deletion(owner: &Owner, client_id: &str) -> Option<IndexedClient> => clients::begin_deletion;
        cancel_deletion(client: &IndexedClient) -> () => clients::cancel_deletion;
        remove(client: &IndexedClient) -> () => clients::remove;
        begin_change(client: &IndexedClient, change: &PendingChange, stale_before: u64) -> ChangeBegun => changes::begin;
        end_change(client: &IndexedClient, change_id: &str) -> bool => changes::end;
        count_owner_write(owner: &Owner, now: u64, limit: u32) -> WriteCount => write_limit::count;
        cursor_key(create: bool) -> Option<SecretString> => cursor_key::read_or_make;
        stale_operations(started_before: u64) -> Vec<StaleOperation> => repairs::stale_operations;
        mark_swept(owner: &Owner, client_id: &str, generation: u64) -> bool => sweep::mark_swept;
        import(client: &IndexedClient, creation_id: Option<&str>, generation: u64) -> () => sweep::import;
        unswept(generation: u64, created_before: u64) -> Vec<IndexedClient> => sweep::unswept;
        sweep_state() -> SweepState => sweep::state;
        take_sweep_lease(lease: &SweepLease) -> Option<SweepState> => sweep::take_lease;
        save_sweep_state(state: &SweepState, lease: &SweepLease) -> bool => sweep::save_state;
        begin_sweep_removal(client: &IndexedClient, generation: u64, lease: &SweepLease) -> SweepRemoval => sweep::begin_removal;
        owner_of(client_id: &str) -> Option<Owner> => usage::owner_of;
        record_use(owner: &Owner, client_id: &str, at: u64) -> bool => usage::record_use;
        census() -> TableCensus => census::census;
    }
}
