//! Create (docs/owner-index.md, "Create"): the creation recorded in the
//! index, the client and its grant in Auth0, the creation finished; and
//! whatever fails undone, newest first (`roll_back`, `undo`, `abandon`).
//! With an idempotency key, a repeat of an answered create is answered the
//! same way (`replay`).

use std::time::Duration;

use tokio::time::Instant;
use tracing::{error, info, warn};

use super::{ClientService, audit};
use crate::domain::{
    Begun, ClientDirectory, ClientStatus, CreatedClient, Creation, GrantPolicy, IdempotencyClaim,
    IndexedClient, KeyState, NewClient, Owner, OwnerIndex, deadline, now_micros,
};
use crate::error::{IndexError, Operation, ServiceError, UpstreamError};
use crate::validation::choose_scopes;

// How create shares its time among its steps (docs/behaviour.md, "Upstream
// failures"): the client's creation, then its grant, then undoing the client
// if the grant failed. A step that overran would leave the next one a
// deadline already past, so each ends at its own instant, fixed when create
// starts. The creation and the grant get one full Auth0 attempt each (4 s,
// the adapter's attempt timeout); the undo gets the rest of a request's
// 11 s. When the creation's answer is lost, discarding it replaces the
// grant and the rollback, and has their time.
/// The client's creation (and the management token, if there is none yet).
const CREATE_STEP: Duration = Duration::from_secs(4);
/// The grant, after the creation's step.
const GRANT_STEP: Duration = Duration::from_secs(4);
/// What a full request leaves after the grant's step, for the rollback.
const UNDO_RESERVE: Duration = Duration::from_secs(3);

/// The instants by which each step of a create must be over.
struct CreateSteps {
    create_by: Instant,
    grant_by: Instant,
    undo_by: Instant,
}

impl CreateSteps {
    /// The steps of a create starting `now` that must be over by `deadline`.
    /// With less time than the three steps' nominal sum, each gets the same
    /// share of what there is, so that none is left with nothing.
    fn within(now: Instant, deadline: Instant) -> Self {
        let window = deadline.saturating_duration_since(now);
        let nominal = CREATE_STEP + GRANT_STEP + UNDO_RESERVE;
        let share = |step: Duration| {
            if window >= nominal {
                return step;
            }
            let millis = step.as_millis() * window.as_millis() / nominal.as_millis();
            Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
        };
        let create_by = now + share(CREATE_STEP);
        CreateSteps {
            create_by,
            grant_by: create_by + share(GRANT_STEP),
            undo_by: deadline.max(now),
        }
    }
}

