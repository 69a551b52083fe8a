//! The audit (`{"audit": true}`; docs/owner-index.md, "The reconciler"):
//! Auth0 and the table compared, and nothing changed. It reads every M2M
//! client of the tenant, every grant for the service's API and every owner's
//! items, and answers the differences: client ids and owners, and which
//! fields differ, never a secret (the clients are read without theirs).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tokio::time::Instant;

use super::reconciler::Reconciler;
use crate::domain::{
    ClientDirectory, ClientStatus, DirectoryClient, IndexedClient, OwnerIndex, TableCensus,
};
use crate::error::{ServiceError, UpstreamError};

/// A client, by its id and its owner.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Named {
    pub client_id: String,
    pub owner: String,
}

/// A client both hold, and what they hold differently of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Differing {
    pub client_id: String,
    /// The owner the table records.
    pub owner: String,
    /// Of `owner` (Auth0's `owner_client_id` metadata), `name`,
    /// `description`, `grant` (one has it and the other not: the table's
    /// `active` has it, `disabled` not) and `scopes` (both have it, with
    /// other scopes): those that differ.
    pub fields: Vec<&'static str>,
    /// Whether a change of the client is under way (or stopped half-way),
    /// which may explain the difference until it ends or is repaired.
    pub change_under_way: bool,
}

/// An owner whose quota count is not its clients plus its creations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuotaMismatch {
    pub owner: String,
    pub count: u64,
    /// Its client items, those being deleted included.
    pub clients: u64,
    pub creations: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Differences {
    /// M2M clients with the service's owner metadata that no item names
    /// (nor a creation under way).
    pub only_in_auth0: Vec<Named>,
    /// Listed items whose client Auth0 does not have.
    pub only_in_table: Vec<Named>,
    pub differing: Vec<Differing>,
    pub quota_mismatches: Vec<QuotaMismatch>,
}

/// The audit's answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Audit {
    pub audit: Differences,
    /// Whether all of Auth0 (every client, every grant) was read by the
    /// deadline. If not, only `quota_mismatches` is told, and the other
    /// lists are empty.
    pub complete: bool,
    /// The M2M clients Auth0 has (`None` if not all were read), and the
    /// listed items the table has.
    pub auth0_clients: Option<usize>,
    pub table_clients: usize,
}

impl<D: ClientDirectory, I: OwnerIndex> Reconciler<D, I> {
    /// Compares Auth0 with the table, by `deadline`, writing nothing.
    pub async fn audit(&self, deadline: Instant) -> Result<Audit, ServiceError> {
        let census = self.index.census().await?;
        let failed = |problem: UpstreamError| {
            ServiceError::Internal(format!("audit: Auth0 could not be read: {problem}"))
        };
        let clients = self.every_client(deadline).await.map_err(failed)?;
        let grants = match &clients {
            Some(_) => self.every_grant(deadline).await.map_err(failed)?,
            None => None,
        };
        let quota_mismatches = quota_mismatches(&census);
        let table_clients = census.clients.len();
        let (Some(clients), Some(grants)) = (clients, grants) else {
            return Ok(Audit {
                audit: Differences {
                    quota_mismatches,
                    ..Differences::default()
                },
                complete: false,
                auth0_clients: None,
                table_clients,
            });
        };
        let grants: BTreeMap<String, Vec<String>> = grants
            .into_iter()
            .map(|grant| (grant.client_id, grant.scopes))
            .collect();
        let audit = Differences {
            quota_mismatches,
            ..self.compare(&census, &clients, &grants)
        };
        Ok(Audit {
            audit,
            complete: true,
            auth0_clients: Some(clients.len()),
            table_clients,
        })
    }

