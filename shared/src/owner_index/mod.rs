//! The owner index's adapters (docs/owner-index.md): [`DynamoIndex`], the
//! production one, and [`MemoryIndex`], which keeps the same rules in
//! memory so that the operations and the reconciler can be tested without
//! any server. Beside each, the store of the shared management token:
//! [`DynamoTokenStore`], an item of the same table, and
//! [`MemoryTokenStore`].

mod dynamodb;
mod memory;
mod memory_token;

pub use dynamodb::{DynamoIndex, DynamoTokenStore, TABLE_CALL_TIMEOUT, TOKEN_PK};
pub use memory::MemoryIndex;
pub use memory_token::MemoryTokenStore;
