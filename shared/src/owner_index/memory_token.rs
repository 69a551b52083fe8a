//! The shared management token's item in memory, with the same conditions
//! as the table's ([`super::DynamoTokenStore`]): for the lease logic's
//! unit tests (`auth0::shared_token`).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::domain::{StoreFuture, StoredToken, TokenItem, TokenStore};
use crate::error::IndexError;
use crate::secret_string::SecretString;

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
            return Err(IndexError::Failed("the table is unreachable".into()));
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
