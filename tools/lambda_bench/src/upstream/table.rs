//! The owner index's table, in moto (DynamoDB's own protocol, which no stub
//! here speaks): a table of its own per [`Upstream`], the caller's clients
//! seeded into it, and moto's own time for the table calls the functions
//! make.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use m2m_shared::Route;
use m2m_shared::domain::{Credential, IndexedClient, OwnerIndex, now_micros};
use m2m_shared::owner_index::DynamoIndex;
use test_support::setup;
use test_support::stats::median;

use super::{CALLER, TABLE, Upstream};

/// A fresh table in moto, named after [`TABLE`], this process and a count
/// (one per [`Upstream`]), and the owner index on it.
pub(super) async fn create() -> (String, DynamoIndex) {
    static TABLES: AtomicUsize = AtomicUsize::new(0);
    let table = format!(
        "{TABLE}-{}-{}",
        std::process::id(),
        TABLES.fetch_add(1, Ordering::Relaxed)
    );
    let dynamodb = test_support::dynamodb::client();
    test_support::dynamodb::create_clients_table(&dynamodb, &table).await;
    let index = DynamoIndex::new(dynamodb, &table);
    (table, index)
}

impl Upstream {
    /// `count` clients of the caller, for lists to list; their ids.
    pub async fn seed_listed(&self, count: usize) -> Vec<String> {
        let mut ids = Vec::with_capacity(count);
        for n in 0..count {
            ids.push(self.seed_client(&format!("listed {n}")).await);
        }
        ids
    }

    /// moto's own time for the table calls `operation` makes, timed from a
    /// warm client in this process: get's GetItem of the caller's client
    /// `id`, list's Query of all the caller's clients, delete's UpdateItem
    /// and transaction (on a client recorded in the table alone for it).
    /// What the functions' round trips include of moto, which is no
    /// DynamoDB.
    pub async fn time_table_calls(&self, operation: Route, id: &str) -> Result<Duration, String> {
        let owner = setup::owner(CALLER);
        let failed = |what: &'static str| move |e| format!("{what} in moto: {e}");
        match operation {
            Route::GetClient => {
                let started = Instant::now();
                self.index
                    .get(&owner, id)
                    .await
                    .map_err(failed("GetItem"))?;
                Ok(started.elapsed())
            }
            Route::ListClients => {
                let started = Instant::now();
                self.index
                    .list(&owner, None, None)
                    .await
                    .map_err(failed("Query"))?;
                Ok(started.elapsed())
            }
            Route::DeleteClient => {
                let doomed = format!("client_tableAlone{}", now_micros());
                self.index_client(&doomed, "timed alone", None).await;
                let started = Instant::now();
                let client = self
                    .index
                    .begin_deletion(&owner, &doomed)
                    .await
                    .map_err(failed("UpdateItem"))?
                    .ok_or("the client recorded to be deleted is not there")?;
                self.index
                    .remove(&client)
                    .await
                    .map_err(failed("TransactWriteItems"))?;
                Ok(started.elapsed())
            }
            other => Err(format!(
                "{}'s table calls are not timed alone",
                other.function()
            )),
        }
    }

    /// The median of `samples` [`Upstream::time_table_calls`], after an
    /// untimed one (connections made, the SDK's caches filled).
    pub async fn table_alone(
        &self,
        operation: Route,
        id: &str,
        samples: usize,
    ) -> Result<Duration, String> {
        let mut times = Vec::with_capacity(samples);
        for round in 0..=samples {
            let time = self.time_table_calls(operation, id).await?;
            if round > 0 {
                times.push(time);
            }
        }
        Ok(median(&times))
    }

    /// Removes the caller's client `id` from the owner index, as the
    /// reconciler does once Auth0 has deleted it (a function from before
    /// the index deletes it from Auth0 alone).
    pub async fn forget(&self, id: &str) -> Result<(), String> {
        let owner = setup::owner(CALLER);
        let failed = |e| format!("cannot remove {id} from the owner index: {e}");
        if let Some(client) = self
            .index
            .begin_deletion(&owner, id)
            .await
            .map_err(failed)?
        {
            self.index.remove(&client).await.map_err(failed)?;
        }
        Ok(())
    }

    /// A client of the caller, in the tenant and the owner index (as a
    /// backfill imports it); its id.
    pub async fn seed_client(&self, name: &str) -> String {
        let id = setup::seed_owned_client(&self.emulator, CALLER, name);
        self.index_client(&id, name, None).await;
        id
    }

    /// Records the caller's client `id` in the owner index (as a backfill
    /// imports it), with `credentials` when it is a key client.
    pub(super) async fn index_client(
        &self,
        id: &str,
        name: &str,
        credentials: Option<Vec<Credential>>,
    ) {
        let client = IndexedClient {
            credentials,
            ..IndexedClient::imported(
                id.to_owned(),
                setup::owner(CALLER),
                name.to_owned(),
                String::new(),
            )
        };
        if let Err(problem) = self.index.import(&client, None, 0).await {
            panic!("cannot seed the owner index: {problem}");
        }
    }
}
