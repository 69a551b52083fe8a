//! Creations: the quota, idempotency keys (live, taken, expired), and how a
//! creation ends (finished, abandoned) and what each gives back.

use crate::harness::*;

each_adapter!(
    crate::harness::memory, crate::harness::dynamodb =>
    begin_creation_counts_clients_and_creations_against_the_owners_quota,
    begin_creation_refuses_past_quota_and_writes_nothing,
    begin_creation_takes_the_key_once,
    a_done_key_is_taken_too,
    at_the_limit_a_taken_key_answers_key_taken,
    an_expired_key_is_absent_and_taken_anew,
    abandoning_a_creation_leaves_its_key_to_whoever_took_it_since,
    begin_creation_of_a_chosen_id_under_way_writes_nothing,
    finish_creation_lists_the_client_and_settles_its_key,
    finish_creation_of_an_abandoned_creation_fails_and_lists_nothing,
    finish_creation_of_a_client_imported_meanwhile_fails_and_writes_nothing,
    abandon_creation_gives_back_quota_and_key_once,
    record_client_id_names_auth0s_client_and_keeps_the_key_releasable,
    record_client_id_of_a_creation_no_longer_recorded_fails,
);

/// The record of a request hashing to `hash` that is still running.
fn running(hash: &str) -> Option<IdempotencyRecord> {
    Some(IdempotencyRecord {
        request_hash: hash.to_owned(),
        state: KeyState::Running,
    })
}

/// The record of a request hashing to `hash` that made `client`.
fn done(hash: &str, client: &IndexedClient) -> Option<IdempotencyRecord> {
    Some(IdempotencyRecord {
        request_hash: hash.to_owned(),
        state: KeyState::Done {
            client_id: client.client_id.clone(),
        },
    })
}

/// What a give-back of an earlier holder of `key-1` leaves: the key still
/// the later request's (`hash-2`), and only that one counted.
async fn key_still_the_later_ones<F: Fixture>(fx: &F, owner: &Owner) {
    assert_eq!(record(fx.index(), owner, "key-1").await, running("hash-2"));
    assert_eq!(fx.quota(owner).await, 1);
}

/// The idempotency key `creation` takes, if any: what [`writes_nothing`]
/// is to watch of it.
fn keys_of(creation: &Creation) -> Vec<&str> {
    let claim = creation.idempotency.as_ref();
    claim.map(|claim| claim.key.as_str()).into_iter().collect()
}

/// Begins `creation` within `max`, which must be refused for its key
/// (`KeyTaken`), writing nothing.
async fn refused_for_its_key<F: Fixture>(fx: &F, creation: &Creation, max: u32) {
    let keys = keys_of(creation);
    let begun = writes_nothing(fx, &creation.owner, &keys, async |index| {
        index.begin_creation(creation, max).await.unwrap()
    })
    .await;
    assert_eq!(begun, Begun::KeyTaken);
}

/// Finishes `creation`, which must fail, writing nothing.
async fn refused_finish<F: Fixture>(fx: &F, creation: &Creation) {
    let keys = keys_of(creation);
    let finished = writes_nothing(fx, &creation.owner, &keys, async |index| {
        index.finish_creation(creation, &client_of(creation)).await
    })
    .await;
    assert!(finished.is_err(), "finished: {finished:?}");
}

async fn begin_creation_counts_clients_and_creations_against_the_owners_quota<F: Fixture>(fx: F) {
    let index = fx.index();
    let (a, b) = (owner("owner-a"), owner("owner-b"));
    create(index, &a, "finished").await;
    let under_way = creation(&a, "under way");
    let within_3 = async |creation: &Creation| begin_within(index, creation, 3).await;
    assert_eq!(within_3(&under_way).await, Begun::Started);
    assert_eq!(within_3(&creation(&a, "third")).await, Begun::Started);
    assert_eq!(fx.quota(&a).await, 3);
    assert_eq!(within_3(&creation(&a, "fourth")).await, Begun::LimitReached);
    // Another owner's quota is its own.
    assert_eq!(within_3(&creation(&b, "theirs")).await, Begun::Started);
    // A creation given up gives its place back.
    index.abandon_creation(&under_way).await.unwrap();
    assert_eq!(within_3(&creation(&a, "fourth")).await, Begun::Started);
    assert_eq!((fx.quota(&a).await, fx.quota(&b).await), (3, 1));
}

