//! The owner index's table, created in moto from template.yaml's
//! `ClientsTable`: the definition is the one the DynamoDB adapter
//! (shared/src/owner_index/dynamodb/) needs, and the table moto creates
//! from it is that definition, indexes included.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, KeySchemaElement, Projection, TimeToLiveStatus,
};
use test_support::dynamodb::{
    Index, IndexProjection, KeyElement, TableDefinition, client, create_clients_table,
    describe_table, parse_table_definition, table_definition,
};

/// A table name no other test of this process uses.
fn table_name(what: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "clients-{what}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn keys(pairs: &[(&str, &str)]) -> Vec<KeyElement> {
    pairs
        .iter()
        .map(|(name, key_type)| KeyElement {
            attribute_name: (*name).to_owned(),
            key_type: (*key_type).to_owned(),
        })
        .collect()
}

/// An index of `name` on `key_pairs` that projects every attribute.
fn all_projected(name: &str, key_pairs: &[(&str, &str)]) -> Index {
    projected(name, key_pairs, "ALL")
}

/// An index named `name` on `key_pairs` that holds only the keys.
fn keys_only(name: &str, key_pairs: &[(&str, &str)]) -> Index {
    projected(name, key_pairs, "KEYS_ONLY")
}

fn projected(name: &str, key_pairs: &[(&str, &str)], projection_type: &str) -> Index {
    Index {
        index_name: name.to_owned(),
        key_schema: keys(key_pairs),
        projection: IndexProjection {
            projection_type: projection_type.to_owned(),
            non_key_attributes: None,
        },
    }
}

/// An SDK key schema in the definition's terms.
fn key_elements(schema: &[KeySchemaElement]) -> Vec<KeyElement> {
    schema
        .iter()
        .map(|key| KeyElement {
            attribute_name: key.attribute_name().to_owned(),
            key_type: key.key_type().as_str().to_owned(),
        })
        .collect()
}

/// An SDK projection in the definition's terms.
fn index_projection(projection: Option<&Projection>) -> IndexProjection {
    IndexProjection {
        projection_type: projection
            .and_then(Projection::projection_type)
            .map(|kind| kind.as_str().to_owned())
            .unwrap_or_default(),
        non_key_attributes: projection.and_then(|projection| projection.non_key_attributes.clone()),
    }
}

/// A table description's local or global secondary indexes in the
/// definition's terms, by name. They are two SDK types with no trait in
/// common, whose name, key schema and projection read alike.
macro_rules! described_indexes {
    ($indexes:expr) => {
        by_name(
            $indexes
                .iter()
                .map(|index| Index {
                    index_name: index.index_name().unwrap_or_default().to_owned(),
                    key_schema: key_elements(index.key_schema()),
                    projection: index_projection(index.projection()),
                })
                .collect(),
        )
    };
}

/// Indexes in the order of their names.
fn by_name(mut indexes: Vec<Index>) -> Vec<Index> {
    indexes.sort_by(|a, b| a.index_name.cmp(&b.index_name));
    indexes
}

/// What docs/owner-index.md and the adapter (the `BY_CREATION`,
/// `REPAIRS` and `BY_CLIENT_ID` indexes, their key conditions) need of the
/// table.
#[test]
fn the_template_defines_the_table_the_adapter_uses() {
    let table = table_definition();
    assert_eq!(table.billing_mode, "PAY_PER_REQUEST");
    assert_eq!(table.key_schema, keys(&[("pk", "HASH"), ("sk", "RANGE")]));
    let attributes: BTreeMap<&str, &str> = table
        .attribute_definitions
        .iter()
        .map(|a| (a.attribute_name.as_str(), a.attribute_type.as_str()))
        .collect();
    assert_eq!(
        attributes,
        BTreeMap::from([
            ("client_id", "S"),
            ("listed", "S"),
            ("pk", "S"),
            ("repair", "S"),
            ("repair_at", "N"),
            ("sk", "S"),
        ])
    );
    assert_eq!(
        table.local_secondary_indexes,
        [all_projected(
            "by_creation",
            &[("pk", "HASH"), ("listed", "RANGE")]
        )]
    );
    assert_eq!(
        table.global_secondary_indexes,
        [
            all_projected("repairs", &[("repair", "HASH"), ("repair_at", "RANGE")]),
            keys_only("by_client_id", &[("client_id", "HASH"), ("sk", "RANGE")]),
        ]
    );
    let ttl = table.time_to_live_specification.expect("a TTL attribute");
    assert_eq!(
        (ttl.attribute_name.as_str(), ttl.enabled),
        ("expires_at", true)
    );
    assert!(
        table.point_in_time_recovery_specification.is_some() && table.sse_specification.is_some(),
        "point-in-time recovery and encryption at rest are declared"
    );
}

const SMALL_TEMPLATE: &str = r#"
Parameters:
  Key: {Type: String}
Globals:
  Function:
    Environment:
      Variables:
        CLIENTS_TABLE: !Ref ClientsTable
Resources:
  Policy:
    Properties:
      Resource: !Sub "${ClientsTable.Arn}/index/by_creation"
      Other: !GetAtt ClientsTable.Arn
      Maybe: !If [HasKey, !Ref Key, !Ref AWS::NoValue]
  ClientsTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
      SSESpecification:
        SSEEnabled: true
        KMSMasterKeyId: !Ref Key
