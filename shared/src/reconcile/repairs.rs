//! The repairs (docs/owner-index.md, "The reconciler", step 1): every
//! operation that stopped half-way and went stale is undone (a creation),
//! finished (a deletion) or set back in Auth0 (a change). A creation whose
//! client Auth0 may have made under an id of its own, which the creation
//! never heard, is found by the `creation_id` in its metadata: the tenant
//! is paged for it at once.

use std::collections::BTreeSet;

use tokio::time::Instant;
use tracing::{info, warn};

use super::reconciler::{Reconciler, Summary};
use crate::clients::credentials::settle_credentials;
use crate::domain::{
    Aspects, ChangeBegun, ClientDirectory, ClientStatus, ClientUpdate, Creation, GrantPolicy,
    IndexedClient, Owner, OwnerIndex, PendingChange, StaleOperation, micros, now_micros,
};
use crate::error::{ServiceError, UpstreamError};

/// The audit trail's line for a repair.
fn audited(owner: &Owner, client_id: &str, outcome: &'static str) {
    info!(target: "audit", action = "reconcile", owner = owner.as_str(), client_id, outcome, "audit");
}

impl<D: ClientDirectory, I: OwnerIndex> Reconciler<D, I> {
    /// Undoes stale creations, finishes stale deletions and makes Auth0
    /// match the index where a change stopped half-way, oldest first.
    pub(super) async fn repair(
        &self,
        summary: &mut Summary,
        deadline: Instant,
    ) -> Result<(), ServiceError> {
        let before = now_micros().saturating_sub(micros(self.stale_after));
        // Creations without Auth0's id: undone together, after the others,
        // with one paging of the tenant for all of them.
        let mut unnamed = Vec::new();
        for operation in self.index.stale_operations(before).await? {
            if Instant::now() >= deadline {
                break;
            }
            match operation {
                StaleOperation::Creation(creation) if creation.client_id.is_none() => {
                    unnamed.push(creation);
                }
                StaleOperation::Creation(creation) => {
                    // The client goes from Auth0 first: an item naming a
                    // client is never lost before the client is.
                    let id = creation.client_id();
                    if self.deleted_in_auth0(summary, id, deadline).await {
                        self.undone(&creation, summary).await?;
                    }
                }
                StaleOperation::Deletion(client) => {
                    let id = client.client_id.as_str();
                    if self.deleted_in_auth0(summary, id, deadline).await {
                        self.index.remove(&client).await?;
                        summary.finished_deletions += 1;
                        audited(&client.owner, id, "finished");
                    }
                }
                StaleOperation::Change(client) => {
                    let id = client.client_id.as_str();
                    let restored = self.repair_change(&client, before, deadline);
                    if self.repaired(summary, id, restored).await {
                        summary.repaired_changes += 1;
                        audited(&client.owner, id, "restored");
                    }
                }
            }
        }
        self.undo_unnamed(unnamed, summary, deadline).await
    }

    /// Whether `repair` succeeded; a failure is counted and logged, and
    /// left for the next run.
    async fn repaired(
        &self,
        summary: &mut Summary,
        client_id: &str,
        repair: impl Future<Output = Result<(), UpstreamError>>,
    ) -> bool {
        match repair.await {
            Ok(()) => true,
            Err(problem) => {
                warn!(client_id, error = %problem, "could not repair yet");
                summary.failed += 1;
                false
            }
        }
    }

    /// Whether Auth0 no longer has the client `client_id` (deleted now, or
    /// gone already), as [`Self::repaired`] tells it.
    async fn deleted_in_auth0(
        &self,
        summary: &mut Summary,
        client_id: &str,
        deadline: Instant,
    ) -> bool {
        let deletion = self.directory.delete_client(client_id, deadline);
        self.repaired(summary, client_id, deletion).await
    }

