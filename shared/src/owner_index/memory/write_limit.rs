//! An owner's writes per minute in memory, with the table's rule
//! (`dynamodb/write_limit.rs`): a window that opens with a write after the
//! last one closed, counting up to the limit.

use super::MemoryIndex;
use crate::domain::{Owner, WRITE_WINDOW_SECONDS, WriteCount};

impl MemoryIndex {
    pub(super) fn count_write(&self, owner: &Owner, now: u64, limit: u32) -> WriteCount {
        let mut state = self.state();
        // Closed windows are never read again: gone, as the table's items
        // go with their TTL.
        state
            .writes
            .retain(|_, (opened, _)| *opened + WRITE_WINDOW_SECONDS > now);
        let (opened, count) = state
            .writes
            .entry(owner.as_str().to_owned())
            .or_insert((now, 0));
        if *count >= limit {
            return WriteCount::Refused {
                until: *opened + WRITE_WINDOW_SECONDS,
            };
        }
        *count += 1;
        WriteCount::Counted
    }
}
