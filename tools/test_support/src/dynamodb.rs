//! TEMPORARY (replaced by the template-driven version): the owner index's
//! table in moto.

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    LocalSecondaryIndex, Projection, ProjectionType, ScalarAttributeType,
};

pub fn client() -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(crate::moto::url())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .http_client(m2m_shared::http::AwsHttpClient::new(
            m2m_shared::http::client().expect("the HTTP client"),
        ))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .unwrap()
}

fn attribute(name: &str, kind: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .unwrap()
}

pub async fn create_clients_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    let all = Projection::builder()
        .projection_type(ProjectionType::All)
        .build();
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(attribute("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute("sk", ScalarAttributeType::S))
        .attribute_definitions(attribute("listed", ScalarAttributeType::S))
        .attribute_definitions(attribute("repair", ScalarAttributeType::S))
        .attribute_definitions(attribute("repair_at", ScalarAttributeType::N))
        .local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name("by_creation")
                .key_schema(key("pk", KeyType::Hash))
                .key_schema(key("listed", KeyType::Range))
                .projection(all.clone())
                .build()
                .unwrap(),
        )
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("repairs")
                .key_schema(key("repair", KeyType::Hash))
                .key_schema(key("repair_at", KeyType::Range))
                .projection(all)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_or_else(|error| panic!("cannot create table {name}: {error:?}"));
}
