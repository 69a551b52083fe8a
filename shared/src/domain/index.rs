//! The port to the owner index: who owns which client, quotas, idempotency
//! keys, and the operations under way (docs/owner-index.md). DynamoDB in
//! production (`owner_index::DynamoIndex`); in memory for the domain's own
//! tests (`owner_index::MemoryIndex`). Every write that must happen
//! together happens in one call here, so that an adapter can make it one
//! transaction.

use std::future::Future;

use super::client::{ClientStatus, PendingChange};
use super::clock::now_micros;
use super::credential::Credential;
use super::owner::Owner;
use super::token_store::TokenStore;
use crate::error::IndexError;
use crate::secret_string::SecretString;

/// A client as the index records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexedClient {
    pub client_id: String,
    pub owner: Owner,
    pub name: String,
    pub description: String,
    /// When the creation began, in microseconds since the epoch: the list's
    /// order.
    pub created_at: u64,
    /// The key it was created with, released when it is deleted.
    pub idempotency_key: Option<String>,
    /// The scopes of its grant; `None` for clients recorded before scopes
    /// could be chosen, which have all of `GRANT_SCOPES`.
    pub scopes: Option<Vec<String>>,
    pub status: ClientStatus,
    /// A key client's credentials, enabled in Auth0 (`None`: a client that
    /// uses a secret).
    pub credentials: Option<Vec<Credential>>,
    /// A change under way, or one that stopped half-way.
    pub change: Option<PendingChange>,
    /// When it last got a token, as Auth0's log stream told (µs since the
    /// epoch); `None` until it has, or without the log stream.
    pub last_used_at: Option<u64>,
}

impl IndexedClient {
    /// A client as a backfill imports it from Auth0: active, without a key,
    /// with all of `GRANT_SCOPES` (what every client had before scopes could
    /// be chosen), created now.
    pub fn imported(client_id: String, owner: Owner, name: String, description: String) -> Self {
        IndexedClient {
            client_id,
            owner,
            name,
            description,
            created_at: now_micros(),
            idempotency_key: None,
            scopes: None,
            status: ClientStatus::Active,
            credentials: None,
            change: None,
            last_used_at: None,
        }
    }

    /// Where the client stands in its owner's list: creation time, then id,
    /// as text that sorts the same way.
    pub fn position(&self) -> Position {
        Position(format!("{:020}#{}", self.created_at, self.client_id))
    }

    /// A key client's credentials; none for a client that uses a secret.
    pub fn key_credentials(&self) -> &[Credential] {
        self.credentials.as_deref().unwrap_or_default()
    }
}

/// A place in an owner's list, after which a page starts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position(pub String);

/// One page of an owner's clients, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub clients: Vec<IndexedClient>,
    /// Where the next page starts, if there is one.
    pub next: Option<Position>,
}

/// A creation under way: recorded before Auth0 is asked, so that a client
/// is never in Auth0 without an item naming it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Creation {
    pub owner: Owner,
    /// The `client_{ksuid}` id asked of Auth0; it also names the creation.
    pub chosen_id: String,
    /// Auth0's id of the client, when it is not the chosen one (tenants
    /// without custom client ids) and Auth0 has answered.
    pub client_id: Option<String>,
    pub name: String,
    pub description: String,
    pub started_at: u64,
    pub idempotency: Option<IdempotencyClaim>,
    /// The scopes its grant gets.
    pub scopes: Vec<String>,
}

impl Creation {
    /// The id the client has, or will have if Auth0 makes it.
    pub fn client_id(&self) -> &str {
        self.client_id.as_deref().unwrap_or(&self.chosen_id)
    }
}

/// An `Idempotency-Key` and the request it was first sent with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub key: String,
    /// SHA-256 of the parsed request body, hex.
    pub request_hash: String,
}

/// What an idempotency key stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyState {
    /// Its first request is still being answered.
    Running,
    /// Its first request created this client.
    Done { client_id: String },
}