    /// Undoes stale creations that never heard their client's Auth0 id:
    /// the client deleted by the id the creation chose (a tenant with
    /// custom ids gave it that one), then every client whose
    /// `client_metadata.creation_id` names one of them (a tenant without,
    /// or a create retried: Auth0 chose the id), found by paging the whole
    /// tenant; then their records. One not undone by `deadline` stays for
    /// the next run.
    async fn undo_unnamed(
        &self,
        creations: Vec<Creation>,
        summary: &mut Summary,
        deadline: Instant,
    ) -> Result<(), ServiceError> {
        let mut pending = Vec::new();
        for creation in creations {
            let id = creation.chosen_id.as_str();
            if self.deleted_in_auth0(summary, id, deadline).await {
                pending.push(creation);
            }
        }
        if pending.is_empty() {
            return Ok(());
        }
        let wanted: BTreeSet<&str> = pending.iter().map(|c| c.chosen_id.as_str()).collect();
        let made = match self.every_client(deadline).await {
            Ok(Some(clients)) => clients,
            outcome => {
                let problem = outcome.err().map(|problem| problem.to_string());
                warn!(
                    creations = pending.len(),
                    error = problem.as_deref().unwrap_or("out of time"),
                    "could not page Auth0 for creations whose client id is unknown; the next run tries again"
                );
                summary.failed += u32::try_from(pending.len()).unwrap_or(u32::MAX);
                return Ok(());
            }
        };
        let mut not_undone = BTreeSet::new();
        for client in made {
            let Some(creation_id) = client.creation_id.filter(|id| wanted.contains(id.as_str()))
            else {
                continue;
            };
            if !self
                .deleted_in_auth0(summary, &client.client_id, deadline)
                .await
            {
                not_undone.insert(creation_id);
            }
        }
        for creation in pending {
            if not_undone.contains(&creation.chosen_id) {
                continue;
            }
            self.undone(&creation, summary).await?;
        }
        Ok(())
    }