async fn begin_creation_refuses_past_quota_and_writes_nothing<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    create(index, &a, "only").await;
    let refused = keyed(creation(&a, "one too many"), "key-1", "hash-1");
    // No count, no creation, no key: a retry with the key runs anew.
    let begun = writes_nothing(&fx, &a, &["key-1"], async |index| {
        index.begin_creation(&refused, 1).await.unwrap()
    })
    .await;
    assert_eq!(begun, Begun::LimitReached);
    assert_eq!(begin_within(index, &refused, 2).await, Begun::Started);
}

async fn begin_creation_takes_the_key_once<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let first = keyed(creation(&a, "first"), "key-1", "hash-1");
    assert_eq!(record(index, &a, "key-1").await, None);
    begin(index, &first).await;
    assert_eq!(record(index, &a, "key-1").await, running("hash-1"));
    // The record stays the first request's, and nothing is counted.
    for hash in ["hash-1", "hash-2"] {
        let second = keyed(creation(&a, "second"), "key-1", hash);
        refused_for_its_key(&fx, &second, ROOMY).await;
    }
    // Keys are the owner's: another owner's same key is another key.
    let b = owner("owner-b");
    let theirs = keyed(creation(&b, "theirs"), "key-1", "hash-9");
    begin(index, &theirs).await;
}

async fn a_done_key_is_taken_too<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let client = finish(index, &keyed(creation(&a, "first"), "key-1", "hash-1")).await;
    let again = keyed(creation(&a, "again"), "key-1", "hash-1");
    refused_for_its_key(&fx, &again, ROOMY).await;
    assert_eq!(record(index, &a, "key-1").await, done("hash-1", &client));
    assert_eq!(fx.quota(&a).await, 1);
}

async fn at_the_limit_a_taken_key_answers_key_taken<F: Fixture>(fx: F) {
    // The retry of a request that created the owner's last client is a
    // replay, never a refusal for the quota.
    let index = fx.index();
    let a = owner("owner-a");
    finish(index, &keyed(creation(&a, "last"), "key-1", "hash-1")).await;
    let retry = keyed(creation(&a, "last"), "key-1", "hash-1");
    refused_for_its_key(&fx, &retry, 1).await;
}

async fn an_expired_key_is_absent_and_taken_anew<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let old = finish(index, &keyed(creation(&a, "old"), "key-1", "hash-1")).await;
    fx.expire_key(&a, "key-1").await;
    assert_eq!(record(index, &a, "key-1").await, None);
    let new = keyed(creation(&a, "new"), "key-1", "hash-2");
    begin(index, &new).await;
    assert_eq!(record(index, &a, "key-1").await, running("hash-2"));
    // The old client's removal no longer releases the key: it is not its.
    index.remove(&old).await.unwrap();
    key_still_the_later_ones(&fx, &a).await;
}

async fn abandoning_a_creation_leaves_its_key_to_whoever_took_it_since<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let stopped = keyed(creation(&a, "stopped"), "key-1", "hash-1");
    begin(index, &stopped).await;
    fx.expire_key(&a, "key-1").await;
    let later = keyed(creation(&a, "later"), "key-1", "hash-2");
    begin(index, &later).await;
    index.abandon_creation(&stopped).await.unwrap();
    key_still_the_later_ones(&fx, &a).await;
}

async fn begin_creation_of_a_chosen_id_under_way_writes_nothing<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let first = creation(&a, "first");
    begin(index, &first).await;
    let same_id = Creation {
        chosen_id: first.chosen_id.clone(),
        ..keyed(creation(&a, "same id"), "key-2", "hash-2")
    };
    let begun = writes_nothing(&fx, &a, &["key-2"], async |index| {
        index.begin_creation(&same_id, ROOMY).await
    })
    .await;
    assert!(
        !matches!(begun, Ok(Begun::Started)),
        "a second creation of one id: {begun:?}"
    );
}

