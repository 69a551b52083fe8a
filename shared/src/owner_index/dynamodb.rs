//! The owner index in DynamoDB: one table (`CLIENTS_TABLE`), the items and
//! indexes of docs/owner-index.md. Writes that belong together are one
//! transaction; every conditional write states the rule it keeps.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValue, TransactWriteItem, Update,
};
use tracing::warn;

use super::IDEMPOTENCY_TTL_SECONDS;
use crate::domain::{
    Aspects, Begun, ChangeBegun, ClientStatus, Creation, IdempotencyClaim, IdempotencyRecord,
    IndexedClient, KeyState, Owner, OwnerIndex, Page, PendingChange, Position, StaleOperation,
    SweepState, now_micros,
};
use crate::error::IndexError;
use crate::secret_string::SecretString;

/// A table call may take this long in all, retries included: DynamoDB
/// answers in milliseconds, and a request must still be answered in time.
pub const TABLE_CALL_TIMEOUT: Duration = Duration::from_secs(3);
/// The local index that lists an owner's clients in creation order.
pub const BY_CREATION: &str = "by_creation";
/// The global index of operations under way.
pub const REPAIRS: &str = "repairs";
/// Transactions that conflict with a concurrent one are tried this often.
const TRANSACTION_ATTEMPTS: u32 = 4;

// An item's `status`: listed, or being deleted. (Whether the client may get
// tokens is its `access`: `active` or `disabled`.)
const ACTIVE: &str = "active";
const DELETING: &str = "deleting";
const PENDING: &str = "PENDING";
const SERVICE: &str = "SERVICE";

pub(super) type Item = HashMap<String, AttributeValue>;

/// The owner index in one DynamoDB table.
pub struct DynamoIndex {
    client: Client,
    table: String,
}

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(super) fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

pub(super) fn number(item: &Item, name: &str) -> Option<u64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

fn owner_pk(owner: &Owner) -> String {
    format!("OWNER#{owner}")
}

fn client_sk(client_id: &str) -> String {
    format!("CLIENT#{client_id}")
}

/// The key of a client's item.
fn client_key(owner: &Owner, client_id: &str) -> Item {
    key(owner_pk(owner), client_sk(client_id))
}

fn creating_sk(chosen_id: &str) -> String {
    format!("CREATING#{chosen_id}")
}

fn key_sk(key: &str) -> String {
    format!("IDEMPOTENCY#{key}")
}

/// Scopes as the index writes them: space-separated, in order (scopes
/// hold no spaces: `GRANT_SCOPES` is itself a space-separated list).
fn words(scopes: &[String]) -> String {
    scopes.join(" ")
}

fn scopes(item: &Item) -> Option<Vec<String>> {
    text(item, "scopes").map(|words| words.split_whitespace().map(str::to_owned).collect())
}

pub(super) fn key(pk: String, sk: String) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

pub(super) fn failed<E: ProvideErrorMetadata + std::error::Error + 'static>(
    what: &str,
) -> impl FnOnce(SdkError<E, aws_smithy_runtime_api::http::Response>) -> IndexError + '_ {
    move |error| IndexError(format!("{what}: {}", DisplayErrorContext(&error)))
}

/// Whether a conditional write was refused because its condition did not
/// hold (as opposed to failing).
pub(super) fn condition_failed<E: ProvideErrorMetadata>(
    error: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> bool {
    error
        .as_service_error()
        .and_then(ProvideErrorMetadata::code)
        == Some("ConditionalCheckFailedException")
}

/// The outcome of a conditional write: `true` if it was applied, `false`
/// if its condition did not hold.
pub(super) fn applied<T, E: ProvideErrorMetadata + std::error::Error + 'static>(
    sent: Result<T, SdkError<E, aws_smithy_runtime_api::http::Response>>,
    what: &str,
) -> Result<bool, IndexError> {
    match sent {
        Ok(_) => Ok(true),
        Err(error) if condition_failed(&error) => Ok(false),
        Err(error) => Err(failed(what)(error)),
    }
}

