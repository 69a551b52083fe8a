//! The sweep (docs/owner-index.md, "The reconciler", step 2): at most once
//! every sweep interval, or when a backfill asks, Auth0's clients are paged
//! through and compared with the index. One sweep at a time per deployment:
//! a run takes the lease on the sweep's item first, renews it as it goes,
//! and a run that finds it held skips the sweep. Every client item seen in
//! Auth0 is marked with the sweep's generation (with `backfill`, clients
//! only Auth0 has are imported); once every page has been seen, an item the
//! sweep did not see is removed only after Auth0 answers 404 for its
//! client, and only if it was not written since the sweep began.

use std::time::Duration;

use tokio::time::Instant;
use tracing::{error, info, warn};

use super::reconciler::{Reconciler, Summary};
use crate::domain::{
    ClientDirectory, IndexedClient, OwnerIndex, SweepLease, SweepRemoval, SweepState, micros,
    now_micros,
};
use crate::error::ServiceError;

/// How long the sweep's lease lasts unless renewed: longer than any one
/// step of a sweep (a page of Auth0, one client's check and removal), and
/// shorter than the schedule's period, so that the lease of a run that
/// stopped has lapsed by the next run.
pub const SWEEP_LEASE: Duration = Duration::from_secs(120);

/// How a run's sweep ended, as its summary says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ended {
    /// Every client seen, every item Auth0 lost removed.
    Done,
    /// Out of time: saved, the next run goes on.
    Resumable,
    /// Auth0 failed, or the lease was lost: the next run goes on.
    Failed,
    /// Not due (nor asked for by a backfill).
    Skipped,
    /// Another run holds the lease.
    Busy,
}

impl Ended {
    fn as_str(self) -> &'static str {
        match self {
            Ended::Done => "done",
            Ended::Resumable => "resumable",
            Ended::Failed => "failed",
            Ended::Skipped => "skipped",
            Ended::Busy => "busy",
        }
    }
}

/// A sweep this run holds the lease of: where it stands, and the lease.
struct Held {
    state: SweepState,
    lease: SweepLease,
}

/// A held sweep's pass through Auth0 and the index: what its two steps
/// (listing Auth0, removing what it lacks) work with.
struct Pass<'a> {
    held: Held,
    /// The sweep's generation (the one in `held.state`).
    generation: u64,
    summary: &'a mut Summary,
    deadline: Instant,
}

fn lease_end() -> u64 {
    now_micros() + micros(SWEEP_LEASE)
}

impl<D: ClientDirectory, I: OwnerIndex> Reconciler<D, I> {
    /// Goes on with the sweep under way, or starts one if it is time (or a
    /// backfill asks), under the sweep's lease; says in `summary` how far
    /// it got.
    pub(super) async fn sweep(
        &self,
        summary: &mut Summary,
        backfill: bool,
        deadline: Instant,
    ) -> Result<(), ServiceError> {
        let read = self.index.sweep_state().await?;
        summary.sweep_age_from = read.finished_at.or(read.generation);
        let ended = if self.wanted(&read, backfill) {
            self.sweep_leased(summary, backfill, deadline).await?
        } else {
            Ended::Skipped
        };
        summary.sweep = ended.as_str();
        Ok(())
    }

    /// Whether a run should sweep: one is under way, a backfill asks, or
    /// the last one finished an interval ago.
    fn wanted(&self, state: &SweepState, backfill: bool) -> bool {
        let due = state
            .finished_at
            .is_none_or(|at| now_micros().saturating_sub(at) >= micros(self.sweep_interval));
        state.generation.is_some() || backfill || due
    }

    async fn sweep_leased(
        &self,
        summary: &mut Summary,
        backfill: bool,
        deadline: Instant,
    ) -> Result<Ended, ServiceError> {
        let lease = SweepLease {
            holder: ksuid::Ksuid::generate().to_base62(),
            until: lease_end(),
        };
        let Some(state) = self.index.take_sweep_lease(&lease).await? else {
            info!("sweep: another run holds the sweep's lease; skipped");
            return Ok(Ended::Busy);
        };
        let mut held = Held { state, lease };
        // Another run may have finished a sweep since the state was read.
        if !self.wanted(&held.state, backfill) {
            return self.pause(&mut held, Ended::Skipped).await;
        }
        let now = now_micros();
        // A backfill needs a pass that imports from its first page.
        let generation = match held.state.generation {
            Some(generation) if held.state.backfill || !backfill => generation,
            _ => {
                held.state = SweepState {
                    generation: Some(now),
                    from: None,
                    backfill,
                    listed: false,
                    finished_at: held.state.finished_at,
                };
                now
            }
        };
        summary.sweep_age_from = held.state.finished_at.or(Some(generation));
        let mut pass = Pass {
            held,
            generation,
            summary,
            deadline,
        };
        if !pass.held.state.listed
            && let Some(ended) = self.list_auth0(&mut pass).await?
        {
            return Ok(ended);
        }
        if let Some(ended) = self.remove_unseen(&mut pass).await? {
            return Ok(ended);
        }
        let finished_at = now_micros();
        pass.held.state = SweepState {
            finished_at: Some(finished_at),
            ..SweepState::default()
        };
        let ended = self.pause(&mut pass.held, Ended::Done).await?;
        if ended == Ended::Done {
            pass.summary.sweep_age_from = Some(finished_at);
        }
        Ok(ended)
    }

