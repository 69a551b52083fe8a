//! The shared Management API token's item in the owner index's table
//! (docs/owner-index.md, "The shared management token"), and the same rules
//! in memory for the lease logic's tests.
//!
//! Its partition, `MANAGEMENT_TOKEN`, can never be an owner's (theirs are
//! `OWNER#<owner>`) nor the `SERVICE` one that list may read: IAM gives it
//! to the functions that call Auth0, and to no other
//! (`dynamodb:LeadingKeys`).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_sdk_dynamodb::Client;

use super::dynamodb::{Item, applied, failed, key, n, number, s, text};
use crate::domain::{StoreFuture, StoredToken, TokenItem, TokenStore};
use crate::error::IndexError;
use crate::secret_string::SecretString;

/// The token item's partition (and sort) key.
pub const TOKEN_PK: &str = "MANAGEMENT_TOKEN";
/// An item that holds only a lease (its holder died) is removed by TTL
/// this long after the lease was taken.
const LEASE_ITEM_TTL_SECONDS: u64 = 60 * 60;

fn token_key() -> Item {
    key(TOKEN_PK.into(), TOKEN_PK.into())
}

/// The token item in DynamoDB.
pub struct DynamoTokenStore {
    client: Client,
    table: String,
}

impl DynamoTokenStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoTokenStore {
            client,
            table: table.into(),
        }
    }

    fn update(
        &self,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(token_key()))
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
            let output = self
                .client
                .get_item()
                .table_name(&self.table)
                .set_key(Some(token_key()))
                .consistent_read(true)
                .send()
                .await
                .map_err(failed("read the management token"))?;
            Ok(output.item.as_ref().map(token_item).unwrap_or_default())
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

/// The token item in memory, with the same conditions; it can be made
/// unreachable, and counts the writes that succeeded.
#[derive(Default)]
pub struct MemoryTokenStore {
    item: Mutex<TokenItem>,
    unreachable: AtomicBool,
}

impl MemoryTokenStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every later call fails (`true`), or works again.
    pub fn set_unreachable(&self, unreachable: bool) {
        self.unreachable.store(unreachable, Ordering::SeqCst);
    }

    /// The item as it stands.
    pub fn item(&self) -> TokenItem {
        self.locked().clone()
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, TokenItem> {
        self.item
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn reach(&self) -> Result<std::sync::MutexGuard<'_, TokenItem>, IndexError> {
        if self.unreachable.load(Ordering::SeqCst) {
            return Err(IndexError("the table is unreachable".into()));
        }
        Ok(self.locked())
    }
}

impl TokenStore for MemoryTokenStore {
    fn read(&self) -> StoreFuture<'_, TokenItem> {
        Box::pin(async move { Ok(self.reach()?.clone()) })
    }

    fn lease(&self, now: u64, until: u64, needed: u64) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let mut item = self.reach()?;
            let free = item.lease_until.is_none_or(|lease| lease <= now);
            let wanted = item.token.as_ref().is_none_or(|t| t.expires_ms <= needed);
            if free && wanted {
                item.lease_until = Some(until);
            }
            Ok(free && wanted)
        })
    }

    fn release(&self, until: u64) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut item = self.reach()?;
            if item.lease_until == Some(until) {
                item.lease_until = None;
            }
            Ok(())
        })
    }

    fn store<'a>(&'a self, token: &'a StoredToken) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut item = self.reach()?;
            item.token = Some(token.clone());
            item.lease_until = None;
            Ok(())
        })
    }

    fn invalidate<'a>(&'a self, rejected: &'a SecretString) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut item = self.reach()?;
            let holds = item.token.as_ref().is_some_and(|t| &t.value == rejected);
            if holds {
                item.token = None;
            }
            Ok(holds)
        })
    }
}