fn built<T>(
    what: &str,
    built: Result<T, aws_sdk_dynamodb::error::BuildError>,
) -> Result<T, IndexError> {
    built.map_err(|error| IndexError(format!("{what}: {error}")))
}

/// How a transaction ended.
enum Transaction {
    Committed,
    /// Canceled: the code of each item's failure (`None` where it had none).
    Canceled(Vec<Option<String>>),
}

impl Transaction {
    fn failed_at(&self, item: usize) -> bool {
        match self {
            Transaction::Committed => false,
            Transaction::Canceled(codes) => codes
                .get(item)
                .is_some_and(|code| code.as_deref() == Some("ConditionalCheckFailed")),
        }
    }
}

/// The client item's attributes.
fn client_item(client: &IndexedClient) -> Item {
    let mut item = client_key(&client.owner, &client.client_id);
    item.insert("client_id".into(), s(&client.client_id));
    item.insert("owner".into(), s(client.owner.as_str()));
    item.insert("name".into(), s(&client.name));
    item.insert("description".into(), s(&client.description));
    item.insert("created_at".into(), n(client.created_at));
    item.insert("status".into(), s(ACTIVE));
    item.insert("access".into(), s(client.status.as_str()));
    item.insert("listed".into(), s(client.position().0));
    if let Some(key) = &client.idempotency_key {
        item.insert("idempotency_key".into(), s(key));
    }
    if let Some(scopes) = &client.scopes {
        item.insert("scopes".into(), s(words(scopes)));
    }
    if let Some(change) = &client.change {
        item.insert("change".into(), s(&change.id));
        item.insert("change_at".into(), n(change.started_at));
        item.insert("change_aspects".into(), s(change.aspects.to_words()));
        item.insert("repair".into(), s(PENDING));
        item.insert("repair_at".into(), n(change.started_at));
    }
    item
}

fn pending_change(item: &Item) -> Option<PendingChange> {
    Some(PendingChange {
        id: text(item, "change")?,
        started_at: number(item, "change_at").unwrap_or_default(),
        aspects: Aspects::from_words(&text(item, "change_aspects").unwrap_or_default()),
    })
}

fn indexed_client(item: &Item) -> Option<IndexedClient> {
    Some(IndexedClient {
        client_id: text(item, "client_id")?,
        owner: Owner::parse(&text(item, "owner")?)?,
        name: text(item, "name").unwrap_or_default(),
        description: text(item, "description").unwrap_or_default(),
        created_at: number(item, "created_at").unwrap_or_default(),
        idempotency_key: text(item, "idempotency_key"),
        scopes: scopes(item),
        // Items from before clients could be disabled are active.
        status: text(item, "access")
            .and_then(|access| ClientStatus::parse(&access))
            .unwrap_or(ClientStatus::Active),
        change: pending_change(item),
    })
}

fn creation_item(creation: &Creation) -> Item {
    let mut item = key(owner_pk(&creation.owner), creating_sk(&creation.chosen_id));
    item.insert("chosen_id".into(), s(&creation.chosen_id));
    item.insert("owner".into(), s(creation.owner.as_str()));
    item.insert("name".into(), s(&creation.name));
    item.insert("description".into(), s(&creation.description));
    item.insert("started_at".into(), n(creation.started_at));
    item.insert("repair".into(), s(PENDING));
    item.insert("repair_at".into(), n(creation.started_at));
    item.insert("scopes".into(), s(words(&creation.scopes)));
    if let Some(client_id) = &creation.client_id {
        item.insert("client_id".into(), s(client_id));
    }
    if let Some(claim) = &creation.idempotency {
        item.insert("idempotency_key".into(), s(&claim.key));
        item.insert("request_hash".into(), s(&claim.request_hash));
    }
    item
}

