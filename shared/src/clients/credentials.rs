//! Key credentials (docs/owner-index.md, "Key credentials"): a key
//! client's credentials listed from the index, added and removed in Auth0
//! under the change protocol of `change.rs` (one change of a client at a
//! time; one that stops half-way is found and repaired by the reconciler,
//! which makes Auth0's credentials the index's again: [`settle_credentials`]).
//!
//! Adding is Auth0's `POST …/credentials`, then a PATCH of the client's
//! `client_authentication_methods` listing every credential to enable;
//! removing is that PATCH without it, then its `DELETE`. A POST whose
//! answer is lost is settled by reading: the client's credentials are
//! listed and the new one found by its `kid` (the key's thumbprint). Found,
//! it is enabled as if answered; not found, the change stays recorded, so
//! that one that lands later is deleted by the reconciler: no credential is
//! left enabled that the index does not list.

use tokio::time::Instant;

use super::{ClientService, audited};
use crate::domain::{
    Aspects, ClientDirectory, Credential, DirectoryCredential, IndexedClient, MAX_CREDENTIALS,
    NewKey, Owner, OwnerIndex, is_possible_client_id,
};
use crate::error::{Operation, ServiceError, UpstreamError};

impl<D: ClientDirectory, I: OwnerIndex> ClientService<D, I> {
    /// The owner's key client's credentials, as the index has them.
    pub async fn credentials(
        &self,
        owner: &Owner,
        client_id: &str,
    ) -> Result<Vec<Credential>, ServiceError> {
        let client = self.indexed(owner, client_id).await?;
        client.credentials.ok_or(ServiceError::ClientUsesSecret)
    }

    /// Adds `key` as a credential of the owner's key client, enabled at
    /// once: the next key of a rotation. The same key again is answered
    /// with the credential it already is.
    pub async fn add_credential(
        &self,
        owner: &Owner,
        client_id: &str,
        key: NewKey,
        deadline: Instant,
    ) -> Result<Credential, ServiceError> {
        let adding = async {
            if !self.key_credentials {
                return Err(ServiceError::KeyCredentialsUnavailable);
            }
            let held = self.credentials(owner, client_id).await?;
            if let Some(same) = held
                .iter()
                .find(|c| c.thumbprint_sha256 == key.thumbprint_sha256)
            {
                return if same.alg == key.alg && same.expires_at == key.expires_at {
                    Ok(same.clone())
                } else {
                    Err(ServiceError::invalid(
                        "public_key is already a credential of this client, with another alg or expires_at",
                    ))
                };
            }
            if held.len() >= MAX_CREDENTIALS {
                return Err(ServiceError::CredentialLimitReached {
                    limit: MAX_CREDENTIALS,
                });
            }
            // Known but for Auth0's id and time, filled in once it answers.
            let new = Credential {
                credential_id: String::new(),
                alg: key.alg.clone(),
                thumbprint_sha256: key.thumbprint_sha256.clone(),
                created_at: String::new(),
                expires_at: key.expires_at.clone(),
            };
            let done = self
                .change(
                    owner,
                    client_id,
                    (Aspects::CREDENTIALS, Operation::CreateCredential, deadline),
                    |client| with_credentials(client, |held| held.push(new.clone())),
                    async |target, _| self.add_in_auth0(target, &key, deadline).await,
                )
                .await?;
            done.credentials
                .into_iter()
                .flatten()
                .find(|c| c.thumbprint_sha256 == key.thumbprint_sha256)
                .ok_or_else(|| ServiceError::Internal("an added credential went missing".into()))
        };
        audited(("add_credential", "added"), owner, client_id, adding).await
    }

