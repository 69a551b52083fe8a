//! The shared management token's item (docs/owner-index.md, "The shared
//! management token"): one lease at a time, only while no good token is
//! there; a release only of one's own lease; a token cleared only while it
//! still is the rejected one.

use m2m_shared::domain::{StoredToken, TokenItem, TokenStore};
use m2m_shared::secret_string::SecretString;

each_adapter!(
    crate::harness::memory_tokens, crate::harness::dynamodb_tokens =>
    an_item_never_written_reads_empty_and_stays_so,
    a_lease_is_taken_once_until_it_lapses,
    a_good_token_refuses_a_lease_until_it_is_due,
    store_writes_the_token_and_ends_the_lease,
    release_gives_back_only_the_lease_it_names,
    invalidate_clears_only_the_rejected_token,
);

/// Milliseconds since the epoch, about now (the store compares only the
/// numbers it is given).
const NOW: u64 = 1_900_000_000_000;
const LEASE: u64 = 5_000;
/// A token must outlive this margin to be good.
const MARGIN: u64 = 60_000;
/// A day (ms): how long a token lives, as Auth0 mints them.
const DAY: u64 = 86_400_000;

fn token(value: &str, expires_ms: u64) -> StoredToken {
    StoredToken {
        value: SecretString::new(value),
        expires_ms,
    }
}

async fn an_item_never_written_reads_empty_and_stays_so<S: TokenStore>(store: S) {
    assert_eq!(store.read().await.unwrap(), TokenItem::default());
    // Neither a release nor an invalidation makes an item.
    store.release(NOW + LEASE).await.unwrap();
    assert!(
        !store
            .invalidate(&SecretString::new("never stored"))
            .await
            .unwrap()
    );
    assert_eq!(store.read().await.unwrap(), TokenItem::default());
}

async fn a_lease_is_taken_once_until_it_lapses<S: TokenStore>(store: S) {
    assert!(store.lease(NOW, NOW + LEASE, NOW + MARGIN).await.unwrap());
    assert_eq!(
        store.read().await.unwrap(),
        TokenItem {
            token: None,
            lease_until: Some(NOW + LEASE)
        }
    );
    // Another container, while it holds: refused, and the lease unchanged.
    let later = NOW + LEASE - 1;
    assert!(
        !store
            .lease(later, later + LEASE, later + MARGIN)
            .await
            .unwrap()
    );
    assert_eq!(store.read().await.unwrap().lease_until, Some(NOW + LEASE));
    // Lapsed (its holder died): taken over.
    let lapsed = NOW + LEASE;
    assert!(
        store
            .lease(lapsed, lapsed + LEASE, lapsed + MARGIN)
            .await
            .unwrap()
    );
    assert_eq!(
        store.read().await.unwrap().lease_until,
        Some(lapsed + LEASE)
    );
}

async fn a_good_token_refuses_a_lease_until_it_is_due<S: TokenStore>(store: S) {
    let expires = NOW + 3_600_000;
    store.store(&token("good", expires)).await.unwrap();
    // Good beyond what the container needs: no lease.
    assert!(!store.lease(NOW, NOW + LEASE, expires - 1).await.unwrap());
    assert_eq!(store.read().await.unwrap().lease_until, None);
    // Due (it expires by then): the lease is taken, the token kept meanwhile.
    assert!(store.lease(NOW, NOW + LEASE, expires).await.unwrap());
    assert_eq!(
        store.read().await.unwrap(),
        TokenItem {
            token: Some(token("good", expires)),
            lease_until: Some(NOW + LEASE)
        }
    );
}

async fn store_writes_the_token_and_ends_the_lease<S: TokenStore>(store: S) {
    assert!(store.lease(NOW, NOW + LEASE, NOW + MARGIN).await.unwrap());
    store.store(&token("minted", NOW + DAY)).await.unwrap();
    assert_eq!(
        store.read().await.unwrap(),
        TokenItem {
            token: Some(token("minted", NOW + DAY)),
            lease_until: None
        }
    );
    // Its successor replaces it.
    store.store(&token("next", NOW + 90_000_000)).await.unwrap();
    assert_eq!(
        store.read().await.unwrap().token,
        Some(token("next", NOW + 90_000_000))
    );
}

async fn release_gives_back_only_the_lease_it_names<S: TokenStore>(store: S) {
    store.store(&token("old", NOW + 1_000)).await.unwrap();
    assert!(store.lease(NOW, NOW + LEASE, NOW + MARGIN).await.unwrap());
    // A holder whose lease lapsed and was taken over gives back nothing.
    store.release(NOW + LEASE - 1).await.unwrap();
    assert_eq!(store.read().await.unwrap().lease_until, Some(NOW + LEASE));
    store.release(NOW + LEASE).await.unwrap();
    assert_eq!(
        store.read().await.unwrap(),
        TokenItem {
            token: Some(token("old", NOW + 1_000)),
            lease_until: None
        }
    );
    // Free again at once, not after it would have lapsed.
    assert!(store.lease(NOW, NOW + LEASE, NOW + MARGIN).await.unwrap());
}

async fn invalidate_clears_only_the_rejected_token<S: TokenStore>(store: S) {
    store.store(&token("current", NOW + DAY)).await.unwrap();
    // Rejected was an older one: another container replaced it already.
    assert!(!store.invalidate(&SecretString::new("older")).await.unwrap());
    assert_eq!(
        store.read().await.unwrap().token,
        Some(token("current", NOW + DAY))
    );
    assert!(
        store
            .invalidate(&SecretString::new("current"))
            .await
            .unwrap()
    );
    assert_eq!(store.read().await.unwrap(), TokenItem::default());
    // Of many containers that saw the same 401, one clears it.
    assert!(
        !store
            .invalidate(&SecretString::new("current"))
            .await
            .unwrap()
    );
    // A lease taken meanwhile survives an invalidation.
    assert!(store.lease(NOW, NOW + LEASE, NOW + MARGIN).await.unwrap());
    store.store(&token("fresh", NOW + DAY)).await.unwrap();
    assert!(store.lease(NOW, NOW + LEASE, NOW + DAY).await.unwrap());
    assert!(store.invalidate(&SecretString::new("fresh")).await.unwrap());
    assert_eq!(
        store.read().await.unwrap(),
        TokenItem {
            token: None,
            lease_until: Some(NOW + LEASE)
        }
    );
}