/// How long an idempotency key is remembered: its record's TTL, in seconds.
pub const IDEMPOTENCY_TTL_SECONDS: u64 = 24 * 60 * 60;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub request_hash: String,
    pub state: KeyState,
}

/// How the start of a creation went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Begun {
    Started,
    /// The owner has as many clients (and creations) as allowed.
    LimitReached,
    /// The idempotency key is taken (by a live record): read it again.
    KeyTaken,
}

/// How the start of a change went.
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "one answer per change, moved once: boxing would only add an allocation"
)]
pub enum ChangeBegun {
    /// The change is recorded on the client, which is as it stands now
    /// (its `change` the one begun, with the aspects of the stale change it
    /// took over, if there was one: `taken_over`).
    Started {
        client: IndexedClient,
        taken_over: Option<PendingChange>,
    },
    /// The client is gone, or being deleted.
    NotFound,
    /// Another change of the client is under way, or it changed since it
    /// was read.
    Busy,
}

/// How long an owner's window of counted writes lasts, in seconds: the
/// minute of `OWNER_WRITES_PER_MINUTE`.
pub const WRITE_WINDOW_SECONDS: u64 = 60;

/// Whether an owner's write was counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteCount {
    Counted,
    /// The owner's window already counts the limit; it closes at `until`
    /// (seconds since the epoch).
    Refused {
        until: u64,
    },
}

/// An operation that stopped half-way and is older than any request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StaleOperation {
    Creation(Creation),
    Deletion(IndexedClient),
    /// A client whose change did not end: Auth0 may differ from it in the
    /// change's aspects.
    Change(IndexedClient),
}

/// Where the reconciler's sweep of Auth0 stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepState {
    /// The sweep under way (its start, in µs), if one is.
    pub generation: Option<u64>,
    /// Auth0's checkpoint to resume from.
    pub from: Option<String>,
    /// Whether this sweep imports clients the index lacks.
    pub backfill: bool,
    /// Whether this sweep has seen every page of Auth0, and is removing
    /// the items it did not see there.
    pub listed: bool,
    /// When the last sweep finished.
    pub finished_at: Option<u64>,
}

/// The lease that makes the sweep one at a time per deployment: the run
/// that holds it, until when. A holder that stops renewing it (it crashed,
/// or ran out of time) loses it then, and the next run resumes the sweep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepLease {
    /// The run's own id.
    pub holder: String,
    /// When it lapses (µs); 0 gives it up.
    pub until: u64,
}

/// What became of an item the sweep found gone from Auth0.
#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "one answer per removal, moved once: boxing would only add an allocation"
)]
pub enum SweepRemoval {
    /// Marked as being deleted (as by a delete): the client as it stood,
    /// to be removed now, or by the repairs if the run stops first.
    Marked(IndexedClient),
    /// Written since the sweep began, being deleted or changed, or gone:
    /// left as it is.
    Kept,
    /// The sweep's lease is no longer this run's: it must stop.
    LeaseLost,
}

/// Everything the index holds of every owner, read at once: what the
/// audit compares with Auth0.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableCensus {
    /// Listed clients.
    pub clients: Vec<IndexedClient>,
    /// Clients being deleted.
    pub deleting: Vec<IndexedClient>,
    pub creations: Vec<Creation>,
    /// Each owner's quota count, where it has a quota item.
    pub quotas: Vec<(Owner, u64)>,
}

/// Who owns what. Calls that fail answer an [`IndexError`]: a 500 for the
/// caller, never a half-written state the reconciler cannot repair. A
/// write is applied or refused: one whose outcome the adapter could not
/// settle by the invocation's deadline ([`super::deadline`]) is
/// [`IndexError::OutcomeUnknown`], which the operation answers 502, its
/// record left to be taken over.
pub trait OwnerIndex: Send + Sync {
    /// The record of `key`, unless there is none or it expired.
    fn idempotency(
        &self,
        owner: &Owner,
        key: &str,
    ) -> impl Future<Output = Result<Option<IdempotencyRecord>, IndexError>> + Send;

