//! List and get (docs/owner-index.md, "List and get"): answered from the
//! index alone. List pages with cursors signed under the table's cursor
//! key, which the first writer makes (create, or the reconciler) and this
//! container keeps in memory once read.

use super::{ClientPage, ClientService};
use crate::domain::{ClientDirectory, IndexedClient, Owner, OwnerIndex};
use crate::error::ServiceError;
use crate::secret_string::SecretString;

impl<D: ClientDirectory, I: OwnerIndex> ClientService<D, I> {
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

    /// One of the owner's clients, as shown (not found: see `indexed`).
    pub async fn get(&self, owner: &Owner, client_id: &str) -> Result<IndexedClient, ServiceError> {
        let client = self.indexed(owner, client_id).await?;
        Ok(self.shown(client))
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
    pub(super) async fn cursor_key(
        &self,
        create: bool,
    ) -> Result<Option<SecretString>, ServiceError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::test_fixtures::*;

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
}
