//! Deletions: the mark that hides a client, taking it back, and removal
//! with what it gives back.

use crate::harness::*;

each_adapter!(
    crate::harness::memory, crate::harness::dynamodb =>
    begin_deletion_hides_the_client_and_keeps_it_counted,
    begin_deletion_of_a_client_being_deleted_answers_none,
    begin_deletion_of_a_missing_or_anothers_client_answers_none_and_writes_nothing,
    cancel_deletion_lists_the_client_again_in_its_place,
    cancel_deletion_of_a_client_not_being_deleted_writes_nothing,
    remove_gives_back_quota_and_key,
    remove_of_a_missing_client_succeeds_and_writes_nothing,
    remove_twice_gives_back_once,
    remove_ends_a_deletion,
);

async fn begin_deletion_hides_the_client_and_keeps_it_counted<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let kept = create(index, &a, "kept").await;
    let deleted = create(index, &a, "deleted").await;
    let marked = begin_deletion(index, &deleted).await;
    assert_eq!(marked, Some(deleted.clone()));
    assert_eq!(got(index, &deleted).await, None);
    assert_eq!(listed(index, &a).await, vec![kept.client_id]);
    // Counted until it is removed; found by the reconciler if it stops.
    assert_eq!(fx.quota(&a).await, 2);
    assert_eq!(
        stale(index, u64::MAX).await.deletions,
        vec![deleted.client_id]
    );
}

async fn begin_deletion_of_a_client_being_deleted_answers_none<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let client = create(index, &a, "twice").await;
    mark_deleting(index, &client).await;
    let again = writes_nothing(&fx, &a, &[], async |index| {
        begin_deletion(index, &client).await
    })
    .await;
    assert_eq!(again, None);
}

async fn begin_deletion_of_a_missing_or_anothers_client_answers_none_and_writes_nothing<
    F: Fixture,
>(
    fx: F,
) {
    let index = fx.index();
    let (a, b) = (owner("owner-a"), owner("owner-b"));
    let theirs = create(index, &b, "theirs").await;
    let under_way = creation(&a, "under way");
    begin(index, &under_way).await;
    // Nothing of either owner: `observe` sees every owner's clients.
    for id in [
        "client_nosuchclient",
        &theirs.client_id,
        &under_way.chosen_id,
    ] {
        let marked = writes_nothing(&fx, &a, &[], async |index| {
            index.begin_deletion(&a, id).await.unwrap()
        })
        .await;
        assert_eq!(marked, None, "{id}");
    }
}

async fn cancel_deletion_lists_the_client_again_in_its_place<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let [first, second, third] = create_all(index, &a, ["first", "second", "third"]).await;
    let marked = mark_deleting(index, &second).await;
    index.cancel_deletion(&marked).await.unwrap();
    assert_eq!(
        listed(index, &a).await,
        vec![first.client_id, second.client_id.clone(), third.client_id]
    );
    assert_eq!(got(index, &second).await, Some(second.clone()));
    assert_eq!(stale(index, u64::MAX).await, Default::default());
    // Deletable again.
    assert_eq!(begin_deletion(index, &second).await, Some(second));
}

async fn cancel_deletion_of_a_client_not_being_deleted_writes_nothing<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let client = create(index, &a, "as it was").await;
    let cancel = async |client: &IndexedClient| {
        writes_nothing(&fx, &a, &[], async |index| {
            index.cancel_deletion(client).await.unwrap()
        })
        .await
    };
    cancel(&client).await;
    // Nor does it bring back a client removed meanwhile (the reconciler
    // finished the deletion).
    let marked = mark_deleting(index, &client).await;
    index.remove(&marked).await.unwrap();
    cancel(&marked).await;
    assert_eq!(got(index, &client).await, None);
}

async fn remove_gives_back_quota_and_key<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let created = keyed(creation(&a, "removed"), "key-1", "hash-1");
    let client = finish(index, &created).await;
    index.remove(&client).await.unwrap();
    assert_eq!(got(index, &client).await, None);
    assert_eq!(listed(index, &a).await, Vec::<String>::new());
    assert_eq!(fx.quota(&a).await, 0);
    assert_eq!(record(index, &a, "key-1").await, None);
    // The key runs anew, and the quota has room again.
    assert_eq!(begin_within(index, &created, 1).await, Begun::Started);
}

async fn remove_of_a_missing_client_succeeds_and_writes_nothing<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let kept = finish(index, &keyed(creation(&a, "kept"), "key-1", "hash-1")).await;
    // Never created, under the same key as the client that is there.
    let never = client_of(&keyed(creation(&a, "never"), "key-1", "hash-1"));
    writes_nothing(&fx, &a, &["key-1"], async |index| {
        index.remove(&never).await.unwrap()
    })
    .await;
    assert_eq!(got(index, &kept).await, Some(kept));
}

async fn remove_twice_gives_back_once<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    create(index, &a, "kept").await;
    let removed = create(index, &a, "removed").await;
    index.remove(&removed).await.unwrap();
    writes_nothing(&fx, &a, &[], async |index| {
        index.remove(&removed).await.unwrap()
    })
    .await;
    assert_eq!(fx.quota(&a).await, 1);
}

async fn remove_ends_a_deletion<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let client = finish(index, &keyed(creation(&a, "deleted"), "key-1", "hash-1")).await;
    let marked = mark_deleting(index, &client).await;
    index.remove(&marked).await.unwrap();
    assert_eq!(stale(index, u64::MAX).await, Default::default());
    assert_eq!(fx.quota(&a).await, 0);
    assert_eq!(record(index, &a, "key-1").await, None);
    assert_eq!(begin_deletion(index, &client).await, None);
}