    /// Removes one credential of the owner's key client: disabled in
    /// Auth0, then deleted. Never its last one: a client needs a way in.
    pub async fn remove_credential(
        &self,
        owner: &Owner,
        client_id: &str,
        credential_id: &str,
        deadline: Instant,
    ) -> Result<(), ServiceError> {
        let removing = async {
            let held = self.credentials(owner, client_id).await?;
            if !is_possible_client_id(credential_id)
                || !held.iter().any(|c| c.credential_id == credential_id)
            {
                return Err(ServiceError::CredentialNotFound);
            }
            if held.len() == 1 {
                return Err(ServiceError::LastCredential);
            }
            self.change(
                owner,
                client_id,
                (Aspects::CREDENTIALS, Operation::DeleteCredential, deadline),
                |client| {
                    with_credentials(client, |held| {
                        held.retain(|c| c.credential_id != credential_id)
                    })
                },
                async |target, _| self.remove_in_auth0(target, credential_id, deadline).await,
            )
            .await
            .map(drop)
        };
        let action = ("remove_credential", "removed");
        audited(action, owner, client_id, removing).await
    }

    /// Auth0's half of an add: the credential made (or found, if its POST's
    /// answer was lost) and every one of `target`'s enabled; `target`'s new
    /// credential gets Auth0's id and time.
    async fn add_in_auth0(
        &self,
        target: &mut IndexedClient,
        key: &NewKey,
        deadline: Instant,
    ) -> Result<bool, ServiceError> {
        let failed = upstream(Operation::CreateCredential);
        let recorded: Vec<Credential> = target
            .key_credentials()
            .iter()
            .filter(|c| !c.credential_id.is_empty())
            .cloned()
            .collect();
        // Another change may have come between the check and the change.
        if recorded.len() >= MAX_CREDENTIALS {
            return Err(ServiceError::CredentialLimitReached {
                limit: MAX_CREDENTIALS,
            });
        }
        let id = &target.client_id;
        let made = match self.directory.create_credential(id, key, deadline).await {
            Ok(made) => made,
            Err(UpstreamError::NotEntitled(_)) => {
                return Err(ServiceError::KeyCredentialsUnavailable);
            }
            // Nothing made, or the answer lost: read what Auth0 holds.
            Err(refused @ (UpstreamError::Conflict(_) | UpstreamError::Failed(_))) => {
                match self.found(id, key, &recorded, &refused, deadline).await {
                    Ok(Some(found)) => found,
                    Ok(None) => return Ok(false),
                    Err(problem) => return Err(problem),
                }
            }
            Err(other) => return Err(failed(other)),
        };
        let mut ids: Vec<&str> = recorded.iter().map(|c| c.credential_id.as_str()).collect();
        ids.push(&made.credential.credential_id);
        match self.directory.enable_credentials(id, &ids, deadline).await {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            // Refused before it changed anything: the new credential is
            // taken away again, or left for the reconciler if that fails.
            Err(
                refused @ (UpstreamError::RateLimited { .. }
                | UpstreamError::Credentials(_)
                | UpstreamError::NotEntitled(_)),
            ) => {
                let unmade = self
                    .directory
                    .delete_credential(id, &made.credential.credential_id, deadline)
                    .await;
                return Err(match unmade {
                    Ok(()) => failed(refused),
                    Err(problem) => failed(UpstreamError::Failed(problem.to_string())),
                });
            }
            Err(problem) => return Err(failed(problem)),
        }
        let credential = Credential {
            thumbprint_sha256: key.thumbprint_sha256.clone(),
            ..made.credential
        };
        if let Some(new) = target
            .credentials
            .iter_mut()
            .flatten()
            .find(|c| c.credential_id.is_empty())
        {
            *new = credential;
        }
        Ok(true)
    }

