//! The reconciler's calls: the operations that went stale, the sweep's
//! marks, imports and what it did not see (where it stands, its lease and
//! its removals are in `sweep.rs`), and the key that signs list cursors.

use crate::harness::*;

each_adapter!(
    crate::harness::memory, crate::harness::dynamodb =>
    stale_operations_are_creations_begun_before_the_bound,
    stale_operations_are_deletions_begun_before_the_bound,
    stale_operations_are_changes_begun_before_the_bound,
    stale_operations_answer_what_was_recorded,
    stale_operations_come_oldest_first,
    unswept_are_the_clients_created_before_the_bound_that_the_sweep_did_not_mark,
    mark_swept_of_a_missing_client_answers_false_and_writes_nothing,
    import_lists_and_counts_a_client_past_the_quota,
    import_of_a_client_indexed_or_being_created_writes_nothing,
    the_cursor_key_is_made_once_by_a_writer,
);

/// A creation of `name` for `owner` that began at `started_at` (µs).
fn creation_at(owner: &Owner, name: &str, started_at: u64) -> Creation {
    Creation {
        started_at,
        ..creation(owner, name)
    }
}

async fn stale_operations_are_creations_begun_before_the_bound<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let now = now_micros();
    let older = creation_at(&a, "older", now - 2_000);
    let newer = creation_at(&a, "newer", now - 1_000);
    for begun in [&older, &newer] {
        begin(index, begun).await;
    }
    // Finished creations are over.
    create(index, &a, "finished").await;
    assert_eq!(stale(index, older.started_at).await, Default::default());
    assert_eq!(
        stale(index, newer.started_at).await.creations,
        vec![older.chosen_id.clone()]
    );
    let mut both = vec![older.chosen_id.clone(), newer.chosen_id.clone()];
    both.sort();
    assert_eq!(stale(index, newer.started_at + 1).await.creations, both);
    let all = stale(index, u64::MAX).await;
    assert_eq!(
        (all.creations, all.deletions, all.changes),
        (both, vec![], vec![])
    );
}

async fn stale_operations_are_deletions_begun_before_the_bound<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let deleted = create(index, &a, "deleted").await;
    let taken_back = create(index, &a, "taken back").await;
    let before = now_micros();
    mark_deleting(index, &deleted).await;
    let marked = mark_deleting(index, &taken_back).await;
    index.cancel_deletion(&marked).await.unwrap();
    let after = now_micros();
    // Begun after the bound (the clients were created before it): not yet.
    assert_eq!(stale(index, before).await, Default::default());
    assert_eq!(stale(index, after).await.deletions, vec![deleted.client_id]);
}

async fn stale_operations_are_changes_begun_before_the_bound<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let changed = create(index, &a, "changed").await;
    let ended = create(index, &a, "ended").await;
    let change = PendingChange::begin(Aspects::PROFILE);
    let (client, _) = started(index, &changed, &change, 0).await;
    let over = PendingChange::begin(Aspects::ACCESS);
    let (done, _) = started(index, &ended, &over, 0).await;
    let done = IndexedClient {
        change: None,
        ..done
    };
    assert!(index.end_change(&done, &over.id).await.unwrap());
    assert_eq!(stale(index, change.started_at).await, Default::default());
    assert_eq!(
        index.stale_operations(change.started_at + 1).await.unwrap(),
        vec![StaleOperation::Change(client)]
    );
}

async fn stale_operations_answer_what_was_recorded<F: Fixture>(fx: F) {
    // The reconciler undoes from these alone: the key to release, the
    // Auth0 id to delete, the client to finish deleting.
    let index = fx.index();
    let a = owner("owner-a");
    let begun = named_by_auth0(index, keyed(creation(&a, "stopped"), "key-1", "hash-1")).await;
    let client = create(index, &a, "being deleted").await;
    let marked = mark_deleting(index, &client).await;
    let mut found = index.stale_operations(u64::MAX).await.unwrap();
    found.sort_by_key(|operation| matches!(operation, StaleOperation::Deletion(_)));
    assert_eq!(
        found,
        vec![
            StaleOperation::Creation(begun),
            StaleOperation::Deletion(marked)
        ]
    );
}

async fn stale_operations_come_oldest_first<F: Fixture>(fx: F) {
    // As the `repairs` index sorts them: a run that runs out of time has
    // repaired the oldest.
    let index = fx.index();
    let a = owner("owner-a");
    let start = now_micros();
    let changed = create(index, &a, "changed").await;
    let deleted = create(index, &a, "deleted").await;
    mark_deleting(index, &deleted).await;
    let creation_begun = creation_at(&a, "older", start - 2_000_000);
    begin(index, &creation_begun).await;
    let change = PendingChange {
        started_at: start - 4_000_000,
        ..PendingChange::begin(Aspects::PROFILE)
    };
    started(index, &changed, &change, 0).await;
    let order: Vec<String> = index
        .stale_operations(u64::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|operation| match operation {
            StaleOperation::Creation(creation) => creation.chosen_id,
            StaleOperation::Deletion(client) | StaleOperation::Change(client) => client.client_id,
        })
        .collect();
    assert_eq!(
        order,
        vec![
            changed.client_id,
            creation_begun.chosen_id,
            deleted.client_id
        ]
    );
}

