//! The client operations: what it means to create, list, read and delete an
//! M2M client for an owner. Nothing here knows about HTTP, Lambda, Auth0's
//! wire format or DynamoDB: Auth0 sits behind [`ClientDirectory`], the owner
//! index behind [`OwnerIndex`].

use std::time::Duration;

use tokio::time::Instant;
use tracing::{error, info, warn};

use tokio::sync::OnceCell;

use crate::domain::{
    Aspects, Begun, ChangeBegun, ClientDirectory, ClientStatus, ClientUpdate, CreatedClient,
    Creation, GrantPolicy, IdempotencyClaim, IndexedClient, KeyState, NewClient, Owner, OwnerIndex,
    PendingChange, RotatedSecret, STALE_AFTER, is_possible_client_id, micros, now_micros,
};
use crate::error::{Operation, ServiceError, UpstreamError};
use crate::metrics;
use crate::secret_string::SecretString;
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

/// The operations on an owner's clients: Auth0 (the [`ClientDirectory`])
/// for what only it can do, the owner index for who owns what. Each is
/// confined to the owner's own clients.
pub struct ClientService<D, I> {
    directory: D,
    index: I,
    grant: GrantPolicy,
    max_clients: u32,
    /// The list cursors' key, once the index has one.
    cursor_key: OnceCell<SecretString>,
}

/// A page of an owner's clients, and the cursor of the next one.
pub struct ClientPage {
    pub clients: Vec<IndexedClient>,
    pub next: Option<String>,
}

impl<D: ClientDirectory, I: OwnerIndex> ClientService<D, I> {
    pub fn new(directory: D, index: I, grant: GrantPolicy, max_clients: u32) -> Self {
        ClientService {
            directory,
            index,
            grant,
            max_clients,
            cursor_key: OnceCell::new(),
        }
    }

    pub fn directory(&self) -> &D {
        &self.directory
    }

