//! The reconciler (`reconcile_clients`, on a schedule): repairs what
//! stopped half-way, and sweeps Auth0 against the owner index
//! (docs/owner-index.md, "The reconciler"). Idempotent: a second run right
//! after the first changes nothing.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;
use tracing::{error, info, warn};

use crate::domain::{
    ChangeBegun, ClientDirectory, ClientStatus, ClientUpdate, GrantPolicy, IndexedClient,
    OwnerIndex, PendingChange, StaleOperation, SweepState, micros, now_micros,
};
use crate::error::{ServiceError, UpstreamError};

pub use crate::domain::STALE_AFTER;
/// Time kept back, before the invocation's deadline, to save where the
/// sweep stands and answer.
const FINISH_MARGIN: Duration = Duration::from_secs(5);

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
    /// `done`, `resumable` (out of time; the next run goes on) or `skipped`.
    pub sweep: &'static str,
}

impl Summary {
    /// Everything the run put right: creations undone, deletions finished,
    /// changes repaired, vanished clients removed.
    pub fn repairs(&self) -> u32 {
        self.repaired_creations + self.finished_deletions + self.repaired_changes + self.removed
    }
}

/// What a run is asked: `{"backfill": true}` imports clients that only
/// Auth0 has; anything else (EventBridge's scheduled event) does not.
pub fn wants_backfill(event: &Value) -> bool {
    event.get("backfill").and_then(Value::as_bool) == Some(true)
}

pub struct Reconciler<D, I> {
    directory: D,
    index: I,
    /// What clients are authorized for: an enable that stopped half-way is
    /// finished with it.
    grant: GrantPolicy,
    stale_after: Duration,
    /// A sweep of Auth0 starts at most this often (unless a backfill asks).
    sweep_interval: Duration,
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

    /// One run, by `deadline`.
    pub async fn run(&self, backfill: bool, deadline: Instant) -> Result<Summary, ServiceError> {
        let mut summary = Summary::default();
        // List cursors need the deployment's key, which the first writer
        // makes: after a backfill, that may be this run.
        self.index.cursor_key(true).await?;
        let work_by = deadline
            .checked_sub(FINISH_MARGIN)
            .unwrap_or(deadline)
            .max(Instant::now());
        self.repair(&mut summary, work_by).await?;
        summary.sweep = self.sweep(&mut summary, backfill, work_by).await?;
        info!(?summary, "reconciled");
        Ok(summary)
    }

    /// Undoes stale creations, finishes stale deletions and makes Auth0
    /// match the index where a change stopped half-way.
    async fn repair(&self, summary: &mut Summary, deadline: Instant) -> Result<(), ServiceError> {
        let before = now_micros().saturating_sub(micros(self.stale_after));
        for operation in self.index.stale_operations(before).await? {
            if Instant::now() >= deadline {
                break;
            }
            let (owner, client_id, done) = match &operation {
                StaleOperation::Creation(creation) => {
                    (&creation.owner, creation.client_id(), "undone")
                }
                StaleOperation::Deletion(client) => {
                    (&client.owner, client.client_id.as_str(), "finished")
                }
                StaleOperation::Change(client) => {
                    (&client.owner, client.client_id.as_str(), "restored")
                }
            };
            let repaired = match &operation {
                StaleOperation::Change(client) => {
                    self.repair_change(client, before, deadline).await
                }
                // The client goes from Auth0 first: an item naming a client
                // is never lost before the client is.
                _ => self.directory.delete_client(client_id, deadline).await,
            };
            if let Err(problem) = repaired {
                warn!(client_id, error = %problem, "could not repair yet");
                summary.failed += 1;
                continue;
            }
            match &operation {
                StaleOperation::Creation(creation) => {
                    self.index.abandon_creation(creation).await?;
                    summary.repaired_creations += 1;
                }
                StaleOperation::Deletion(client) => {
                    self.index.remove(client).await?;
                    summary.finished_deletions += 1;
                }
                StaleOperation::Change(_) => summary.repaired_changes += 1,
            }
            info!(target: "audit", action = "reconcile", owner = owner.as_str(), client_id, outcome = done, "audit");
        }
        Ok(())
    }

