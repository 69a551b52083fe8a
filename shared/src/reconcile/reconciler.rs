//! The reconciler itself: what it works on (Auth0, the owner index, the
//! grant clients get), how stale an operation must be and how often it
//! sweeps, and the summary a run answers. What a run does is in the files
//! beside this one: `repairs.rs`, `sweep.rs`, `audit.rs`.

use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::domain::{ClientDirectory, DirectoryClient, DirectoryGrant, GrantPolicy, OwnerIndex};
use crate::error::UpstreamError;

pub use crate::domain::STALE_AFTER;

/// What one run did: its answer, and its log line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Creations that stopped half-way, undone.
    pub repaired_creations: u32,
    /// Deletions that stopped half-way, finished.
    pub finished_deletions: u32,
    /// Changes (update, disable, enable) that stopped half-way: Auth0 made
    /// to match the index again.
    pub repaired_changes: u32,
    /// Clients of the index that Auth0 no longer has, removed.
    pub removed: u32,
    /// Clients only Auth0 had, imported (backfill).
    pub imported: u32,
    /// Repairs that failed this time (the next run tries again).
    pub failed: u32,
    /// `done`; `resumable` (out of time: the next run goes on); `failed`
    /// (Auth0 failed, or the lease was lost: the next run goes on);
    /// `skipped` (not due); `busy` (another run holds the sweep's lease).
    pub sweep: &'static str,
    /// Since when the sweep is overdue, in a sense (µs): when the last one
    /// finished, or when the first one began if none has. The `SweepAge`
    /// metric, not part of the answer.
    #[serde(skip)]
    pub sweep_age_from: Option<u64>,
}

impl Summary {
    /// Everything the run put right: creations undone, deletions finished,
    /// changes repaired, vanished clients removed.
    pub fn repairs(&self) -> u32 {
        self.repaired_creations + self.finished_deletions + self.repaired_changes + self.removed
    }
}

pub struct Reconciler<D, I> {
    pub(super) directory: D,
    pub(super) index: I,
    /// What clients are authorized for: an enable that stopped half-way is
    /// finished with it, and the audit compares grants with it.
    pub(super) grant: GrantPolicy,
    pub(super) stale_after: Duration,
    /// A sweep of Auth0 starts at most this often (unless a backfill asks).
    pub(super) sweep_interval: Duration,
}

impl<D: ClientDirectory, I: OwnerIndex> Reconciler<D, I> {
    pub fn new(directory: D, index: I, grant: GrantPolicy) -> Self {
        Self::with_stale_after(directory, index, grant, STALE_AFTER)
    }

    /// A reconciler for which operations are stale sooner (tests, which
    /// stop an operation and reconcile at once).
    pub fn with_stale_after(
        directory: D,
        index: I,
        grant: GrantPolicy,
        stale_after: Duration,
    ) -> Self {
        Reconciler {
            directory,
            index,
            grant,
            stale_after,
            sweep_interval: crate::config::DEFAULT_SWEEP_INTERVAL,
        }
    }

    /// This reconciler, sweeping Auth0 at most every `interval`.
    pub fn sweeping_every(self, interval: Duration) -> Self {
        Reconciler {
            sweep_interval: interval,
            ..self
        }
    }

    pub fn index(&self) -> &I {
        &self.index
    }

    pub fn directory(&self) -> &D {
        &self.directory
    }

    /// Every M2M client of the tenant, a page at a time, unless `deadline`
    /// comes first (`None`).
    pub(super) async fn every_client(
        &self,
        deadline: Instant,
    ) -> Result<Option<Vec<DirectoryClient>>, UpstreamError> {
        every_page(deadline, |from: Option<String>| async move {
            self.directory.list_page(from.as_deref(), deadline).await
        })
        .await
    }

    /// Every grant for the service's API, as [`every_client`](Self::every_client).
    pub(super) async fn every_grant(
        &self,
        deadline: Instant,
    ) -> Result<Option<Vec<DirectoryGrant>>, UpstreamError> {
        let audience = self.grant.audience.as_str();
        every_page(deadline, |from: Option<String>| async move {
            self.directory
                .list_grants(audience, from.as_deref(), deadline)
                .await
        })
        .await
    }
}

/// All of a checkpoint-paged list, by `deadline` (`None` if it came first):
/// `page` answers the page from a checkpoint, and the next one.
async fn every_page<T, Page>(
    deadline: Instant,
    page: impl Fn(Option<String>) -> Page,
) -> Result<Option<Vec<T>>, UpstreamError>
where
    Page: Future<Output = Result<(Vec<T>, Option<String>), UpstreamError>>,
{
    let mut all = Vec::new();
    let mut from: Option<String> = None;
    loop {
        if Instant::now() >= deadline {
            return Ok(None);
        }
        let (items, next) = page(from.take()).await?;
        all.extend(items);
        from = next;
        if from.is_none() {
            return Ok(Some(all));
        }
    }
}