fn creation(item: &Item) -> Option<Creation> {
    let idempotency = match (text(item, "idempotency_key"), text(item, "request_hash")) {
        (Some(key), Some(request_hash)) => Some(IdempotencyClaim { key, request_hash }),
        _ => None,
    };
    Some(Creation {
        owner: Owner::parse(&text(item, "owner")?)?,
        chosen_id: text(item, "chosen_id")?,
        client_id: text(item, "client_id"),
        name: text(item, "name").unwrap_or_default(),
        description: text(item, "description").unwrap_or_default(),
        started_at: number(item, "started_at").unwrap_or_default(),
        idempotency,
        scopes: scopes(item).unwrap_or_default(),
    })
}

impl DynamoIndex {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoIndex {
            client,
            table: table.into(),
        }
    }

    /// A client of the container's AWS configuration ([`crate::aws`]),
    /// whose calls each end within [`TABLE_CALL_TIMEOUT`].
    pub fn from_config(table: impl Into<String>, sdk_config: &aws_config::SdkConfig) -> Self {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(crate::aws::ATTEMPT_TIMEOUT)
            .operation_timeout(TABLE_CALL_TIMEOUT)
            .build();
        let mut config =
            aws_sdk_dynamodb::config::Builder::from(sdk_config).timeout_config(timeouts);
        if let Some(url) = crate::aws::service_endpoint("DYNAMODB") {
            config = config.endpoint_url(url);
        }
        Self::new(Client::from_conf(config.build()), table)
    }

    async fn get_item(&self, key: Item, what: &str) -> Result<Option<Item>, IndexError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(failed(what))?;
        Ok(output.item)
    }

    /// Runs a transaction, again if it only conflicted with a concurrent
    /// one (DynamoDB cancels both, without applying either).
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        what: &str,
    ) -> Result<Transaction, IndexError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let error = match sent {
                Ok(_) => return Ok(Transaction::Committed),
                Err(error) => error,
            };
            let canceled = error
                .as_service_error()
                .and_then(|service| match service {
                    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(canceled) => Some(canceled),
                    _ => None,
                });
            let Some(canceled) = canceled else {
                let conflict = error.as_service_error().and_then(|e| e.code())
                    == Some("TransactionConflictException");
                if conflict && attempt < TRANSACTION_ATTEMPTS {
                    tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt))).await;
                    continue;
                }
                return Err(failed(what)(error));
            };
            let codes: Vec<Option<String>> = canceled
                .cancellation_reasons()
                .iter()
                .map(|reason| reason.code().map(str::to_owned))
                .collect();
            let conflicted = codes
                .iter()
                .any(|code| code.as_deref() == Some("TransactionConflict"));
            if conflicted && attempt < TRANSACTION_ATTEMPTS {
                tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt))).await;
                continue;
            }
            if conflicted {
                return Err(IndexError(format!(
                    "{what}: conflicting transactions, {attempt} attempts"
                )));
            }
            return Ok(Transaction::Canceled(codes));
        }
    }

    fn put(
        &self,
        item: Item,
        condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> Result<TransactWriteItem, IndexError> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        for (name, value) in values {
            put = put.expression_attribute_values(*name, value.clone());
        }
        Ok(TransactWriteItem::builder()
            .put(built("put", put.build())?)
            .build())
    }

    fn update(
        &self,
        key: Item,
        expression: &str,
        condition: Option<&str>,
        names: &[(&str, &str)],
        values: &[(&str, AttributeValue)],
    ) -> Result<TransactWriteItem, IndexError> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(expression);
        if let Some(condition) = condition {
            update = update.condition_expression(condition);
        }
        for (name, value) in names {
            update = update.expression_attribute_names(*name, *value);
        }
        for (name, value) in values {
            update = update.expression_attribute_values(*name, value.clone());
        }
        Ok(TransactWriteItem::builder()
            .update(built("update", update.build())?)
            .build())
    }

    fn delete(
        &self,
        key: Item,
        condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> Result<TransactWriteItem, IndexError> {
        let mut delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression(condition);
        for (name, value) in values {
            delete = delete.expression_attribute_values(*name, value.clone());
        }
        Ok(TransactWriteItem::builder()
            .delete(built("delete", delete.build())?)
            .build())
    }

    /// The owner's quota count one up, unless that would pass `max`.
    fn count_up(&self, owner: &Owner, max: Option<u32>) -> Result<TransactWriteItem, IndexError> {
        let mut values = vec![(":one", n(1)), (":zero", n(0))];
        // The quota: concurrent creates can never exceed it.
        let condition = max.map(|max| {
            values.push((":max", n(u64::from(max))));
            "attribute_not_exists(#count) OR #count < :max"
        });
        self.update(
            key(owner_pk(owner), "QUOTA".into()),
            "SET #count = if_not_exists(#count, :zero) + :one",
            condition,
            &[("#count", "count")],
            &values,
        )
    }

    /// The owner's quota count one down (never below zero).
    fn count_down(&self, owner: &Owner) -> Result<TransactWriteItem, IndexError> {
        self.update(
            key(owner_pk(owner), "QUOTA".into()),
            "SET #count = #count - :one",
            Some("#count > :zero"),
            &[("#count", "count")],
            &[(":one", n(1)), (":zero", n(0))],
        )
    }

    /// Deletes the idempotency record of `key` if it still stands for
    /// `client_id` (a record since taken over by a later request is not
    /// ours to release).
    fn release(
        &self,
        owner: &Owner,
        key_name: &str,
        client_id: &str,
    ) -> Result<TransactWriteItem, IndexError> {
        self.delete(
            key(owner_pk(owner), key_sk(key_name)),
            "attribute_not_exists(pk) OR client_id = :id",
            &[(":id", s(client_id))],
        )
    }

    /// Deletes a client's item (or a creation's), gives its quota back and
    /// releases its key, in one transaction; `Ok(false)` if the item was
    /// already gone (nothing else changes then).
    async fn give_back(
        &self,
        item_key: Item,
        owner: &Owner,
        key_name: Option<&str>,
        client_id: &str,
        what: &str,
    ) -> Result<bool, IndexError> {
        // The key is released only if it still stands for this client (a
        // record taken over since by a later request is not ours), and the
        // count can only be below the owner's items if someone edited the
        // table by hand: either failing, the item goes all the same.
        let mut release = key_name.is_some();
        let mut count = true;
        loop {
            let mut items = vec![self.delete(item_key.clone(), "attribute_exists(pk)", &[])?];
            if let (true, Some(key_name)) = (release, key_name) {
                items.push(self.release(owner, key_name, client_id)?);
            }
            if count {
                items.push(self.count_down(owner)?);
            }
            let outcome = self.transact(items, what).await?;
            let codes = match outcome {
                Transaction::Committed => return Ok(true),
                _ if outcome.failed_at(0) => return Ok(false),
                _ if release && outcome.failed_at(1) => {
                    release = false;
                    continue;
                }
                _ if count && outcome.failed_at(if release { 2 } else { 1 }) => {
                    warn!("{what}: the quota count was already zero");
                    count = false;
                    continue;
                }
                Transaction::Canceled(codes) => codes,
            };
            return Err(IndexError(format!("{what} canceled: {codes:?}")));
        }
    }
}

