//! The instant by which the invocation being served must have given up:
//! the request's deadline (or the reconciler run's), known to every call
//! made on its behalf. Auth0 calls are handed it; the owner index's
//! calls, which the port does not give one, find it here
//! ([`current`]), so that every DynamoDB call and every read that settles
//! a write whose outcome is unknown ends by it (CONTRACT.md, "Writes whose
//! outcome is unknown").
//!
//! A task-local rather than a parameter of every port method: the
//! deadline belongs to the invocation, not to the index's rules, and the
//! index must honour it also inside calls (a settle read after a late
//! answer) that no caller sees.

use std::future::Future;

use tokio::time::Instant;

use super::clock::{micros, now_micros};

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `work` with `deadline` as its deadline, or the one it already has
/// if that is nearer.
pub async fn within<F: Future>(deadline: Instant, work: F) -> F::Output {
    let nearer = current().map_or(deadline, |outer| outer.min(deadline));
    DEADLINE.scope(nearer, work).await
}

/// The deadline of the invocation this task serves, if it has one.
pub fn current() -> Option<Instant> {
    DEADLINE.try_with(|deadline| *deadline).ok()
}

/// `deadline` as the index records time: microseconds since the epoch.
pub fn epoch_micros(deadline: Instant) -> u64 {
    now_micros().saturating_add(micros(deadline.saturating_duration_since(Instant::now())))
}
