//! The client operations: what it means to create, list, read and delete an
//! M2M client for an owner. Nothing here knows about HTTP, Lambda or Auth0's
//! wire format; the directory of clients sits behind [`ClientDirectory`].

use std::time::Duration;

use tokio::time::Instant;
use tracing::{error, info, warn};

use crate::domain::{
    ClientDirectory, ClientSummary, CreatedClient, DirectoryClient, GrantPolicy, NewClient, Owner,
    is_possible_client_id,
};
use crate::error::{Operation, ServiceError};

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

/// The four operations, each confined to the owner's own clients.
pub struct ClientService<D> {
    directory: D,
    grant: GrantPolicy,
}

impl<D: ClientDirectory> ClientService<D> {
    pub fn new(directory: D, grant: GrantPolicy) -> Self {
        ClientService { directory, grant }
    }

    pub fn directory(&self) -> &D {
        &self.directory
    }

    /// Creates a client owned by `owner` and authorizes it. If the grant
    /// cannot be made the client is deleted again: no client may exist
    /// without its grant.
    pub async fn create(
        &self,
        owner: &Owner,
        client: NewClient,
        deadline: Instant,
    ) -> Result<CreatedClient, ServiceError> {
        let steps = CreateSteps::within(Instant::now(), deadline);
        let created = match self
            .directory
            .create_client(&client, owner, steps.create_by, steps.undo_by)
            .await
        {
            Ok(created) => created,
            Err(cause) => {
                audit("create_client", owner, None, "client_create_failed");
                return Err(ServiceError::upstream(Operation::CreateClient)(cause));
            }
        };

        if let Err(cause) = self
            .directory
            .create_grant(&created.client_id, &self.grant, steps.grant_by)
            .await
        {
            warn!(client_id = %created.client_id, error = %cause, "client grant failed; rolling back the client");
            match self
                .directory
                .delete_client(&created.client_id, steps.undo_by)
                .await
            {
                Ok(()) => info!(client_id = %created.client_id, "rolled back client without grant"),
                Err(rollback) => error!(
                    client_id = %created.client_id,
                    error = %rollback,
                    "ORPHANED CLIENT: rollback failed; delete it by hand"
                ),
            }
            audit(
                "create_client",
                owner,
                Some(&created.client_id),
                "grant_failed_rolled_back",
            );
            return Err(ServiceError::upstream(Operation::CreateGrant)(cause));
        }
        audit("create_client", owner, Some(&created.client_id), "created");
        Ok(created)
    }

    /// The owner's clients, in the directory's order.
    pub async fn list(
        &self,
        owner: &Owner,
        deadline: Instant,
    ) -> Result<Vec<ClientSummary>, ServiceError> {
        let clients = self
            .directory
            .list_clients(deadline)
            .await
            .map_err(ServiceError::upstream(Operation::ReadClients))?;
        Ok(clients
            .into_iter()
            .filter(|client| client.is_owned_by(owner))
            .map(DirectoryClient::into_summary)
            .collect())
    }

    /// One of the owner's clients. Missing, someone else's and impossible ids
    /// all answer the same not-found, so nobody learns what exists.
    pub async fn get(
        &self,
        owner: &Owner,
        client_id: &str,
        deadline: Instant,
    ) -> Result<ClientSummary, ServiceError> {
        self.find_owned(owner, client_id, Operation::ReadClients, deadline)
            .await
            .map(DirectoryClient::into_summary)
    }

    /// Deletes one of the owner's clients.
    pub async fn delete(
        &self,
        owner: &Owner,
        client_id: &str,
        deadline: Instant,
    ) -> Result<(), ServiceError> {
        let outcome = match self
            .find_owned(owner, client_id, Operation::DeleteClient, deadline)
            .await
        {
            Ok(client) => self
                .directory
                .delete_client(&client.client_id, deadline)
                .await
                .map_err(ServiceError::upstream(Operation::DeleteClient)),
            Err(problem) => Err(problem),
        };
        let result = match &outcome {
            Ok(()) => "deleted",
            Err(ServiceError::ClientNotFound) => "not_found",
            Err(_) => "delete_failed",
        };
        // Impossible ids are not echoed: they are caller-controlled text.
        let shown = is_possible_client_id(client_id).then_some(client_id);
        audit("delete_client", owner, shown, result);
        outcome
    }

    async fn find_owned(
        &self,
        owner: &Owner,
        client_id: &str,
        operation: Operation,
        deadline: Instant,
    ) -> Result<DirectoryClient, ServiceError> {
        if !is_possible_client_id(client_id) {
            return Err(ServiceError::ClientNotFound);
        }
        match self.directory.get_client(client_id, deadline).await {
            Ok(Some(client)) if client.is_owned_by(owner) => Ok(client),
            Ok(_) => Err(ServiceError::ClientNotFound),
            Err(cause) => Err(ServiceError::upstream(operation)(cause)),
        }
    }
}

/// One structured line per create and delete, for the audit trail: who,
/// which client, what happened. The request id comes from the span the HTTP
/// layer opens. Nothing secret is ever passed here.
fn audit(action: &'static str, owner: &Owner, client_id: Option<&str>, outcome: &'static str) {
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
