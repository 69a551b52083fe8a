//! What the proxy reads of DynamoDB's JSON 1.0 protocol (the operation in
//! `X-Amz-Target`, the items a request touches, a transaction's
//! `ClientRequestToken`), and the errors it answers in DynamoDB's shape.

use std::sync::OnceLock;

use serde_json::{Value, json};

/// A DynamoDB operation, as `X-Amz-Target` names it
/// (`DynamoDB_20120810.GetItem`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    GetItem,
    PutItem,
    UpdateItem,
    DeleteItem,
    Query,
    Scan,
    TransactWriteItems,
    TransactGetItems,
    BatchGetItem,
    BatchWriteItem,
    /// Anything else (`CreateTable`, `DescribeTable`, ...), by its name.
    Other(String),
}

impl Operation {
    /// The operation an `X-Amz-Target` header names.
    pub fn from_target(target: &str) -> Self {
        let name = target.rsplit('.').next().unwrap_or(target);
        match name {
            "GetItem" => Operation::GetItem,
            "PutItem" => Operation::PutItem,
            "UpdateItem" => Operation::UpdateItem,
            "DeleteItem" => Operation::DeleteItem,
            "Query" => Operation::Query,
            "Scan" => Operation::Scan,
            "TransactWriteItems" => Operation::TransactWriteItems,
            "TransactGetItems" => Operation::TransactGetItems,
            "BatchGetItem" => Operation::BatchGetItem,
            "BatchWriteItem" => Operation::BatchWriteItem,
            other => Operation::Other(other.to_owned()),
        }
    }
}

/// The key of an item a request reads or writes, in the owner index's key
/// attributes (template.yaml's `ClientsTable`: `pk` and `sk`), each shown
/// as its scalar value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemKey {
    pub table: String,
    pub pk: String,
    pub sk: String,
}

/// The table's partition and sort key attributes, from the one definition.
fn key_names() -> &'static (String, String) {
    static NAMES: OnceLock<(String, String)> = OnceLock::new();
    NAMES.get_or_init(|| {
        let schema = crate::dynamodb::table_definition().key_schema;
        let named = |key_type: &str| {
            schema
                .iter()
                .find(|key| key.key_type == key_type)
                .map(|key| key.attribute_name.clone())
                .unwrap_or_default()
        };
        (named("HASH"), named("RANGE"))
    })
}

/// An attribute value's scalar (`{"S": "x"}` is `x`, `{"N": "1"}` is `1`);
/// anything else as its JSON.
fn scalar(value: &Value) -> String {
    value
        .get("S")
        .or_else(|| value.get("N"))
        .and_then(Value::as_str)
        .map_or_else(|| value.to_string(), str::to_owned)
}

/// The key of the item `attributes` (a `Key`, or a whole `Item`) of `table`.
fn item_key(table: &Value, attributes: &Value) -> ItemKey {
    let (pk, sk) = key_names();
    ItemKey {
        table: table.as_str().unwrap_or_default().to_owned(),
        pk: attributes.get(pk).map(scalar).unwrap_or_default(),
        sk: attributes.get(sk).map(scalar).unwrap_or_default(),
    }
}

