//! The two fixtures (a fresh `MemoryIndex`; a `DynamoIndex` on a fresh table
//! in the test process's moto), what the cases build and observe with, and
//! the port's types they use.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use m2m_shared::domain::IdempotencyClaim;
// The port's vocabulary, for the cases: each takes the harness whole
// (`use crate::harness::*`).
pub use m2m_shared::domain::{
    Aspects, Begun, ChangeBegun, ClientStatus, Creation, IdempotencyRecord, IndexedClient,
    KeyState, Owner, OwnerIndex, Page, PendingChange, StaleOperation, SweepLease, SweepRemoval,
    SweepState, WRITE_WINDOW_SECONDS, WriteCount, now_micros,
};
use m2m_shared::owner_index::{DynamoIndex, DynamoTokenStore, MemoryIndex, MemoryTokenStore};

/// A quota no case reaches unless it means to.
pub const ROOMY: u32 = 1_000;

/// An index under test, with the two things the port does not show: the
/// quota count, and an idempotency record that expired but is still stored.
pub trait Fixture {
    type Index: OwnerIndex;

    fn index(&self) -> &Self::Index;

    /// The owner's quota count as stored (0 when there is none).
    async fn quota(&self, owner: &Owner) -> u64;

    /// Makes the record of `key` expire, as if its 24 h had passed, and
    /// leaves it stored: DynamoDB's TTL deletes expired items only
    /// eventually (typically within days), so the adapter must treat it as
    /// gone while it is still there.
    async fn expire_key(&self, owner: &Owner, key: &str);
}

pub struct Memory(MemoryIndex);

pub async fn memory() -> Memory {
    Memory(MemoryIndex::new())
}

impl Fixture for Memory {
    type Index = MemoryIndex;

    fn index(&self) -> &MemoryIndex {
        &self.0
    }

    async fn quota(&self, owner: &Owner) -> u64 {
        u64::from(self.0.quota(owner))
    }

    async fn expire_key(&self, owner: &Owner, key: &str) {
        assert!(
            self.0.expire_idempotency_key(owner, key),
            "no record of key {key}"
        );
    }
}

pub struct Dynamo {
    index: DynamoIndex,
    client: aws_sdk_dynamodb::Client,
    table: String,
}

static TABLES: AtomicUsize = AtomicUsize::new(0);

/// A table of its own in the process's one moto server, made as
/// template.yaml declares `ClientsTable`.
async fn fresh_table() -> (aws_sdk_dynamodb::Client, String) {
    let client = test_support::dynamodb::client();
    let table = format!(
        "owner-index-adapters-{}-{}",
        std::process::id(),
        TABLES.fetch_add(1, Ordering::Relaxed)
    );
    test_support::dynamodb::create_clients_table(&client, &table).await;
    (client, table)
}

pub async fn dynamodb() -> Dynamo {
    let (client, table) = fresh_table().await;
    Dynamo {
        index: DynamoIndex::new(client.clone(), &table),
        client,
        table,
    }
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

impl Fixture for Dynamo {
    type Index = DynamoIndex;

    fn index(&self) -> &DynamoIndex {
        &self.index
    }

    async fn quota(&self, owner: &Owner) -> u64 {
        test_support::dynamodb::quota_count(&self.client, &self.table, owner.as_str()).await
    }

    async fn expire_key(&self, owner: &Owner, key: &str) {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("OWNER#{owner}")))
            .key("sk", AttributeValue::S(format!("IDEMPOTENCY#{key}")))
            .update_expression("SET expires_at = :past")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(
                ":past",
                AttributeValue::N((now_seconds() - 60).to_string()),
            )
            .send()
            .await
            .unwrap_or_else(|error| panic!("no record of key {key}: {error:?}"));
    }
}

pub async fn memory_tokens() -> MemoryTokenStore {
    MemoryTokenStore::new()
}

pub async fn dynamodb_tokens() -> DynamoTokenStore {
    let (client, table) = fresh_table().await;
    DynamoTokenStore::new(client, table)
}

pub fn owner(name: &str) -> Owner {
    Owner::parse(name).expect("an owner")
}

static IDS: AtomicUsize = AtomicUsize::new(0);

/// An id no other creation of this process chose.
pub fn fresh_id() -> String {
    format!("client_t{:06}", IDS.fetch_add(1, Ordering::Relaxed))
}