"#;

#[test]
fn cloudformation_tags_anywhere_in_the_template_parse() {
    let table: TableDefinition = parse_table_definition(SMALL_TEMPLATE);
    assert_eq!(table.key_schema, keys(&[("pk", "HASH")]));
    assert!(table.local_secondary_indexes.is_empty());
    assert!(table.time_to_live_specification.is_none());
}

#[test]
#[should_panic(expected = "StreamSpecification")]
fn a_property_this_module_does_not_apply_or_ignore_is_refused() {
    let template = SMALL_TEMPLATE.replace(
        "      BillingMode: PAY_PER_REQUEST\n",
        "      BillingMode: PAY_PER_REQUEST\n      StreamSpecification: {StreamViewType: NEW_IMAGE}\n",
    );
    parse_table_definition(&template);
}

#[tokio::test]
async fn the_table_created_in_moto_is_the_templates() {
    let client = client();
    let name = table_name("described");
    create_clients_table(&client, &name).await;
    let definition = table_definition();

    let table = describe_table(&client, &name).await;
    assert_eq!(key_elements(table.key_schema()), definition.key_schema);
    let attributes: BTreeSet<(String, String)> = table
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_owned(),
                a.attribute_type().as_str().to_owned(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> = definition
        .attribute_definitions
        .iter()
        .map(|a| (a.attribute_name.clone(), a.attribute_type.clone()))
        .collect();
    assert_eq!(attributes, expected);
    assert_eq!(
        table
            .billing_mode_summary()
            .and_then(|summary| summary.billing_mode()),
        Some(&BillingMode::PayPerRequest)
    );

    // Each index: its name, keys and projection, as the template has them.
    let local = described_indexes!(table.local_secondary_indexes());
    let global = described_indexes!(table.global_secondary_indexes());
    assert_eq!(local, by_name(definition.local_secondary_indexes.clone()));
    assert_eq!(global, by_name(definition.global_secondary_indexes.clone()));
    assert_eq!(
        local
            .iter()
            .chain(&global)
            .map(|index| index.index_name.as_str())
            .collect::<Vec<_>>(),
        ["by_creation", "by_client_id", "repairs"]
    );

    let ttl = client
        .describe_time_to_live()
        .table_name(&name)
        .send()
        .await
        .expect("DescribeTimeToLive");
    let ttl = ttl.time_to_live_description().expect("a TTL description");
    assert_eq!(ttl.attribute_name(), Some("expires_at"));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
}

fn item(pairs: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect()
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn sort_keys(items: &[HashMap<String, AttributeValue>]) -> Vec<String> {
    items
        .iter()
        .map(|item| item["sk"].as_s().expect("an sk").clone())
        .collect()
}

/// The adapter's two index queries, on items shaped as it writes them: the
/// indexes are sparse, and ordered by their sort keys.
#[tokio::test]
async fn the_indexes_answer_the_adapters_queries() {
    let client = client();
    let name = table_name("queried");
    create_clients_table(&client, &name).await;
    let owner = "OWNER#owner-a";
    let items = [
        // Listed clients, put in another order than they were created.
        item(&[
            ("pk", s(owner)),
            ("sk", s("CLIENT#b")),
            ("status", s("active")),
            ("listed", s("0000000002#b")),
        ]),
        item(&[
            ("pk", s(owner)),
            ("sk", s("CLIENT#a")),
            ("status", s("active")),
            ("listed", s("0000000001#a")),
        ]),
        // Being deleted: no longer listed, under repair.
        item(&[
            ("pk", s(owner)),
            ("sk", s("CLIENT#c")),
            ("status", s("deleting")),
            ("repair", s("PENDING")),
            ("repair_at", n(5_000)),
        ]),
        // A creation in progress, begun later.
        item(&[
            ("pk", s(owner)),
            ("sk", s("CREATING#d")),
            ("repair", s("PENDING")),
            ("repair_at", n(9_000)),
        ]),
        // Another owner's client, and the quota: in neither list.
        item(&[
            ("pk", s("OWNER#owner-b")),
            ("sk", s("CLIENT#e")),
            ("listed", s("0000000001#e")),
        ]),
        item(&[("pk", s(owner)), ("sk", s("QUOTA")), ("count", n(4))]),
    ];
    for item in items {
        client
            .put_item()
            .table_name(&name)
            .set_item(Some(item))
            .send()
            .await
            .expect("PutItem");
    }

    let listed = client
        .query()
        .table_name(&name)
        .index_name("by_creation")
        .consistent_read(true)
        .key_condition_expression("pk = :pk AND listed > :after")
        .expression_attribute_values(":pk", s(owner))
        .expression_attribute_values(":after", s("0"))
        .send()
        .await
        .expect("Query by_creation");
    assert_eq!(sort_keys(listed.items()), ["CLIENT#a", "CLIENT#b"]);

    let stale = client
        .query()
        .table_name(&name)
        .index_name("repairs")
        .key_condition_expression("repair = :pending AND repair_at < :before")
        .expression_attribute_values(":pending", s("PENDING"))
        .expression_attribute_values(":before", n(6_000))
        .send()
        .await
        .expect("Query repairs");
    assert_eq!(sort_keys(stale.items()), ["CLIENT#c"]);
}