/// The items a request of `operation` with this body reads or writes (a
/// Query or a Scan names none).
pub(super) fn keys_of(operation: &Operation, body: &Value) -> Vec<ItemKey> {
    let table = &body["TableName"];
    let list = |value: &Value| value.as_array().cloned().unwrap_or_default();
    match operation {
        Operation::GetItem | Operation::UpdateItem | Operation::DeleteItem => {
            vec![item_key(table, &body["Key"])]
        }
        Operation::PutItem => vec![item_key(table, &body["Item"])],
        Operation::TransactWriteItems | Operation::TransactGetItems => list(&body["TransactItems"])
            .iter()
            .filter_map(|item| {
                let action = ["Put", "Update", "Delete", "ConditionCheck", "Get"]
                    .iter()
                    .find_map(|action| item.get(*action))?;
                let attributes = action.get("Key").or_else(|| action.get("Item"))?;
                Some(item_key(&action["TableName"], attributes))
            })
            .collect(),
        Operation::BatchGetItem | Operation::BatchWriteItem => body["RequestItems"]
            .as_object()
            .map(|tables| {
                tables
                    .iter()
                    .flat_map(|(table, requests)| {
                        let table = Value::from(table.as_str());
                        // BatchGetItem: `{"Keys": [...]}`; BatchWriteItem:
                        // `[{"PutRequest": {"Item"}} | {"DeleteRequest": {"Key"}}]`.
                        let keyed = requests.get("Keys").map(list).unwrap_or_else(|| {
                            list(requests)
                                .iter()
                                .filter_map(|request| {
                                    request
                                        .pointer("/PutRequest/Item")
                                        .or_else(|| request.pointer("/DeleteRequest/Key"))
                                        .cloned()
                                })
                                .collect()
                        });
                        keyed
                            .iter()
                            .map(|attributes| item_key(&table, attributes))
                            .collect::<Vec<_>>()
                    })
                    .collect()
            })
            .unwrap_or_default(),
        Operation::Query | Operation::Scan | Operation::Other(_) => Vec::new(),
    }
}

/// The request a transaction's token stands for: its body without the token.
pub(super) fn without_token(body: &Value) -> Value {
    let mut request = body.clone();
    if let Some(fields) = request.as_object_mut() {
        fields.remove("ClientRequestToken");
    }
    request
}

/// An error DynamoDB answers instead of doing what it was asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DynamoError {
    /// 500: DynamoDB failed (the SDK retries it).
    InternalServerError,
    /// 400: the table's (or a partition's) throughput is exceeded (the SDK
    /// retries it, as a throttle).
    ProvisionedThroughputExceeded,
    /// 400: the account's request rate is exceeded (retried, as a throttle).
    Throttling,
    /// 400: a transaction with this `ClientRequestToken` is still being
    /// applied (retried, as a throttle).
    TransactionInProgress,
    /// 400: this `ClientRequestToken` was used for another request (not
    /// retried).
    IdempotentParameterMismatch,
}

impl DynamoError {
    /// The error's type, as the SDK reads it after the `#` of `__type`.
    pub fn type_name(self) -> &'static str {
        match self {
            DynamoError::InternalServerError => "InternalServerError",
            DynamoError::ProvisionedThroughputExceeded => "ProvisionedThroughputExceededException",
            DynamoError::Throttling => "ThrottlingException",
            DynamoError::TransactionInProgress => "TransactionInProgressException",
            DynamoError::IdempotentParameterMismatch => "IdempotentParameterMismatchException",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            DynamoError::InternalServerError => 500,
            _ => 400,
        }
    }

    fn message(self) -> &'static str {
        match self {
            DynamoError::InternalServerError => "Internal server error",
            DynamoError::ProvisionedThroughputExceeded => {
                "The level of configured provisioned throughput for the table was exceeded. \
                 Consider increasing your provisioning level with the UpdateTable API."
            }
            DynamoError::Throttling => "Rate of requests exceeds the allowed throughput.",
            DynamoError::TransactionInProgress => {
                "Transaction with the given request token is already in progress"
            }
            DynamoError::IdempotentParameterMismatch => {
                "The request uses the same client token as a previous, but non-identical request."
            }
        }
    }

    /// The body of the error's answer, in the JSON 1.0 protocol's shape.
    pub(super) fn body(self) -> String {
        json!({
            "__type": format!("com.amazonaws.dynamodb.v20120810#{}", self.type_name()),
            "message": self.message(),
        })
        .to_string()
    }
}

/// The error type of an answer's body (`ConditionalCheckFailedException`),
/// if it is an error.
pub(super) fn error_type(body: &[u8]) -> Option<String> {
    let body: Value = serde_json::from_slice(body).ok()?;
    let full = body.get("__type")?.as_str()?;
    Some(full.rsplit('#').next().unwrap_or(full).to_owned())
}
