//! Changes (update, disable, enable): recorded on the client before Auth0
//! is asked, refused while another is under way, taken over once stale, and
//! ended only by the change itself.

use m2m_shared::domain::{
    Aspects, ChangeBegun, ClientStatus, IndexedClient, OwnerIndex, PendingChange, now_micros,
};

use crate::harness::{Fixture, create, mark_deleting, owner, stale, writes_nothing};

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

/// A change begun `ago` microseconds ago.
fn change_begun(aspects: Aspects, ago: u64) -> PendingChange {
    PendingChange {
        started_at: now_micros() - ago,
        ..PendingChange::begin(aspects)
    }
}

/// Ten minutes: older than any request, so stale.
const LONG_AGO: u64 = 10 * 60 * 1_000_000;

/// Begins `change` on `client` as read, which must start; the client as it
/// is now.
async fn begun<I: OwnerIndex>(
    index: &I,
    client: &IndexedClient,
    change: &PendingChange,
) -> IndexedClient {
    match index.begin_change(client, change, 0).await.unwrap() {
        ChangeBegun::Started { client, .. } => client,
        other => panic!("the change did not start: {other:?}"),
    }
}

/// Begins `change` on `client` as read, which must take over the change
/// recorded on it: the client as it is now, and the change taken over.
async fn taken_over<I: OwnerIndex>(
    index: &I,
    client: &IndexedClient,
    change: &PendingChange,
    stale_before: u64,
) -> (IndexedClient, Option<PendingChange>) {
    match index
        .begin_change(client, change, stale_before)
        .await
        .unwrap()
    {
        ChangeBegun::Started { client, taken_over } => (client, taken_over),
        other => panic!("not taken over: {other:?}"),
    }
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
    assert_eq!(
        index.get(&a, &client.client_id).await.unwrap(),
        Some(recorded.clone())
    );
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
    let client = create(index, &a, "busy").await;
    let first = PendingChange::begin(Aspects::PROFILE);
    let read = begun(index, &client, &first).await;
    // Fresh: begun at or after the bound.
    for stale_before in [0, first.started_at] {
        let second = PendingChange::begin(Aspects::ACCESS);
        busy(&fx, &read, &second, stale_before).await;
    }
    assert_eq!(
        index
            .get(&a, &client.client_id)
            .await
            .unwrap()
            .unwrap()
            .change,
        Some(first)
    );
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
    let read = index.get(&a, &client.client_id).await.unwrap().unwrap();
    assert_eq!(read, released);
    let next = PendingChange::begin(Aspects::PROFILE).running_until(now_micros() + 60_000_000);
    let (now, taken_over) = taken_over(index, &read, &next, stale_before).await;
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
    let other = change_begun(Aspects::PROFILE, LONG_AGO);
    begun(index, &read_first, &other).await;
    let mine = PendingChange::begin(Aspects::ACCESS);
    busy(&fx, &read_first, &mine, now_micros()).await;
}

async fn a_stale_change_is_taken_over_with_its_aspects<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let client = create(index, &a, "stopped").await;
    let stopped = change_begun(Aspects::PROFILE, LONG_AGO);
    let read = begun(index, &client, &stopped).await;
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
    assert_eq!(index.get(&a, &client.client_id).await.unwrap(), Some(taken));
    // The stopped change can no longer end itself, nor be taken over twice.
    assert!(!index.end_change(&client, &stopped.id).await.unwrap());
    let late = PendingChange::begin(Aspects::PROFILE);
    assert_eq!(
        index
            .begin_change(&read, &late, stale_before)
            .await
            .unwrap(),
        ChangeBegun::Busy
    );
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
    assert_eq!(index.get(&a, &client.client_id).await.unwrap(), None);
}

