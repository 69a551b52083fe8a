//! Time as the index counts it: microseconds since the epoch, and when an
//! operation under way has stopped half-way; and as answers and Auth0's
//! logs write it (RFC 3339).

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

/// An operation (a creation, a deletion, a change) begun longer ago than
/// this has stopped half-way: no request lives that long (they are
/// answered within 12 s). The reconciler repairs it, and a new change of
/// the client may take it over.
pub const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(120);

/// Microseconds since the epoch: when things began, in the index. Strictly
/// increasing within a process, so that two clients an owner creates one
/// after the other are listed in that order even within a microsecond.
pub fn now_micros() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|now| u64::try_from(now.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or_default();
    let previous = LAST
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(clock.max(last + 1))
        })
        .unwrap_or(clock);
    clock.max(previous + 1)
}

/// `duration` in microseconds, as the index counts time.
pub fn micros(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// `at` (µs since the epoch) as RFC 3339 in UTC (`2026-12-06T23:12:45.123Z`),
/// as answers show times. The SDK's date-time (already linked): `time`'s
/// own formatting would add its code to every function.
pub fn rfc3339(at: u64) -> String {
    let seconds = i64::try_from(at / 1_000_000).unwrap_or(i64::MAX);
    // Below 1,000,000,000: fits.
    let nanos = u32::try_from(at % 1_000_000 * 1_000).unwrap_or_default();
    DateTime::from_secs_and_nanos(seconds, nanos)
        .fmt(Format::DateTime)
        .unwrap_or_default()
}

/// An RFC 3339 time (Auth0's log events' `date`) in µs since the epoch;
/// `None` if it is not one, or before the epoch.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let time = DateTime::from_str(text, Format::DateTimeWithOffset).ok()?;
    u64::try_from(time.as_nanos() / 1_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_microseconds() {
        let at = parse_rfc3339("2026-12-06T23:12:45.123Z").unwrap();
        assert_eq!(at, 1_796_598_765_123_000);
        assert_eq!(rfc3339(at), "2026-12-06T23:12:45.123Z");
        // Whole seconds without a fraction; microseconds, all six digits.
        assert_eq!(rfc3339(at - 123_000), "2026-12-06T23:12:45Z");
        assert_eq!(rfc3339(at + 456), "2026-12-06T23:12:45.123456Z");
        assert_eq!(
            parse_rfc3339("2026-12-07T00:12:45.123+01:00"),
            Some(at),
            "offsets are honoured"
        );
        for bad in ["", "yesterday", "2026-12-06", "1969-12-31T23:59:59Z"] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
