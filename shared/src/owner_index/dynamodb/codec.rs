//! What every item of the table shares: attribute values written and read
//! (`s`, `n`, `text`, `number`), an item's key, the SDK's errors as the
//! index's (`failed`; `condition_failed` and `applied` for a conditional
//! write whose condition did not hold; `maybe_applied` for an outcome the
//! answer does not tell), the deadline every call ends by
//! (`call_deadline`, `by_deadline`), and [`Table`]: the one table, its
//! consistent read, the builders of its requests, and its transactions,
//! tried again when they only conflicted with a concurrent one, and
//! settled by their idempotency token when their answer was late or lost.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use tokio::time::{Instant, sleep, timeout_at};

use crate::domain::deadline;
use crate::error::IndexError;

/// Transactions that conflict with a concurrent one are tried this often.
const TRANSACTION_ATTEMPTS: u32 = 4;
/// How long a call of the index may take, settling included, for a caller
/// without a deadline of its own (a test, a tool): two of the SDK's calls.
const LONE_CALL: Duration = Duration::from_secs(6);
/// The longest pause between two attempts at settling a write.
const MAX_SETTLE_PAUSE: Duration = Duration::from_millis(500);

/// The instant by which a call of the index must be over: the
/// invocation's deadline ([`deadline::current`]), or [`LONE_CALL`] from now.
pub(super) fn call_deadline() -> Instant {
    deadline::current().unwrap_or_else(|| Instant::now() + LONE_CALL)
}

/// `call`, given up at `deadline` (a read or a write that did not answer
/// in time: a failure; what that means for a write is its caller's to
/// say).
pub(super) async fn by_deadline<T>(
    what: &str,
    deadline: Instant,
    call: impl Future<Output = Result<T, IndexError>>,
) -> Result<T, IndexError> {
    timeout_at(deadline, call).await.unwrap_or_else(|_| {
        Err(IndexError::Failed(format!(
            "{what}: no answer by the deadline"
        )))
    })
}

/// The pause before the `attempt`th attempt at settling a write: short at
/// first (a late answer is a matter of milliseconds, as a rule), longer
/// later.
pub(super) fn settle_pause(attempt: u32) -> Duration {
    Duration::from_millis(50u64.saturating_mul(1 << attempt.min(4))).min(MAX_SETTLE_PAUSE)
}

/// Whether a write that failed so may have been applied all the same: no
/// answer in time, an answer that could not be read, DynamoDB's own
/// failure (a 500: "the operation may or may not have succeeded"), or a
/// transaction still being applied. (A throttled, refused or unsent
/// request was not applied.)
pub(super) fn maybe_applied<E: ProvideErrorMetadata>(
    error: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> bool {
    match error {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(_) => matches!(
            error
                .as_service_error()
                .and_then(ProvideErrorMetadata::code),
            Some("InternalServerError" | "ServiceUnavailable" | "TransactionInProgressException")
        ),
        _ => false,
    }
}

pub(super) type Item = HashMap<String, AttributeValue>;

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

/// Expression attribute names or values as the SDK's builders take them
/// whole: `None` for none (DynamoDB refuses an empty map).
fn named<V: Clone + Into<T>, T>(pairs: &[(&str, V)]) -> Option<HashMap<String, T>> {
    (!pairs.is_empty()).then(|| {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone().into()))
            .collect()
    })
}

pub(super) fn key(pk: String, sk: String) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

pub(super) fn failed<E: ProvideErrorMetadata + std::error::Error + 'static>(
    what: &str,
) -> impl FnOnce(SdkError<E, aws_smithy_runtime_api::http::Response>) -> IndexError + '_ {
    move |error| IndexError::Failed(format!("{what}: {}", DisplayErrorContext(&error)))
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

pub(super) fn built<T>(
    what: &str,
    built: Result<T, aws_sdk_dynamodb::error::BuildError>,
) -> Result<T, IndexError> {
    built.map_err(|error| IndexError::Failed(format!("{what}: {error}")))
}

/// How a transaction ended.
pub(super) enum Transaction {
    Committed,
    /// Canceled: the code of each item's failure (`None` where it had none).
    Canceled(Vec<Option<String>>),
}

impl Transaction {
    pub(super) fn failed_at(&self, item: usize) -> bool {
        match self {
            Transaction::Committed => false,
            Transaction::Canceled(codes) => codes
                .get(item)
                .is_some_and(|code| code.as_deref() == Some("ConditionalCheckFailed")),
        }
    }
}

/// The owner index's table, through a client of the container's.
#[derive(Clone)]
pub(super) struct Table {
    client: Client,
    name: String,
}

impl Table {
    pub(super) fn new(client: Client, name: String) -> Self {
        Table { client, name }
    }

    pub(super) fn name(&self) -> &str {
        &self.name
    }