async fn end_change_writes_the_values_and_ends_the_change<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let client = create(index, &a, "before").await;
    let change = PendingChange::begin(Aspects::PROFILE.union(Aspects::ACCESS));
    let current = begun(index, &client, &change).await;
    let done = IndexedClient {
        name: "after".into(),
        description: "described after".into(),
        status: ClientStatus::Disabled,
        scopes: Some(vec!["read:rooms".into(), "write:rooms".into()]),
        change: None,
        ..current
    };
    assert!(index.end_change(&done, &change.id).await.unwrap());
    assert_eq!(
        index.get(&a, &client.client_id).await.unwrap(),
        Some(done.clone())
    );
    assert_eq!(
        index.list(&a, None, None).await.unwrap().clients,
        vec![done]
    );
    assert_eq!(stale(index, u64::MAX).await, Default::default());
    // Ended: a second end of it writes nothing.
    let again = IndexedClient {
        name: "again".into(),
        ..client.clone()
    };
    not_ended(&fx, &again, &change.id).await;
}

async fn end_change_with_a_change_no_longer_the_clients_writes_nothing<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let client = create(index, &a, "taken over").await;
    let stopped = change_begun(Aspects::PROFILE, LONG_AGO);
    let read = begun(index, &client, &stopped).await;
    let taker = PendingChange::begin(Aspects::PROFILE);
    let stale_before = now_micros() - 120_000_000;
    assert!(matches!(
        index
            .begin_change(&read, &taker, stale_before)
            .await
            .unwrap(),
        ChangeBegun::Started { .. }
    ));
    let late = IndexedClient {
        name: "the stopped change's".into(),
        change: None,
        ..read
    };
    not_ended(&fx, &late, &stopped.id).await;
}

async fn end_change_of_a_client_being_deleted_writes_nothing<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let client = create(index, &a, "before").await;
    let change = PendingChange::begin(Aspects::PROFILE);
    let current = begun(index, &client, &change).await;
    let marked = mark_deleting(index, &client).await;
    let done = IndexedClient {
        name: "after".into(),
        change: None,
        ..current.clone()
    };
    not_ended(&fx, &done, &change.id).await;
    // The deletion taken back, the client is as the change found it.
    index.cancel_deletion(&marked).await.unwrap();
    assert_eq!(
        index.get(&a, &client.client_id).await.unwrap(),
        Some(current)
    );
}

async fn end_change_of_a_removed_client_writes_nothing<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let client = create(index, &a, "before").await;
    let change = PendingChange::begin(Aspects::PROFILE);
    let current = begun(index, &client, &change).await;
    index.remove(&current).await.unwrap();
    let done = IndexedClient {
        name: "after".into(),
        change: None,
        ..current
    };
    not_ended(&fx, &done, &change.id).await;
    assert_eq!(index.get(&a, &client.client_id).await.unwrap(), None);
}

async fn end_change_leaves_what_a_taken_over_change_did_not_set_stale<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let client = create(index, &a, "partly").await;
    let stopped = change_begun(Aspects::PROFILE.union(Aspects::ACCESS), LONG_AGO);
    let read = begun(index, &client, &stopped).await;
    let taker = PendingChange::begin(Aspects::PROFILE);
    let stale_before = now_micros() - 120_000_000;
    let ChangeBegun::Started {
        client: current, ..
    } = index
        .begin_change(&read, &taker, stale_before)
        .await
        .unwrap()
    else {
        panic!("not taken over");
    };
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
    assert_eq!(
        index.get(&a, &client.client_id).await.unwrap(),
        Some(done.clone())
    );
    assert_eq!(
        stale(index, stopped.started_at + 1).await.changes,
        vec![client.client_id.clone()]
    );
    // The next change takes it over at once, with what is left.
    let next = PendingChange::begin(Aspects::PROFILE);
    let (after, taken_over) = taken_over(index, &done, &next, stale_before).await;
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
    let stopped = change_begun(Aspects::ACCESS, LONG_AGO);
    begun(index, &client, &stopped).await;
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
    assert_eq!(
        index.get(&a, &client.client_id).await.unwrap(),
        Some(marked)
    );
}
