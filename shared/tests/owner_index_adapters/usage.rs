//! What Auth0's log stream tells of a client (`auth0_log_events`): its owner
//! found by its id alone, and `last_used_at`, which only moves forward.

use crate::harness::*;

each_adapter!(
    crate::harness::memory, crate::harness::dynamodb =>
    record_use_moves_last_used_at_only_forward,
    record_use_of_a_missing_or_anothers_client_answers_false_and_writes_nothing,
    owner_of_finds_a_client_by_its_id_alone_and_only_a_client,
    a_change_keeps_last_used_at_and_removal_takes_it,
);

/// The client's `last_used_at`, as get shows it.
async fn last_used<I: OwnerIndex>(index: &I, client: &IndexedClient) -> Option<u64> {
    got(index, client).await.expect("the client").last_used_at
}

/// Records that `client` got a token at `at`; whether `last_used_at` moved.
async fn used<I: OwnerIndex>(index: &I, client: &IndexedClient, at: u64) -> bool {
    index
        .record_use(&client.owner, &client.client_id, at)
        .await
        .unwrap()
}

async fn record_use_moves_last_used_at_only_forward<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let client = create(index, &a, "used").await;
    assert_eq!(last_used(index, &client).await, None);
    let (earlier, at, later) = (1_000_000, 2_000_000, 3_000_000);
    assert!(used(index, &client, at).await);
    assert_eq!(last_used(index, &client).await, Some(at));
    // The same event again, and an older one: nothing moves.
    for again in [at, earlier] {
        assert!(!used(index, &client, again).await);
        assert_eq!(last_used(index, &client).await, Some(at), "{again}");
    }
    assert!(used(index, &client, later).await);
    let listed = index.list(&a, None, None).await.unwrap().clients;
    assert_eq!(listed[0].last_used_at, Some(later));
}

async fn record_use_of_a_missing_or_anothers_client_answers_false_and_writes_nothing<F: Fixture>(
    fx: F,
) {
    let index = fx.index();
    let (a, b) = (owner("owner-a"), owner("owner-b"));
    let theirs = create(index, &b, "theirs").await;
    for (who, id) in [(&a, theirs.client_id.as_str()), (&a, "client_missing")] {
        let moved = writes_nothing(&fx, who, &[], async |index| {
            index.record_use(who, id, 5_000_000).await.unwrap()
        })
        .await;
        assert!(!moved, "{id}");
        // No item is made where there was none.
        assert_eq!(index.get(who, id).await.unwrap(), None, "{id}");
    }
    assert_eq!(last_used(index, &theirs).await, None);
}

async fn owner_of_finds_a_client_by_its_id_alone_and_only_a_client<F: Fixture>(fx: F) {
    let index = fx.index();
    let (a, b) = (owner("owner-a"), owner("owner-b"));
    let mine = create(index, &a, "mine").await;
    let theirs = create(index, &b, "theirs").await;
    assert_eq!(
        index.owner_of(&mine.client_id).await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(index.owner_of(&theirs.client_id).await.unwrap(), Some(b));
    assert_eq!(index.owner_of("client_missing").await.unwrap(), None);
    // A creation under way (its idempotency key names its id) is no
    // client yet.
    let pending = keyed(creation(&a, "pending"), "key-1", "hash-1");
    begin(index, &pending).await;
    assert_eq!(index.owner_of(&pending.chosen_id).await.unwrap(), None);
    index
        .finish_creation(&pending, &client_of(&pending))
        .await
        .unwrap();
    assert_eq!(
        index.owner_of(&pending.chosen_id).await.unwrap(),
        Some(a.clone())
    );
    // A client being deleted is still found: its deletion is under way.
    mark_deleting(index, &mine).await;
    assert_eq!(index.owner_of(&mine.client_id).await.unwrap(), Some(a));
}

async fn a_change_keeps_last_used_at_and_removal_takes_it<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let client = create(index, &a, "changed").await;
    assert!(used(index, &client, 7_000_000).await);
    let read = got(index, &client).await.unwrap();
    let change = PendingChange::begin(Aspects::PROFILE);
    let (current, _) = started(index, &read, &change, 0).await;
    assert!(
        index
            .end_change(&ended(&current, "renamed"), &change.id)
            .await
            .unwrap()
    );
    let after = got(index, &client).await.unwrap();
    assert_eq!(
        (after.name.as_str(), after.last_used_at),
        ("renamed", Some(7_000_000))
    );
    // Removed: gone, and found by its id no more.
    let marked = mark_deleting(index, &after).await;
    index.remove(&marked).await.unwrap();
    assert_eq!(fx.quota(&a).await, 0);
    assert_eq!(index.owner_of(&client.client_id).await.unwrap(), None);
    assert!(!used(index, &client, 8_000_000).await);
}