impl<D: ClientDirectory, I: OwnerIndex> ClientService<D, I> {
    /// Creates a client owned by `owner` and authorizes it, recorded in the
    /// index before Auth0 is asked and listed once it is whole
    /// (docs/owner-index.md, "Create"). Whatever fails is undone: no client
    /// may exist without its grant, nor in Auth0 without the index naming
    /// it. With an idempotency key, a repeat of a create that was answered
    /// is answered the same way.
    pub async fn create(
        &self,
        owner: &Owner,
        client: NewClient,
        idempotency: Option<IdempotencyClaim>,
        deadline: Instant,
    ) -> Result<CreatedClient, ServiceError> {
        let scopes = choose_scopes(client.scopes.as_deref(), &self.grant.scopes)?;
        if client.public_key.is_some() && !self.key_credentials {
            return Err(ServiceError::KeyCredentialsUnavailable);
        }
        if let Some(claim) = &idempotency
            && let Some(replayed) = self.replay(owner, claim, deadline).await?
        {
            audit(
                "create_client",
                owner,
                Some(&replayed.client_id),
                "replayed",
            );
            return Ok(replayed);
        }
        // A replay (above) is no new write: it is not counted.
        if let Err(refused) = self.admit_write(owner).await {
            audit("create_client", owner, None, "throttled");
            return Err(refused);
        }
        // Whoever writes first makes the key list cursors are signed with.
        self.cursor_key(true).await?;
        let mut creation = Creation {
            owner: owner.clone(),
            chosen_id: format!("client_{}", ksuid::Ksuid::generate().to_base62()),
            client_id: None,
            name: client.name.clone(),
            description: client.description.clone(),
            started_at: now_micros(),
            idempotency,
            scopes: scopes.clone(),
        };
        match self
            .index
            .begin_creation(&creation, self.max_clients)
            .await
            .map_err(ServiceError::index_write(Operation::CreateClient))?
        {
            Begun::Started => {}
            Begun::LimitReached => {
                audit("create_client", owner, None, "limit_reached");
                return Err(ServiceError::ClientLimitReached {
                    limit: self.max_clients,
                });
            }
            // Another request took the key since we looked: answer as it says.
            Begun::KeyTaken => {
                let claim = creation.idempotency.as_ref();
                return match claim {
                    Some(claim) => match self.replay(owner, claim, deadline).await? {
                        Some(replayed) => Ok(replayed),
                        None => Err(ServiceError::IdempotencyKeyInUse),
                    },
                    None => Err(ServiceError::Internal("a key taken without a key".into())),
                };
            }
        }
        // Auth0's steps share what is left once the creation is recorded.
        let steps = CreateSteps::within(Instant::now(), deadline);

        let created = match self
            .directory
            .create_client(
                &client,
                owner,
                &creation.chosen_id,
                steps.create_by,
                steps.undo_by,
            )
            .await
        {
            Ok(created) => created,
            Err(cause) => {
                let cause = match cause {
                    // Auth0 may have made the client, and nothing undid it:
                    // the creation stays recorded, and the reconciler finds
                    // the client (by its id, or by the `creation_id` in its
                    // metadata) and deletes it, then the record.
                    UpstreamError::Failed(_) => {
                        warn!(creation = %creation.chosen_id, "creation outcome unknown; the reconciler will undo it");
                        cause
                    }
                    // Auth0 made nothing, or the adapter discarded what it
                    // may have made: only the index is left to undo.
                    cause if self.abandon(&creation).await => cause,
                    // Not undone: the record keeps the key and a quota
                    // slot until the reconciler undoes it, which a refusal
                    // may not leave behind (CONTRACT.md, "Writes whose
                    // outcome is unknown"): the 502's outcome.
                    cause => UpstreamError::Failed(format!(
                        "{cause}; the creation could not be undone in the index"
                    )),
                };
                audit("create_client", owner, None, "client_create_failed");
                return Err(match cause {
                    // The tenant lacks Private Key JWT: nothing was made.
                    UpstreamError::NotEntitled(_) => ServiceError::KeyCredentialsUnavailable,
                    cause => ServiceError::upstream(Operation::CreateClient)(cause),
                });
            }
        };
        if created.client_id != creation.chosen_id {
            creation.client_id = Some(created.client_id.clone());
            if let Err(problem) = self.index.record_client_id(&creation).await {
                let undone = self
                    .roll_back(&creation, steps.undo_by, "index_failed")
                    .await;
                return Err(index_failure(problem, undone));
            }
        }

        let grant = GrantPolicy {
            audience: self.grant.audience.clone(),
            scopes: scopes.clone(),
        };
        if let Err(cause) = self
            .directory
            .create_grant(&created.client_id, &grant, steps.grant_by)
            .await
        {
            warn!(client_id = %created.client_id, error = %cause, "client grant failed; rolling back the client");
            let undone = self
                .roll_back(&creation, steps.undo_by, "grant_failed_rolled_back")
                .await;
            // A refusal (503, 500) says nothing was done, true only once the
            // client is undone; else its record stays (with its key and
            // quota slot) for the reconciler: the 502's outcome.
            let cause = match cause {
                UpstreamError::Failed(_) => cause,
                refused if undone => refused,
                refused => UpstreamError::Failed(format!("{refused}; the rollback failed")),
            };
            return Err(ServiceError::upstream(Operation::CreateGrant)(cause));
        }

        let indexed = IndexedClient {
            client_id: created.client_id.clone(),
            owner: owner.clone(),
            name: created.name.clone(),
            description: created.description.clone(),
            created_at: creation.started_at,
            idempotency_key: creation.idempotency.as_ref().map(|claim| claim.key.clone()),
            scopes: Some(scopes.clone()),
            status: ClientStatus::Active,
            credentials: created.credentials.clone(),
            change: None,
            last_used_at: None,
        };
        // By when the undo still has its time, should the finish fail.
        let finish_by = steps
            .undo_by
            .checked_sub(UNDO_RESERVE)
            .unwrap_or(steps.undo_by);
        let finished = deadline::within(
            finish_by.max(steps.grant_by),
            self.index.finish_creation(&creation, &indexed),
        )
        .await;
        if let Err(problem) = &finished
            && matches!(problem, IndexError::OutcomeUnknown(_))
            && let Ok(Some(_listed)) = self.index.get(owner, &indexed.client_id).await
        {
            // Settled by reading: the finish was applied, the client is
            // whole and listed.
            audit("create_client", owner, Some(&created.client_id), "created");
            return Ok(CreatedClient { scopes, ..created });
        }
        if let Err(problem) = finished {
            // Nobody will ever see this client's secret: better none. A
            // finish whose outcome is unknown may have listed it: that
            // item goes too.
            let undone = self
                .roll_back(&creation, steps.undo_by, "index_failed")
                .await;
            if matches!(problem, IndexError::OutcomeUnknown(_))
                && let Err(left) = self.index.remove(&indexed).await
            {
                error!(client_id = %indexed.client_id, error = %left, "could not remove a client item whose creation was undone; the sweep will");
            }
            return Err(index_failure(problem, undone));
        }
        audit("create_client", owner, Some(&created.client_id), "created");
        Ok(CreatedClient { scopes, ..created })
    }

