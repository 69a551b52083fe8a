//! The change protocol update, disable and enable share (docs/owner-index.md,
//! "Changes"): the change recorded on the client's item first, then made in
//! Auth0, then the item's new values written and the record removed; a
//! change that stops half-way is found and repaired.

use tracing::{error, warn};

use super::{ClientService, possible};
use crate::domain::{
    Aspects, ChangeBegun, ClientDirectory, IndexedClient, Owner, OwnerIndex, PendingChange,
    STALE_AFTER, micros,
};
use crate::error::{ServiceError, UpstreamError};

impl<D: ClientDirectory, I: OwnerIndex> ClientService<D, I> {
    /// A change of one of the owner's clients (docs/owner-index.md,
    /// "Changes"): `wanted` says what the client becomes, `in_auth0` makes
    /// Auth0 so (`false`: Auth0 has no such client). Recorded on the client
    /// first, so that a change that stops half-way is found and repaired;
    /// a client that already is as wanted is answered as it is.
    pub(super) async fn change(
        &self,
        owner: &Owner,
        client_id: &str,
        aspects: Aspects,
        wanted: impl Fn(&IndexedClient) -> IndexedClient,
        in_auth0: impl AsyncFnOnce(&IndexedClient) -> Result<bool, ServiceError>,
    ) -> Result<IndexedClient, ServiceError> {
        possible(client_id)?;
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
}

/// Whether the client already has `wanted`'s name, description and status.
fn same_values(wanted: &IndexedClient, current: &IndexedClient) -> bool {
    wanted.name == current.name
        && wanted.description == current.description
        && wanted.status == current.status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::test_fixtures::*;
    use crate::domain::{ClientStatus, now_micros};

    #[tokio::test]
    async fn a_change_that_stopped_is_taken_over_with_what_it_left_undone() {
        let (service, created) = scoped_with_client("Stopped").await;
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
}
