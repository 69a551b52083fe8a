//! Single-item conditional writes whose outcome the answer may not tell
//! (CONTRACT.md, "Writes whose outcome is unknown"). Such a write has no
//! idempotency token: after an attempt that was applied but answered late
//! (or not at all), the SDK's retry fails the write's own condition, and a
//! timeout says nothing either way. Neither may be taken for "not written"
//! or "someone else changed it": each write puts a mark of its own on the
//! item (a change's id, a deletion's id), and an outcome it cannot see is
//! settled by a consistent read that looks for that mark. A write neither
//! seen applied nor refused is sent again (its mark makes a repeat after an
//! applied attempt fail its condition, and the next read find it), until
//! the invocation's deadline: then [`IndexError::OutcomeUnknown`].

use std::time::Duration;

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use tokio::time::{Instant, sleep, timeout_at};

use super::codec::{
    Item, Table, by_deadline, call_deadline, condition_failed, failed, maybe_applied, settle_pause,
};
use crate::error::IndexError;

/// Kept back from the deadline for the read that settles a write's last
/// attempt.
const SETTLE_READ: Duration = Duration::from_millis(500);

/// How a conditional write of one item ended, once settled.
pub(super) enum Written {
    /// Applied: the item as the write left it (its answer's attributes,
    /// or the read that found the write's mark).
    Applied(Option<Item>),
    /// Its condition did not hold (nor did an earlier attempt apply it).
    Refused,
}

impl Table {
    /// Sends `update` (a conditional write of the item at `key`, answering
    /// the item's attributes if it asks for them), and settles an outcome
    /// its answer does not tell by reading the item: `ours` says whether
    /// the item carries the write's own mark.
    pub(super) async fn settled_update(
        &self,
        what: &str,
        key: &Item,
        update: UpdateItemFluentBuilder,
        ours: impl Fn(&Item) -> bool,
    ) -> Result<Written, IndexError> {
        let deadline = call_deadline();
        let write_by = deadline.checked_sub(SETTLE_READ).unwrap_or(deadline);
        let mut attempt = 0;
        loop {
            attempt += 1;
            // On the heap: the SDK's futures are large, and a settled
            // write holds a write's and a read's.
            let sent = Box::pin(update.clone().send());
            let refused = match timeout_at(write_by, sent).await {
                Ok(Ok(output)) => return Ok(Written::Applied(output.attributes)),
                // Refused, or a retry of the SDK's after an attempt that was
                // applied: the read tells which.
                Ok(Err(error)) if condition_failed(&error) => true,
                Ok(Err(error)) if maybe_applied(&error) => false,
                Ok(Err(error)) if attempt == 1 => return Err(failed(what)(error)),
                // Cut short by the deadline, or failing after an attempt
                // that may have been applied.
                Ok(Err(_)) | Err(_) => false,
            };
            let read =
                by_deadline(what, deadline, Box::pin(self.get_item(key.clone(), what))).await;
            match read {
                Ok(Some(item)) if ours(&item) => return Ok(Written::Applied(Some(item))),
                Ok(_) if refused => return Ok(Written::Refused),
                // Not there yet, or the read failed: unknown so far.
                Ok(_) | Err(_) => {}
            }
            let pause = settle_pause(attempt);
            if Instant::now() + pause >= write_by {
                return Err(IndexError::OutcomeUnknown(format!(
                    "{what}: not settled by the deadline"
                )));
            }
            sleep(pause).await;
        }
    }
}
