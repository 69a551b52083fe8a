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

/// Time kept back from the grant step so that, if it fails, the rollback of
/// the client still fits in the invocation.
const ROLLBACK_RESERVE: Duration = Duration::from_secs(3);

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
        let created = match self.directory.create_client(&client, owner, deadline).await {
            Ok(created) => created,
            Err(cause) => {
                audit("create_client", owner, None, "client_create_failed");
                return Err(ServiceError::upstream(Operation::CreateClient)(cause));
            }
        };

        let grant_deadline = deadline
            .checked_sub(ROLLBACK_RESERVE)
            .unwrap_or(deadline)
            .max(Instant::now());
        if let Err(cause) = self
            .directory
            .create_grant(&created.client_id, &self.grant, grant_deadline)
            .await
        {
            warn!(client_id = %created.client_id, error = %cause, "client grant failed; rolling back the client");
            let rollback_deadline = deadline.max(Instant::now() + ROLLBACK_RESERVE);
            match self
                .directory
                .delete_client(&created.client_id, rollback_deadline)
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
