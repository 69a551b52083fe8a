//! The sweep's item (where it stands, and the lease that makes it one at a
//! time), its removals of items whose client Auth0 lost, and the audit's
//! census of every owner.

use crate::harness::*;

each_adapter!(
    crate::harness::memory, crate::harness::dynamodb =>
    sweep_state_is_empty_until_saved_and_saved_whole,
    the_sweep_lease_is_one_holders_until_it_lapses_or_is_given_up,
    only_the_lease_holder_saves_the_sweep_state,
    a_sweep_removal_marks_an_unwritten_item_as_being_deleted,
    a_sweep_removal_keeps_an_item_written_since_the_sweep_began,
    a_sweep_removal_needs_the_lease,
    the_census_holds_every_owners_clients_creations_and_quotas,
);

/// A lease of `holder` for a minute.
fn lease(holder: &str) -> SweepLease {
    SweepLease {
        holder: holder.to_owned(),
        until: now_micros() + 60_000_000,
    }
}

/// Takes the lease for `holder`, which must be free.
async fn hold<I: OwnerIndex>(index: &I, holder: &str) -> SweepLease {
    let lease = lease(holder);
    assert!(
        index.take_sweep_lease(&lease).await.unwrap().is_some(),
        "the lease is held"
    );
    lease
}

async fn sweep_state_is_empty_until_saved_and_saved_whole<F: Fixture>(fx: F) {
    let index = fx.index();
    assert_eq!(index.sweep_state().await.unwrap(), SweepState::default());
    let holder = hold(index, "run-1").await;
    let under_way = SweepState {
        generation: Some(now_micros()),
        from: Some("checkpoint-after-page-3".into()),
        backfill: true,
        listed: true,
        finished_at: Some(1_000),
    };
    assert!(index.save_sweep_state(&under_way, &holder).await.unwrap());
    assert_eq!(index.sweep_state().await.unwrap(), under_way);
    // Saved whole: what the new state lacks is gone, not kept.
    let finished = SweepState {
        finished_at: Some(2_000),
        ..SweepState::default()
    };
    assert!(index.save_sweep_state(&finished, &holder).await.unwrap());
    assert_eq!(index.sweep_state().await.unwrap(), finished);
}

async fn the_sweep_lease_is_one_holders_until_it_lapses_or_is_given_up<F: Fixture>(fx: F) {
    let index = fx.index();
    let first = hold(index, "run-1").await;
    // Another run finds it held.
    assert_eq!(index.take_sweep_lease(&lease("run-2")).await.unwrap(), None);
    // Its holder takes it again (a retry, a renewal).
    assert!(index.take_sweep_lease(&first).await.unwrap().is_some());
    let saved = SweepState {
        generation: Some(7),
        from: Some("page-2".into()),
        ..SweepState::default()
    };
    let given_up = SweepLease { until: 0, ..first };
    assert!(index.save_sweep_state(&saved, &given_up).await.unwrap());
    // Given up: the next run takes it, and the sweep where it stands. Its
    // lease is short: that run stops without renewing it.
    let short = SweepLease {
        holder: "run-2".into(),
        until: now_micros() + 100_000,
    };
    assert_eq!(
        index.take_sweep_lease(&short).await.unwrap(),
        Some(saved.clone())
    );
    assert_eq!(index.take_sweep_lease(&lease("run-3")).await.unwrap(), None);
    // Lapsed: the next run takes it over.
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert_eq!(
        index.take_sweep_lease(&lease("run-3")).await.unwrap(),
        Some(saved)
    );
    assert!(
        !index
            .save_sweep_state(&SweepState::default(), &short)
            .await
            .unwrap()
    );
}

async fn only_the_lease_holder_saves_the_sweep_state<F: Fixture>(fx: F) {
    let index = fx.index();
    let state = SweepState {
        generation: Some(7),
        ..SweepState::default()
    };
    let saves = async |holder| {
        index
            .save_sweep_state(&state, &lease(holder))
            .await
            .unwrap()
    };
    // Nobody holds it yet: nobody saves.
    assert!(!saves("run-1").await);
    assert_eq!(index.sweep_state().await.unwrap(), SweepState::default());
    hold(index, "run-1").await;
    assert!(!saves("run-2").await);
    assert_eq!(index.sweep_state().await.unwrap(), SweepState::default());
    assert!(saves("run-1").await);
    assert_eq!(index.sweep_state().await.unwrap(), state);
}