async fn unswept_are_the_clients_created_before_the_bound_that_the_sweep_did_not_mark<
    F: Fixture,
>(
    fx: F,
) {
    let index = fx.index();
    let (a, b) = (owner("owner-a"), owner("owner-b"));
    let [seen, unseen] = create_all(index, &a, ["seen", "unseen"]).await;
    let theirs_unseen = create(index, &b, "theirs, unseen").await;
    let seen_before = create(index, &b, "seen by an earlier sweep").await;
    let deleted = create(index, &a, "being deleted").await;
    let young = create(index, &a, "created during the sweep").await;
    let under_way = creation(&a, "under way");
    begin(index, &under_way).await;
    mark_deleting(index, &deleted).await;
    assert!(swept(index, &seen_before, 1).await);
    assert!(swept(index, &seen, 2).await);
    // Marking a client being deleted is no error (the sweep saw it).
    assert!(swept(index, &deleted, 2).await);
    let mut found = ids(&index.unswept(2, young.created_at).await.unwrap());
    found.sort();
    let mut expected = vec![
        unseen.client_id.clone(),
        theirs_unseen.client_id,
        seen_before.client_id,
    ];
    expected.sort();
    assert_eq!(found, expected);
    // Marks do not change what is listed.
    assert_eq!(
        listed(index, &a).await,
        vec![seen.client_id, unseen.client_id, young.client_id]
    );
}

async fn mark_swept_of_a_missing_client_answers_false_and_writes_nothing<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let under_way = creation(&a, "under way");
    begin(index, &under_way).await;
    for id in [fresh_id(), under_way.chosen_id.clone()] {
        let marked = writes_nothing(&fx, &a, &[], async |index| {
            index.mark_swept(&a, &id, 1).await.unwrap()
        })
        .await;
        assert!(!marked, "{id}");
        assert_eq!(index.get(&a, &id).await.unwrap(), None);
    }
}

async fn import_lists_and_counts_a_client_past_the_quota<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let created = create(index, &a, "created").await;
    let imported = from_auth0(&a, "AUTH0ONLYCLIENT0123456789abcdef");
    // The owner is at its quota of 1: the client exists anyway.
    index.import(&imported, None, 7).await.unwrap();
    assert_eq!(fx.quota(&a).await, 2);
    assert_eq!(
        listed(index, &a).await,
        vec![created.client_id, imported.client_id.clone()]
    );
    assert_eq!(got(index, &imported).await, Some(imported.clone()));
    // Seen by the sweep that imported it.
    assert_eq!(index.unswept(7, u64::MAX).await.unwrap().len(), 1);
    let third = creation(&a, "third");
    assert_eq!(begin_within(index, &third, 2).await, Begun::LimitReached);
}

async fn import_of_a_client_indexed_or_being_created_writes_nothing<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let indexed = create(index, &a, "indexed").await;
    let deleted = create(index, &a, "being deleted").await;
    mark_deleting(index, &deleted).await;
    let under_way = creation(&a, "under way");
    begin(index, &under_way).await;
    for id in [&indexed.client_id, &deleted.client_id, &under_way.chosen_id] {
        writes_nothing(&fx, &a, &[], async |index| {
            index.import(&from_auth0(&a, id), None, 7).await.unwrap()
        })
        .await;
    }
    // On a tenant without custom client ids, Auth0 named the client the
    // creation under way made, which has not heard that id yet: only its
    // `creation_id` (the creation's chosen id) names it.
    writes_nothing(&fx, &a, &[], async |index| {
        let named_by_auth0 = from_auth0(&a, "AUTH0NAMEDCLIENT0123456789abcdef");
        let creation_id = Some(under_way.chosen_id.as_str());
        index.import(&named_by_auth0, creation_id, 7).await.unwrap()
    })
    .await;
}

async fn the_cursor_key_is_made_once_by_a_writer<F: Fixture>(fx: F) {
    let index = fx.index();
    // Readers (list) never make it.
    assert_eq!(index.cursor_key(false).await.unwrap(), None);
    assert_eq!(index.cursor_key(false).await.unwrap(), None);
    let made = index.cursor_key(true).await.unwrap().expect("a key");
    assert!(!made.expose().is_empty());
    assert_eq!(index.cursor_key(true).await.unwrap(), Some(made.clone()));
    assert_eq!(index.cursor_key(false).await.unwrap(), Some(made));
}
