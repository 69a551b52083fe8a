//! Disable and enable: a client's grant taken away or given back, in Auth0,
//! and its status in the index, by the change protocol (`change.rs`).

use tokio::time::Instant;

use super::{ClientService, audit_outcome};
use crate::domain::{
    Aspects, ClientDirectory, ClientStatus, GrantPolicy, IndexedClient, Owner, OwnerIndex,
};
use crate::error::{Operation, ServiceError};

impl<D: ClientDirectory, I: OwnerIndex> ClientService<D, I> {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::test_fixtures::*;

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
        let (service, created) = scoped_with_client("Kept").await;
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
}
