//! What coldstart measures: the binaries it starts, how many times, and
//! what one start yields.

use std::time::Duration;

use lambda_bench::relay::CriticalPath;
use lambda_bench::upstream::{Counts, Subject};
use m2m_shared::Route;

/// Runs of the variant without credentials in the environment, and the
/// function it starts.
pub(crate) const DISCOVERY_RUNS: usize = 10;
pub(crate) const DISCOVERY_SUBJECT: Subject = Subject::Function(Route::CreateClient);
/// The caller's clients in the tenant and the table before the first run
/// (each run of get and delete adds one of its own).
pub(crate) const LISTED: usize = 5;
/// Table calls timed from the driver, to tell moto's share.
pub(crate) const TABLE_SAMPLES: usize = 30;

/// Which build a binary the driver starts comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Build {
    /// This commit's (`target/release`).
    This,
    /// The design before the owner index (`--before DIR`).
    Before,
    /// An earlier commit's (`--baseline DIR`): what a change is checked
    /// against for a regression.
    Baseline,
}

/// A binary the driver starts: a subject of one build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Entry {
    pub(crate) subject: Subject,
    pub(crate) build: Build,
}

impl Build {
    /// The option that names an earlier build's folder.
    pub(crate) fn option(self) -> &'static str {
        match self {
            Build::This => "(this build)",
            Build::Before => "--before",
            Build::Baseline => "--baseline",
        }
    }
}

impl Entry {
    /// `subject`'s binary of this commit's build.
    pub(crate) fn this(subject: Subject) -> Entry {
        Entry {
            subject,
            build: Build::This,
        }
    }
}

/// One cold start.
#[derive(Clone, Debug)]
pub(crate) struct Sample {
    pub(crate) init: Duration,
    pub(crate) cold: Duration,
    pub(crate) status: Option<u16>,
    /// Upstream requests made by this start: Secrets Manager reads, JWKS
    /// fetches, token requests, Management API calls.
    pub(crate) upstream: Counts,
    /// Through relays: the first request's critical path, and a warm one's.
    pub(crate) paths: Option<Paths>,
}

/// Through relays, in one container: the first request (cold) and a second
/// of the same kind once it has answered (warm), as [`CriticalPath`]s.
#[derive(Clone, Debug)]
pub(crate) struct Paths {
    pub(crate) cold: CriticalPath,
    pub(crate) warm: CriticalPath,
    /// The second request: from queueing it to its answer.
    pub(crate) warm_request: Duration,
}

impl Paths {
    /// The round trips in sequence that the cold start put before the
    /// operation's Auth0 call: the cold chain less the warm one, which is
    /// the operation's own (its table calls, made warm as well).
    pub(crate) fn added_by_cold_start(&self) -> i64 {
        self.cold.in_sequence as i64 - self.warm.in_sequence as i64
    }
}
