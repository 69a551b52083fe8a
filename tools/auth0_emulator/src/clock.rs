//! Times as the Management API writes them on credentials: RFC 3339 in UTC
//! with milliseconds (`2033-05-13T09:33:13.000Z`, as recorded from Auth0),
//! held as UNIX milliseconds.

use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// `millis` in Auth0's form; out of the calendar's range it is the epoch
/// (no credential time gets there: they are parsed from RFC 3339).
pub fn format_millis(millis: i64) -> String {
    let time = OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second(),
        time.millisecond()
    )
}

/// An RFC 3339 time, any offset, as UNIX milliseconds.
pub fn parse_millis(text: &str) -> Option<i64> {
    let time = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(time.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_in_auth0s_form() {
        let recorded = "2033-05-13T09:33:13.000Z";
        let millis = parse_millis(recorded).unwrap();
        assert_eq!(format_millis(millis), recorded);
        // Another offset is the same instant, written in UTC.
        assert_eq!(
            parse_millis("2033-05-13T11:33:13.250+02:00").map(format_millis),
            Some("2033-05-13T09:33:13.250Z".to_owned())
        );
        assert_eq!(parse_millis("2033-05-13"), None);
        assert_eq!(parse_millis("yesterday"), None);
    }
}
