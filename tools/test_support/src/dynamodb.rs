//! The owner index's table in moto, made from the one definition there is:
//! template.yaml's `ClientsTable` resource (docs/owner-index.md). The tests
//! and `create-clients-table` (which scripts/local.sh runs) create it with
//! exactly the template's keys, attributes, indexes, billing mode and TTL
//! attribute, so a table the service runs against locally cannot drift from
//! the one it is deployed with.
//!
//! Properties the template gains are refused until this module says what
//! they mean locally: applied, or listed as not applied (with the reason).

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, LocalSecondaryIndex, Projection, ProjectionType, ScalarAttributeType,
    TableDescription, TableStatus, TimeToLiveSpecification,
};
use serde::Deserialize;
use serde_yaml_ng::Value;

/// template.yaml, as it was when this crate was compiled (cargo compiles it
/// again whenever the file changes).
const TEMPLATE: &str = include_str!("../../../template.yaml");

/// The logical id of the table in template.yaml.
pub const RESOURCE: &str = "ClientsTable";

/// `ClientsTable`'s `Properties`, in CloudFormation's names and shapes.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TableDefinition {
    pub billing_mode: String,
    pub key_schema: Vec<KeyElement>,
    pub attribute_definitions: Vec<Attribute>,
    #[serde(default)]
    pub local_secondary_indexes: Vec<Index>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<Index>,
    pub time_to_live_specification: Option<TimeToLive>,
    /// Not applied in moto: backups change nothing a test can observe.
    pub point_in_time_recovery_specification: Option<Value>,
    /// Not applied in moto: encryption at rest changes nothing a test can
    /// observe (and may name a key by `!Ref`, which only CloudFormation resolves).
    #[serde(rename = "SSESpecification")]
    pub sse_specification: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct KeyElement {
    pub attribute_name: String,
    /// `HASH` or `RANGE`.
    pub key_type: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Attribute {
    pub attribute_name: String,
    /// `S`, `N` or `B`.
    pub attribute_type: String,
}

/// A local or global secondary index (on demand: no throughput of its own).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Index {
    pub index_name: String,
    pub key_schema: Vec<KeyElement>,
    pub projection: IndexProjection,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct IndexProjection {
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection_type: String,
    pub non_key_attributes: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TimeToLive {
    pub attribute_name: String,
    pub enabled: bool,
}

/// template.yaml's `ClientsTable` properties.
pub fn table_definition() -> TableDefinition {
    parse_table_definition(TEMPLATE)
}

/// The `ClientsTable` properties of a template's text. CloudFormation's
/// short forms (`!Ref`, `!Sub`, `!If`, ...) are YAML tags, which parse as
/// tagged values wherever they are; the table's shape must not need one.
pub fn parse_table_definition(template: &str) -> TableDefinition {
    let template: Value = serde_yaml_ng::from_str(template)
        .unwrap_or_else(|error| panic!("template.yaml is not YAML: {error}"));
    let resource = &template["Resources"][RESOURCE];
    assert_eq!(
        resource["Type"].as_str(),
        Some("AWS::DynamoDB::Table"),
        "template.yaml has no AWS::DynamoDB::Table {RESOURCE}"
    );
    serde_yaml_ng::from_value(resource["Properties"].clone())
        .unwrap_or_else(|error| panic!("template.yaml's {RESOURCE} properties: {error}"))
}

fn parsed<T, E: std::fmt::Debug>(
    what: &str,
    value: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> T {
    parse(value).unwrap_or_else(|error| panic!("{RESOURCE}: {what} {value:?}: {error:?}"))
}

fn key_schema(keys: &[KeyElement]) -> Vec<KeySchemaElement> {
    keys.iter()
        .map(|key| {
            KeySchemaElement::builder()
                .attribute_name(&key.attribute_name)
                .key_type(parsed("key type", &key.key_type, KeyType::try_parse))
                .build()
                .expect("a key schema element")
        })
        .collect()
}

fn projection(projection: &IndexProjection) -> Projection {
    Projection::builder()
        .projection_type(parsed(
            "projection type",
            &projection.projection_type,
            ProjectionType::try_parse,
        ))
        .set_non_key_attributes(projection.non_key_attributes.clone())
        .build()
}

/// `indexes` as the SDK's `$sdk` (`LocalSecondaryIndex` or
/// `GlobalSecondaryIndex`): two types with no trait in common, whose builders
/// take a name, a key schema and a projection alike, so one body serves both.
macro_rules! sdk_indexes {
    ($indexes:expr, $sdk:ident, $what:literal) => {
        $indexes
            .iter()
            .map(|index| {
                $sdk::builder()
                    .index_name(&index.index_name)
                    .set_key_schema(Some(key_schema(&index.key_schema)))
                    .projection(projection(&index.projection))
                    .build()
                    .expect($what)
            })
            .collect()
    };
}

impl TableDefinition {
    pub fn billing_mode(&self) -> BillingMode {
        parsed("billing mode", &self.billing_mode, BillingMode::try_parse)
    }

    pub fn sdk_key_schema(&self) -> Vec<KeySchemaElement> {
        key_schema(&self.key_schema)
    }

    pub fn sdk_attribute_definitions(&self) -> Vec<AttributeDefinition> {
        self.attribute_definitions
            .iter()
            .map(|attribute| {
                AttributeDefinition::builder()
                    .attribute_name(&attribute.attribute_name)
                    .attribute_type(parsed(
                        "attribute type",
                        &attribute.attribute_type,
                        ScalarAttributeType::try_parse,
                    ))
                    .build()
                    .expect("an attribute definition")
            })
            .collect()
    }

    pub fn sdk_local_secondary_indexes(&self) -> Vec<LocalSecondaryIndex> {
        sdk_indexes!(
            self.local_secondary_indexes,
            LocalSecondaryIndex,
            "a local secondary index"
        )
    }

    pub fn sdk_global_secondary_indexes(&self) -> Vec<GlobalSecondaryIndex> {
        sdk_indexes!(
            self.global_secondary_indexes,
            GlobalSecondaryIndex,
            "a global secondary index"
        )
    }
}

/// A DynamoDB client of the real AWS SDK, pointed at moto.
pub fn client() -> aws_sdk_dynamodb::Client {
    client_at(crate::moto::url())
}

/// A DynamoDB client of the real AWS SDK for any endpoint, with the test
/// credentials and region of [`crate::moto`]'s clients.
pub fn client_at(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        // The service's own HTTP client for the SDK, as in the functions.
        .http_client(m2m_shared::http::AwsHttpClient::new(
            m2m_shared::http::client().expect("the HTTP client"),
        ))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// The AWS configuration a deployed function's clients are built from
/// (`m2m_shared::aws::sdk_config`): standard retries and its attempt
/// timeout, through the service's HTTP client; here with the test
/// credentials and region, pointed at `endpoint`. The owner index made
/// from it by `DynamoIndex::from_config` is the deployed one, timeouts and
/// retries included: what the tests of late and lost answers need.
pub fn deployed_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    crate::moto::aws_config_at(endpoint)
        .into_builder()
        .retry_config(aws_config::retry::RetryConfig::standard())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_attempt_timeout(m2m_shared::aws::ATTEMPT_TIMEOUT)
                .build(),
        )
        .build()
}

/// Creates the table `name` as template.yaml defines `ClientsTable`: its key
/// schema, attribute definitions, indexes and billing mode, then its TTL
/// attribute. Returns once the table is active.
pub async fn create_clients_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    let definition = table_definition();
    let mut create = client
        .create_table()
        .table_name(name)
        .billing_mode(definition.billing_mode())
        .set_key_schema(Some(definition.sdk_key_schema()))
        .set_attribute_definitions(Some(definition.sdk_attribute_definitions()));
    let local = definition.sdk_local_secondary_indexes();
    if !local.is_empty() {
        create = create.set_local_secondary_indexes(Some(local));
    }
    let global = definition.sdk_global_secondary_indexes();
    if !global.is_empty() {
        create = create.set_global_secondary_indexes(Some(global));
    }
    create
        .send()
        .await
        .unwrap_or_else(|error| panic!("cannot create table {name}: {error:?}"));
    wait_until_active(client, name).await;
    if let Some(ttl) = &definition.time_to_live_specification {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(&ttl.attribute_name)
                    .enabled(ttl.enabled)
                    .build()
                    .expect("a TTL specification"),
            )
            .send()
            .await
            .unwrap_or_else(|error| panic!("cannot set the TTL of table {name}: {error:?}"));
    }
}

