//! The owner index's adapters (docs/owner-index.md): [`DynamoIndex`], the
//! production one, and [`MemoryIndex`], which keeps the same rules in
//! memory so that the operations and the reconciler can be tested without
//! any server.

mod dynamodb;
mod memory;
mod token_item;

pub use dynamodb::{DynamoIndex, TABLE_CALL_TIMEOUT};
pub use memory::MemoryIndex;
pub use token_item::{DynamoTokenStore, MemoryTokenStore, TOKEN_PK};

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_TTL_SECONDS: u64 = 24 * 60 * 60;
