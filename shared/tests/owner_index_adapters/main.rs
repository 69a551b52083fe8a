//! One suite for both owner index adapters (docs/owner-index.md): every case
//! is written once, generic over the `OwnerIndex` port (or the `TokenStore`
//! one), and runs twice, against `MemoryIndex` (which stands in for DynamoDB
//! in the unit tests of the operations and the reconciler) and against
//! `DynamoIndex` on moto, through the real AWS SDK, in a table of its own
//! made from template.yaml's `ClientsTable`. A case that passes for one and
//! fails for the other is a unit test that proves nothing of production.
//!
//! Each case appears as `<area>::memory::<case>` and
//! `<area>::dynamodb::<case>`: `cargo test --test owner_index_adapters
//! memory::` runs one half.

/// Runs each case against both adapters: `$memory` and `$dynamodb` are
/// paths of async functions that make a fresh fixture, and each case an async
/// function of a fixture, generic over it.
macro_rules! each_adapter {
    ($memory:path, $dynamodb:path => $($case:ident),+ $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case($memory().await).await;
                }
            )+
        }

        mod dynamodb {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case($dynamodb().await).await;
                }
            )+
        }
    };
}

mod harness;

mod changes;
mod creation;
mod deletion;
mod key_credentials;
mod listing;
mod reconciler;
mod sweep;
mod token_store;
mod usage;
mod write_limit;