    /// The credential of `key` in Auth0 when its POST was refused as a
    /// conflict or its outcome is unknown: found by its `kid` among those
    /// the index does not list (then it is this add's). After a conflict
    /// with none such, Auth0 holds credentials the index does not (a POST
    /// whose outcome was unknown): they are settled and the POST sent once
    /// more. `None`: the client is gone.
    async fn found(
        &self,
        client_id: &str,
        key: &NewKey,
        recorded: &[Credential],
        refused: &UpstreamError,
        deadline: Instant,
    ) -> Result<Option<DirectoryCredential>, ServiceError> {
        let failed = upstream(Operation::CreateCredential);
        // Listing can fail too: then the outcome stays unknown, and the
        // change stays recorded for the reconciler.
        let unknown = |problem: UpstreamError| failed(UpstreamError::Failed(problem.to_string()));
        let Some(held) = self
            .directory
            .list_credentials(client_id, deadline)
            .await
            .map_err(unknown)?
        else {
            return Ok(None);
        };
        let unlisted = |c: &&DirectoryCredential| {
            !recorded
                .iter()
                .any(|r| r.credential_id == c.credential.credential_id)
        };
        if let Some(ours) = held
            .iter()
            .filter(unlisted)
            .find(|c| c.kid == key.thumbprint_sha256)
        {
            return Ok(Some(ours.clone()));
        }
        if !matches!(refused, UpstreamError::Conflict(_)) {
            return Err(failed(refused.clone()));
        }
        if settle_credentials(&self.directory, client_id, recorded, deadline)
            .await
            .map_err(unknown)?
            .is_none()
        {
            return Ok(None);
        }
        match self
            .directory
            .create_credential(client_id, key, deadline)
            .await
        {
            Ok(made) => Ok(Some(made)),
            Err(UpstreamError::Conflict(_)) => Err(ServiceError::CredentialLimitReached {
                limit: MAX_CREDENTIALS,
            }),
            Err(problem) => Err(failed(UpstreamError::Failed(problem.to_string()))),
        }
    }

    /// Auth0's half of a removal: the PATCH that leaves it out of the
    /// enabled credentials (`target`'s), then its DELETE.
    async fn remove_in_auth0(
        &self,
        target: &mut IndexedClient,
        credential_id: &str,
        deadline: Instant,
    ) -> Result<bool, ServiceError> {
        let ids: Vec<&str> = target
            .key_credentials()
            .iter()
            .map(|c| c.credential_id.as_str())
            .collect();
        if ids.is_empty() {
            return Err(ServiceError::LastCredential);
        }
        let id = &target.client_id;
        if !self
            .directory
            .enable_credentials(id, &ids, deadline)
            .await
            .map_err(ServiceError::upstream(Operation::DeleteCredential))?
        {
            return Ok(false);
        }
        // Auth0 no longer takes it: whatever fails now, the change stays
        // recorded for the reconciler (a 429 here is not "nothing done").
        self.directory
            .delete_credential(id, credential_id, deadline)
            .await
            .map_err(|problem| UpstreamError::Failed(problem.to_string()))
            .map_err(ServiceError::upstream(Operation::DeleteCredential))?;
        Ok(true)
    }
}

/// For `map_err`: `cause` failed `operation` (a closure to use again).
fn upstream(operation: Operation) -> impl Fn(UpstreamError) -> ServiceError + Copy {
    move |cause| ServiceError::Upstream { operation, cause }
}

/// `client` with its credentials changed by `change` (a secret client
/// stays as it is).
fn with_credentials(
    client: &IndexedClient,
    change: impl FnOnce(&mut Vec<Credential>),
) -> IndexedClient {
    let mut changed = client.clone();
    if let Some(credentials) = changed.credentials.as_mut() {
        change(credentials);
    }
    changed
}