    /// The clients only one side has, and those both have differently
    /// (`grants`: each client's scopes, for those that have the grant).
    fn compare(
        &self,
        census: &TableCensus,
        clients: &[DirectoryClient],
        grants: &BTreeMap<String, Vec<String>>,
    ) -> Differences {
        let mut audit = Differences::default();
        let in_table = census.clients.iter().chain(&census.deleting);
        let mut named: BTreeSet<&str> = in_table.map(|c| c.client_id.as_str()).collect();
        for creation in &census.creations {
            named.insert(creation.client_id());
            named.insert(&creation.chosen_id);
        }
        for client in clients {
            let made_by_creation = client
                .creation_id
                .as_deref()
                .is_some_and(|id| census.creations.iter().any(|c| c.chosen_id == id));
            if let Some(owner) = client.service_owner()
                && !named.contains(client.client_id.as_str())
                && !made_by_creation
            {
                audit.only_in_auth0.push(Named {
                    client_id: client.client_id.clone(),
                    owner: owner.as_str().to_owned(),
                });
            }
        }
        let in_auth0: BTreeMap<&str, &DirectoryClient> = clients
            .iter()
            .map(|client| (client.client_id.as_str(), client))
            .collect();
        for item in &census.clients {
            let Some(client) = in_auth0.get(item.client_id.as_str()) else {
                audit.only_in_table.push(Named {
                    client_id: item.client_id.clone(),
                    owner: item.owner.as_str().to_owned(),
                });
                continue;
            };
            let granted = grants.get(&item.client_id).map(Vec::as_slice);
            let fields = self.differences(item, client, granted);
            if !fields.is_empty() {
                audit.differing.push(Differing {
                    client_id: item.client_id.clone(),
                    owner: item.owner.as_str().to_owned(),
                    fields,
                    change_under_way: item.change.is_some(),
                });
            }
        }
        audit.only_in_auth0.sort();
        audit.only_in_table.sort();
        audit
            .differing
            .sort_by(|a, b| a.client_id.cmp(&b.client_id));
        audit
    }

    /// What Auth0 holds differently of `item`'s client (`granted`: the
    /// scopes of its grant, if it has one).
    fn differences(
        &self,
        item: &IndexedClient,
        client: &DirectoryClient,
        granted: Option<&[String]>,
    ) -> Vec<&'static str> {
        let expected = match item.status {
            ClientStatus::Active => Some(self.grant.scopes_of(item.scopes.as_deref())),
            ClientStatus::Disabled => None,
        };
        let as_set = |scopes: &[String]| -> BTreeSet<String> { scopes.iter().cloned().collect() };
        [
            ("owner", client.owner.as_deref() != Some(item.owner.as_str())),
            ("name", client.name != item.name),
            ("description", client.description != item.description),
            ("grant", expected.is_some() != granted.is_some()),
            (
                "scopes",
                matches!((&expected, granted), (Some(expected), Some(granted)) if as_set(expected) != as_set(granted)),
            ),
        ]
        .into_iter()
        .filter_map(|(field, differs)| differs.then_some(field))
        .collect()
    }
}