    /// The answer to a repeat of `claim`'s first request, if it was
    /// answered; the documented refusals if it is another request or still
    /// running.
    async fn replay(
        &self,
        owner: &Owner,
        claim: &IdempotencyClaim,
        deadline: Instant,
    ) -> Result<Option<CreatedClient>, ServiceError> {
        let Some(record) = self.index.idempotency(owner, &claim.key).await? else {
            return Ok(None);
        };
        if record.request_hash != claim.request_hash {
            return Err(ServiceError::IdempotencyKeyReused);
        }
        let KeyState::Done { client_id } = record.state else {
            return Err(ServiceError::IdempotencyKeyInUse);
        };
        // A client being deleted releases its key when it is gone.
        let client = self
            .index
            .get(owner, &client_id)
            .await?
            .ok_or(ServiceError::IdempotencyKeyInUse)?;
        // A key client has no secret to read back: its credentials instead.
        if client.credentials.is_some() {
            return Ok(Some(CreatedClient {
                client_id,
                scopes: self.grant.scopes_of(client.scopes.as_deref()),
                name: client.name,
                description: client.description,
                client_secret: None,
                credentials: client.credentials,
            }));
        }
        let secret = self
            .directory
            .client_secret(&client_id, deadline)
            .await
            .map_err(ServiceError::upstream(Operation::CreateClient))?;
        let Some(secret) = secret else {
            // Deleted outside the service (the dashboard): Auth0 said so
            // (404), so its item goes, with its quota and its key, and the
            // repeat runs anew, as after a delete.
            warn!(
                client_id,
                "a replayed client is gone from Auth0; removing its item"
            );
            self.index.remove(&client).await?;
            return Ok(None);
        };
        Ok(Some(CreatedClient {
            client_id,
            scopes: self.grant.scopes_of(client.scopes.as_deref()),
            name: client.name,
            description: client.description,
            client_secret: Some(secret),
            credentials: None,
        }))
    }

    /// A create that stops after Auth0 made its client: the client
    /// undone, and `outcome` in the audit trail. Whether all of it was
    /// undone.
    async fn roll_back(
        &self,
        creation: &Creation,
        deadline: Instant,
        outcome: &'static str,
    ) -> bool {
        let undone = self.undo(creation, deadline).await;
        audit(
            "create_client",
            &creation.owner,
            Some(creation.client_id()),
            outcome,
        );
        undone
    }

    /// Undoes a creation Auth0 may have made: the client first, then the
    /// index. What cannot be undone now the reconciler undoes later (the
    /// creation stays recorded). Whether all of it was undone.
    async fn undo(&self, creation: &Creation, deadline: Instant) -> bool {
        let client_id = creation.client_id();
        match self.directory.delete_client(client_id, deadline).await {
            Ok(()) => {
                info!(client_id, "rolled back client");
                self.abandon(creation).await
            }
            Err(problem) => {
                error!(
                    client_id,
                    error = %problem,
                    "rollback failed; the reconciler will delete the client"
                );
                false
            }
        }
    }