/// The table `name` as DescribeTable describes it.
pub async fn describe_table(client: &aws_sdk_dynamodb::Client, name: &str) -> TableDescription {
    client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .unwrap_or_else(|error| panic!("cannot describe table {name}: {error:?}"))
        .table
        .unwrap_or_else(|| panic!("DescribeTable answered no description of table {name}"))
}

/// `owner`'s quota count as the table `name` holds it (0 before its first
/// creation): what the owner index shows of it to no caller.
pub async fn quota_count(client: &aws_sdk_dynamodb::Client, name: &str, owner: &str) -> u64 {
    let item = client
        .get_item()
        .table_name(name)
        .key("pk", AttributeValue::S(format!("OWNER#{owner}")))
        .key("sk", AttributeValue::S("QUOTA".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap_or_else(|error| panic!("cannot read {owner}'s quota in table {name}: {error:?}"))
        .item;
    item.and_then(|item| item.get("count").cloned())
        .map_or(0, |count| {
            count
                .as_n()
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("table {name}: {owner}'s quota count is {count:?}"))
        })
}

/// moto creates tables active; DynamoDB takes a few seconds.
async fn wait_until_active(client: &aws_sdk_dynamodb::Client, name: &str) {
    let started = Instant::now();
    loop {
        let status = describe_table(client, name).await.table_status;
        if status == Some(TableStatus::Active) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "table {name} is still {status:?} after 2 minutes"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