    pub fn index(&self) -> &I {
        &self.index
    }

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
            .await?
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
                // Auth0 made nothing, or the adapter discarded what it may
                // have made: only the index is left to undo.
                self.abandon(&creation).await;
                audit("create_client", owner, None, "client_create_failed");
                return Err(ServiceError::upstream(Operation::CreateClient)(cause));
            }
        };
        if created.client_id != creation.chosen_id {
            creation.client_id = Some(created.client_id.clone());
            if let Err(problem) = self.index.record_client_id(&creation).await {
                self.roll_back(&creation, steps.undo_by, "index_failed")
                    .await;
                return Err(problem.into());
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
            self.roll_back(&creation, steps.undo_by, "grant_failed_rolled_back")
                .await;
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
            change: None,
        };
        if let Err(problem) = self.index.finish_creation(&creation, &indexed).await {
            // Nobody will ever see this client's secret: better none.
            self.roll_back(&creation, steps.undo_by, "index_failed")
                .await;
            return Err(problem.into());
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
        let secret = self
            .directory
            .client_secret(&client_id, deadline)
            .await
            .map_err(ServiceError::upstream(Operation::CreateClient))?
            .ok_or_else(|| {
                ServiceError::Internal(format!(
                    "client {client_id} is in the index but not in Auth0"
                ))
            })?;
        Ok(Some(CreatedClient {
            client_id,
            scopes: self.grant.scopes_of(client.scopes.as_deref()),
            name: client.name,
            description: client.description,
            client_secret: secret,
        }))
    }

    /// Undoes a creation Auth0 may have made: the client first, then the
    /// index. What cannot be undone now the reconciler undoes later (the
    /// creation stays recorded).
    /// A create that stops after Auth0 made its client: the client
    /// undone, and `outcome` in the audit trail.
    async fn roll_back(&self, creation: &Creation, deadline: Instant, outcome: &'static str) {
        self.undo(creation, deadline).await;
        audit(
            "create_client",
            &creation.owner,
            Some(creation.client_id()),
            outcome,
        );
    }

    async fn undo(&self, creation: &Creation, deadline: Instant) {
        let client_id = creation.client_id();
        match self.directory.delete_client(client_id, deadline).await {
            Ok(()) => {
                info!(client_id, "rolled back client");
                self.abandon(creation).await;
            }
            Err(problem) => error!(
                client_id,
                error = %problem,
                "rollback failed; the reconciler will delete the client"
            ),
        }
    }

    async fn abandon(&self, creation: &Creation) {
        if let Err(problem) = self.index.abandon_creation(creation).await {
            error!(client_id = creation.client_id(), error = %problem, "could not undo the creation in the index; the reconciler will");
        }
    }

    /// The owner's clients, oldest first: all of them, or a page of `limit`
    /// after `cursor` (docs/owner-index.md, "List and get").
    pub async fn list(
        &self,
        owner: &Owner,
        cursor: Option<&str>,
        limit: Option<usize>,
    ) -> Result<ClientPage, ServiceError> {
        let after = match cursor {
            None => None,
            Some(cursor) => {
                let key = self.cursor_key(false).await?;
                let position = key
                    .as_ref()
                    .and_then(|key| crate::cursor::decode(key, owner, cursor));
                Some(position.ok_or_else(|| ServiceError::invalid("cursor is not valid"))?)
            }
        };
        let page = self.index.list(owner, after.as_ref(), limit).await?;
        let next = match &page.next {
            None => None,
            Some(position) => {
                let key = self
                    .cursor_key(false)
                    .await?
                    .ok_or_else(|| ServiceError::Internal("no cursor key yet".into()))?;
                Some(crate::cursor::encode(&key, owner, position))
            }
        };
        Ok(ClientPage {
            clients: page
                .clients
                .into_iter()
                .map(|client| self.shown(client))
                .collect(),
            next,
        })
    }

    /// One of the owner's clients. Missing, someone else's, being deleted
    /// and impossible ids all answer the same not-found, so nobody learns
    /// what exists.
    pub async fn get(&self, owner: &Owner, client_id: &str) -> Result<IndexedClient, ServiceError> {
        if !is_possible_client_id(client_id) {
            return Err(ServiceError::ClientNotFound);
        }
        self.index
            .get(owner, client_id)
            .await?
            .map(|client| self.shown(client))
            .ok_or(ServiceError::ClientNotFound)
    }

    /// A client as answered: with its scopes, in `GRANT_SCOPES` order.
    fn shown(&self, client: IndexedClient) -> IndexedClient {
        IndexedClient {
            scopes: Some(self.grant.scopes_of(client.scopes.as_deref())),
            ..client
        }
    }

    /// Sets the name and description `update` names, in Auth0 and in the
    /// index.
    pub async fn update(
        &self,
        owner: &Owner,
        client_id: &str,
        update: ClientUpdate,
        deadline: Instant,
    ) -> Result<IndexedClient, ServiceError> {
        let outcome = self
            .change(
                owner,
                client_id,
                Aspects::PROFILE,
                |client| IndexedClient {
                    name: update.name.clone().unwrap_or_else(|| client.name.clone()),
                    description: update
                        .description
                        .clone()
                        .unwrap_or_else(|| client.description.clone()),
                    ..client.clone()
                },
                async |_| {
                    self.directory
                        .update_client(client_id, &update, deadline)
                        .await
                        .map_err(ServiceError::upstream(Operation::UpdateClient))
                },
            )
            .await;
        audit_outcome("update_client", owner, client_id, &outcome, "updated");
        outcome
    }

    /// Disables the client (its grant taken away: it can get no new token,
    /// and those it has live until they expire) or enables it (its scopes
    /// granted again). A client already so is answered as it is.
    pub async fn set_status(
        &self,
        owner: &Owner,
        client_id: &str,
        status: ClientStatus,
        deadline: Instant,
    ) -> Result<IndexedClient, ServiceError> {
        let (action, done) = match status {
            ClientStatus::Disabled => ("disable_client", "disabled"),
            ClientStatus::Active => ("enable_client", "enabled"),
        };
        let outcome = self
            .change(
                owner,
                client_id,
                Aspects::ACCESS,
                |client| IndexedClient {
                    status,
                    ..client.clone()
                },
                async |client| {
                    let audience = &self.grant.audience;
                    let done = match status {
                        ClientStatus::Disabled => self
                            .directory
                            .delete_grant(client_id, audience, deadline)
                            .await
                            .map_err(ServiceError::upstream(Operation::DeleteGrant)),
                        ClientStatus::Active => {
                            let grant = GrantPolicy {
                                audience: audience.clone(),
                                scopes: self.grant.scopes_of(client.scopes.as_deref()),
                            };
                            self.directory
                                .create_grant(client_id, &grant, deadline)
                                .await
                                .map_err(ServiceError::upstream(Operation::CreateGrant))
                        }
                    };
                    done.map(|()| true)
                },
            )
            .await;
        audit_outcome(action, owner, client_id, &outcome, done);
        outcome
    }

    /// A change of one of the owner's clients (docs/owner-index.md,
    /// "Changes"): `wanted` says what the client becomes, `in_auth0` makes
    /// Auth0 so (`false`: Auth0 has no such client). Recorded on the client
    /// first, so that a change that stops half-way is found and repaired;
    /// a client that already is as wanted is answered as it is.
    async fn change(
        &self,
        owner: &Owner,
        client_id: &str,
        aspects: Aspects,
        wanted: impl Fn(&IndexedClient) -> IndexedClient,
        in_auth0: impl AsyncFnOnce(&IndexedClient) -> Result<bool, ServiceError>,
    ) -> Result<IndexedClient, ServiceError> {
        if !is_possible_client_id(client_id) {
            return Err(ServiceError::ClientNotFound);
        }
        let current = self
            .index
            .get(owner, client_id)
            .await?
            .ok_or(ServiceError::ClientNotFound)?;
        if current.change.is_none() && same_values(&wanted(&current), &current) {
            return Ok(self.shown(current));
        }
        let change = PendingChange::begin(aspects);
        let stale_before = change.started_at.saturating_sub(micros(STALE_AFTER));
        let (current, taken_over) = match self
            .index
            .begin_change(&current, &change, stale_before)
            .await?
        {
            ChangeBegun::Started { client, taken_over } => (client, taken_over),
            ChangeBegun::NotFound => return Err(ServiceError::ClientNotFound),
            ChangeBegun::Busy => return Err(ServiceError::ClientChangeInProgress),
        };
        let target = wanted(&current);
        // What a change that stopped half-way, taken over, may still have
        // left different in Auth0 besides what this one sets.
        let left_over = |aspects: Aspects| {
            taken_over
                .as_ref()
                .map(|stale| PendingChange {
                    id: change.id.clone(),
                    started_at: stale.started_at,
                    aspects,
                })
                .filter(|left| !left.aspects.is_empty())
        };
        match in_auth0(&target).await {
            Ok(true) => {
                let left = taken_over
                    .as_ref()
                    .map_or(Aspects::default(), |stale| stale.aspects.without(aspects));
                let done = IndexedClient {
                    change: left_over(left),
                    ..target
                };
                if self.index.end_change(&done, &change.id).await? {
                    Ok(self.shown(done))
                } else {
                    // Deleted meanwhile.
                    Err(ServiceError::ClientNotFound)
                }
            }
            // Gone from Auth0 behind our back: the reconciler removes it.
            Ok(false) => {
                warn!(client_id, "in the index but not in Auth0");
                Err(ServiceError::ClientNotFound)
            }
            // Auth0 processed nothing: the client stays as it was.
            Err(
                problem @ ServiceError::Upstream {
                    cause: UpstreamError::RateLimited { .. } | UpstreamError::Credentials(_),
                    ..
                },
            ) => {
                let unchanged = IndexedClient {
                    change: left_over(
                        taken_over
                            .as_ref()
                            .map_or(Aspects::default(), |stale| stale.aspects),
                    ),
                    ..current
                };
                if let Err(index) = self.index.end_change(&unchanged, &change.id).await {
                    error!(client_id, error = %index, "could not end a change that did nothing; the reconciler will");
                }
                Err(problem)
            }
            // Auth0 may have made the change: the index still says what
            // the client was, and the reconciler makes Auth0 say it again.
            Err(problem) => Err(problem),
        }
    }

    /// Replaces the client's secret in Auth0: the old one stops working at
    /// once. A rotation whose answer is lost cannot say which secret works.
    pub async fn rotate_secret(
        &self,
        owner: &Owner,
        client_id: &str,
        deadline: Instant,
    ) -> Result<RotatedSecret, ServiceError> {
        let outcome = async {
            self.get(owner, client_id).await?;
            match self.directory.rotate_secret(client_id, deadline).await {
                Ok(Some(client_secret)) => Ok(RotatedSecret {
                    client_id: client_id.to_owned(),
                    client_secret,
                }),
                Ok(None) => {
                    warn!(client_id, "in the index but not in Auth0");
                    Err(ServiceError::ClientNotFound)
                }
                Err(cause) => Err(ServiceError::upstream(Operation::RotateSecret)(cause)),
            }
        }
        .await;
        audit_outcome(
            "rotate_client_secret",
            owner,
            client_id,
            &outcome,
            "rotated",
        );
        outcome
    }

    /// Deletes one of the owner's clients: marked in the index (no longer
    /// shown), deleted in Auth0, then gone from the index.
    pub async fn delete(
        &self,
        owner: &Owner,
        client_id: &str,
        deadline: Instant,
    ) -> Result<(), ServiceError> {
        let outcome = self.delete_owned(owner, client_id, deadline).await;
        audit_outcome("delete_client", owner, client_id, &outcome, "deleted");
        outcome
    }

    async fn delete_owned(
        &self,
        owner: &Owner,
        client_id: &str,
        deadline: Instant,
    ) -> Result<(), ServiceError> {
        if !is_possible_client_id(client_id) {
            return Err(ServiceError::ClientNotFound);
        }
        let client = self
            .index
            .begin_deletion(owner, client_id)
            .await?
            .ok_or(ServiceError::ClientNotFound)?;
        if let Err(cause) = self.directory.delete_client(client_id, deadline).await {
            match &cause {
                // Auth0 processed nothing: the client stays as it was.
                UpstreamError::RateLimited { .. } | UpstreamError::Credentials(_) => {
                    if let Err(problem) = self.index.cancel_deletion(&client).await {
                        // Left marked: the reconciler finishes the deletion.
                        error!(client_id, error = %problem, "could not take the deletion mark back");
                    }
                }
                // Auth0 may have deleted it: it stays hidden, and the
                // reconciler finishes the deletion (the caller asked for it).
                UpstreamError::Failed(_) => {
                    warn!(
                        client_id,
                        "deletion outcome unknown; the reconciler will finish it"
                    )
                }
            }
            return Err(ServiceError::upstream(Operation::DeleteClient)(cause));
        }
        if let Err(problem) = self.index.remove(&client).await {
            // Deleted in Auth0 and no longer shown: the reconciler removes
            // the item (and gives the quota back).
            error!(client_id, error = %problem, "could not remove the deleted client from the index");
        }
        Ok(())
    }

    /// Reads the list cursors' key ahead of the first request that needs
    /// it (a container's warm-up, beside the JWKS): that request then finds
    /// it in memory instead of reading it once its token is checked, one
    /// round trip later. A table without a key yet is left so: the first
    /// create makes it.
    pub async fn load_cursor_key(&self) -> Result<(), ServiceError> {
        self.cursor_key(false).await.map(drop)
    }

    /// The key list cursors are signed with; made by the first writer.
    async fn cursor_key(&self, create: bool) -> Result<Option<SecretString>, ServiceError> {
        // A request during the warm-up waits for the read under way rather
        // than making its own; a read that found no key fills nothing.
        let loaded = self
            .cursor_key
            .get_or_try_init(|| async {
                match self.index.cursor_key(create).await {
                    Ok(Some(key)) => Ok(key),
                    Ok(None) => Err(None),
                    Err(problem) => Err(Some(ServiceError::from(problem))),
                }
            })
            .await;
        match loaded {
            Ok(key) => Ok(Some(key.clone())),
            Err(None) => Ok(None),
            Err(Some(problem)) => Err(problem),
        }
    }
}