    /// Undoes the creation in the index alone: Auth0 made nothing, or its
    /// client is deleted again. Whether it was undone.
    async fn abandon(&self, creation: &Creation) -> bool {
        self.index
            .abandon_creation(creation)
            .await
            .inspect_err(|problem| {
                error!(client_id = creation.client_id(), error = %problem, "could not undo the creation in the index; the reconciler will");
            })
            .is_ok()
    }
}

/// The answer to a create whose index write failed with `problem`, once
/// what it began was `undone` or not: a 500 only when nothing is left
/// behind, since a refused create leaves nothing that blocks a retry
/// (CONTRACT.md, "Writes whose outcome is unknown"); else the 502 of an
/// unknown outcome, the creation's record left (with its key and quota
/// slot) for the reconciler to undo.
fn index_failure(problem: IndexError, undone: bool) -> ServiceError {
    match problem {
        IndexError::Failed(_) if !undone => ServiceError::OutcomeUnknown {
            operation: Operation::CreateClient,
            cause: problem,
        },
        problem => ServiceError::index_write(Operation::CreateClient)(problem),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::test_fixtures::*;

    #[tokio::test]
    async fn a_created_client_is_its_owners_alone() {
        let service = service(50);
        let created = create(&service, "owner-a", "One").await;
        assert!(created.client_id.starts_with("client_"));
        assert_eq!(listed(&service, "owner-a").await, ["One"]);
        assert!(listed(&service, "owner-b").await.is_empty());
        let got = service
            .get(&owner("owner-a"), &created.client_id)
            .await
            .unwrap();
        assert_eq!(got.description, "One description");
        for who in ["owner-b"] {
            assert!(matches!(
                service.get(&owner(who), &created.client_id).await,
                Err(ServiceError::ClientNotFound)
            ));
            assert!(matches!(
                service
                    .delete(&owner(who), &created.client_id, later())
                    .await,
                Err(ServiceError::ClientNotFound)
            ));
        }
        assert!(service.directory().has_grant(&created.client_id));
        assert_eq!(service.index().quota(&owner("owner-a")), 1);
    }

    #[tokio::test]
    async fn the_quota_holds_and_is_given_back_on_delete() {
        let service = service(2);
        let first = create(&service, "owner-a", "One").await;
        create(&service, "owner-a", "Two").await;
        let refused = service
            .create(&owner("owner-a"), named("Three"), None, later())
            .await;
        assert!(matches!(
            refused,
            Err(ServiceError::ClientLimitReached { limit: 2 })
        ));
        // Nothing was asked of Auth0 for the refused one.
        assert_eq!(service.directory().ids().len(), 2);
        // Another owner has a quota of its own.
        create(&service, "owner-b", "Theirs").await;
        service
            .delete(&owner("owner-a"), &first.client_id, later())
            .await
            .unwrap();
        create(&service, "owner-a", "Three").await;
        assert_eq!(listed(&service, "owner-a").await, ["Two", "Three"]);
    }

    #[tokio::test]
    async fn a_repeated_key_replays_the_first_answer() {
        let service = service(1);
        let body = r#"{"name": "Once"}"#;
        let first = create_as(&service, "owner-a", named("Once"), claim("k-1", body))
            .await
            .unwrap();
        // The quota is full, yet the replay is answered.
        let again = create_as(
            &service,
            "owner-a",
            named("Once"),
            claim("k-1", " {\"name\":\"Once\"} "),
        )
        .await
        .unwrap();
        assert_eq!(again.client_id, first.client_id);
        assert_eq!(again.client_secret, first.client_secret);
        assert_eq!(service.directory().ids().len(), 1);
        // Another body: refused, nothing made.
        let reused = create_keyed(&service, "owner-a", "Other", "k-1").await;
        assert!(matches!(reused, Err(ServiceError::IdempotencyKeyReused)));
        // Keys are per owner.
        let theirs = create_as(&service, "owner-b", named("Once"), claim("k-1", body))
            .await
            .unwrap();
        assert_ne!(theirs.client_id, first.client_id);
        // Deleting the client releases its key: the repeat runs anew.
        service
            .delete(&owner("owner-a"), &first.client_id, later())
            .await
            .unwrap();
        let anew = create_as(&service, "owner-a", named("Once"), claim("k-1", body))
            .await
            .unwrap();
        assert_ne!(anew.client_id, first.client_id);
    }

    #[tokio::test]
    async fn a_key_whose_first_request_runs_is_in_use() {
        let service = service(50);
        let running = Creation {
            owner: owner("owner-a"),
            chosen_id: "client_running".into(),
            client_id: None,
            name: "Running".into(),
            description: String::new(),
            started_at: now_micros(),
            idempotency: claim("k-2", r#"{"name": "Running"}"#),
            scopes: vec!["read:spaces".into()],
        };
        service.index().begin_creation(&running, 50).await.unwrap();
        let second = create_keyed(&service, "owner-a", "Running", "k-2").await;
        assert!(matches!(second, Err(ServiceError::IdempotencyKeyInUse)));
        assert!(service.directory().ids().is_empty());
    }

    #[tokio::test]
    async fn a_failed_grant_undoes_everything_and_releases_the_key() {
        let service = service(50);
        service.directory().fail_next(Failing::Grant);
        let body = r#"{"name": "Half"}"#;
        let failed = create_as(&service, "owner-a", named("Half"), claim("k-3", body)).await;
        assert_eq!(failed_upstream(&failed), Some(Operation::CreateGrant));
        assert!(
            service.directory().ids().is_empty(),
            "the client was deleted again"
        );
        assert!(service.index().creations().is_empty());
        assert_eq!(service.index().quota(&owner("owner-a")), 0);
        assert!(listed(&service, "owner-a").await.is_empty());
        // The key was released: the repeat runs anew, and succeeds.
        create_as(&service, "owner-a", named("Half"), claim("k-3", body))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_failed_creation_leaves_nothing_behind() {
        let service = service(50);
        service.directory().fail_next(Failing::Create);
        let failed = service
            .create(&owner("owner-a"), named("No"), None, later())
            .await;
        assert_eq!(failed_upstream(&failed), Some(Operation::CreateClient));
        assert!(service.index().creations().is_empty());
        assert_eq!(service.index().quota(&owner("owner-a")), 0);
    }

    #[tokio::test]
    async fn a_client_gets_the_scopes_chosen_in_the_policys_order() {
        let service = scoped_service();
        let chosen = choosing("Chosen", &["read:hives", "read:spaces"]);
        let created = create_as(&service, "owner-a", chosen, None).await.unwrap();
        assert_eq!(created.scopes, ["read:spaces", "read:hives"]);
        assert_eq!(
            service.directory().granted(&created.client_id).unwrap(),
            ["read:spaces", "read:hives"]
        );
        let got = service
            .get(&owner("owner-a"), &created.client_id)
            .await
            .unwrap();
        assert_eq!(
            (got.scopes.unwrap(), got.status),
            (
                vec!["read:spaces".to_owned(), "read:hives".to_owned()],
                ClientStatus::Active
            )
        );
        // Without a choice: all of them. A scope the policy lacks: refused,
        // nothing made.
        let all = create(&service, "owner-a", "All").await;
        assert_eq!(all.scopes, ["read:spaces", "read:rooms", "read:hives"]);
        let foreign = choosing("Foreign", &["write:hives"]);
        assert!(matches!(
            create_as(&service, "owner-a", foreign, None).await,
            Err(ServiceError::InvalidRequest(_))
        ));
        assert_eq!(service.directory().ids().len(), 2);
    }

    #[test]
    fn a_full_request_gives_each_step_its_nominal_time() {
        let now = Instant::now();
        let steps = CreateSteps::within(now, now + Duration::from_secs(11));
        assert_eq!(steps.create_by, now + CREATE_STEP);
        assert_eq!(steps.grant_by, now + CREATE_STEP + GRANT_STEP);
        assert_eq!(steps.undo_by - steps.grant_by, UNDO_RESERVE);
    }

    #[test]
    fn less_time_is_shared_in_the_same_proportions() {
        let now = Instant::now();
        let steps = CreateSteps::within(now, now + Duration::from_millis(5_500));
        assert_eq!(steps.create_by, now + Duration::from_secs(2));
        assert_eq!(steps.grant_by, now + Duration::from_secs(4));
        assert_eq!(steps.undo_by, now + Duration::from_millis(5_500));
        // A deadline already past leaves every step nothing, not a panic.
        let past = CreateSteps::within(now + Duration::from_secs(1), now);
        assert!(past.create_by <= past.grant_by && past.grant_by <= past.undo_by);
    }
}