    /// Pages through Auth0 from where the sweep stands, marking each
    /// client the index has (importing, with `backfill`, those it lacks);
    /// `Some` if the sweep stops here.
    async fn list_auth0(&self, pass: &mut Pass<'_>) -> Result<Option<Ended>, ServiceError> {
        let (generation, deadline) = (pass.generation, pass.deadline);
        let held = &mut pass.held;
        loop {
            if Instant::now() >= deadline {
                return self.pause(held, Ended::Resumable).await.map(Some);
            }
            let page = self
                .directory
                .list_page(held.state.from.as_deref(), deadline)
                .await;
            let (clients, next) = match page {
                Ok(page) => page,
                Err(problem) => {
                    error!(error = %problem, "sweep: Auth0 could not be listed; the next run resumes");
                    return self.pause(held, Ended::Failed).await.map(Some);
                }
            };
            for client in clients {
                let Some(owner) = client.service_owner() else {
                    continue;
                };
                let known = self
                    .index
                    .mark_swept(&owner, &client.client_id, generation)
                    .await?;
                if !known && held.state.backfill {
                    let imported = IndexedClient::imported(
                        client.client_id.clone(),
                        owner.clone(),
                        client.name,
                        client.description,
                    );
                    // A creation under way made it, perhaps one the repairs
                    // undo (its Auth0 client deleted, then its record): it
                    // is that creation's to list, never an import.
                    let creation_id = client.creation_id.as_deref();
                    self.index
                        .import(&imported, creation_id, generation)
                        .await?;
                    info!(target: "audit", action = "import", owner = owner.as_str(), client_id = %client.client_id, outcome = "imported", "audit");
                    pass.summary.imported += 1;
                }
            }
            held.state.listed = next.is_none();
            held.state.from = next;
            if !self.renew(held).await? {
                return Ok(Some(Ended::Failed));
            }
            if held.state.listed {
                return Ok(None);
            }
        }
    }

    /// Every item the sweep did not see in Auth0 (begun before it, and not
    /// being created now) is checked with Auth0, and removed if Auth0 says
    /// it has no such client; `Some` if the sweep stops here.
    async fn remove_unseen(&self, pass: &mut Pass<'_>) -> Result<Option<Ended>, ServiceError> {
        let (generation, deadline) = (pass.generation, pass.deadline);
        let held = &mut pass.held;
        let created_before = generation.saturating_sub(micros(self.stale_after));
        for client in self.index.unswept(generation, created_before).await? {
            if Instant::now() >= deadline {
                return self.pause(held, Ended::Resumable).await.map(Some);
            }
            let half_left = held.lease.until.saturating_sub(micros(SWEEP_LEASE) / 2);
            if now_micros() >= half_left && !self.renew(held).await? {
                return Ok(Some(Ended::Failed));
            }
            let id = client.client_id.as_str();
            match self.directory.client_exists(id, deadline).await {
                Ok(true) => {
                    // Its metadata or type changed in Auth0, past the
                    // service: seen all the same, and kept.
                    warn!(
                        client_id = id,
                        owner = client.owner.as_str(),
                        "sweep: Auth0 has this client, but its listing does not show it as the service's; kept"
                    );
                    self.index.mark_swept(&client.owner, id, generation).await?;
                }
                Ok(false) => {
                    let removal = self
                        .index
                        .begin_sweep_removal(&client, generation, &held.lease)
                        .await?;
                    match removal {
                        SweepRemoval::Marked(marked) => {
                            self.remove_gone(&marked).await?;
                            pass.summary.removed += 1;
                        }
                        SweepRemoval::Kept => {}
                        SweepRemoval::LeaseLost => {
                            warn!("sweep: the lease was lost; another run goes on");
                            return Ok(Some(Ended::Failed));
                        }
                    }
                }
                Err(problem) => {
                    error!(client_id = id, error = %problem, "sweep: Auth0 could not say whether it has a client; the next run resumes");
                    return self.pause(held, Ended::Failed).await.map(Some);
                }
            }
        }
        Ok(None)
    }

