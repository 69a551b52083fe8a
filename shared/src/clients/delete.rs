//! Delete (docs/owner-index.md, "Delete"): the client marked in the index
//! (no longer shown), deleted in Auth0, then gone from the index; a mark
//! Auth0 refused before doing anything taken back.

use tokio::time::Instant;
use tracing::{error, warn};

use super::{ClientService, audited};
use crate::domain::{ClientDirectory, Owner, OwnerIndex};
use crate::error::{IndexError, Operation, ServiceError, UpstreamError};

impl<D: ClientDirectory, I: OwnerIndex> ClientService<D, I> {
    /// Deletes one of the owner's clients: marked in the index (no longer
    /// shown), deleted in Auth0, then gone from the index.
    pub async fn delete(
        &self,
        owner: &Owner,
        client_id: &str,
        deadline: Instant,
    ) -> Result<(), ServiceError> {
        let deleting = self.delete_owned(owner, client_id, deadline);
        audited(("delete_client", "deleted"), owner, client_id, deleting).await
    }

    async fn delete_owned(
        &self,
        owner: &Owner,
        client_id: &str,
        deadline: Instant,
    ) -> Result<(), ServiceError> {
        // Only a delete that will call Auth0 counts against the owner's
        // writes: one of a client that is not there is 404, uncounted. The
        // count comes before the mark, so that a refusal leaves nothing to
        // take back.
        self.indexed(owner, client_id).await?;
        self.admit_write(owner).await?;
        let client = self
            .index
            .begin_deletion(owner, client_id)
            .await
            .map_err(ServiceError::index_write(Operation::DeleteClient))?
            .ok_or(ServiceError::ClientNotFound)?;
        if let Err(cause) = self.directory.delete_client(client_id, deadline).await {
            match &cause {
                // Auth0 processed nothing: the client stays as it was.
                UpstreamError::RateLimited { .. }
                | UpstreamError::Credentials(_)
                | UpstreamError::NotDone(_) => {
                    if let Err(problem) = self.index.cancel_deletion(&client).await
                        // A take-back whose outcome is unknown may have been
                        // applied: the item, read, settles it (listed again,
                        // the client stands and nothing was done), since a
                        // 502 delete must end deleted (CONTRACT.md, "Writes
                        // whose outcome is unknown").
                        && !(matches!(problem, IndexError::OutcomeUnknown(_))
                            && matches!(self.index.get(owner, client_id).await, Ok(Some(_))))
                    {
                        // Left marked: the reconciler finishes the deletion,
                        // so the answer is the 502's, not "nothing was done".
                        error!(client_id, error = %problem, "could not take the deletion mark back");
                        let cause = UpstreamError::Failed(format!(
                            "{cause}; the deletion mark could not be taken back"
                        ));
                        return Err(ServiceError::upstream(Operation::DeleteClient)(cause));
                    }
                }
                // Auth0 may have deleted it: it stays hidden, and the
                // reconciler finishes the deletion (the caller asked for it).
                UpstreamError::Failed(_)
                | UpstreamError::NotEntitled(_)
                | UpstreamError::Conflict(_) => {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::test_fixtures::*;
    use crate::domain::CreatedClient;

    /// `owner-a`'s client named `name`, whose deletion failed in Auth0 as
    /// `failing` says.
    async fn failed_delete(name: &str, failing: Failing) -> (Service, CreatedClient) {
        let (service, created) = with_client(name).await;
        service.directory().fail_next(failing);
        let failed = service
            .delete(&owner("owner-a"), &created.client_id, later())
            .await;
        assert_eq!(failed_upstream(&failed), Some(Operation::DeleteClient));
        (service, created)
    }

    #[tokio::test]
    async fn a_delete_auth0_may_have_done_stays_hidden_for_the_reconciler() {
        let (service, _) = failed_delete("Gone", Failing::Delete).await;
        assert!(listed(&service, "owner-a").await.is_empty());
        let stale = service.index().stale_operations(u64::MAX).await.unwrap();
        assert!(matches!(
            stale.as_slice(),
            [crate::domain::StaleOperation::Deletion(_)]
        ));
    }

    #[tokio::test]
    async fn a_rate_limited_delete_leaves_the_client_listed() {
        let (service, created) = failed_delete("Stays", Failing::DeleteRateLimited).await;
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
}
