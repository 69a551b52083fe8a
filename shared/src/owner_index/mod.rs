//! The owner index's adapters (docs/owner-index.md): [`DynamoIndex`], the
//! production one, and [`MemoryIndex`], which keeps the same rules in
//! memory so that the operations and the reconciler can be tested without
//! any server.

mod dynamodb;
mod memory;

pub use dynamodb::{DynamoIndex, TABLE_CALL_TIMEOUT};
pub use memory::MemoryIndex;

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_TTL_SECONDS: u64 = 24 * 60 * 60;
