//! What every item of the table shares: attribute values written and read
//! (`s`, `n`, `text`, `number`), an item's key, the SDK's errors as the
//! index's (`failed`; `condition_failed` and `applied` for a conditional
//! write whose condition did not hold), and [`Table`]: the one table, its
//! consistent read, the builders of its requests, and its transactions,
//! tried again when they only conflicted with a concurrent one.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use crate::error::IndexError;

/// Transactions that conflict with a concurrent one are tried this often.
const TRANSACTION_ATTEMPTS: u32 = 4;

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

pub(super) fn built<T>(
    what: &str,
    built: Result<T, aws_sdk_dynamodb::error::BuildError>,
) -> Result<T, IndexError> {
    built.map_err(|error| IndexError(format!("{what}: {error}")))
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

    /// The item at `key` (a consistent read), if there is one.
    pub(super) async fn get_item(&self, key: Item, what: &str) -> Result<Option<Item>, IndexError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(failed(what))?;
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

    pub(super) fn query(&self) -> QueryFluentBuilder {
        self.client.query().table_name(&self.name)
    }

    pub(super) fn scan(&self) -> ScanFluentBuilder {
        self.client.scan().table_name(&self.name)
    }

    /// Runs a transaction, again if it only conflicted with a concurrent
    /// one (DynamoDB cancels both, without applying either).
    pub(super) async fn transact(
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