impl OwnerIndex for DynamoIndex {
    fn token_store(&self) -> Option<std::sync::Arc<dyn crate::domain::TokenStore>> {
        Some(std::sync::Arc::new(
            super::token_item::DynamoTokenStore::new(self.client.clone(), self.table.clone()),
        ))
    }

    async fn idempotency(
        &self,
        owner: &Owner,
        key_name: &str,
    ) -> Result<Option<IdempotencyRecord>, IndexError> {
        let item = self
            .get_item(
                key(owner_pk(owner), key_sk(key_name)),
                "read idempotency key",
            )
            .await?;
        // TTL deletes expired items only eventually: expiry is ours to check.
        let now = now_micros() / 1_000_000;
        Ok(item
            .filter(|item| number(item, "expires_at").is_some_and(|at| at > now))
            .map(|item| IdempotencyRecord {
                request_hash: text(&item, "request_hash").unwrap_or_default(),
                state: match (text(&item, "state").as_deref(), text(&item, "client_id")) {
                    (Some("done"), Some(client_id)) => KeyState::Done { client_id },
                    _ => KeyState::Running,
                },
            }))
    }

    async fn begin_creation(
        &self,
        creation: &Creation,
        max_clients: u32,
    ) -> Result<Begun, IndexError> {
        let owner = &creation.owner;
        let mut items = vec![
            self.count_up(owner, Some(max_clients))?,
            self.put(creation_item(creation), "attribute_not_exists(pk)", &[])?,
        ];
        if let Some(claim) = &creation.idempotency {
            let mut record = key(owner_pk(owner), key_sk(&claim.key));
            record.insert("request_hash".into(), s(&claim.request_hash));
            record.insert("state".into(), s("running"));
            record.insert("client_id".into(), s(&creation.chosen_id));
            record.insert(
                "expires_at".into(),
                n(now_micros() / 1_000_000 + IDEMPOTENCY_TTL_SECONDS),
            );
            // One live record per key: of concurrent requests, one proceeds.
            items.push(self.put(
                record,
                "attribute_not_exists(pk) OR expires_at < :now",
                &[(":now", n(now_micros() / 1_000_000))],
            )?);
        }
        let outcome = self.transact(items, "begin creation").await?;
        Ok(if outcome.failed_at(2) {
            Begun::KeyTaken
        } else if outcome.failed_at(0) {
            Begun::LimitReached
        } else if let Transaction::Canceled(codes) = outcome {
            return Err(IndexError(format!("begin creation canceled: {codes:?}")));
        } else {
            Begun::Started
        })
    }

