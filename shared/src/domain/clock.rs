//! Time as the index counts it: microseconds since the epoch, and when an
//! operation under way has stopped half-way.

/// An operation (a creation, a deletion, a change) begun longer ago than
/// this has stopped half-way: no request lives that long (they are
/// answered within 12 s). The reconciler repairs it, and a new change of
/// the client may take it over.
pub const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(120);

/// Microseconds since the epoch: when things began, in the index. Strictly
/// increasing within a process, so that two clients an owner creates one
/// after the other are listed in that order even within a microsecond.
pub fn now_micros() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|now| u64::try_from(now.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or_default();
    let previous = LAST
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(clock.max(last + 1))
        })
        .unwrap_or(clock);
    clock.max(previous + 1)
}

/// `duration` in microseconds, as the index counts time.
pub fn micros(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}
