//! A key client's credentials at the end of a change (docs/owner-index.md,
//! "Changes": the credentials aspect): written with the change's other
//! values, and part of what tells the DynamoDB adapter, when it settles an
//! end whose answer it did not get, that the item holds its own write.

use m2m_shared::domain::{
    Aspects, ChangeBegun, Credential, IndexedClient, OwnerIndex, PendingChange,
};
use m2m_shared::owner_index::DynamoIndex;
use test_support::dynamodb_proxy::{DynamoProxy, Fault, Operation};

use crate::harness::{Fixture, create, owner, writes_nothing};

each_adapter!(
    crate::harness::memory, crate::harness::dynamodb =>
    an_end_asking_for_other_credentials_after_its_change_ended_writes_nothing,
);

/// A credential as the index records one (Auth0's `cred_…` id, the key's
/// thumbprint).
fn key(n: u8) -> Credential {
    Credential {
        credential_id: format!("cred_{n:022}"),
        alg: "RS256".into(),
        thumbprint_sha256: format!("thumbprint-{n}"),
        created_at: "2026-12-07T03:00:00.000Z".into(),
        expires_at: n.is_multiple_of(2).then(|| "2031-01-01T00:00:00Z".into()),
    }
}

/// A key client with a change of its credentials under way: the client as
/// the change found it, and the change.
async fn changing_keys<I: OwnerIndex>(index: &I, name: &str) -> (IndexedClient, PendingChange) {
    let client = create(index, &owner("owner-k"), name).await;
    let change = PendingChange::begin(Aspects::CREDENTIALS);
    match index.begin_change(&client, &change, 0).await.unwrap() {
        ChangeBegun::Started { client, .. } => (client, change),
        other => panic!("the change did not start: {other:?}"),
    }
}

/// The end's values differ from an earlier end of the same change only in
/// the credentials: the adapter must not take the item, which carries the
/// change's mark, for its own write (it answers false: the change was no
/// longer the client's).
async fn an_end_asking_for_other_credentials_after_its_change_ended_writes_nothing<F: Fixture>(
    fx: F,
) {
    let index = fx.index();
    let (current, change) = changing_keys(index, "rotating").await;
    let both = IndexedClient {
        credentials: Some(vec![key(1), key(2)]),
        change: None,
        ..current.clone()
    };
    assert!(index.end_change(&both, &change.id).await.unwrap());
    let stored = index.get(&both.owner, &both.client_id).await.unwrap();
    assert_eq!(stored.as_ref(), Some(&both));
    let only_second = IndexedClient {
        credentials: Some(vec![key(2)]),
        ..both.clone()
    };
    let ended = writes_nothing(&fx, &both.owner, &[], async |index| {
        index.end_change(&only_second, &change.id).await.unwrap()
    })
    .await;
    assert!(
        !ended,
        "an end with other credentials was taken for the first"
    );
}

/// DynamoDB applies the end and its answer is lost: the adapter reads the
/// item back, finds its mark and the credentials it wrote, and answers
/// that it ended the change (not an unknown outcome).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_clients_end_whose_answer_is_lost_is_found_with_its_credentials() {
    let proxy = DynamoProxy::start(test_support::moto::url()).await;
    let direct = test_support::dynamodb::client();
    let table = format!("owner-index-keys-{}", std::process::id());
    test_support::dynamodb::create_clients_table(&direct, &table).await;
    let index = DynamoIndex::new(test_support::dynamodb::client_at(proxy.url()), &table);
    let (current, change) = changing_keys(&index, "answer lost").await;
    let rotated = IndexedClient {
        credentials: Some(vec![key(2), key(3)]),
        change: None,
        ..current
    };
    proxy.inject_when(
        Operation::UpdateItem,
        |request| request.mentions("credentials"),
        Fault::LoseAnswer,
    );
    let ended = index.end_change(&rotated, &change.id).await;
    proxy.settled().await;
    assert_eq!(proxy.queued_faults(), 0, "the end's answer was not lost");
    assert!(ended.unwrap(), "the end was applied, but not found so");
    assert_eq!(
        index.get(&rotated.owner, &rotated.client_id).await.unwrap(),
        Some(rotated)
    );
}