    /// The item at `key` (a consistent read), if there is one; by the
    /// invocation's deadline.
    pub(super) async fn get_item(&self, key: Item, what: &str) -> Result<Option<Item>, IndexError> {
        let read = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key))
            .consistent_read(true)
            .send();
        let read = Box::pin(read);
        let output = by_deadline(what, call_deadline(), async {
            read.await.map_err(failed(what))
        })
        .await?;
        Ok(output.item)
    }

    /// An update of the item at `key`, to be finished and sent.
    pub(super) fn update_item(&self, key: Item) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key))
    }

    /// A put of `item`, to be finished and sent.
    pub(super) fn put_item(&self, item: Item) -> PutItemFluentBuilder {
        self.client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
    }

    /// A query of `index` for the items `condition` keys (with the values
    /// it names), to be finished and sent.
    pub(super) fn query(
        &self,
        index: &str,
        condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.name)
            .index_name(index)
            .key_condition_expression(condition)
            .set_expression_attribute_values(named(values))
    }

    /// Every item of the table that `filter` keeps (with the names and
    /// values it uses): a consistent scan, page after page.
    pub(super) async fn scan(
        &self,
        filter: &str,
        names: &[(&str, &str)],
        values: &[(&str, AttributeValue)],
        what: &str,
    ) -> Result<Vec<Item>, IndexError> {
        let pages = self
            .client
            .scan()
            .table_name(&self.name)
            .filter_expression(filter)
            .set_expression_attribute_names(named(names))
            .set_expression_attribute_values(named(values))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        pages.try_collect().await.map_err(failed(what))
    }

    /// Runs a transaction, again if it only conflicted with a concurrent
    /// one (DynamoDB cancels both, without applying either), by the
    /// invocation's deadline. Every attempt carries one idempotency token
    /// (`ClientRequestToken`): an attempt whose answer was late or lost,
    /// or that DynamoDB is still applying (`TransactionInProgressException`),
    /// is settled by sending it again, which DynamoDB answers with the
    /// first attempt's success if it was applied (and applies it if not).
    /// Not settled by the deadline: [`IndexError::OutcomeUnknown`].
    pub(super) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        what: &str,
    ) -> Result<Transaction, IndexError> {
        let deadline = call_deadline();
        let token = ksuid::Ksuid::generate().to_base62();
        let mut attempt = 0;
        // Whether an attempt may have been applied without our hearing so.
        let mut unsettled = false;
        loop {
            attempt += 1;
            let send = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(&token)
                .send();
            // On the heap: the SDK's futures are large.
            let send = Box::pin(send);
            let error = match timeout_at(deadline, send).await {
                Ok(Ok(_)) => return Ok(Transaction::Committed),
                Ok(Err(error)) => error,
                // Cut short: the attempt may have been applied.
                Err(_) => {
                    return Err(IndexError::OutcomeUnknown(format!(
                        "{what}: no answer by the deadline"
                    )));
                }
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
                unsettled |= maybe_applied(&error);
                let again = conflict && attempt < TRANSACTION_ATTEMPTS || unsettled;
                let pause = settle_pause(attempt);
                if again && Instant::now() + pause < deadline {
                    sleep(pause).await;
                    continue;
                }
                if unsettled {
                    return Err(IndexError::OutcomeUnknown(format!(
                        "{what}: not settled by the deadline: {}",
                        DisplayErrorContext(&error)
                    )));
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
            let pause = settle_pause(attempt);
            let in_time = Instant::now() + pause < deadline;
            if conflicted && in_time && (attempt < TRANSACTION_ATTEMPTS || unsettled) {
                sleep(pause).await;
                continue;
            }
            if conflicted && unsettled {
                return Err(IndexError::OutcomeUnknown(format!(
                    "{what}: not settled by the deadline (conflicts)"
                )));
            }
            if conflicted {
                return Err(IndexError::Failed(format!(
                    "{what}: conflicting transactions, {attempt} attempts"
                )));
            }
            // Canceled by its conditions: with the token, DynamoDB would
            // have answered an applied first attempt's success instead.
            return Ok(Transaction::Canceled(codes));
        }
    }

    /// A transaction's put of `item`, on `condition`.
    pub(super) fn put(
        &self,
        item: Item,
        condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> Result<TransactWriteItem, IndexError> {
        let put = Put::builder()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(named(values));
        Ok(TransactWriteItem::builder()
            .put(built("put", put.build())?)
            .build())
    }

    /// A transaction's update of the item at `key`.
    pub(super) fn update(
        &self,
        key: Item,
        expression: &str,
        condition: Option<&str>,
        names: &[(&str, &str)],
        values: &[(&str, AttributeValue)],
    ) -> Result<TransactWriteItem, IndexError> {
        let update = Update::builder()
            .table_name(&self.name)
            .set_key(Some(key))
            .update_expression(expression)
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names(named(names))
            .set_expression_attribute_values(named(values));
        Ok(TransactWriteItem::builder()
            .update(built("update", update.build())?)
            .build())
    }

    /// A transaction's deletion of the item at `key`, on `condition`.
    pub(super) fn delete(
        &self,
        key: Item,
        condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> Result<TransactWriteItem, IndexError> {
        let delete = Delete::builder()
            .table_name(&self.name)
            .set_key(Some(key))
            .condition_expression(condition)
            .set_expression_attribute_values(named(values));
        Ok(TransactWriteItem::builder()
            .delete(built("delete", delete.build())?)
            .build())
    }
}