async fn finish_creation_lists_the_client_and_settles_its_key<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let begun = keyed(creation(&a, "new"), "key-1", "hash-1");
    let client = finish(index, &begun).await;
    assert_eq!(listed(index, &a).await, vec![client.client_id.clone()]);
    assert_eq!(got(index, &client).await, Some(client.clone()));
    assert_eq!(record(index, &a, "key-1").await, done("hash-1", &client));
    // No longer a creation under way; still counted, now as a client.
    assert_eq!(stale(index, u64::MAX).await.creations, Vec::<String>::new());
    assert_eq!(fx.quota(&a).await, 1);
}

async fn finish_creation_of_an_abandoned_creation_fails_and_lists_nothing<F: Fixture>(fx: F) {
    // The reconciler undid it (it was stale): its finish must not list a
    // client whose quota and key were given back.
    let index = fx.index();
    let a = owner("owner-a");
    let begun = keyed(creation(&a, "late"), "key-1", "hash-1");
    begin(index, &begun).await;
    index.abandon_creation(&begun).await.unwrap();
    refused_finish(&fx, &begun).await;
    assert_eq!(index.get(&a, &begun.chosen_id).await.unwrap(), None);
}

async fn finish_creation_of_a_client_imported_meanwhile_fails_and_writes_nothing<F: Fixture>(
    fx: F,
) {
    // On a tenant without custom client ids, a backfill can find the client
    // in Auth0 (it carries its owner) before its creation is finished.
    let index = fx.index();
    let a = owner("owner-a");
    let begun = named_by_auth0(index, creation(&a, "auth0 named")).await;
    let imported = from_auth0(&a, AUTH0_ID);
    index.import(&imported, None, 1).await.unwrap();
    refused_finish(&fx, &begun).await;
    assert_eq!(got(index, &imported).await, Some(imported));
}

async fn abandon_creation_gives_back_quota_and_key_once<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    create(index, &a, "kept").await;
    let begun = keyed(creation(&a, "undone"), "key-1", "hash-1");
    begin(index, &begun).await;
    assert_eq!(fx.quota(&a).await, 2);
    index.abandon_creation(&begun).await.unwrap();
    assert_eq!(fx.quota(&a).await, 1);
    assert_eq!(record(index, &a, "key-1").await, None);
    assert_eq!(stale(index, u64::MAX).await.creations, Vec::<String>::new());
    // Undone twice (the request and the reconciler): given back once.
    writes_nothing(&fx, &a, &["key-1"], async |index| {
        index.abandon_creation(&begun).await.unwrap()
    })
    .await;
    // The key runs anew.
    begin(index, &begun).await;
}

async fn record_client_id_names_auth0s_client_and_keeps_the_key_releasable<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let begun = named_by_auth0(index, keyed(creation(&a, "auth0 named"), "key-1", "hash-1")).await;
    let operations = index.stale_operations(u64::MAX).await.unwrap();
    assert_eq!(operations, vec![StaleOperation::Creation(begun.clone())]);
    // Undone with Auth0's id known, it still releases its key.
    index.abandon_creation(&begun).await.unwrap();
    assert_eq!(record(index, &a, "key-1").await, None);
    assert_eq!(fx.quota(&a).await, 0);
}

async fn record_client_id_of_a_creation_no_longer_recorded_fails<F: Fixture>(fx: F) {
    // Auth0 made a client for a creation the reconciler undid meanwhile:
    // the creator must hear it, to delete that client, since no item
    // names it.
    let index = fx.index();
    let a = owner("owner-a");
    let mut begun = creation(&a, "undone meanwhile");
    begin(index, &begun).await;
    index.abandon_creation(&begun).await.unwrap();
    begun.client_id = Some(AUTH0_ID.into());
    assert!(index.record_client_id(&begun).await.is_err());
    assert_eq!(stale(index, u64::MAX).await.creations, Vec::<String>::new());
}
