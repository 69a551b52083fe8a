//! Changes (update, disable, enable): recorded on the client before Auth0
//! is asked, refused while another is under way, taken over once stale, and
//! ended only by the change itself.

use crate::harness::*;

each_adapter!(
    crate::harness::memory, crate::harness::dynamodb =>
    begin_change_records_the_change_on_the_client,
    a_change_begun_while_a_fresh_one_is_under_way_is_busy,
    a_change_whose_request_is_over_is_taken_over_at_once,
    a_change_of_a_client_read_before_another_began_is_busy,
    a_stale_change_is_taken_over_with_its_aspects,
    begin_change_of_a_client_being_deleted_is_busy_and_writes_nothing,
    begin_change_of_a_missing_client_is_busy_and_writes_nothing,
    end_change_writes_the_values_and_ends_the_change,
    end_change_with_a_change_no_longer_the_clients_writes_nothing,
    end_change_of_a_client_being_deleted_writes_nothing,
    end_change_of_a_removed_client_writes_nothing,
    end_change_leaves_what_a_taken_over_change_did_not_set_stale,
    cancel_deletion_keeps_a_change_stale_from_when_it_began,
);

/// Ten minutes: older than any request, so stale.
const LONG_AGO: u64 = 10 * 60 * 1_000_000;

/// Begins a change of `aspects` on `client` as read, as if it had begun
/// long ago and stopped half-way: the client as it is now, and the change.
async fn stopped_on<I: OwnerIndex>(
    index: &I,
    client: &IndexedClient,
    aspects: Aspects,
) -> (IndexedClient, PendingChange) {
    let stopped = PendingChange {
        started_at: now_micros() - LONG_AGO,
        ..PendingChange::begin(aspects)
    };
    (begun(index, client, &stopped).await, stopped)
}

/// A client of `owner` named `name`, with a change of `aspects` begun on it
/// now: the client as it is now, and the change.
async fn changing<I: OwnerIndex>(
    index: &I,
    owner: &Owner,
    name: &str,
    aspects: Aspects,
) -> (IndexedClient, PendingChange) {
    let client = create(index, owner, name).await;
    let change = PendingChange::begin(aspects);
    (begun(index, &client, &change).await, change)
}

/// Begins `change` on `client` as read, with no change stale, which must
/// start; the client as it is now.
async fn begun<I: OwnerIndex>(
    index: &I,
    client: &IndexedClient,
    change: &PendingChange,
) -> IndexedClient {
    started(index, client, change, 0).await.0
}

/// Begins `change` on `client` as read, which must be refused as busy,
/// writing nothing.
async fn busy<F: Fixture>(
    fx: &F,
    client: &IndexedClient,
    change: &PendingChange,
    stale_before: u64,
) {
    let answer = writes_nothing(fx, &client.owner, &[], async |index| {
        index
            .begin_change(client, change, stale_before)
            .await
            .unwrap()
    })
    .await;
    assert_eq!(answer, ChangeBegun::Busy);
}

/// Ends the change `change_id` with `client`'s values, which must be
/// refused (it is no longer the client's), writing nothing.
async fn not_ended<F: Fixture>(fx: &F, client: &IndexedClient, change_id: &str) {
    let ended = writes_nothing(fx, &client.owner, &[], async |index| {
        index.end_change(client, change_id).await.unwrap()
    })
    .await;
    assert!(
        !ended,
        "the change {change_id} ended, but it was not the client's"
    );
}

async fn begin_change_records_the_change_on_the_client<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let client = create(index, &a, "changed").await;
    let change = PendingChange::begin(Aspects::PROFILE);
    let begun = index.begin_change(&client, &change, 0).await.unwrap();
    let recorded = IndexedClient {
        change: Some(change.clone()),
        ..client.clone()
    };
    assert_eq!(
        begun,
        ChangeBegun::Started {
            client: recorded.clone(),
            taken_over: None
        }
    );
    assert_eq!(got(index, &client).await, Some(recorded.clone()));
    // Found by the reconciler once it is older than the bound, not before.
    assert_eq!(stale(index, change.started_at).await, Default::default());
    assert_eq!(
        stale(index, change.started_at + 1).await.changes,
        vec![client.client_id]
    );
    // Still listed and counted as it was.
    assert_eq!(
        index.list(&a, None, None).await.unwrap().clients,
        vec![recorded]
    );
}