/// Owners whose quota count is not their client items plus creations.
fn quota_mismatches(census: &TableCensus) -> Vec<QuotaMismatch> {
    let mut counted: BTreeMap<&str, QuotaMismatch> = BTreeMap::new();
    fn of<'m, 'o>(
        counted: &'m mut BTreeMap<&'o str, QuotaMismatch>,
        owner: &'o str,
    ) -> &'m mut QuotaMismatch {
        counted.entry(owner).or_insert_with(|| QuotaMismatch {
            owner: owner.to_owned(),
            count: 0,
            clients: 0,
            creations: 0,
        })
    }
    for (owner, count) in &census.quotas {
        of(&mut counted, owner.as_str()).count = *count;
    }
    for client in census.clients.iter().chain(&census.deleting) {
        of(&mut counted, client.owner.as_str()).clients += 1;
    }
    for creation in &census.creations {
        of(&mut counted, creation.owner.as_str()).creations += 1;
    }
    counted
        .into_values()
        .filter(|owner| owner.count != owner.clients + owner.creations)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_fixtures::{
        begin_change, begun, creation, grant_in_auth0, imported, indexed, later, owner, policy,
        reconciler, rename_in_auth0,
    };
    use super::*;
    use crate::domain::{Aspects, ClientStatus, ClientUpdate, Clients, GrantPolicy, Grants};
    use crate::owner_index::MemoryIndex;
    use crate::testing::MemoryDirectory;

    /// A client both hold alike (`status` in the table; the grant in
    /// Auth0 to match).
    async fn alike(reconciler: &Reconciler<MemoryDirectory, MemoryIndex>, id: &str) {
        let (directory, index) = (reconciler.directory(), reconciler.index());
        imported(index, id, "owner-a").await;
        directory.seed(id, Some("owner-a"));
        let named = ClientUpdate {
            name: Some(id.into()),
            description: Some(String::new()),
            scopes: None,
        };
        directory.update_client(id, &named, later()).await.unwrap();
        grant_in_auth0(directory, id, &policy()).await;
    }

    fn named(id: &str, who: &str) -> Named {
        Named {
            client_id: id.into(),
            owner: who.into(),
        }
    }

    #[tokio::test]
    async fn the_audit_answers_each_difference_and_changes_nothing() {
        let reconciler = reconciler();
        let (directory, index) = (reconciler.directory(), reconciler.index());
        for id in [
            "client_alike",
            "client_renamed",
            "client_disabled",
            "client_narrowed",
        ] {
            alike(&reconciler, id).await;
        }
        rename_in_auth0(directory, "client_renamed", "renamed in the dashboard").await;
        // Disabled in the table, with its grant still in Auth0 (a change
        // under way).
        let (read, change) =
            begin_change(index, "owner-a", "client_disabled", Aspects::ACCESS).await;
        let disabled = IndexedClient {
            status: ClientStatus::Disabled,
            ..read
        };
        index.end_change(&disabled, &change.id).await.unwrap();
        let narrowed = GrantPolicy {
            scopes: vec!["read:rooms".into()],
            ..policy()
        };
        directory
            .delete_grant("client_narrowed", &policy().audience, later())
            .await
            .unwrap();
        grant_in_auth0(directory, "client_narrowed", &narrowed).await;
        // Only in the table; only in Auth0; not the service's; a creation's
        // client, not yet named by an item.
        imported(index, "client_lost", "owner-b").await;
        directory.seed("legacy", Some("owner-b"));
        directory.seed("foreign", None);
        begun(index, "client_making", "owner-a").await;
        directory.seed_made_by("AUTH0MADE", Some("owner-a"), Some("client_making"));
        let before = (index.census().await.unwrap(), directory.ids());
        let calls_before = directory.calls().len();

        let audit = reconciler.audit(later()).await.unwrap();
        assert_eq!(
            audit.audit,
            Differences {
                only_in_auth0: vec![named("legacy", "owner-b")],
                only_in_table: vec![named("client_lost", "owner-b")],
                differing: vec![
                    Differing {
                        client_id: "client_disabled".into(),
                        owner: "owner-a".into(),
                        fields: vec!["grant"],
                        change_under_way: false,
                    },
                    Differing {
                        client_id: "client_narrowed".into(),
                        owner: "owner-a".into(),
                        fields: vec!["scopes"],
                        change_under_way: false,
                    },
                    Differing {
                        client_id: "client_renamed".into(),
                        owner: "owner-a".into(),
                        fields: vec!["name"],
                        change_under_way: false,
                    },
                ],
                quota_mismatches: vec![],
            }
        );
        assert!(audit.complete);
        assert_eq!((audit.auth0_clients, audit.table_clients), (Some(7), 5));
        assert_eq!((index.census().await.unwrap(), directory.ids()), before);
        // Auth0 read, never written.
        let calls = directory.calls().split_off(calls_before);
        assert!(
            calls
                .iter()
                .all(|call| ["list_page", "list_grants"].contains(call)),
            "{calls:?}"
        );
    }

    #[tokio::test]
    async fn an_audit_out_of_time_tells_only_the_quotas() {
        let reconciler = reconciler();
        let index = reconciler.index();
        imported(index, "client_lost", "owner-b").await;
        let audit = reconciler.audit(Instant::now()).await.unwrap();
        assert_eq!(
            audit,
            Audit {
                audit: Differences::default(),
                complete: false,
                auth0_clients: None,
                table_clients: 1,
            }
        );
    }

    #[test]
    fn a_quota_mismatch_is_a_count_other_than_clients_and_creations() {
        let census = TableCensus {
            clients: vec![indexed("c1", "owner-a"), indexed("c2", "owner-b")],
            deleting: vec![indexed("c3", "owner-a")],
            creations: vec![creation("c4", "owner-a")],
            quotas: vec![
                (owner("owner-a"), 3),
                (owner("owner-b"), 2),
                (owner("owner-c"), 0),
            ],
        };
        assert_eq!(
            quota_mismatches(&census),
            vec![QuotaMismatch {
                owner: "owner-b".into(),
                count: 2,
                clients: 1,
                creations: 0,
            }]
        );
    }
}