    /// The last step of removing a client Auth0 answered 404 for, once its
    /// item is marked as being deleted (by the sweep, or for Auth0's log
    /// stream): the item goes with its quota and key, as delete's last
    /// step, and the audit trail says why.
    pub(super) async fn remove_gone(&self, marked: &IndexedClient) -> Result<(), ServiceError> {
        self.index.remove(marked).await?;
        info!(target: "audit", action = "remove", owner = marked.owner.as_str(), client_id = %marked.client_id, outcome = "gone_from_auth0", "audit");
        Ok(())
    }

    /// Saves where the sweep stands and renews the lease; `false` (and a
    /// warning) if the lease is no longer this run's.
    async fn renew(&self, held: &mut Held) -> Result<bool, ServiceError> {
        held.lease.until = lease_end();
        self.save(held).await
    }

    /// Saves where the sweep stands and gives the lease up, for the next
    /// run to go on at once; answers `ended` (`Failed` if the lease was
    /// lost).
    async fn pause(&self, held: &mut Held, ended: Ended) -> Result<Ended, ServiceError> {
        held.lease.until = 0;
        let saved = self.save(held).await?;
        Ok(if saved { ended } else { Ended::Failed })
    }

    /// Saves where the sweep stands under `held.lease` as it now reads;
    /// `false` (and a warning) if the lease is no longer this run's.
    async fn save(&self, held: &Held) -> Result<bool, ServiceError> {
        let saved = self
            .index
            .save_sweep_state(&held.state, &held.lease)
            .await?;
        if !saved {
            warn!("sweep: the lease was lost; another run goes on");
        }
        Ok(saved)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use super::super::test_fixtures::{imported, indexed, later, owner, reconciler};
    use crate::domain::{OwnerIndex, SweepLease, SweepRemoval, now_micros};
    use crate::testing::Failing;

    #[tokio::test]
    async fn the_sweep_comes_round_again_after_its_interval() {
        let reconciler = reconciler().sweeping_every(Duration::from_millis(50));
        let sweeps = async || reconciler.run(false, later()).await.unwrap().sweep;
        assert_eq!(sweeps().await, "done");
        assert_eq!(sweeps().await, "skipped");
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(sweeps().await, "done");
    }

    #[tokio::test]
    async fn a_sweep_removes_what_auth0_lost_and_a_backfill_imports_what_it_has() {
        let reconciler = reconciler();
        let (directory, index) = (reconciler.directory(), reconciler.index());
        // Known to both; known to the index only; known to Auth0 only
        // (owned, and not made by this service).
        for id in ["client_both", "client_gone"] {
            imported(index, id, "owner-a").await;
        }
        directory.seed("client_both", Some("owner-a"));
        for (id, who) in [
            ("legacy1", Some("owner-a")),
            ("legacy2", Some("owner-b")),
            ("foreign", None),
        ] {
            directory.seed(id, who);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;

        let summary = reconciler.run(false, later()).await.unwrap();
        assert_eq!(
            (summary.removed, summary.imported, summary.sweep),
            (1, 0, "done")
        );
        // Removed after Auth0 said it has no such client.
        assert!(directory.calls().contains(&"client_exists"));
        let listed = |who| async move {
            let page = index.list(&owner(who), None, None).await.unwrap();
            page.clients
                .into_iter()
                .map(|c| c.client_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(listed("owner-a").await, ["client_both"]);
        // Not due again for a day, unless a backfill asks.
        assert_eq!(
            reconciler.run(false, later()).await.unwrap().sweep,
            "skipped"
        );
        let backfill = reconciler.run(true, later()).await.unwrap();
        assert_eq!((backfill.imported, backfill.removed), (2, 0));
        assert_eq!(listed("owner-a").await, ["client_both", "legacy1"]);
        assert_eq!(listed("owner-b").await, ["legacy2"]);
        assert_eq!(index.quota(&owner("owner-b")), 1);
        // A second backfill changes nothing.
        let again = reconciler.run(true, later()).await.unwrap();
        assert_eq!((again.imported, again.removed), (0, 0));
        assert!(
            directory.ids().contains(&"foreign".to_owned()),
            "never deleted"
        );
    }

    #[tokio::test]
    async fn an_item_is_removed_only_when_auth0_says_its_client_is_gone() {
        let reconciler = reconciler();
        let (directory, index) = (reconciler.directory(), reconciler.index());
        // Its listing does not show it as the service's (the metadata was
        // edited in the dashboard), yet Auth0 has it.
        imported(index, "client_edited", "owner-a").await;
        directory.seed("client_edited", None);
        imported(index, "client_gone", "owner-a").await;
        tokio::time::sleep(Duration::from_millis(2)).await;
        // Auth0 cannot say, this time.
        directory.fail_next(Failing::Read);
        let failed = reconciler.run(false, later()).await.unwrap();
        assert_eq!((failed.sweep, failed.removed), ("failed", 0));
        assert_eq!(index.quota(&owner("owner-a")), 2);
        // The next run resumes (the listing is done) and asks again.
        let summary = reconciler.run(false, later()).await.unwrap();
        assert_eq!((summary.sweep, summary.removed), ("done", 1));
        let kept = index.get(&owner("owner-a"), "client_edited").await;
        assert!(kept.unwrap().is_some());
        assert_eq!(
            index.get(&owner("owner-a"), "client_gone").await.unwrap(),
            None
        );
        assert_eq!(index.quota(&owner("owner-a")), 1);
    }

    #[tokio::test]
    async fn a_second_run_while_the_lease_is_held_skips_the_sweep_until_it_lapses() {
        let reconciler = reconciler();
        let index = reconciler.index();
        imported(index, "client_gone", "owner-a").await;
        // A run that took the lease and stopped (crashed) without giving
        // it up.
        let crashed = SweepLease {
            holder: "crashed".into(),
            until: now_micros() + 50_000,
        };
        assert!(index.take_sweep_lease(&crashed).await.unwrap().is_some());
        let busy = reconciler.run(true, later()).await.unwrap();
        assert_eq!((busy.sweep, busy.removed, busy.imported), ("busy", 0, 0));
        assert_eq!(index.quota(&owner("owner-a")), 1);
        // Its lease lapses: the next run sweeps.
        tokio::time::sleep(Duration::from_millis(60)).await;
        let next = reconciler.run(false, later()).await.unwrap();
        assert_eq!((next.sweep, next.removed), ("done", 1));
        // Given up at the end: the one after takes it at once.
        let after = reconciler.run(true, later()).await.unwrap();
        assert_eq!(after.sweep, "done");
    }

    #[tokio::test]
    async fn a_run_whose_lease_was_taken_over_removes_nothing() {
        let reconciler = reconciler();
        let index = reconciler.index();
        let client = indexed("client_gone", "owner-a");
        index.import(&client, None, 0).await.unwrap();
        let generation = now_micros() + 1;
        // A slow run's lease lapsed, and another run took it over.
        let slow = SweepLease {
            holder: "slow".into(),
            until: now_micros() - 1,
        };
        assert!(index.take_sweep_lease(&slow).await.unwrap().is_some());
        let other = SweepLease {
            holder: "other".into(),
            until: now_micros() + 60_000_000,
        };
        let state = index.take_sweep_lease(&other).await.unwrap().unwrap();
        // The slow run can neither remove nor save anything any more.
        let removal = index
            .begin_sweep_removal(&client, generation, &slow)
            .await
            .unwrap();
        assert_eq!(removal, SweepRemoval::LeaseLost);
        assert!(!index.save_sweep_state(&state, &slow).await.unwrap());
        assert_eq!(index.quota(&owner("owner-a")), 1);
        // While the other may.
        let removal = index
            .begin_sweep_removal(&client, generation, &other)
            .await
            .unwrap();
        assert_eq!(removal, SweepRemoval::Marked(client));
    }

    #[tokio::test]
    async fn a_sweep_out_of_time_resumes_where_it_stopped() {
        let reconciler = reconciler();
        let (directory, index) = (reconciler.directory(), reconciler.index());
        for n in 0..5 {
            directory.seed(&format!("legacy{n}"), Some("owner-a"));
        }
        // No time at all: it saves where it stands.
        let first = reconciler.run(true, Instant::now()).await.unwrap();
        assert_eq!((first.sweep, first.imported), ("resumable", 0));
        assert!(index.sweep_state().await.unwrap().generation.is_some());
        let second = reconciler.run(false, later()).await.unwrap();
        assert_eq!((second.sweep, second.imported), ("done", 5));
        assert_eq!(index.sweep_state().await.unwrap().generation, None);
    }
}
