//! The deployment's shared Management API token (docs/owner-index.md, "The
//! shared management token"), step 3 of the chain in `mod.rs`: read from
//! the token item; when it must be replaced, one container at a time mints
//! the next one (with `token.rs`'s mint), under a short lease taken by a
//! conditional write, and the others wait for it. Whatever goes wrong with
//! the item is a fallback to a token of the container's own, never a
//! failed request.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::domain::{StoredToken, TokenStore};
use crate::error::{IndexError, UpstreamError};
use crate::metrics::FallbackReason;

/// How long a container may hold the lease: longer than a mint takes (one
/// token request, and the secret read before it), short enough that the
/// others do not wait long for a holder that died.
pub const LEASE: Duration = Duration::from_secs(5);
/// Each call on the token item gives up after this long: the shared cache
/// must never be what makes a request late.
pub const ITEM_CALL_TIMEOUT: Duration = Duration::from_secs(1);
/// The first pause between two reads of a leased item; each pause doubles,
/// up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(25);
const MAX_PAUSE: Duration = Duration::from_millis(200);
/// A token being replaced is still used meanwhile if it outlives the
/// request's deadline by this much.
const OUTGOING_SAFETY: Duration = Duration::from_secs(5);

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|now| u64::try_from(now.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// What the token item gave.
#[derive(Debug)]
pub enum FromTable {
    /// A token another container minted, good beyond the refresh margin.
    Shared(StoredToken),
    /// A token about to be replaced (by the container holding the lease),
    /// still good beyond the request's deadline: for this request only.
    Outgoing(StoredToken),
    /// This container held the lease, minted the token and stored it (or
    /// tried to: `store_failed` says what went wrong).
    Minted {
        token: StoredToken,
        store_failed: Option<IndexError>,
    },
    /// Use a token of the container's own.
    Fallback {
        reason: FallbackReason,
        error: Option<IndexError>,
    },
}

enum Stop {
    Table(IndexError),
    Upstream(UpstreamError),
}

impl From<IndexError> for Stop {
    fn from(error: IndexError) -> Self {
        Stop::Table(error)
    }
}

/// One call on the item, within [`ITEM_CALL_TIMEOUT`] and `deadline`.
async fn timed<T>(
    call: impl Future<Output = Result<T, IndexError>>,
    deadline: Instant,
) -> Result<T, IndexError> {
    let until = deadline.min(Instant::now() + ITEM_CALL_TIMEOUT);
    tokio::time::timeout_at(until, call)
        .await
        .map_err(|_| IndexError::Failed("the token item did not answer in time".into()))?
}

/// A token from the shared item: a good one if it holds one; else minted by
/// this container (`mint`) if it can take the lease; else, once another
/// container's lease is over or `wait_until` comes, the fallback.
/// `margin`: a token is replaced this long before it expires.
pub async fn acquire<F, Fut>(
    store: &dyn TokenStore,
    margin: Duration,
    deadline: Instant,
    wait_until: Instant,
    mint: F,
) -> Result<FromTable, UpstreamError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<StoredToken, UpstreamError>>,
{
    let attempt = async {
        let mut pause = FIRST_PAUSE;
        loop {
            let item = timed(store.read(), deadline).await?;
            let now = now_ms();
            let needed = now.saturating_add(ms(margin));
            if let Some(token) = item.token.as_ref().filter(|t| t.expires_ms > needed) {
                return Ok(FromTable::Shared(token.clone()));
            }
            let leased = item.lease_until.is_some_and(|until| until > now);
            if !leased {
                let until = now.saturating_add(ms(LEASE));
                if timed(store.lease(now, until, needed), deadline).await? {
                    return match mint().await {
                        Ok(token) => {
                            let store_failed = timed(store.store(&token), deadline).await.err();
                            Ok(FromTable::Minted {
                                token,
                                store_failed,
                            })
                        }
                        Err(error) => {
                            // Others need not wait for this lease to lapse.
                            let _ = timed(store.release(until), deadline).await;
                            Err(Stop::Upstream(error))
                        }
                    };
                }
                // Another container took it just now: read what it did,
                // after a pause.
            } else if let Some(token) = item.token.filter(|t| {
                let left = ms(deadline.saturating_duration_since(Instant::now()));
                t.expires_ms > now.saturating_add(left).saturating_add(ms(OUTGOING_SAFETY))
            }) {
                // Being replaced, and good for longer than this request lives.
                return Ok(FromTable::Outgoing(token));
            }
            if Instant::now() + pause > wait_until {
                return Ok(FromTable::Fallback {
                    reason: FallbackReason::LeaseWait,
                    error: None,
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_PAUSE);
        }
    };
    match attempt.await {
        Ok(got) => Ok(got),
        Err(Stop::Upstream(error)) => Err(error),
        Err(Stop::Table(error)) => Ok(FromTable::Fallback {
            reason: FallbackReason::TableError,
            error: Some(error),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::owner_index::MemoryTokenStore;
    use crate::secret_string::SecretString;

    const MARGIN: Duration = Duration::from_secs(60);
    const DAY_MS: u64 = 24 * 60 * 60 * 1000;

    fn token(value: &str, lifetime_ms: u64) -> StoredToken {
        StoredToken {
            value: SecretString::new(value),
            expires_ms: now_ms() + lifetime_ms,
        }
    }

    /// A mint that counts itself and takes `delay`.
    fn minter(
        count: &Arc<AtomicUsize>,
        delay: Duration,
    ) -> impl FnOnce() -> std::pin::Pin<
        Box<dyn Future<Output = Result<StoredToken, UpstreamError>> + Send>,
    > + use<> {
        let count = count.clone();
        move || {
            Box::pin(async move {
                let n = count.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                Ok(token(&format!("minted-{n}"), DAY_MS))
            })
        }
    }

    fn value(got: &FromTable) -> &str {
        match got {
            FromTable::Shared(t) | FromTable::Outgoing(t) | FromTable::Minted { token: t, .. } => {
                t.value.expose()
            }
            FromTable::Fallback { .. } => "fallback",
        }
    }

    async fn get(store: &MemoryTokenStore, mints: &Arc<AtomicUsize>, delay: Duration) -> FromTable {
        let deadline = Instant::now() + Duration::from_secs(4);
        acquire(store, MARGIN, deadline, deadline, minter(mints, delay))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn an_empty_item_is_minted_once_and_then_shared() {
        let store = MemoryTokenStore::new();
        let mints = Arc::new(AtomicUsize::new(0));
        let first = get(&store, &mints, Duration::ZERO).await;
        assert!(matches!(
            first,
            FromTable::Minted {
                store_failed: None,
                ..
            }
        ));
        let second = get(&store, &mints, Duration::ZERO).await;
        assert!(matches!(second, FromTable::Shared(_)));
        assert_eq!(value(&second), "minted-0");
        assert_eq!(mints.load(Ordering::SeqCst), 1);
        assert_eq!(
            store.item().lease_until,
            None,
            "the store released the lease"
        );
    }

    #[tokio::test]
    async fn concurrent_containers_wait_for_the_one_holding_the_lease() {
        let store = Arc::new(MemoryTokenStore::new());
        let mints = Arc::new(AtomicUsize::new(0));
        let mut containers = tokio::task::JoinSet::new();
        for _ in 0..10 {
            let (store, mints) = (store.clone(), mints.clone());
            containers.spawn(async move {
                let got = get(&store, &mints, Duration::from_millis(100)).await;
                (
                    value(&got).to_owned(),
                    matches!(got, FromTable::Minted { .. }),
                )
            });
        }
        let results = containers.join_all().await;
        assert_eq!(mints.load(Ordering::SeqCst), 1);
        assert!(
            results.iter().all(|(value, _)| value == "minted-0"),
            "{results:?}"
        );
        assert_eq!(results.iter().filter(|(_, minted)| *minted).count(), 1);
    }

    #[tokio::test]
    async fn a_token_near_its_expiry_is_replaced_and_meanwhile_still_used() {
        let store = MemoryTokenStore::new();
        // Within the margin: to be replaced; good for 50 s yet.
        store.store(&token("old", 50_000)).await.unwrap();
        let mints = Arc::new(AtomicUsize::new(0));
        // Another container holds the lease: this request uses the old one.
        assert!(
            store
                .lease(now_ms(), now_ms() + 5_000, now_ms() + 60_000)
                .await
                .unwrap()
        );
        let got = get(&store, &mints, Duration::ZERO).await;
        assert!(matches!(got, FromTable::Outgoing(_)), "{got:?}");
        assert_eq!(value(&got), "old");
        // Its lease given back, the next one replaces it.
        store
            .release(store.item().lease_until.unwrap())
            .await
            .unwrap();
        let got = get(&store, &mints, Duration::ZERO).await;
        assert_eq!(value(&got), "minted-0");
        assert_eq!(mints.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_lapsed_lease_is_taken_over() {
        let store = MemoryTokenStore::new();
        // A holder that died half a second ago.
        let past = now_ms() - 500;
        assert!(store.lease(past - 5_000, past, past).await.unwrap());
        let mints = Arc::new(AtomicUsize::new(0));
        let got = get(&store, &mints, Duration::ZERO).await;
        assert!(matches!(got, FromTable::Minted { .. }));
    }

    #[tokio::test]
    async fn a_live_lease_is_waited_for_until_the_wait_ends() {
        let store = MemoryTokenStore::new();
        assert!(
            store
                .lease(now_ms(), now_ms() + 5_000, now_ms())
                .await
                .unwrap()
        );
        let mints = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let wait_until = start + Duration::from_millis(300);
        let got = acquire(
            &store,
            MARGIN,
            start + Duration::from_secs(4),
            wait_until,
            minter(&mints, Duration::ZERO),
        )
        .await
        .unwrap();
        assert!(matches!(
            got,
            FromTable::Fallback {
                reason: FallbackReason::LeaseWait,
                ..
            }
        ));
        assert!(start.elapsed() <= Duration::from_millis(400));
        assert_eq!(mints.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_failed_mint_gives_the_lease_back() {
        let store = MemoryTokenStore::new();
        let deadline = Instant::now() + Duration::from_secs(4);
        let failed = acquire(&store, MARGIN, deadline, deadline, || async {
            Err(UpstreamError::Failed(
                "token endpoint answered HTTP 503".into(),
            ))
        })
        .await;
        assert!(failed.is_err());
        assert_eq!(store.item().lease_until, None);
    }

    #[tokio::test]
    async fn only_the_rejected_token_is_invalidated() {
        let store = MemoryTokenStore::new();
        store.store(&token("current", DAY_MS)).await.unwrap();
        assert!(!store.invalidate(&SecretString::new("older")).await.unwrap());
        assert!(store.item().token.is_some());
        assert!(
            store
                .invalidate(&SecretString::new("current"))
                .await
                .unwrap()
        );
        assert!(store.item().token.is_none());
        // A second container that saw the same 401 changes nothing more.
        assert!(
            !store
                .invalidate(&SecretString::new("current"))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn an_unreachable_table_is_a_fallback_not_a_failure() {
        let store = MemoryTokenStore::new();
        store.set_unreachable(true);
        let mints = Arc::new(AtomicUsize::new(0));
        let got = get(&store, &mints, Duration::ZERO).await;
        assert!(matches!(
            got,
            FromTable::Fallback {
                reason: FallbackReason::TableError,
                error: Some(_)
            }
        ));
        assert_eq!(mints.load(Ordering::SeqCst), 0);
    }
}