    /// Makes Auth0 say what the index says of `stale`'s client, in the
    /// aspects its change may have left different. The change is taken
    /// over first, so that no request changes the client meanwhile; if the
    /// repair fails it is left stale again, for the next run (or a request)
    /// to take over.
    async fn repair_change(
        &self,
        stale: &IndexedClient,
        stale_before: u64,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        let ours = PendingChange::begin(Default::default());
        let begun = self
            .index
            .begin_change(stale, &ours, stale_before)
            .await
            .map_err(|problem| UpstreamError::Failed(problem.to_string()))?;
        let ChangeBegun::Started {
            client,
            taken_over: Some(taken_over),
        } = begun
        else {
            // Ended, deleted or taken over since it was found: not ours.
            return Ok(());
        };
        let aspects = taken_over.aspects;
        let restored = self.restore_in_auth0(&client, aspects, deadline).await;
        let change = match &restored {
            Ok(_) => None,
            Err(_) => Some(PendingChange {
                id: ours.id.clone(),
                ..taken_over
            }),
        };
        let ended = IndexedClient { change, ..client };
        match (&restored, ended) {
            // Gone from Auth0: so it goes from the index.
            (Ok(false), ended) => self
                .index
                .remove(&ended)
                .await
                .map_err(|problem| UpstreamError::Failed(problem.to_string()))?,
            (_, ended) => {
                self.index
                    .end_change(&ended, &ours.id)
                    .await
                    .map_err(|problem| UpstreamError::Failed(problem.to_string()))?;
            }
        }
        restored.map(drop)
    }

    /// Sets the client's name and description, and its grant by its
    /// status, in Auth0, as far as `aspects` say; `false` if Auth0 has no
    /// such client.
    async fn restore_in_auth0(
        &self,
        client: &IndexedClient,
        aspects: crate::domain::Aspects,
        deadline: Instant,
    ) -> Result<bool, UpstreamError> {
        let id = client.client_id.as_str();
        if aspects.profile {
            let update = ClientUpdate {
                name: Some(client.name.clone()),
                description: Some(client.description.clone()),
            };
            if !self.directory.update_client(id, &update, deadline).await? {
                return Ok(false);
            }
        }
        if aspects.access {
            match client.status {
                ClientStatus::Active => {
                    let grant = GrantPolicy {
                        audience: self.grant.audience.clone(),
                        scopes: self.grant.scopes_of(client.scopes.as_deref()),
                    };
                    self.directory.create_grant(id, &grant, deadline).await?;
                }
                ClientStatus::Disabled => {
                    self.directory
                        .delete_grant(id, &self.grant.audience, deadline)
                        .await?;
                }
            }
        }
        Ok(true)
    }

    /// Goes on with the sweep under way, or starts one if it is time (or a
    /// backfill asks); answers how far it got.
    async fn sweep(
        &self,
        summary: &mut Summary,
        backfill: bool,
        deadline: Instant,
    ) -> Result<&'static str, ServiceError> {
        let mut state = self.index.sweep_state().await?;
        let now = now_micros();
        let due = state
            .finished_at
            .is_none_or(|at| now.saturating_sub(at) >= micros(self.sweep_interval));
        // A backfill needs a pass that imports from its first page.
        let generation = match state.generation {
            Some(generation) if state.backfill || !backfill => generation,
            _ if backfill || due => {
                state = SweepState {
                    generation: Some(now),
                    from: None,
                    backfill,
                    finished_at: state.finished_at,
                };
                now
            }
            _ => return Ok("skipped"),
        };
        loop {
            if Instant::now() >= deadline {
                self.index.save_sweep_state(&state).await?;
                return Ok("resumable");
            }
            let page = self
                .directory
                .list_page(state.from.as_deref(), deadline)
                .await;
            let (clients, next) = match page {
                Ok(page) => page,
                Err(problem) => {
                    error!(error = %problem, "sweep: Auth0 could not be listed; the next run resumes");
                    self.index.save_sweep_state(&state).await?;
                    return Ok("resumable");
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
                if !known && state.backfill {
                    let imported = IndexedClient::imported(
                        client.client_id.clone(),
                        owner.clone(),
                        client.name,
                        client.description,
                    );
                    self.index.import(&imported, generation).await?;
                    info!(target: "audit", action = "import", owner = owner.as_str(), client_id = %client.client_id, outcome = "imported", "audit");
                    summary.imported += 1;
                }
            }
            state.from = next;
            if state.from.is_none() {
                break;
            }
            self.index.save_sweep_state(&state).await?;
        }
        // Every client Auth0 has was seen: what the index has besides,
        // begun before the sweep (and not being created now), is gone.
        let created_before = generation.saturating_sub(micros(self.stale_after));
        for client in self.index.unswept(generation, created_before).await? {
            self.index.remove(&client).await?;
            info!(target: "audit", action = "remove", owner = client.owner.as_str(), client_id = %client.client_id, outcome = "gone_from_auth0", "audit");
            summary.removed += 1;
        }
        self.index
            .save_sweep_state(&SweepState {
                generation: None,
                from: None,
                backfill: false,
                finished_at: Some(now_micros()),
            })
            .await?;
        Ok("done")
    }
}