/// Makes Auth0's credentials of a key client the index's (`recorded`): of
/// those, the ones Auth0 still holds are enabled, and every other
/// credential Auth0 holds (one whose POST's outcome was unknown, or whose
/// removal stopped half-way) is disabled, then deleted. Returns the
/// recorded credentials Auth0 still holds, which the index keeps; `None`
/// if Auth0 has no such client.
pub async fn settle_credentials<D: ClientDirectory>(
    directory: &D,
    client_id: &str,
    recorded: &[Credential],
    deadline: Instant,
) -> Result<Option<Vec<Credential>>, UpstreamError> {
    let Some(held) = directory.list_credentials(client_id, deadline).await? else {
        return Ok(None);
    };
    let holds = |id: &str| held.iter().any(|c| c.credential.credential_id == id);
    let kept: Vec<Credential> = recorded
        .iter()
        .filter(|c| holds(&c.credential_id))
        .cloned()
        .collect();
    let ids: Vec<&str> = kept.iter().map(|c| c.credential_id.as_str()).collect();
    if !directory
        .enable_credentials(client_id, &ids, deadline)
        .await?
    {
        return Ok(None);
    }
    for extra in held
        .iter()
        .filter(|c| !ids.contains(&c.credential.credential_id.as_str()))
    {
        directory
            .delete_credential(client_id, &extra.credential.credential_id, deadline)
            .await?;
    }
    Ok(Some(kept))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::test_fixtures::*;
    use crate::domain::{AuthMethod, StaleOperation};
    use crate::testing::Failing;
    use auth0_emulator::ClientKey;

    /// A service with one key client of `owner-a`'s (key A): its id.
    async fn key_client() -> (Service, String) {
        let service = scoped_service();
        let created = create_as(&service, "owner-a", keyed("Keyed", ClientKey::A), None)
            .await
            .unwrap();
        assert_eq!(created.client_secret, None);
        let id = created.client_id.clone();
        (service, id)
    }

    /// Key B added to `owner-a`'s client `id`: the next key of a rotation.
    async fn add_b(service: &Service, id: &str) -> Result<Credential, ServiceError> {
        let me = owner("owner-a");
        service
            .add_credential(&me, id, public(ClientKey::B), later())
            .await
    }

    fn ids(credentials: &[Credential]) -> Vec<String> {
        credentials
            .iter()
            .map(|c| c.thumbprint_sha256.clone())
            .collect()
    }

    #[tokio::test]
    async fn a_key_client_is_created_with_its_one_credential_and_no_secret() {
        let (service, id) = key_client().await;
        let got = service.get(&owner("owner-a"), &id).await.unwrap();
        assert_eq!(
            AuthMethod::of(got.credentials.as_deref()),
            AuthMethod::PrivateKeyJwt
        );
        let held = service.credentials(&owner("owner-a"), &id).await.unwrap();
        assert_eq!(ids(&held), [ClientKey::A.thumbprint()]);
        assert_eq!(
            service.directory().credentials(&id),
            [(held[0].credential_id.clone(), true)]
        );
        // Keys rotate by adding and removing, never by a secret.
        assert!(matches!(
            service.rotate_secret(&owner("owner-a"), &id, later()).await,
            Err(ServiceError::ClientUsesKeys)
        ));
    }

    #[tokio::test]
    async fn a_rotation_adds_the_next_key_then_removes_the_old_one() {
        let (service, id) = key_client().await;
        let me = owner("owner-a");
        let added = add_b(&service, &id).await.unwrap();
        assert_eq!(added.thumbprint_sha256, ClientKey::B.thumbprint());
        assert!(added.credential_id.starts_with("cred_"));
        let both = service.credentials(&me, &id).await.unwrap();
        assert_eq!(
            ids(&both),
            [ClientKey::A.thumbprint(), ClientKey::B.thumbprint()]
        );
        assert!(
            service
                .directory()
                .credentials(&id)
                .iter()
                .all(|(_, on)| *on)
        );
        // The same key again is the credential it already is.
        let again = add_b(&service, &id).await.unwrap();
        assert_eq!(again, added);
        // A third is refused before Auth0 is asked.
        let calls = service.directory().calls().len();
        assert!(matches!(
            service
                .add_credential(&me, &id, public(ClientKey::C), later())
                .await,
            Err(ServiceError::CredentialLimitReached { limit: 2 })
        ));
        assert_eq!(service.directory().calls().len(), calls);

        let first = both[0].credential_id.clone();
        assert!(matches!(
            service
                .remove_credential(&me, &id, "cred_unknown", later())
                .await,
            Err(ServiceError::CredentialNotFound)
        ));
        service
            .remove_credential(&me, &id, &first, later())
            .await
            .unwrap();
        let left = service.credentials(&me, &id).await.unwrap();
        assert_eq!(ids(&left), [ClientKey::B.thumbprint()]);
        assert_eq!(
            service.directory().credentials(&id),
            [(added.credential_id.clone(), true)]
        );
        // The last one stays; an unknown one is not found, checked first.
        assert!(matches!(
            service
                .remove_credential(&me, &id, &added.credential_id, later())
                .await,
            Err(ServiceError::LastCredential)
        ));
        assert!(matches!(
            service.remove_credential(&me, &id, &first, later()).await,
            Err(ServiceError::CredentialNotFound)
        ));
        // Nobody else's client, and no secret client, has keys.
        assert!(matches!(
            service.credentials(&owner("owner-b"), &id).await,
            Err(ServiceError::ClientNotFound)
        ));
        let secret = create(&service, "owner-a", "Secret").await;
        assert!(matches!(
            service.credentials(&me, &secret.client_id).await,
            Err(ServiceError::ClientUsesSecret)
        ));
        assert!(matches!(
            service
                .add_credential(&me, &secret.client_id, public(ClientKey::B), later())
                .await,
            Err(ServiceError::ClientUsesSecret)
        ));
    }

    #[tokio::test]
    async fn a_lost_answer_is_found_by_its_kid_and_enabled() {
        let (service, id) = key_client().await;
        service.directory().fail_next(Failing::CreateCredentialLost);
        let added = add_b(&service, &id).await.unwrap();
        assert_eq!(added.thumbprint_sha256, ClientKey::B.thumbprint());
        assert_eq!(service.directory().credentials(&id).len(), 2);
        assert!(service.directory().calls().contains(&"list_credentials"));
    }

    #[tokio::test]
    async fn a_failed_enable_is_left_for_the_reconciler_which_deletes_the_key() {
        let (service, id) = key_client().await;
        service.directory().fail_next(Failing::EnableCredentials);
        let failed = add_b(&service, &id).await;
        assert_eq!(failed_upstream(&failed), Some(Operation::CreateCredential));
        // Shown as it was; Auth0 holds a key the index does not list.
        let held = service.credentials(&owner("owner-a"), &id).await.unwrap();
        assert_eq!(ids(&held), [ClientKey::A.thumbprint()]);
        assert_eq!(service.directory().credentials(&id).len(), 2);
        let stale = service.index().stale_operations(u64::MAX).await.unwrap();
        let [StaleOperation::Change(client)] = stale.as_slice() else {
            panic!("{stale:?}");
        };
        assert!(client.change.as_ref().unwrap().aspects.credentials);
        // What the reconciler does with it: Auth0 made the index's again.
        let kept = settle_credentials(service.directory(), &id, &held, later())
            .await
            .unwrap();
        assert_eq!(kept, Some(held.clone()));
        assert_eq!(
            service.directory().credentials(&id),
            [(held[0].credential_id.clone(), true)]
        );
    }

    #[tokio::test]
    async fn key_credentials_off_or_not_entitled_make_nothing() {
        let service = scoped_service().with_key_credentials(false);
        let refused = create_as(&service, "owner-a", keyed("Off", ClientKey::A), None).await;
        assert!(matches!(
            refused,
            Err(ServiceError::KeyCredentialsUnavailable)
        ));
        assert!(service.directory().calls().is_empty());

        let service = scoped_service();
        service
            .directory()
            .fail_next(Failing::CreateCredentialNotEntitled);
        let refused = create_as(&service, "owner-a", keyed("Plan", ClientKey::A), None).await;
        assert!(matches!(
            refused,
            Err(ServiceError::KeyCredentialsUnavailable)
        ));
        assert!(service.directory().ids().is_empty());
        assert!(service.index().creations().is_empty());
        assert_eq!(service.index().quota(&owner("owner-a")), 0);
        assert!(listed(&service, "owner-a").await.is_empty());
    }

    #[tokio::test]
    async fn a_replayed_key_create_answers_the_same_without_a_secret() {
        let service = scoped_service();
        let once = async || {
            let client = keyed("Once", ClientKey::A);
            create_as(&service, "owner-a", client, claim("k", "{}")).await
        };
        let first = once().await.unwrap();
        assert_eq!(once().await.unwrap(), first);
        assert_eq!(service.directory().ids().len(), 1);
    }
}