async fn a_change_begun_while_a_fresh_one_is_under_way_is_busy<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let (read, first) = changing(index, &a, "busy", Aspects::PROFILE).await;
    // Fresh: begun at or after the bound.
    for stale_before in [0, first.started_at] {
        let second = PendingChange::begin(Aspects::ACCESS);
        busy(&fx, &read, &second, stale_before).await;
    }
    assert_eq!(got(index, &read).await.unwrap().change, Some(first));
}

/// Issue 19, finding 5: a change recorded with its request's deadline is
/// busy only until then; a change whose request is over (its deadline
/// past, or set to 0 when it answered) is taken over at once, fresh as it
/// is, with its aspects.
async fn a_change_whose_request_is_over_is_taken_over_at_once<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let client = create(index, &a, "answered").await;
    let running = PendingChange::begin(Aspects::ACCESS).running_until(now_micros() + 60_000_000);
    let read = begun(index, &client, &running).await;
    assert_eq!(read.change, Some(running.clone()));
    let stale_before = now_micros() - 120_000_000;
    busy(
        &fx,
        &read,
        &PendingChange::begin(Aspects::PROFILE),
        stale_before,
    )
    .await;
    // Its request answered (a 502): it says so, keeping the change.
    let released = IndexedClient {
        change: Some(PendingChange {
            until: 0,
            ..running.clone()
        }),
        ..read.clone()
    };
    assert!(index.end_change(&released, &running.id).await.unwrap());
    let read = got(index, &client).await.unwrap();
    assert_eq!(read, released);
    let next = PendingChange::begin(Aspects::PROFILE).running_until(now_micros() + 60_000_000);
    let (now, taken_over) = started(index, &read, &next, stale_before).await;
    assert_eq!(taken_over.map(|c| c.id), Some(running.id));
    let recorded = now.change.unwrap();
    assert_eq!(
        (recorded.id, recorded.aspects, recorded.until),
        (next.id, Aspects::PROFILE.union(Aspects::ACCESS), next.until)
    );
}

async fn a_change_of_a_client_read_before_another_began_is_busy<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let read_first = create(index, &a, "raced").await;
    // It began after `read_first` was read, and stopped long ago: even
    // stale, a change the reader did not see is not taken over.
    stopped_on(index, &read_first, Aspects::PROFILE).await;
    let mine = PendingChange::begin(Aspects::ACCESS);
    busy(&fx, &read_first, &mine, now_micros()).await;
}

async fn a_stale_change_is_taken_over_with_its_aspects<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let client = create(index, &a, "stopped").await;
    let (read, stopped) = stopped_on(index, &client, Aspects::PROFILE).await;
    let taker = PendingChange::begin(Aspects::ACCESS);
    let stale_before = taker.started_at - 120_000_000;
    let both = Aspects::PROFILE.union(Aspects::ACCESS);
    let taken = IndexedClient {
        change: Some(PendingChange {
            aspects: both,
            ..taker.clone()
        }),
        ..client.clone()
    };
    assert_eq!(
        index
            .begin_change(&read, &taker, stale_before)
            .await
            .unwrap(),
        ChangeBegun::Started {
            client: taken.clone(),
            taken_over: Some(stopped.clone()),
        }
    );
    assert_eq!(got(index, &client).await, Some(taken));
    // The stopped change can no longer end itself, nor be taken over twice.
    assert!(!index.end_change(&client, &stopped.id).await.unwrap());
    let late = PendingChange::begin(Aspects::PROFILE);
    busy(&fx, &read, &late, stale_before).await;
}

async fn begin_change_of_a_client_being_deleted_is_busy_and_writes_nothing<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let client = create(index, &a, "deleted").await;
    mark_deleting(index, &client).await;
    busy(&fx, &client, &PendingChange::begin(Aspects::PROFILE), 0).await;
}

async fn begin_change_of_a_missing_client_is_busy_and_writes_nothing<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let client = create(index, &a, "removed").await;
    index.remove(&client).await.unwrap();
    busy(&fx, &client, &PendingChange::begin(Aspects::PROFILE), 0).await;
    assert_eq!(got(index, &client).await, None);
}