/// The instant of Lambda's deadline (ms since the epoch), or a minute from
/// now for an invocation without one.
pub fn deadline(deadline_ms: u64) -> Instant {
    let now_ms = now_micros() / 1000;
    let left = deadline_ms.saturating_sub(now_ms);
    let left = if left == 0 { 60_000 } else { left };
    Instant::now() + Duration::from_millis(left)
}

/// The reconciler a container builds once, from the environment (the
/// functions' configuration; the callers' settings are read but unused).
pub async fn from_env() -> Result<
    Reconciler<
        crate::auth0::ManagementApi<crate::secrets_manager::SecretsManagerSource>,
        crate::owner_index::DynamoIndex,
    >,
    String,
> {
    let config = crate::config::Config::from_env().map_err(|problem| problem.to_string())?;
    let http = crate::http::client()?;
    let sdk_config = crate::aws::sdk_config(http.clone());
    let credentials = crate::secrets_manager::SecretsManagerSource::from_config(
        config.auth0_secret_id.clone(),
        &sdk_config,
    );
    let index =
        crate::owner_index::DynamoIndex::from_config(config.clients_table.clone(), &sdk_config);
    // The deployment's shared token, as the functions use it.
    let shared_tokens = match config.management_token_cache {
        crate::config::TokenCache::Shared => index.token_store(),
        crate::config::TokenCache::Container => None,
    };
    let directory = crate::auth0::ManagementApi::new(
        http,
        config.auth0_base_url.clone(),
        config.management_audience(),
        credentials,
        config.custom_client_ids,
        shared_tokens,
    );
    let grant = GrantPolicy {
        audience: config.grant_audience.clone(),
        scopes: config.grant_scopes.clone(),
    };
    Ok(Reconciler::new(directory, index, grant).sweeping_every(config.sweep_interval))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Creation, NewClient, Owner};
    use crate::owner_index::MemoryIndex;
    use crate::testing::MemoryDirectory;

    fn owner(id: &str) -> Owner {
        Owner::parse(id).unwrap()
    }

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(30)
    }

    /// A reconciler for which anything begun is already stale.
    fn reconciler() -> Reconciler<MemoryDirectory, MemoryIndex> {
        Reconciler::with_stale_after(
            MemoryDirectory::default(),
            MemoryIndex::new(),
            GrantPolicy {
                audience: "https://butlrauth/".into(),
                scopes: vec!["read:spaces".into(), "read:rooms".into()],
            },
            Duration::ZERO,
        )
    }

    #[tokio::test]
    async fn the_sweep_comes_round_again_after_its_interval() {
        let reconciler = reconciler().sweeping_every(Duration::from_millis(50));
        let sweeps = async || reconciler.run(false, later()).await.unwrap().sweep;
        assert_eq!(sweeps().await, "done");
        assert_eq!(sweeps().await, "skipped");
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(sweeps().await, "done");
    }

    fn creation(id: &str, who: &str) -> Creation {
        Creation {
            owner: owner(who),
            chosen_id: id.into(),
            client_id: None,
            name: id.into(),
            description: String::new(),
            started_at: now_micros(),
            idempotency: None,
            scopes: vec![],
        }
    }

    fn indexed(id: &str, who: &str) -> IndexedClient {
        IndexedClient::imported(id.into(), owner(who), id.into(), String::new())
    }

    #[tokio::test]
    async fn creations_that_stopped_are_undone_and_deletions_finished() {
        let reconciler = reconciler();
        let (directory, index) = (reconciler.directory(), reconciler.index());
        // A creation stopped after Auth0 made the client...
        let stopped = creation("client_stopped", "owner-a");
        index.begin_creation(&stopped, 50).await.unwrap();
        let grant = GrantPolicy {
            audience: "a".into(),
            scopes: vec![],
        };
        let new = NewClient {
            name: "stopped".into(),
            description: String::new(),
            scopes: None,
        };
        directory
            .create_client(&new, &owner("owner-a"), "client_stopped", later(), later())
            .await
            .unwrap();
        directory
            .create_grant("client_stopped", &grant, later())
            .await
            .unwrap();
        // ... and a deletion stopped before Auth0 deleted it.
        let kept = indexed("client_kept", "owner-a");
        directory.seed("client_kept", Some("owner-a"));
        index.import(&kept, 0).await.unwrap();
        index
            .begin_deletion(&owner("owner-a"), "client_kept")
            .await
            .unwrap();

        let summary = reconciler.run(false, later()).await.unwrap();
        assert_eq!(
            (summary.repaired_creations, summary.finished_deletions),
            (1, 1)
        );
        assert!(directory.ids().is_empty(), "{:?}", directory.ids());
        assert!(index.creations().is_empty());
        assert_eq!(index.quota(&owner("owner-a")), 0);
        // Idempotent: nothing left to do.
        let again = reconciler.run(false, later()).await.unwrap();
        assert_eq!((again.repaired_creations, again.finished_deletions), (0, 0));
    }

    #[tokio::test]
    async fn changes_that_stopped_are_undone_in_auth0() {
        let reconciler = reconciler();
        let (directory, index) = (reconciler.directory(), reconciler.index());
        let grant = GrantPolicy {
            audience: "https://butlrauth/".into(),
            scopes: vec!["read:rooms".into()],
        };
        // A disable stopped after Auth0 took the grant; an update stopped
        // after Auth0 renamed the client. The index says neither happened.
        for id in ["client_disabled", "client_renamed"] {
            directory.seed(id, Some("owner-a"));
            directory.create_grant(id, &grant, later()).await.unwrap();
            let mut client = indexed(id, "owner-a");
            client.scopes = Some(vec!["read:rooms".into()]);
            index.import(&client, 0).await.unwrap();
        }
        for (id, aspects) in [
            ("client_disabled", crate::domain::Aspects::ACCESS),
            ("client_renamed", crate::domain::Aspects::PROFILE),
        ] {
            let change = PendingChange::begin(aspects);
            let read = index.get(&owner("owner-a"), id).await.unwrap().unwrap();
            index.begin_change(&read, &change, 0).await.unwrap();
        }
        directory
            .delete_grant("client_disabled", "https://butlrauth/", later())
            .await
            .unwrap();
        let renamed = ClientUpdate {
            name: Some("renamed in Auth0".into()),
            description: None,
        };
        directory
            .update_client("client_renamed", &renamed, later())
            .await
            .unwrap();

        let summary = reconciler.run(false, later()).await.unwrap();
        assert_eq!((summary.repaired_changes, summary.failed), (2, 0));
        assert_eq!(
            directory.granted("client_disabled").unwrap(),
            ["read:rooms"]
        );
        assert_eq!(
            directory.profile("client_renamed").unwrap().0,
            "client_renamed"
        );
        assert!(index.stale_operations(u64::MAX).await.unwrap().is_empty());
        let again = reconciler.run(false, later()).await.unwrap();
        assert_eq!(again.repaired_changes, 0);
    }

    #[tokio::test]
    async fn a_change_whose_repair_fails_is_left_for_the_next_run() {
        let reconciler = reconciler();
        let (directory, index) = (reconciler.directory(), reconciler.index());
        directory.seed("client_x", Some("owner-a"));
        index
            .import(&indexed("client_x", "owner-a"), 0)
            .await
            .unwrap();
        let change = PendingChange::begin(crate::domain::Aspects::PROFILE);
        let read = index
            .get(&owner("owner-a"), "client_x")
            .await
            .unwrap()
            .unwrap();
        index.begin_change(&read, &change, 0).await.unwrap();
        directory.fail_next(crate::testing::Failing::Update);
        let summary = reconciler.run(false, later()).await.unwrap();
        assert_eq!((summary.repaired_changes, summary.failed), (0, 1));
        // Still stale: a request could take it over, the next run repairs.
        let stale = index.stale_operations(change.started_at + 1).await.unwrap();
        assert_eq!(stale.len(), 1, "{stale:?}");
        let next = reconciler.run(false, later()).await.unwrap();
        assert_eq!(next.repaired_changes, 1);
    }

    #[tokio::test]
    async fn a_sweep_removes_what_auth0_lost_and_a_backfill_imports_what_it_has() {
        let reconciler = reconciler();
        let (directory, index) = (reconciler.directory(), reconciler.index());
        // Known to both; known to the index only; known to Auth0 only
        // (owned, and not made by this service).
        for id in ["client_both", "client_gone"] {
            index.import(&indexed(id, "owner-a"), 0).await.unwrap();
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

    #[test]
    fn only_an_explicit_backfill_imports() {
        assert!(wants_backfill(&serde_json::json!({"backfill": true})));
        for event in [
            serde_json::json!({"backfill": "true"}),
            serde_json::json!({"source": "aws.events", "detail-type": "Scheduled Event"}),
            serde_json::json!(null),
        ] {
            assert!(!wants_backfill(&event), "{event}");
        }
    }
}