/// A creation of `name` for `owner`, begun now, without a key.
pub fn creation(owner: &Owner, name: &str) -> Creation {
    Creation {
        owner: owner.clone(),
        chosen_id: fresh_id(),
        client_id: None,
        name: name.to_owned(),
        description: format!("{name}, described"),
        started_at: now_micros(),
        idempotency: None,
        scopes: vec!["read:things".into(), "write:things".into()],
    }
}

/// `creation` sent with `Idempotency-Key: key` and a body hashing to `hash`.
pub fn keyed(creation: Creation, key: &str, hash: &str) -> Creation {
    Creation {
        idempotency: Some(IdempotencyClaim {
            key: key.to_owned(),
            request_hash: hash.to_owned(),
        }),
        ..creation
    }
}

/// The client `creation` makes.
pub fn client_of(creation: &Creation) -> IndexedClient {
    IndexedClient {
        client_id: creation.client_id().to_owned(),
        owner: creation.owner.clone(),
        name: creation.name.clone(),
        description: creation.description.clone(),
        created_at: creation.started_at,
        idempotency_key: creation.idempotency.as_ref().map(|claim| claim.key.clone()),
        scopes: Some(creation.scopes.clone()),
        status: ClientStatus::Active,
        credentials: None,
        change: None,
        last_used_at: None,
    }
}

/// The client `id` of `owner` as a backfill finds it in Auth0.
pub fn from_auth0(owner: &Owner, id: &str) -> IndexedClient {
    IndexedClient::imported(
        id.to_owned(),
        owner.clone(),
        "as Auth0 has it".into(),
        "found by a backfill".into(),
    )
}

/// An id Auth0 chose, as it does on tenants without custom client ids.
pub const AUTH0_ID: &str = "AUTH0ASSIGNEDID0123456789abcdef";

/// Begins `creation` within a quota of `max`: how it began.
pub async fn begin_within<I: OwnerIndex>(index: &I, creation: &Creation, max: u32) -> Begun {
    index
        .begin_creation(creation, max)
        .await
        .expect("begin creation")
}

/// Begins `creation` within a quota no case reaches: it must start.
pub async fn begin<I: OwnerIndex>(index: &I, creation: &Creation) {
    assert_eq!(begin_within(index, creation, ROOMY).await, Begun::Started);
}

/// Begins `creation` and records that Auth0 named its client [`AUTH0_ID`]:
/// the creation as recorded now.
pub async fn named_by_auth0<I: OwnerIndex>(index: &I, creation: Creation) -> Creation {
    begin(index, &creation).await;
    let named = Creation {
        client_id: Some(AUTH0_ID.into()),
        ..creation
    };
    index
        .record_client_id(&named)
        .await
        .expect("record client id");
    named
}

/// Begins `creation` and finishes it.
pub async fn finish<I: OwnerIndex>(index: &I, creation: &Creation) -> IndexedClient {
    begin(index, creation).await;
    let client = client_of(creation);
    index
        .finish_creation(creation, &client)
        .await
        .expect("finish");
    client
}

/// A client of `owner` named `name`, created now.
pub async fn create<I: OwnerIndex>(index: &I, owner: &Owner, name: &str) -> IndexedClient {
    finish(index, &creation(owner, name)).await
}

/// Clients of `owner` named `names`, created in this order.
pub async fn create_all<I: OwnerIndex, const N: usize>(
    index: &I,
    owner: &Owner,
    names: [&str; N],
) -> [IndexedClient; N] {
    let mut clients = Vec::with_capacity(N);
    for name in names {
        clients.push(create(index, owner, name).await);
    }
    clients.try_into().expect("one client a name")
}

/// `client` named `name`, its change over: what an end of its change
/// writes.
pub fn ended(client: &IndexedClient, name: &str) -> IndexedClient {
    IndexedClient {
        name: name.to_owned(),
        change: None,
        ..client.clone()
    }
}

/// What begin_deletion answers for `client`, by its owner and id.
pub async fn begin_deletion<I: OwnerIndex>(
    index: &I,
    client: &IndexedClient,
) -> Option<IndexedClient> {
    index
        .begin_deletion(&client.owner, &client.client_id)
        .await
        .expect("begin deletion")
}

/// Marks `client` as being deleted, which it must not be yet; the client
/// as `begin_deletion` answers it.
pub async fn mark_deleting<I: OwnerIndex>(index: &I, client: &IndexedClient) -> IndexedClient {
    begin_deletion(index, client)
        .await
        .expect("a client to mark")
}