async fn end_change_writes_the_values_and_ends_the_change<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let both = Aspects::PROFILE.union(Aspects::ACCESS);
    let (current, change) = changing(index, &a, "before", both).await;
    let done = IndexedClient {
        name: "after".into(),
        description: "described after".into(),
        status: ClientStatus::Disabled,
        scopes: Some(vec!["read:rooms".into(), "write:rooms".into()]),
        change: None,
        ..current.clone()
    };
    assert!(index.end_change(&done, &change.id).await.unwrap());
    assert_eq!(got(index, &current).await, Some(done.clone()));
    assert_eq!(
        index.list(&a, None, None).await.unwrap().clients,
        vec![done]
    );
    assert_eq!(stale(index, u64::MAX).await, Default::default());
    // Ended: a second end of it writes nothing.
    not_ended(&fx, &ended(&current, "again"), &change.id).await;
}

async fn end_change_with_a_change_no_longer_the_clients_writes_nothing<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let client = create(index, &a, "taken over").await;
    let (read, stopped) = stopped_on(index, &client, Aspects::PROFILE).await;
    // A later change took it over.
    let stale_before = now_micros() - 120_000_000;
    let taker = PendingChange::begin(Aspects::PROFILE);
    started(index, &read, &taker, stale_before).await;
    let late = ended(&read, "the stopped change's");
    not_ended(&fx, &late, &stopped.id).await;
}

async fn end_change_of_a_client_being_deleted_writes_nothing<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let (current, change) = changing(index, &a, "before", Aspects::PROFILE).await;
    let marked = mark_deleting(index, &current).await;
    not_ended(&fx, &ended(&current, "after"), &change.id).await;
    // The deletion taken back, the client is as the change found it.
    index.cancel_deletion(&marked).await.unwrap();
    assert_eq!(got(index, &current).await, Some(current));
}

async fn end_change_of_a_removed_client_writes_nothing<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let (current, change) = changing(index, &a, "before", Aspects::PROFILE).await;
    index.remove(&current).await.unwrap();
    not_ended(&fx, &ended(&current, "after"), &change.id).await;
    assert_eq!(got(index, &current).await, None);
}

async fn end_change_leaves_what_a_taken_over_change_did_not_set_stale<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let client = create(index, &a, "partly").await;
    let (read, stopped) = stopped_on(index, &client, Aspects::PROFILE.union(Aspects::ACCESS)).await;
    let taker = PendingChange::begin(Aspects::PROFILE);
    let stale_before = now_micros() - 120_000_000;
    let (current, _) = started(index, &read, &taker, stale_before).await;
    // Its profile is set; the access the stopped change may have left
    // different stays recorded, stale from when that one began.
    let left = PendingChange {
        id: taker.id.clone(),
        started_at: stopped.started_at,
        aspects: Aspects::ACCESS,
        until: 0,
    };
    let done = IndexedClient {
        name: "renamed".into(),
        change: Some(left.clone()),
        ..current
    };
    assert!(index.end_change(&done, &taker.id).await.unwrap());
    assert_eq!(got(index, &client).await, Some(done.clone()));
    assert_eq!(
        stale(index, stopped.started_at + 1).await.changes,
        vec![client.client_id.clone()]
    );
    // The next change takes it over at once, with what is left.
    let next = PendingChange::begin(Aspects::PROFILE);
    let (after, taken_over) = started(index, &done, &next, stale_before).await;
    assert_eq!(taken_over, Some(left));
    assert_eq!(
        after.change.map(|change| change.aspects),
        Some(Aspects::PROFILE.union(Aspects::ACCESS))
    );
}

async fn cancel_deletion_keeps_a_change_stale_from_when_it_began<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let client = create(index, &a, "changed, then deleted").await;
    let (_, stopped) = stopped_on(index, &client, Aspects::ACCESS).await;
    let marked = mark_deleting(index, &client).await;
    assert_eq!(marked.change, Some(stopped.clone()));
    // Being deleted, it is a deletion, not a change, to the reconciler.
    let found = stale(index, u64::MAX).await;
    assert_eq!(
        (found.deletions, found.changes),
        (vec![client.client_id.clone()], vec![])
    );
    index.cancel_deletion(&marked).await.unwrap();
    assert_eq!(
        stale(index, stopped.started_at + 1).await.changes,
        vec![client.client_id.clone()]
    );
    assert_eq!(stale(index, stopped.started_at).await, Default::default());
    assert_eq!(got(index, &client).await, Some(marked));
}
