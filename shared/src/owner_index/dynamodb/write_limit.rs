//! An owner's writes per minute (`WRITES`: when the owner's window opened,
//! and how many Auth0-calling operations it counts), docs/owner-index.md,
//! "Writes per minute". A write is one conditional update (two when it
//! opens a window); a refusal reads the window to say when it closes. The
//! item goes with its TTL once its window is over.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::http::Response as HttpResponse;

use super::codec::{Item, Table, applied, by_deadline, call_deadline, n, number};
use super::keys::writes_key;
use crate::domain::{Owner, WRITE_WINDOW_SECONDS, WriteCount};
use crate::error::IndexError;

/// How long after its window closes an item is kept for: none of the
/// service's clocks is that far behind. DynamoDB's TTL deletes it later
/// still (typically within days); a closed window is never counted in.
const KEPT_SECONDS: u64 = 60;

/// Rounds of the three steps below, when concurrent writes keep opening
/// windows between them: more would not happen within a request.
const ROUNDS: usize = 3;

/// Counts one write at `now` in the owner's window, or opens a new one.
pub(super) async fn count(
    table: &Table,
    owner: &Owner,
    now: u64,
    limit: u32,
) -> Result<WriteCount, IndexError> {
    // Bounded as every call of the index is: a count that does not answer
    // in time is a failure, which the service lets through.
    by_deadline("count an owner's write", call_deadline(), async {
        let key = writes_key(owner);
        // A window that opened after this is still open at `now`.
        let open_after = now.saturating_sub(WRITE_WINDOW_SECONDS);
        for _ in 0..ROUNDS {
            // The usual case: the open window counts one more, up to the limit.
            let counted = update(
                table,
                &key,
                "SET #count = #count + :one",
                "#opened > :open_after AND #count < :limit",
                &[
                    (":open_after", n(open_after)),
                    (":limit", n(u64::from(limit))),
                ],
            )
            .await;
            if applied(counted, "count an owner's write")? {
                return Ok(WriteCount::Counted);
            }
            // No window open: this write opens one (of concurrent ones, one
            // does; the others count in it on the next round).
            let opened = update(
                table,
                &key,
                "SET #opened = :now, #count = :one, expires_at = :expires",
                "attribute_not_exists(#opened) OR #opened <= :open_after",
                &[
                    (":open_after", n(open_after)),
                    (":now", n(now)),
                    (":expires", n(now + WRITE_WINDOW_SECONDS + KEPT_SECONDS)),
                ],
            )
            .await;
            if applied(opened, "open an owner's window of writes")? {
                return Ok(WriteCount::Counted);
            }
            // An open window refused it: full, unless it opened just now.
            let window = table
                .get_item(key.clone(), "read an owner's writes")
                .await?;
            if let Some(until) = window
                .as_ref()
                .and_then(|item| full(item, open_after, limit))
            {
                return Ok(WriteCount::Refused { until });
            }
        }
        Err(IndexError::Failed(format!(
            "an owner's writes: windows kept changing, {ROUNDS} rounds"
        )))
    })
    .await
}

/// A conditional update of the owner's window (`#count`, `#opened`, `:one`
/// and `values` at hand).
async fn update(
    table: &Table,
    key: &Item,
    expression: &str,
    condition: &str,
    values: &[(&str, AttributeValue)],
) -> Result<UpdateItemOutput, SdkError<UpdateItemError, HttpResponse>> {
    let mut update = table
        .update_item(key.clone())
        .update_expression(expression)
        .condition_expression(condition)
        .expression_attribute_names("#count", "count")
        .expression_attribute_names("#opened", "opened")
        .expression_attribute_values(":one", n(1));
    for (name, value) in values {
        update = update.expression_attribute_values(*name, value.clone());
    }
    update.send().await
}

/// When the window `item` holds closes, if it is open and counts `limit`.
fn full(item: &Item, open_after: u64, limit: u32) -> Option<u64> {
    let opened = number(item, "opened")?;
    let count = number(item, "count")?;
    (opened > open_after && count >= u64::from(limit)).then_some(opened + WRITE_WINDOW_SECONDS)
}