    /// Forgets a creation whose client Auth0 no longer has: its record,
    /// and the quota and key it held, released.
    async fn undone(&self, creation: &Creation, summary: &mut Summary) -> Result<(), ServiceError> {
        self.index.abandon_creation(creation).await?;
        summary.repaired_creations += 1;
        audited(&creation.owner, creation.client_id(), "undone");
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
        let mut client = client;
        let restored = self.restore_in_auth0(&mut client, aspects, deadline).await;
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

    /// Sets the client's name and description, its grant by its status,
    /// its grant's scopes and its credentials, in Auth0, as far as
    /// `aspects` say; `false` if Auth0 has no such client.
    async fn restore_in_auth0(
        &self,
        client: &mut IndexedClient,
        aspects: Aspects,
        deadline: Instant,
    ) -> Result<bool, UpstreamError> {
        // A key client's credentials: Auth0's made the index's, and the
        // index keeps those Auth0 still holds (docs/owner-index.md, "Key
        // credentials").
        if aspects.credentials
            && let Some(recorded) = &client.credentials
        {
            let id = client.client_id.as_str();
            match settle_credentials(&self.directory, id, recorded, deadline).await? {
                Some(kept) => client.credentials = Some(kept),
                None => return Ok(false),
            }
        }
        let id = client.client_id.as_str();
        if aspects.profile {
            let update = ClientUpdate {
                name: Some(client.name.clone()),
                description: Some(client.description.clone()),
                scopes: None,
            };
            if !self.directory.update_client(id, &update, deadline).await? {
                return Ok(false);
            }
        }
        // What an active client's grant holds.
        let grant = GrantPolicy {
            audience: self.grant.audience.clone(),
            scopes: self.grant.scopes_of(client.scopes.as_deref()),
        };
        if aspects.access {
            match client.status {
                ClientStatus::Active => {
                    self.directory.create_grant(id, &grant, deadline).await?;
                }
                ClientStatus::Disabled => {
                    self.directory
                        .delete_grant(id, &self.grant.audience, deadline)
                        .await?;
                }
            }
        }
        // An active client's grant holds its recorded scopes (a grant
        // created again above may have been there already, with others).
        if aspects.scopes && client.status == ClientStatus::Active {
            self.directory
                .set_grant_scopes(id, &grant, deadline)
                .await?;
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_fixtures::{
        begin_change, begun, grant_in_auth0, imported, indexed, later, owner, policy, reconciler,
        rename_in_auth0,
    };
    use crate::domain::{Aspects, Clients, GrantPolicy, Grants, NewClient, OwnerIndex};
    use crate::testing::Failing;

    #[tokio::test]
    async fn creations_that_stopped_are_undone_and_deletions_finished() {
        let reconciler = reconciler();
        let (directory, index) = (reconciler.directory(), reconciler.index());
        // A creation stopped after Auth0 made the client...
        begun(index, "client_stopped", "owner-a").await;
        let grant = GrantPolicy {
            audience: "a".into(),
            scopes: vec![],
        };
        let new = NewClient {
            name: "stopped".into(),
            description: String::new(),
            scopes: None,
            public_key: None,
        };
        directory
            .create_client(&new, &owner("owner-a"), "client_stopped", later(), later())
            .await
            .unwrap();
        grant_in_auth0(directory, "client_stopped", &grant).await;
        // ... and a deletion stopped before Auth0 deleted it.
        directory.seed("client_kept", Some("owner-a"));
        imported(index, "client_kept", "owner-a").await;
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
    async fn a_creation_that_never_heard_its_auth0_id_is_found_by_its_creation_id() {
        let reconciler = reconciler();
        let (directory, index) = (reconciler.directory(), reconciler.index());
        // Auth0 made the client under an id of its own (twice: the POST
        // was retried), and its answers were lost.
        begun(index, "client_lost", "owner-a").await;
        for id in ["AUTH0MADE1", "AUTH0MADE2"] {
            directory.seed_made_by(id, Some("owner-a"), Some("client_lost"));
            grant_in_auth0(directory, id, &policy()).await;
        }
        // Another creation's client, and one from before creation ids.
        directory.seed_made_by("OTHERS", Some("owner-a"), Some("client_other"));
        directory.seed("LEGACY", Some("owner-a"));

        let summary = reconciler.run(false, later()).await.unwrap();
        assert_eq!((summary.repaired_creations, summary.failed), (1, 0));
        assert_eq!(directory.ids(), ["LEGACY", "OTHERS"]);
        assert!(!directory.has_grant("AUTH0MADE1") && !directory.has_grant("AUTH0MADE2"));
        assert!(index.creations().is_empty());
        assert_eq!(index.quota(&owner("owner-a")), 0);
    }

    #[tokio::test]
    async fn a_creation_whose_client_cannot_be_looked_for_is_left_for_the_next_run() {
        let reconciler = reconciler();
        let (directory, index) = (reconciler.directory(), reconciler.index());
        let lost = begun(index, "client_lost", "owner-a").await;
        directory.seed_made_by("AUTH0MADE", Some("owner-a"), Some("client_lost"));
        directory.fail_next(Failing::List);
        let summary = reconciler.run(false, later()).await.unwrap();
        assert_eq!((summary.repaired_creations, summary.failed), (0, 1));
        // Its record stays: the client is still named by something.
        assert_eq!(index.creations(), vec![lost]);
        let next = reconciler.run(false, later()).await.unwrap();
        assert_eq!(next.repaired_creations, 1);
        assert!(directory.ids().is_empty());
        assert!(index.creations().is_empty());
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
            grant_in_auth0(directory, id, &grant).await;
            let mut client = indexed(id, "owner-a");
            client.scopes = Some(vec!["read:rooms".into()]);
            index.import(&client, None, 0).await.unwrap();
        }
        for (id, aspects) in [
            ("client_disabled", Aspects::ACCESS),
            ("client_renamed", Aspects::PROFILE),
        ] {
            begin_change(index, "owner-a", id, aspects).await;
        }
        directory
            .delete_grant("client_disabled", "https://butlrauth/", later())
            .await
            .unwrap();
        rename_in_auth0(directory, "client_renamed", "renamed in Auth0").await;

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
        imported(index, "client_x", "owner-a").await;
        let (_, change) = begin_change(index, "owner-a", "client_x", Aspects::PROFILE).await;
        directory.fail_next(Failing::Update);
        let summary = reconciler.run(false, later()).await.unwrap();
        assert_eq!((summary.repaired_changes, summary.failed), (0, 1));
        // Still stale: a request could take it over, the next run repairs.
        let stale = index.stale_operations(change.started_at + 1).await.unwrap();
        assert_eq!(stale.len(), 1, "{stale:?}");
        let next = reconciler.run(false, later()).await.unwrap();
        assert_eq!(next.repaired_changes, 1);
    }
}