/// Whether the client already has `wanted`'s name, description and status.
fn same_values(wanted: &IndexedClient, current: &IndexedClient) -> bool {
    wanted.name == current.name
        && wanted.description == current.description
        && wanted.status == current.status
}

/// The audit line of an operation on an existing client: `done` when it
/// succeeded, else what stopped it.
fn audit_outcome<T>(
    action: &'static str,
    owner: &Owner,
    client_id: &str,
    outcome: &Result<T, ServiceError>,
    done: &'static str,
) {
    let result = match outcome {
        Ok(_) => done,
        Err(ServiceError::ClientNotFound) => "not_found",
        Err(ServiceError::ClientChangeInProgress) => "busy",
        Err(ServiceError::Upstream { .. }) => "upstream_failed",
        Err(_) => "failed",
    };
    // Impossible ids are not echoed: they are caller-controlled text.
    let shown = is_possible_client_id(client_id).then_some(client_id);
    audit(action, owner, shown, result);
}

/// One structured line per change of a client, for the audit trail: who,
/// which client, what happened. The request id comes from the span the HTTP
/// layer opens. Nothing secret is ever passed here.
fn audit(action: &'static str, owner: &Owner, client_id: Option<&str>, outcome: &'static str) {
    metrics::client_operation(action, outcome);
    info!(
        target: "audit",
        action,
        owner = owner.as_str(),
        client_id = client_id.unwrap_or(""),
        outcome,
        "audit"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::owner_index::MemoryIndex;
    use crate::testing::{Failing, MemoryDirectory};

    type Service = ClientService<MemoryDirectory, MemoryIndex>;

    fn service(max_clients: u32) -> Service {
        ClientService::new(
            MemoryDirectory::default(),
            MemoryIndex::new(),
            GrantPolicy {
                audience: "https://butlrauth/".into(),
                scopes: vec!["read:spaces".into()],
            },
            max_clients,
        )
    }

    fn owner(id: &str) -> Owner {
        Owner::parse(id).unwrap()
    }

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(11)
    }

    fn named(name: &str) -> NewClient {
        NewClient {
            name: name.into(),
            description: format!("{name} description"),
            scopes: None,
        }
    }

    fn claim(key: &str, body: &str) -> Option<IdempotencyClaim> {
        crate::validation::idempotency_claim(Some(key), body.as_bytes()).unwrap()
    }

    async fn create(service: &Service, who: &str, name: &str) -> CreatedClient {
        create_as(service, who, named(name), None).await.unwrap()
    }

    /// `who`'s create of `client`, under an idempotency key if `claim` holds one.
    async fn create_as(
        service: &Service,
        who: &str,
        client: NewClient,
        claim: Option<IdempotencyClaim>,
    ) -> Result<CreatedClient, ServiceError> {
        service.create(&owner(who), client, claim, later()).await
    }

    /// `who`'s create of a client named `name` under the idempotency key
    /// `key`, its request's body `{"name": name}`.
    async fn create_keyed(
        service: &Service,
        who: &str,
        name: &str,
        key: &str,
    ) -> Result<CreatedClient, ServiceError> {
        let body = format!(r#"{{"name": "{name}"}}"#);
        create_as(service, who, named(name), claim(key, &body)).await
    }

    /// A client named `name` that asks for `scopes`.
    fn choosing(name: &str, scopes: &[&str]) -> NewClient {
        NewClient {
            scopes: Some(scopes.iter().map(|scope| (*scope).to_owned()).collect()),
            ..named(name)
        }
    }

    /// The operation an upstream failure stopped, if `outcome` is one.
    fn failed_upstream<T>(outcome: &Result<T, ServiceError>) -> Option<Operation> {
        match outcome {
            Err(ServiceError::Upstream { operation, .. }) => Some(*operation),
            _ => None,
        }
    }

    async fn listed(service: &Service, who: &str) -> Vec<String> {
        let page = service.list(&owner(who), None, None).await.unwrap();
        page.clients.into_iter().map(|c| c.name).collect()
    }

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
    async fn a_delete_auth0_may_have_done_stays_hidden_for_the_reconciler() {
        let service = service(50);
        let created = create(&service, "owner-a", "Gone").await;
        service.directory().fail_next(Failing::Delete);
        let failed = service
            .delete(&owner("owner-a"), &created.client_id, later())
            .await;
        assert_eq!(failed_upstream(&failed), Some(Operation::DeleteClient));
        assert!(listed(&service, "owner-a").await.is_empty());
        let stale = service.index().stale_operations(u64::MAX).await.unwrap();
        assert!(matches!(
            stale.as_slice(),
            [crate::domain::StaleOperation::Deletion(_)]
        ));
    }

    #[tokio::test]
    async fn a_rate_limited_delete_leaves_the_client_listed() {
        let service = service(50);
        let created = create(&service, "owner-a", "Stays").await;
        service.directory().fail_next(Failing::DeleteRateLimited);
        let failed = service
            .delete(&owner("owner-a"), &created.client_id, later())
            .await;
        assert_eq!(failed_upstream(&failed), Some(Operation::DeleteClient));
        assert_eq!(listed(&service, "owner-a").await, ["Stays"]);
        assert_eq!(
            service.directory().ids(),
            std::slice::from_ref(&created.client_id)
        );
        // And deleting twice: the second is 404.
        service
            .delete(&owner("owner-a"), &created.client_id, later())
            .await
            .unwrap();
        assert!(matches!(
            service
                .delete(&owner("owner-a"), &created.client_id, later())
                .await,
            Err(ServiceError::ClientNotFound)
        ));
        assert_eq!(service.index().quota(&owner("owner-a")), 0);
    }

    #[tokio::test]
    async fn lists_page_in_creation_order_with_cursors_bound_to_their_owner() {
        let service = service(50);
        for name in ["a", "b", "c", "d", "e"] {
            create(&service, "owner-a", name).await;
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = service
                .list(&owner("owner-a"), cursor.as_deref(), Some(2))
                .await
                .unwrap();
            assert!(page.clients.len() <= 2);
            seen.extend(page.clients.into_iter().map(|c| c.name));
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, ["a", "b", "c", "d", "e"]);
        // Exactly a page's worth left: no next page after it.
        let page = service
            .list(&owner("owner-a"), None, Some(5))
            .await
            .unwrap();
        assert_eq!((page.clients.len(), page.next), (5, None));
        // Another owner's cursor, and made-up ones, are refused.
        let first = service
            .list(&owner("owner-a"), None, Some(2))
            .await
            .unwrap();
        let next = first.next.unwrap();
        for (who, cursor) in [
            ("owner-b", next.as_str()),
            ("owner-a", "00.00"),
            ("owner-a", "x"),
        ] {
            assert!(
                matches!(
                    service.list(&owner(who), Some(cursor), Some(2)).await,
                    Err(ServiceError::InvalidRequest(_))
                ),
                "{who} {cursor}"
            );
        }
    }

    #[tokio::test]
    async fn impossible_ids_are_not_found_without_asking_anyone() {
        let service = service(50);
        for id in ["", "../x", "a b", &"x".repeat(65)] {
            assert!(matches!(
                service.get(&owner("owner-a"), id).await,
                Err(ServiceError::ClientNotFound)
            ));
            assert!(matches!(
                service.delete(&owner("owner-a"), id, later()).await,
                Err(ServiceError::ClientNotFound)
            ));
        }
        assert!(service.directory().calls().is_empty());
    }

    fn scoped_service() -> Service {
        ClientService::new(
            MemoryDirectory::default(),
            MemoryIndex::new(),
            GrantPolicy {
                audience: "https://butlrauth/".into(),
                scopes: ["read:spaces", "read:rooms", "read:hives"]
                    .map(str::to_owned)
                    .to_vec(),
            },
            50,
        )
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

    #[tokio::test]
    async fn an_update_renames_in_auth0_and_the_index_and_only_for_the_owner() {
        let service = scoped_service();
        let created = create(&service, "owner-a", "Before").await;
        let id = created.client_id.as_str();
        let rename = ClientUpdate {
            name: Some("After".into()),
            description: None,
        };
        let updated = service
            .update(&owner("owner-a"), id, rename.clone(), later())
            .await
            .unwrap();
        assert_eq!(
            (updated.name.as_str(), updated.description.as_str()),
            ("After", "Before description")
        );
        assert_eq!(
            service.directory().profile(id).unwrap(),
            ("After".to_owned(), "Before description".to_owned())
        );
        assert_eq!(listed(&service, "owner-a").await, ["After"]);
        // The same again: answered without asking Auth0.
        let calls = service.directory().calls().len();
        service
            .update(&owner("owner-a"), id, rename.clone(), later())
            .await
            .unwrap();
        assert_eq!(service.directory().calls().len(), calls);
        // Nobody else's, and no impossible id, reaches anything.
        for (who, id) in [("owner-b", id), ("owner-a", "../x")] {
            assert!(matches!(
                service
                    .update(&owner(who), id, rename.clone(), later())
                    .await,
                Err(ServiceError::ClientNotFound)
            ));
            assert!(matches!(
                service.rotate_secret(&owner(who), id, later()).await,
                Err(ServiceError::ClientNotFound)
            ));
            assert!(matches!(
                service
                    .set_status(&owner(who), id, ClientStatus::Disabled, later())
                    .await,
                Err(ServiceError::ClientNotFound)
            ));
            assert!(matches!(
                service
                    .set_status(&owner(who), id, ClientStatus::Active, later())
                    .await,
                Err(ServiceError::ClientNotFound)
            ));
        }
        assert_eq!(service.directory().calls().len(), calls);
    }

    #[tokio::test]
    async fn disable_takes_the_grant_and_enable_gives_back_the_chosen_scopes() {
        let service = scoped_service();
        let chosen = choosing("Switch", &["read:rooms"]);
        let created = create_as(&service, "owner-a", chosen, None).await.unwrap();
        let id = created.client_id.as_str();
        let disabled = service
            .set_status(&owner("owner-a"), id, ClientStatus::Disabled, later())
            .await
            .unwrap();
        assert_eq!(disabled.status, ClientStatus::Disabled);
        assert!(!service.directory().has_grant(id));
        // Idempotent, and without an Auth0 call.
        let calls = service.directory().calls().len();
        let again = service
            .set_status(&owner("owner-a"), id, ClientStatus::Disabled, later())
            .await
            .unwrap();
        assert_eq!(again.status, ClientStatus::Disabled);
        assert_eq!(service.directory().calls().len(), calls);
        let got = service.get(&owner("owner-a"), id).await.unwrap();
        assert_eq!(got.status, ClientStatus::Disabled);

        let enabled = service
            .set_status(&owner("owner-a"), id, ClientStatus::Active, later())
            .await
            .unwrap();
        assert_eq!(enabled.status, ClientStatus::Active);
        assert_eq!(service.directory().granted(id).unwrap(), ["read:rooms"]);
        assert!(
            service
                .index()
                .stale_operations(u64::MAX)
                .await
                .unwrap()
                .is_empty(),
            "no change left recorded"
        );
    }

    #[tokio::test]
    async fn a_failed_disable_leaves_the_client_shown_as_it_was_for_the_reconciler() {
        let service = scoped_service();
        let created = create(&service, "owner-a", "Kept").await;
        let id = created.client_id.as_str();
        service.directory().fail_next(Failing::DeleteGrant);
        let failed = service
            .set_status(&owner("owner-a"), id, ClientStatus::Disabled, later())
            .await;
        assert_eq!(failed_upstream(&failed), Some(Operation::DeleteGrant));
        let got = service.get(&owner("owner-a"), id).await.unwrap();
        assert_eq!(got.status, ClientStatus::Active);
        // Auth0 may have done it: the change stays recorded, and another
        // change waits until it is repaired (or stale).
        let stale = service.index().stale_operations(u64::MAX).await.unwrap();
        assert!(
            matches!(stale.as_slice(), [crate::domain::StaleOperation::Change(c)] if c.change.as_ref().unwrap().aspects == Aspects::ACCESS)
        );
        for who in ["enable", "disable"] {
            let again = match who {
                "enable" => {
                    service
                        .set_status(&owner("owner-a"), id, ClientStatus::Active, later())
                        .await
                }
                _ => {
                    service
                        .set_status(&owner("owner-a"), id, ClientStatus::Disabled, later())
                        .await
                }
            };
            assert!(
                matches!(again, Err(ServiceError::ClientChangeInProgress)),
                "{who}"
            );
        }
    }

    #[tokio::test]
    async fn a_rate_limited_update_changes_nothing_and_leaves_no_change_behind() {
        let service = scoped_service();
        let created = create(&service, "owner-a", "Same").await;
        let id = created.client_id.as_str();
        service.directory().fail_next(Failing::UpdateRateLimited);
        let rename = ClientUpdate {
            name: Some("Other".into()),
            description: None,
        };
        let failed = service
            .update(&owner("owner-a"), id, rename.clone(), later())
            .await;
        assert!(matches!(
            failed,
            Err(ServiceError::Upstream {
                cause: UpstreamError::RateLimited { .. },
                ..
            })
        ));
        assert_eq!(listed(&service, "owner-a").await, ["Same"]);
        // Not busy: the next change runs at once.
        service
            .update(&owner("owner-a"), id, rename, later())
            .await
            .unwrap();
        assert_eq!(listed(&service, "owner-a").await, ["Other"]);
    }

    #[tokio::test]
    async fn a_change_that_stopped_is_taken_over_with_what_it_left_undone() {
        let service = scoped_service();
        let created = create(&service, "owner-a", "Stopped").await;
        let id = created.client_id.as_str();
        // An update that stopped half-way, long ago.
        let stopped = PendingChange {
            started_at: now_micros() - micros(STALE_AFTER) - 1,
            ..PendingChange::begin(Aspects::PROFILE)
        };
        let read = service
            .index()
            .get(&owner("owner-a"), id)
            .await
            .unwrap()
            .unwrap();
        let begun = service
            .index()
            .begin_change(&read, &stopped, 0)
            .await
            .unwrap();
        assert!(matches!(begun, ChangeBegun::Started { .. }));
        // A disable takes it over; the profile stays to be repaired, and
        // is stale at once (another change is not kept waiting).
        service
            .set_status(&owner("owner-a"), id, ClientStatus::Disabled, later())
            .await
            .unwrap();
        let fresh = now_micros() - micros(STALE_AFTER);
        let stale = service.index().stale_operations(fresh).await.unwrap();
        let [crate::domain::StaleOperation::Change(left)] = stale.as_slice() else {
            panic!("{stale:?}");
        };
        assert_eq!(left.change.as_ref().unwrap().aspects, Aspects::PROFILE);
        assert_eq!(left.status, ClientStatus::Disabled);
        service
            .set_status(&owner("owner-a"), id, ClientStatus::Active, later())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_rotation_replaces_the_secret_and_a_lost_one_is_reported_failed() {
        let service = scoped_service();
        let created = create(&service, "owner-a", "Rotated").await;
        let id = created.client_id.as_str();
        let rotated = service
            .rotate_secret(&owner("owner-a"), id, later())
            .await
            .unwrap();
        assert_eq!(rotated.client_id, id);
        assert_ne!(rotated.client_secret, created.client_secret);
        assert_eq!(
            service.directory().secret(id).unwrap(),
            rotated.client_secret.expose()
        );
        service.directory().fail_next(Failing::Rotate);
        assert_eq!(
            failed_upstream(&service.rotate_secret(&owner("owner-a"), id, later()).await),
            Some(Operation::RotateSecret)
        );
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