    async fn record_client_id(&self, creation: &Creation) -> Result<(), IndexError> {
        let Some(client_id) = &creation.client_id else {
            return Ok(());
        };
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                owner_pk(&creation.owner),
                creating_sk(&creation.chosen_id),
            )))
            .update_expression("SET client_id = :id")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":id", s(client_id))
            .send()
            .await
            .map_err(failed("record client id"))?;
        Ok(())
    }

    async fn finish_creation(
        &self,
        creation: &Creation,
        client: &IndexedClient,
    ) -> Result<(), IndexError> {
        let owner = &creation.owner;
        let mut items = vec![
            // Still ours: the reconciler has not undone it meanwhile.
            self.delete(
                key(owner_pk(owner), creating_sk(&creation.chosen_id)),
                "attribute_exists(pk)",
                &[],
            )?,
            self.put(client_item(client), "attribute_not_exists(pk)", &[])?,
        ];
        if let Some(claim) = &creation.idempotency {
            items.push(self.update(
                key(owner_pk(owner), key_sk(&claim.key)),
                "SET #state = :done, client_id = :id",
                Some("attribute_exists(pk)"),
                &[("#state", "state")],
                &[(":done", s("done")), (":id", s(&client.client_id))],
            )?);
        }
        match self.transact(items, "finish creation").await? {
            Transaction::Committed => Ok(()),
            Transaction::Canceled(codes) => {
                Err(IndexError(format!("finish creation canceled: {codes:?}")))
            }
        }
    }

    async fn abandon_creation(&self, creation: &Creation) -> Result<(), IndexError> {
        self.give_back(
            key(owner_pk(&creation.owner), creating_sk(&creation.chosen_id)),
            &creation.owner,
            creation
                .idempotency
                .as_ref()
                .map(|claim| claim.key.as_str()),
            &creation.chosen_id,
            "abandon creation",
        )
        .await
        .map(drop)
    }

    async fn list(
        &self,
        owner: &Owner,
        after: Option<&Position>,
        limit: Option<usize>,
    ) -> Result<Page, IndexError> {
        let mut clients = Vec::new();
        let mut start: Option<Item> = None;
        // One more than the page, to know whether there is a next one.
        let wanted = limit.map(|limit| limit + 1);
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(BY_CREATION)
                .consistent_read(true)
                .expression_attribute_values(":pk", s(owner_pk(owner)))
                .set_exclusive_start_key(start.take());
            query = match after {
                Some(after) => query
                    .key_condition_expression("pk = :pk AND listed > :after")
                    .expression_attribute_values(":after", s(&after.0)),
                None => query.key_condition_expression("pk = :pk"),
            };
            if let Some(wanted) = wanted {
                let left = wanted.saturating_sub(clients.len());
                query = query.limit(i32::try_from(left).unwrap_or(i32::MAX));
            }
            let output = query.send().await.map_err(failed("list clients"))?;
            clients.extend(output.items().iter().filter_map(indexed_client));
            start = output.last_evaluated_key;
            let full = wanted.is_some_and(|wanted| clients.len() >= wanted);
            if start.is_none() || full {
                break;
            }
        }
        let next = match limit {
            Some(limit) if clients.len() > limit => {
                clients.truncate(limit);
                clients.last().map(IndexedClient::position)
            }
            _ => None,
        };
        Ok(Page { clients, next })
    }

    async fn get(
        &self,
        owner: &Owner,
        client_id: &str,
    ) -> Result<Option<IndexedClient>, IndexError> {
        let item = self
            .get_item(client_key(owner, client_id), "get client")
            .await?;
        Ok(item
            .filter(|item| text(item, "status").as_deref() == Some(ACTIVE))
            .as_ref()
            .and_then(indexed_client))
    }

    async fn begin_deletion(
        &self,
        owner: &Owner,
        client_id: &str,
    ) -> Result<Option<IndexedClient>, IndexError> {
        let now = now_micros();
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(client_key(owner, client_id)))
            // No longer listed nor got, and found by the reconciler if this
            // deletion stops half-way.
            .update_expression(
                "SET #status = :deleting, repair = :pending, repair_at = :now REMOVE listed",
            )
            .condition_expression("attribute_exists(pk) AND #status = :active")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":deleting", s(DELETING))
            .expression_attribute_values(":active", s(ACTIVE))
            .expression_attribute_values(":pending", s(PENDING))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match updated {
            Ok(output) => Ok(output.attributes.as_ref().and_then(indexed_client)),
            Err(error) if condition_failed(&error) => Ok(None),
            Err(error) => Err(failed("begin deletion")(error)),
        }
    }

    async fn cancel_deletion(&self, client: &IndexedClient) -> Result<(), IndexError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(client_key(&client.owner, &client.client_id)))
            .condition_expression("#status = :deleting")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":active", s(ACTIVE))
            .expression_attribute_values(":deleting", s(DELETING))
            .expression_attribute_values(":listed", s(client.position().0));
        // No change can begin or end while the client is being deleted: a
        // change that stopped half-way before is still the reconciler's to
        // repair, from when it began.
        let update = match &client.change {
            None => update.update_expression(
                "SET #status = :active, listed = :listed REMOVE repair, repair_at",
            ),
            Some(change) => update
                .update_expression(
                    "SET #status = :active, listed = :listed, repair_at = :change_at",
                )
                .expression_attribute_values(":change_at", n(change.started_at)),
        };
        match update.send().await {
            Ok(_) => Ok(()),
            // Someone finished it meanwhile (the reconciler): nothing to take back.
            Err(error) if condition_failed(&error) => Ok(()),
            Err(error) => Err(failed("cancel deletion")(error)),
        }
    }

    async fn begin_change(
        &self,
        client: &IndexedClient,
        change: &PendingChange,
        stale_before: u64,
    ) -> Result<ChangeBegun, IndexError> {
        let taken_over = client.change.clone();
        let mut aspects = change.aspects;
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(client_key(&client.owner, &client.client_id)))
            .update_expression(
                "SET change = :id, change_at = :at, change_aspects = :aspects, \
                 repair = :pending, repair_at = :at",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":active", s(ACTIVE))
            .expression_attribute_values(":id", s(&change.id))
            .expression_attribute_values(":at", n(change.started_at))
            .expression_attribute_values(":pending", s(PENDING))
            .return_values(ReturnValue::AllNew);
        // On condition that the item is as it was read: a concurrent change
        // (or deletion) that won the race leaves this one busy.
        update = match &taken_over {
            Some(under_way) if under_way.started_at >= stale_before => {
                return Ok(ChangeBegun::Busy);
            }
            // It stopped half-way: taken over, with what it may have left
            // different in Auth0.
            Some(stale) => {
                aspects = aspects.union(stale.aspects);
                update
                    .condition_expression("#status = :active AND change = :stale")
                    .expression_attribute_values(":stale", s(&stale.id))
            }
            None => {
                update.condition_expression("#status = :active AND attribute_not_exists(change)")
            }
        };
        let updated = update
            .expression_attribute_values(":aspects", s(aspects.to_words()))
            .send()
            .await;
        match updated {
            Ok(output) => Ok(output.attributes.as_ref().and_then(indexed_client).map_or(
                ChangeBegun::NotFound,
                |client| ChangeBegun::Started { client, taken_over },
            )),
            Err(error) if condition_failed(&error) => Ok(ChangeBegun::Busy),
            Err(error) => Err(failed("begin change")(error)),
        }
    }

    async fn end_change(
        &self,
        client: &IndexedClient,
        change_id: &str,
    ) -> Result<bool, IndexError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(client_key(&client.owner, &client.client_id)))
            // Only the change itself ends it, and not once the client is
            // being deleted.
            .condition_expression("#status = :active AND change = :id")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":active", s(ACTIVE))
            .expression_attribute_values(":id", s(change_id))
            .expression_attribute_values(":name", s(&client.name))
            .expression_attribute_values(":description", s(&client.description))
            .expression_attribute_values(":access", s(client.status.as_str()));
        const VALUES: &str = "SET #name = :name, description = :description, access = :access";
        let update = match &client.change {
            // What is left stays for the reconciler to repair.
            Some(left) => update
                .update_expression(format!(
                    "{VALUES}, change_aspects = :aspects, change_at = :at, repair_at = :at"
                ))
                .expression_attribute_values(":aspects", s(left.aspects.to_words()))
                .expression_attribute_values(":at", n(left.started_at)),
            None => update.update_expression(format!(
                "{VALUES} REMOVE change, change_at, change_aspects, repair, repair_at"
            )),
        };
        match update.send().await {
            Ok(_) => Ok(true),
            Err(error) if condition_failed(&error) => Ok(false),
            Err(error) => Err(failed("end change")(error)),
        }
    }

    async fn remove(&self, client: &IndexedClient) -> Result<(), IndexError> {
        self.give_back(
            client_key(&client.owner, &client.client_id),
            &client.owner,
            client.idempotency_key.as_deref(),
            &client.client_id,
            "remove client",
        )
        .await
        .map(drop)
    }

    async fn cursor_key(&self, create: bool) -> Result<Option<SecretString>, IndexError> {
        let item_key = key(SERVICE.into(), "CURSOR_KEY".into());
        if let Some(item) = self.get_item(item_key.clone(), "read cursor key").await? {
            return Ok(text(&item, "key").map(SecretString::new));
        }
        if !create {
            return Ok(None);
        }
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes)
            .map_err(|_| IndexError("no random bytes for the cursor key".into()))?;
        let value: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut item = item_key.clone();
        item.insert("key".into(), s(&value));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // The first writer's key stands; a concurrent one reads it back.
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(Some(SecretString::new(value))),
            Err(error) if condition_failed(&error) => {
                let item = self.get_item(item_key, "read cursor key").await?;
                Ok(item
                    .and_then(|item| text(&item, "key"))
                    .map(SecretString::new))
            }
            Err(error) => Err(failed("make cursor key")(error)),
        }
    }

    async fn stale_operations(
        &self,
        started_before: u64,
    ) -> Result<Vec<StaleOperation>, IndexError> {
        let mut operations = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(REPAIRS)
                .key_condition_expression("repair = :pending AND repair_at < :before")
                .expression_attribute_values(":pending", s(PENDING))
                .expression_attribute_values(":before", n(started_before))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(failed("find stale operations"))?;
            for item in output.items() {
                let sk = text(item, "sk").unwrap_or_default();
                let operation = if sk.starts_with("CREATING#") {
                    creation(item).map(StaleOperation::Creation)
                } else if text(item, "status").as_deref() == Some(DELETING) {
                    indexed_client(item).map(StaleOperation::Deletion)
                } else {
                    indexed_client(item).map(StaleOperation::Change)
                };
                operations.extend(operation);
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(operations);
            }
        }
    }

    async fn mark_swept(
        &self,
        owner: &Owner,
        client_id: &str,
        generation: u64,
    ) -> Result<bool, IndexError> {
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(client_key(owner, client_id)))
            .update_expression("SET swept = :generation")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":generation", n(generation))
            .send()
            .await;
        applied(sent, "mark swept")
    }

    async fn import(&self, client: &IndexedClient, generation: u64) -> Result<(), IndexError> {
        let mut item = client_item(client);
        item.insert("swept".into(), n(generation));
        let creating = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                owner_pk(&client.owner),
                creating_sk(&client.client_id),
            )))
            .condition_expression("attribute_not_exists(pk)")
            .build();
        let items = vec![
            self.put(item, "attribute_not_exists(pk)", &[])?,
            // Counted, never refused: the client exists already.
            self.count_up(&client.owner, None)?,
            // Not a client being created right now: its creation records it.
            TransactWriteItem::builder()
                .condition_check(built("condition check", creating)?)
                .build(),
        ];
        match self.transact(items, "import client").await? {
            Transaction::Committed => Ok(()),
            outcome if outcome.failed_at(0) || outcome.failed_at(2) => Ok(()),
            Transaction::Canceled(codes) => Err(IndexError(format!("import canceled: {codes:?}"))),
        }
    }

    async fn unswept(
        &self,
        generation: u64,
        created_before: u64,
    ) -> Result<Vec<IndexedClient>, IndexError> {
        let mut clients = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(
                    "begins_with(sk, :client) AND #status = :active AND created_at < :before \
                     AND (attribute_not_exists(swept) OR swept <> :generation)",
                )
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":client", s("CLIENT#"))
                .expression_attribute_values(":active", s(ACTIVE))
                .expression_attribute_values(":before", n(created_before))
                .expression_attribute_values(":generation", n(generation))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(failed("find unswept clients"))?;
            clients.extend(output.items().iter().filter_map(indexed_client));
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(clients);
            }
        }
    }

    async fn sweep_state(&self) -> Result<SweepState, IndexError> {
        let item = self
            .get_item(key(SERVICE.into(), "SWEEP".into()), "read sweep state")
            .await?;
        Ok(item
            .map(|item| SweepState {
                generation: number(&item, "generation"),
                from: text(&item, "from"),
                backfill: item
                    .get("backfill")
                    .and_then(|v| v.as_bool().ok())
                    .copied()
                    .unwrap_or(false),
                finished_at: number(&item, "finished_at"),
            })
            .unwrap_or_default())
    }

    async fn save_sweep_state(&self, state: &SweepState) -> Result<(), IndexError> {
        let mut item = key(SERVICE.into(), "SWEEP".into());
        if let Some(generation) = state.generation {
            item.insert("generation".into(), n(generation));
        }
        if let Some(from) = &state.from {
            item.insert("from".into(), s(from));
        }
        item.insert("backfill".into(), AttributeValue::Bool(state.backfill));
        if let Some(finished_at) = state.finished_at {
            item.insert("finished_at".into(), n(finished_at));
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(failed("save sweep state"))?;
        Ok(())
    }
}