/// The record of `key` as the index answers it now.
pub async fn record<I: OwnerIndex>(
    index: &I,
    owner: &Owner,
    key: &str,
) -> Option<IdempotencyRecord> {
    index.idempotency(owner, key).await.expect("idempotency")
}

/// The client as get answers it now, by its owner and id.
pub async fn got<I: OwnerIndex>(index: &I, client: &IndexedClient) -> Option<IndexedClient> {
    index
        .get(&client.owner, &client.client_id)
        .await
        .expect("get")
}

/// Marks `client` as seen in Auth0 by the sweep `generation`; whether the
/// index has it.
pub async fn swept<I: OwnerIndex>(index: &I, client: &IndexedClient, generation: u64) -> bool {
    index
        .mark_swept(&client.owner, &client.client_id, generation)
        .await
        .expect("mark swept")
}

/// Begins `change` on `client` as read, which must start: the client as it
/// is now, and the change it took over.
pub async fn started<I: OwnerIndex>(
    index: &I,
    client: &IndexedClient,
    change: &PendingChange,
    stale_before: u64,
) -> (IndexedClient, Option<PendingChange>) {
    let begun = index.begin_change(client, change, stale_before).await;
    match begun.expect("begin change") {
        ChangeBegun::Started { client, taken_over } => (client, taken_over),
        other => panic!("the change did not start: {other:?}"),
    }
}

/// What `call` answers, once it is seen to have left all that [`observe`]
/// shows of `owner` and its `keys` as it was.
pub async fn writes_nothing<F: Fixture, T>(
    fixture: &F,
    owner: &Owner,
    keys: &[&str],
    call: impl AsyncFnOnce(&F::Index) -> T,
) -> T {
    let before = observe(fixture, owner, keys).await;
    let answer = call(fixture.index()).await;
    assert_eq!(
        observe(fixture, owner, keys).await,
        before,
        "the call wrote something"
    );
    answer
}

/// Everything the port shows of `owner` and its `keys`, and of every owner's
/// operations and clients: what a call that must write nothing leaves equal.
#[derive(Debug, PartialEq)]
pub struct Observed {
    listed: Vec<IndexedClient>,
    /// Every owner's clients that are not being deleted.
    clients: Vec<IndexedClient>,
    /// Every operation under way (as text, sorted: the port promises no order).
    operations: Vec<String>,
    quota: u64,
    keys: Vec<Option<IdempotencyRecord>>,
}

pub async fn observe<F: Fixture>(fixture: &F, owner: &Owner, keys: &[&str]) -> Observed {
    let index = fixture.index();
    let mut clients = index.unswept(0, u64::MAX).await.expect("unswept");
    clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    let mut keys_seen = Vec::new();
    for key in keys {
        keys_seen.push(record(index, owner, key).await);
    }
    Observed {
        listed: index.list(owner, None, None).await.expect("list").clients,
        clients,
        operations: operations(index, u64::MAX).await,
        quota: fixture.quota(owner).await,
        keys: keys_seen,
    }
}

/// The operations begun before `bound`, as text, sorted.
pub async fn operations<I: OwnerIndex>(index: &I, bound: u64) -> Vec<String> {
    let mut operations: Vec<String> = index
        .stale_operations(bound)
        .await
        .expect("stale operations")
        .iter()
        .map(|operation| format!("{operation:?}"))
        .collect();
    operations.sort();
    operations
}

/// The ids of what `stale_operations(bound)` answers, by kind.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Stale {
    pub creations: Vec<String>,
    pub deletions: Vec<String>,
    pub changes: Vec<String>,
}

pub async fn stale<I: OwnerIndex>(index: &I, bound: u64) -> Stale {
    let mut stale = Stale::default();
    for operation in index.stale_operations(bound).await.expect("stale") {
        match operation {
            StaleOperation::Creation(creation) => stale.creations.push(creation.chosen_id),
            StaleOperation::Deletion(client) => stale.deletions.push(client.client_id),
            StaleOperation::Change(client) => stale.changes.push(client.client_id),
        }
    }
    stale.creations.sort();
    stale.deletions.sort();
    stale.changes.sort();
    stale
}

/// The ids of the owner's clients as list answers them, all at once.
pub async fn listed<I: OwnerIndex>(index: &I, owner: &Owner) -> Vec<String> {
    ids(&index.list(owner, None, None).await.expect("list").clients)
}

pub fn ids(clients: &[IndexedClient]) -> Vec<String> {
    clients.iter().map(|c| c.client_id.clone()).collect()
}
