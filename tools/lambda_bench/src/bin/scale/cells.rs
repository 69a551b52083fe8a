//! What the scale benchmark measures: the designs it compares, the
//! operations, and what one design's function answered for one operation
//! in one tenant.

use std::path::PathBuf;
use std::time::Duration;

use auth0_emulator::RecordedRequest;
use m2m_shared::Route;
use serde_json::Value;
use test_support::stats::{median, ms, percentile};

/// The operations measured, in the report's order.
pub(crate) const OPERATIONS: [Route; 3] =
    [Route::ListClients, Route::GetClient, Route::DeleteClient];
/// Auth0's page size, which the design before the index listed with.
pub(crate) const AUTH0_PAGE: usize = 100;
/// The largest list ÷ the smallest that still counts as flat: the
/// request's work does not change with the tenant, so what remains is
/// timing noise on a shared machine.
pub(crate) const FLAT: f64 = 1.25;
/// Requests of the paced list, per design (the design before the index
/// stops at its first failure).
pub(crate) const PACED_REQUESTS: usize = 5;

/// A build of the functions.
pub(crate) struct Design {
    pub(crate) label: &'static str,
    pub(crate) bin_dir: PathBuf,
    /// Whether it keeps the owner index (this build) or not (before).
    pub(crate) indexed: bool,
}

/// What one design's function did for one operation in one tenant.
pub(crate) struct Cell {
    pub(crate) size: usize,
    pub(crate) operation: Route,
    pub(crate) design: usize,
    pub(crate) round_trips: Vec<Duration>,
    /// Management API calls per request.
    pub(crate) auth0_calls: Vec<usize>,
    /// The first answer that was not a success (then no more are sent).
    pub(crate) failure: Option<Failure>,
    /// With the index: moto's own time for the request's table calls,
    /// made from the driver (median).
    pub(crate) table_alone: Option<Duration>,
    /// The Management API calls of the last request answered.
    pub(crate) auth0_requests: Vec<RecordedRequest>,
    /// The emulator's own time for them, replayed from the driver (median).
    pub(crate) auth0_alone: Option<Duration>,
}

impl Cell {
    pub(crate) fn new(size: usize, operation: Route, design: usize) -> Cell {
        Cell {
            size,
            operation,
            design,
            round_trips: Vec::new(),
            auth0_calls: Vec::new(),
            failure: None,
            table_alone: None,
            auth0_requests: Vec::new(),
            auth0_alone: None,
        }
    }

    pub(crate) fn median(&self) -> Duration {
        median(&self.round_trips)
    }

    pub(crate) fn calls(&self) -> String {
        let mut calls = self.auth0_calls.clone();
        if let Some(failure) = &self.failure {
            calls.push(failure.auth0_calls);
        }
        calls.sort_unstable();
        calls.dedup();
        calls
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join("–")
    }

    /// The median (p90), or what the failure answered.
    pub(crate) fn timing(&self) -> String {
        match &self.failure {
            Some(failure) if self.round_trips.is_empty() => format!(
                "**{}** after {:.1} s",
                failure.status.map_or("no answer".into(), |s| s.to_string()),
                failure.after.as_secs_f64()
            ),
            _ => format!(
                "{} ms ({})",
                ms(self.median()),
                ms(percentile(&self.round_trips, 0.9))
            ),
        }
    }
}

/// An answer that was not the operation's success.
pub(crate) struct Failure {
    pub(crate) status: Option<u16>,
    pub(crate) after: Duration,
    pub(crate) auth0_calls: usize,
    pub(crate) body: String,
}

impl Failure {
    pub(crate) fn of(answer: Answer) -> Failure {
        Failure {
            status: answer.status,
            after: answer.round_trip,
            auth0_calls: answer.auth0_calls,
            body: answer.raw,
        }
    }
}

/// What one request answered.
pub(crate) struct Answer {
    pub(crate) status: Option<u16>,
    pub(crate) round_trip: Duration,
    pub(crate) auth0_calls: usize,
    pub(crate) auth0_requests: Vec<RecordedRequest>,
    pub(crate) body: Value,
    pub(crate) raw: String,
}
