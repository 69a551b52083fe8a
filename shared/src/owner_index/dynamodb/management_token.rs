//! The deployment's shared Management API token, in its own item of the
//! table (docs/owner-index.md, "The shared management token"): the
//! [`TokenStore`] that `auth0::token` reads before it mints a token of its
//! own. Every write is conditional, so that one container at a time holds
//! the lease to mint the next token, and a token is cleared only while it
//! is still the one Auth0 rejected.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;

use super::codec::{Item, Table, applied, failed, n, number, s, text};
use super::keys::token_key;
use crate::domain::{StoreFuture, StoredToken, TokenItem, TokenStore};
use crate::secret_string::SecretString;

/// An item that holds only a lease (its holder died) is removed by TTL
/// this long after the lease was taken.
const LEASE_ITEM_TTL_SECONDS: u64 = 60 * 60;

/// The token item in DynamoDB.
pub struct DynamoTokenStore {
    table: Table,
}

impl DynamoTokenStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self::in_table(Table::new(client, table.into()))
    }

    pub(super) fn in_table(table: Table) -> Self {
        DynamoTokenStore { table }
    }

    fn update(&self) -> UpdateItemFluentBuilder {
        self.table.update_item(token_key())
    }
}

fn token_item(item: &Item) -> TokenItem {
    let token = match (text(item, "token"), number(item, "token_expires_ms")) {
        (Some(value), Some(expires_ms)) => Some(StoredToken {
            value: SecretString::new(value),
            expires_ms,
        }),
        _ => None,
    };
    TokenItem {
        token,
        lease_until: number(item, "lease_until"),
    }
}

impl TokenStore for DynamoTokenStore {
    fn read(&self) -> StoreFuture<'_, TokenItem> {
        Box::pin(async move {
            let item = self
                .table
                .get_item(token_key(), "read the management token")
                .await?;
            Ok(item.as_ref().map(token_item).unwrap_or_default())
        })
    }

    fn lease(&self, now: u64, until: u64, needed: u64) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let sent = self
                .update()
                .update_expression("SET lease_until = :until, expires_at = :ttl")
                .condition_expression(
                    "(attribute_not_exists(lease_until) OR lease_until <= :now) \
                     AND (attribute_not_exists(token_expires_ms) OR token_expires_ms <= :needed)",
                )
                .expression_attribute_values(":until", n(until))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":needed", n(needed))
                .expression_attribute_values(":ttl", n(now / 1000 + LEASE_ITEM_TTL_SECONDS))
                .send()
                .await;
            applied(sent, "lease the management token")
        })
    }

    fn release(&self, until: u64) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let sent = self
                .update()
                .update_expression("REMOVE lease_until")
                .condition_expression("lease_until = :until")
                .expression_attribute_values(":until", n(until))
                .send()
                .await;
            // Not ours any more: nothing to give back.
            applied(sent, "release the management token's lease").map(drop)
        })
    }

    fn store<'a>(&'a self, token: &'a StoredToken) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.update()
                .update_expression(
                    "SET #token = :token, token_expires_ms = :expires, expires_at = :ttl \
                     REMOVE lease_until",
                )
                .expression_attribute_names("#token", "token")
                .expression_attribute_values(":token", s(token.value.expose()))
                .expression_attribute_values(":expires", n(token.expires_ms))
                .expression_attribute_values(":ttl", n(token.expires_ms / 1000))
                .send()
                .await
                .map_err(failed("store the management token"))?;
            Ok(())
        })
    }

    fn invalidate<'a>(&'a self, rejected: &'a SecretString) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let sent = self
                .update()
                .update_expression("REMOVE #token, token_expires_ms")
                .condition_expression("#token = :rejected")
                .expression_attribute_names("#token", "token")
                .expression_attribute_values(":rejected", s(rejected.expose()))
                .send()
                .await;
            applied(sent, "invalidate the management token")
        })
    }
}