    /// Records the creation, counts it against the owner's quota of
    /// `max_clients`, and takes its idempotency key: all or nothing.
    fn begin_creation(
        &self,
        creation: &Creation,
        max_clients: u32,
    ) -> impl Future<Output = Result<Begun, IndexError>> + Send;

    /// Records Auth0's id of the client being created (when it is not the
    /// chosen one).
    fn record_client_id(
        &self,
        creation: &Creation,
    ) -> impl Future<Output = Result<(), IndexError>> + Send;

    /// The creation is done: `client` is listed from now on, its key
    /// answers with it.
    fn finish_creation(
        &self,
        creation: &Creation,
        client: &IndexedClient,
    ) -> impl Future<Output = Result<(), IndexError>> + Send;

    /// The creation is undone: its record goes, the quota is given back,
    /// its key released.
    fn abandon_creation(
        &self,
        creation: &Creation,
    ) -> impl Future<Output = Result<(), IndexError>> + Send;

    /// Up to `limit` of the owner's clients after `after`, oldest first;
    /// all of them without a limit.
    fn list(
        &self,
        owner: &Owner,
        after: Option<&Position>,
        limit: Option<usize>,
    ) -> impl Future<Output = Result<Page, IndexError>> + Send;

    /// One of the owner's clients, unless it is missing or being deleted.
    fn get(
        &self,
        owner: &Owner,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<IndexedClient>, IndexError>> + Send;

    /// Marks the owner's client as being deleted (no longer listed nor
    /// got); `None` if there is no such client or it is being deleted.
    fn begin_deletion(
        &self,
        owner: &Owner,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<IndexedClient>, IndexError>> + Send;

    /// Takes the mark back: the deletion did not happen.
    fn cancel_deletion(
        &self,
        client: &IndexedClient,
    ) -> impl Future<Output = Result<(), IndexError>> + Send;

    /// The client is gone: its item goes, the quota is given back, its key
    /// released. Removing a client that is not there succeeds.
    fn remove(&self, client: &IndexedClient)
    -> impl Future<Output = Result<(), IndexError>> + Send;

    /// Records `change` on `client`, as it was read, unless it changed
    /// since (`Busy`: another change began, or a deletion) or another
    /// change is under way: one that began at or after `stale_before` (µs)
    /// and whose request's deadline has not passed
    /// ([`PendingChange::under_way`]). Any other stopped half-way or was
    /// answered: the new change takes it over, aspects and all. The write
    /// is settled by reading when its answer does not tell; not settled by
    /// the deadline: [`IndexError::OutcomeUnknown`].
    fn begin_change(
        &self,
        client: &IndexedClient,
        change: &PendingChange,
        stale_before: u64,
    ) -> impl Future<Output = Result<ChangeBegun, IndexError>> + Send;

    /// Ends the change `change_id`: the client's name, description, status
    /// and scopes (when it has some) become `client`'s, and its `change` what is left of the
    /// change (`None`: Auth0 matches the index again). `false` if the
    /// change is no longer the client's (it was deleted meanwhile, or a
    /// later change took it over).
    fn end_change(
        &self,
        client: &IndexedClient,
        change_id: &str,
    ) -> impl Future<Output = Result<bool, IndexError>> + Send;

    /// Counts one of the owner's Auth0-calling operations at `now`
    /// (seconds since the epoch) in the owner's current window of
    /// [`WRITE_WINDOW_SECONDS`], which opens with the first write after the
    /// last one closed; refused, and nothing written, when the window
    /// already counts `limit` of them (docs/owner-index.md, "Writes per
    /// minute").
    fn count_owner_write(
        &self,
        owner: &Owner,
        now: u64,
        limit: u32,
    ) -> impl Future<Output = Result<WriteCount, IndexError>> + Send;

    /// The key that signs list cursors; made once by a writer (`create`),
    /// `None` until then.
    fn cursor_key(
        &self,
        create: bool,
    ) -> impl Future<Output = Result<Option<SecretString>, IndexError>> + Send;

    // The reconciler's calls.

    /// Creations, deletions and changes begun before `started_before` (µs)
    /// and not over.
    fn stale_operations(
        &self,
        started_before: u64,
    ) -> impl Future<Output = Result<Vec<StaleOperation>, IndexError>> + Send;

    /// Notes that the sweep `generation` saw the client in Auth0; `false`
    /// if the index has no such client.
    fn mark_swept(
        &self,
        owner: &Owner,
        client_id: &str,
        generation: u64,
    ) -> impl Future<Output = Result<bool, IndexError>> + Send;

    /// Records a client that exists only in Auth0 (a backfill), counting it
    /// against its owner's quota but never refusing it. Nothing is written
    /// for a client the index has, nor for one a creation under way made:
    /// named by its id or by `creation_id` (its `client_metadata`'s, the
    /// creation's chosen id), which is all that names it on a tenant
    /// without custom client ids until the creation hears Auth0's id.
    fn import(
        &self,
        client: &IndexedClient,
        creation_id: Option<&str>,
        generation: u64,
    ) -> impl Future<Output = Result<(), IndexError>> + Send;

    /// Clients created before `created_before` that the sweep `generation`
    /// did not see in Auth0 (every owner's: a scan).
    fn unswept(
        &self,
        generation: u64,
        created_before: u64,
    ) -> impl Future<Output = Result<Vec<IndexedClient>, IndexError>> + Send;

    fn sweep_state(&self) -> impl Future<Output = Result<SweepState, IndexError>> + Send;

    /// Takes the sweep's lease for `lease.holder` until `lease.until`,
    /// unless another holder's lease runs beyond now: the sweep's state,
    /// or `None` while another run holds it.
    fn take_sweep_lease(
        &self,
        lease: &SweepLease,
    ) -> impl Future<Output = Result<Option<SweepState>, IndexError>> + Send;

    /// Saves `state` and renews the lease to `lease.until` (0: gives it
    /// up), on condition that `lease.holder` still holds it; `false` if it
    /// no longer does (nothing is written then).
    fn save_sweep_state(
        &self,
        state: &SweepState,
        lease: &SweepLease,
    ) -> impl Future<Output = Result<bool, IndexError>> + Send;

    /// Marks `client`, which the sweep `generation` found gone from Auth0,
    /// as being deleted, on two conditions: the sweep's lease is still
    /// `lease.holder`'s and runs beyond now, and the item was not written
    /// since the sweep began: the item it read (its `created_at`), listed,
    /// created before `generation`, not marked by this sweep or a later
    /// one, no change under way.
    fn begin_sweep_removal(
        &self,
        client: &IndexedClient,
        generation: u64,
        lease: &SweepLease,
    ) -> impl Future<Output = Result<SweepRemoval, IndexError>> + Send;

    // Auth0's log stream's calls (`auth0_log_events`).

    /// The owner of the client `client_id`, if the index has such a client
    /// (found by its id alone: the log stream names no owner). Eventually
    /// consistent: a client listed a moment ago may not be found yet.
    fn owner_of(
        &self,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<Owner>, IndexError>> + Send;

    /// Records that the client got a token at `at` (µs): its `last_used_at`
    /// moves there, only forward. `false` if it did not move (it was there
    /// or later already: a duplicate or an older event), or the index has
    /// no such client.
    fn record_use(
        &self,
        owner: &Owner,
        client_id: &str,
        at: u64,
    ) -> impl Future<Output = Result<bool, IndexError>> + Send;

    /// Every owner's clients, creations and quota counts (a scan): what
    /// the audit compares with Auth0.
    fn census(&self) -> impl Future<Output = Result<TableCensus, IndexError>> + Send;

    /// Where the deployment's shared Management API token is kept, if this
    /// index keeps one (docs/owner-index.md, "The shared management
    /// token"). `None`: each container keeps its own.
    fn token_store(&self) -> Option<std::sync::Arc<dyn TokenStore>> {
        None
    }
}
