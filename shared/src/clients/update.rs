//! Update: a client's name and description, in Auth0 and in the index, by
//! the change protocol (`change.rs`).

use tokio::time::Instant;

use super::{ClientService, audit_outcome};
use crate::domain::{Aspects, ClientDirectory, ClientUpdate, IndexedClient, Owner, OwnerIndex};
use crate::error::{Operation, ServiceError};

impl<D: ClientDirectory, I: OwnerIndex> ClientService<D, I> {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::test_fixtures::*;
    use crate::domain::ClientStatus;
    use crate::error::UpstreamError;

    #[tokio::test]
    async fn an_update_renames_in_auth0_and_the_index_and_only_for_the_owner() {
        let (service, created) = scoped_with_client("Before").await;
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
    async fn a_rate_limited_update_changes_nothing_and_leaves_no_change_behind() {
        let (service, created) = scoped_with_client("Same").await;
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
}
