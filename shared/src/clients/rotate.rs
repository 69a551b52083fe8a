//! Rotate: a client's secret replaced in Auth0. The index records nothing
//! of it: it is read for ownership only (docs/owner-index.md, "Changes").

use tokio::time::Instant;
use tracing::warn;

use super::{ClientService, audited};
use crate::domain::{ClientDirectory, Owner, OwnerIndex, RotatedSecret};
use crate::error::{Operation, ServiceError};

impl<D: ClientDirectory, I: OwnerIndex> ClientService<D, I> {
    /// Replaces the client's secret in Auth0: the old one stops working at
    /// once. A rotation whose answer is lost cannot say which secret works.
    pub async fn rotate_secret(
        &self,
        owner: &Owner,
        client_id: &str,
        deadline: Instant,
    ) -> Result<RotatedSecret, ServiceError> {
        let rotation = async {
            if self.get(owner, client_id).await?.credentials.is_some() {
                return Err(ServiceError::ClientUsesKeys);
            }
            self.admit_write(owner).await?;
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
        };
        let action = ("rotate_client_secret", "rotated");
        audited(action, owner, client_id, rotation).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::test_fixtures::*;

    #[tokio::test]
    async fn a_rotation_replaces_the_secret_and_a_lost_one_is_reported_failed() {
        let service = scoped_service();
        let created = create(&service, "owner-a", "Rotated").await;
        let rotate = async || {
            service
                .rotate_secret(&owner("owner-a"), &created.client_id, later())
                .await
        };
        let rotated = rotate().await.unwrap();
        assert_eq!(rotated.client_id, created.client_id);
        assert_ne!(Some(rotated.client_secret.clone()), created.client_secret);
        assert_eq!(
            service.directory().secret(&created.client_id).unwrap(),
            rotated.client_secret.expose()
        );
        service.directory().fail_next(Failing::Rotate);
        assert_eq!(
            failed_upstream(&rotate().await),
            Some(Operation::RotateSecret)
        );
    }
}