async fn a_sweep_removal_marks_an_unwritten_item_as_being_deleted<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let unseen = create(index, &a, "unseen").await;
    let seen_before = create(index, &a, "seen by an earlier sweep").await;
    assert!(swept(index, &seen_before, 1).await);
    let holder = hold(index, "run-1").await;
    let generation = now_micros();
    for client in [&unseen, &seen_before] {
        let removal = index
            .begin_sweep_removal(client, generation, &holder)
            .await
            .unwrap();
        assert_eq!(removal, SweepRemoval::Marked(client.clone()));
        // Hidden at once, found by the repairs if the run stops now, and
        // still counted until it is removed.
        assert_eq!(got(index, client).await, None);
    }
    let mut found = ids(&index
        .stale_operations(u64::MAX)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|operation| match operation {
            StaleOperation::Deletion(client) => Some(client),
            _ => None,
        })
        .collect::<Vec<_>>());
    found.sort();
    let mut expected = vec![unseen.client_id.clone(), seen_before.client_id.clone()];
    expected.sort();
    assert_eq!(found, expected);
    assert_eq!(fx.quota(&a).await, 2);
    index.remove(&unseen).await.unwrap();
    assert_eq!(fx.quota(&a).await, 1);
}

async fn a_sweep_removal_keeps_an_item_written_since_the_sweep_began<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let [seen, seen_later, changing, deleted] = create_all(
        index,
        &a,
        [
            "seen by this sweep",
            "seen by a later sweep",
            "being changed",
            "being deleted",
        ],
    )
    .await;
    let generation = now_micros();
    let young = create(index, &a, "created after the sweep began").await;
    assert!(swept(index, &seen, generation).await);
    assert!(swept(index, &seen_later, generation + 1).await);
    let change = PendingChange::begin(Aspects::PROFILE);
    started(index, &changing, &change, 0).await;
    mark_deleting(index, &deleted).await;
    // Read before it was replaced: another client of the same id.
    let replaced = IndexedClient {
        created_at: seen.created_at - 1,
        ..seen.clone()
    };
    let missing = IndexedClient {
        client_id: "client_never_there".into(),
        ..seen.clone()
    };
    let holder = hold(index, "run-1").await;
    for client in [
        &seen,
        &seen_later,
        &changing,
        &deleted,
        &young,
        &replaced,
        &missing,
    ] {
        let removal = writes_nothing(&fx, &a, &[], async |index| {
            index
                .begin_sweep_removal(client, generation, &holder)
                .await
                .unwrap()
        })
        .await;
        assert_eq!(removal, SweepRemoval::Kept, "{}", client.name);
    }
}

async fn a_sweep_removal_needs_the_lease<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let unseen = create(index, &a, "unseen").await;
    let generation = now_micros();
    let refused = async |lease: &SweepLease| {
        let removal = writes_nothing(&fx, &a, &[], async |index| {
            index
                .begin_sweep_removal(&unseen, generation, lease)
                .await
                .unwrap()
        })
        .await;
        assert_eq!(removal, SweepRemoval::LeaseLost, "{lease:?}");
    };
    // Nobody holds it.
    refused(&lease("run-1")).await;
    // Another run does.
    hold(index, "run-2").await;
    refused(&lease("run-1")).await;
    // This run gave it up.
    let given_up = SweepLease {
        until: 0,
        ..lease("run-2")
    };
    assert!(
        index
            .save_sweep_state(&SweepState::default(), &given_up)
            .await
            .unwrap()
    );
    refused(&given_up).await;
}

async fn the_census_holds_every_owners_clients_creations_and_quotas<F: Fixture>(fx: F) {
    let index = fx.index();
    let (a, b) = (owner("owner-a"), owner("owner-b"));
    assert_eq!(index.census().await.unwrap(), Default::default());
    let listed = create(index, &a, "listed").await;
    let theirs = create(index, &b, "theirs").await;
    let deleted = create(index, &a, "being deleted").await;
    let marked = mark_deleting(index, &deleted).await;
    let under_way = creation(&b, "under way");
    begin(index, &under_way).await;
    index.cursor_key(true).await.unwrap();
    let mut census = index.census().await.unwrap();
    census.clients.sort_by(|x, y| x.client_id.cmp(&y.client_id));
    census.quotas.sort_by(|x, y| x.0.as_str().cmp(y.0.as_str()));
    let mut clients = vec![listed, theirs];
    clients.sort_by(|x, y| x.client_id.cmp(&y.client_id));
    assert_eq!(census.clients, clients);
    assert_eq!(census.deleting, vec![marked]);
    assert_eq!(census.creations, vec![under_way]);
    assert_eq!(census.quotas, vec![(a, 2), (b, 2)]);
}
