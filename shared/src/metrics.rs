//! The service's metrics, as CloudWatch Embedded Metric Format (EMF): each
//! is one JSON line on standard output, which Lambda sends to CloudWatch
//! Logs, where CloudWatch turns it into metrics. No call, no agent, no
//! latency; README, "Operating it", lists them and the alarms on them.
//!
//! Written with serde_json rather than an EMF crate: the documents are a few
//! fixed shapes, and serde_json is in every binary already (docs/metrics.md
//! has the comparison). Dimensions are low-cardinality by construction:
//! route, call, outcome, never an owner or a client id.

use std::io::Write;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// The namespace when `METRICS_NAMESPACE` is not set (template.yaml sets
/// one per stack).
pub const DEFAULT_NAMESPACE: &str = "m2m-client-service";

/// A metric's unit, as CloudWatch names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
    Seconds,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Seconds => "Seconds",
        }
    }
}

/// How one attempt of an Auth0 call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    /// Any status below 400 (redirects are refused, so: 2xx).
    Success,
    /// 4xx other than 429.
    ClientError,
    RateLimited,
    ServerError,
    Timeout,
    /// The connection failed or was lost.
    ConnectionError,
}

impl CallOutcome {
    pub fn of_status(status: u16) -> Self {
        match status {
            429 => CallOutcome::RateLimited,
            500.. => CallOutcome::ServerError,
            400.. => CallOutcome::ClientError,
            _ => CallOutcome::Success,
        }
    }

    fn name(self) -> &'static str {
        match self {
            CallOutcome::Success => "2xx",
            CallOutcome::ClientError => "4xx",
            CallOutcome::RateLimited => "429",
            CallOutcome::ServerError => "5xx",
            CallOutcome::Timeout => "timeout",
            CallOutcome::ConnectionError => "connection_error",
        }
    }
}

/// Where a request's Management API token came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenSource {
    /// Asked of Auth0 (`/oauth/token`): one of the tenant's monthly tokens.
    Fetched,
    /// The container's own copy, fetched earlier.
    Reused,
    /// Read from the deployment's shared token item (another container, or
    /// an earlier life of this one, fetched it).
    Shared,
}

impl TokenSource {
    fn name(self) -> &'static str {
        match self {
            TokenSource::Fetched => "fetched",
            TokenSource::Reused => "reused",
            TokenSource::Shared => "shared",
        }
    }
}

/// Where the lines go: standard output, or what a test installed.
type Sink = Box<dyn Fn(&str) + Send + Sync>;
static SINK: OnceLock<Sink> = OnceLock::new();
static NAMESPACE: OnceLock<String> = OnceLock::new();

/// Sends every later document to `sink` instead of standard output (for
/// tests that run the service in their own process). The first call wins.
pub fn install_sink(sink: impl Fn(&str) + Send + Sync + 'static) {
    let _ = SINK.set(Box::new(sink));
}

fn namespace() -> &'static str {
    NAMESPACE.get_or_init(|| {
        std::env::var("METRICS_NAMESPACE")
            .ok()
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned())
    })
}

/// One answered request: `Requests` and `Latency`, by route and status
/// class (`2xx`, `4xx`, `5xx`), and by status class alone (what the 5xx
/// alarm divides).
pub fn request(route: &'static str, status: u16, took: Duration) {
    let class = match status {
        500.. => "5xx",
        400.. => "4xx",
        _ => "2xx",
    };
    emit(
        &[&["Route", "StatusClass"], &["StatusClass"]],
        &[("Route", route), ("StatusClass", class)],
        &[
            ("Requests", Unit::Count, 1.0),
            ("Latency", Unit::Milliseconds, millis(took)),
        ],
    );
}

/// One attempt of an Auth0 call (`call` names it: `create_client`,
/// `token`, ...): `Auth0Calls` and `Auth0Latency` (to the answer's
/// headers), by call and outcome, and by outcome alone.
pub fn auth0_call(call: &'static str, outcome: CallOutcome, took: Duration) {
    emit(
        &[&["Call", "Outcome"], &["Outcome"]],
        &[("Call", call), ("Outcome", outcome.name())],
        &[
            ("Auth0Calls", Unit::Count, 1.0),
            ("Auth0Latency", Unit::Milliseconds, millis(took)),
        ],
    );
}

/// One create, delete or lifecycle request, as its audit line says it
/// ended: `ClientOperations` by action (`create_client`, ...) and outcome
/// (`created`, `failed`, ...).
pub fn client_operation(action: &'static str, outcome: &'static str) {
    emit(
        &[&["Action", "Outcome"]],
        &[("Action", action), ("Outcome", outcome)],
        &[("ClientOperations", Unit::Count, 1.0)],
    );
}

/// A Management API token a request used: `ManagementTokens` by source.
pub fn management_token(source: TokenSource) {
    emit(
        &[&["Source"]],
        &[("Source", source.name())],
        &[("ManagementTokens", Unit::Count, 1.0)],
    );
}

/// Why a container used a token of its own instead of the shared one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FallbackReason {
    /// A call on the token item failed or timed out.
    TableError,
    /// The container minting the shared token did not deliver it in the
    /// time the request had.
    LeaseWait,
}

impl FallbackReason {
    fn name(self) -> &'static str {
        match self {
            FallbackReason::TableError => "table_error",
            FallbackReason::LeaseWait => "lease_wait",
        }
    }
}

/// The shared token could not be used: `SharedTokenFallbacks` by reason.
pub fn shared_token_fallback(reason: FallbackReason) {
    emit(
        &[&["Reason"]],
        &[("Reason", reason.name())],
        &[("SharedTokenFallbacks", Unit::Count, 1.0)],
    );
}

/// An owner's write that went ahead uncounted, because the owner index
/// could not count it (`OWNER_WRITES_PER_MINUTE` fails open):
/// `WriteLimitUnchecked`.
pub fn write_limit_unchecked() {
    emit(&[&[]], &[], &[("WriteLimitUnchecked", Unit::Count, 1.0)]);
}

/// A fetch of the callers' signing keys: `JwksFetches` by outcome
/// (`ok`, `failed`).
pub fn jwks_fetch(ok: bool) {
    emit(
        &[&["Outcome"]],
        &[("Outcome", if ok { "ok" } else { "failed" })],
        &[("JwksFetches", Unit::Count, 1.0)],
    );
}

/// One run of the reconciler: what it repaired (`ReconcilerRepairs`), what
/// it could not (`ReconcilerFailures`: repairs left for the next run, plus
/// one if the run itself failed), and what it imported.
pub fn reconciler_run(repairs: u32, failures: u32, imported: u32) {
    emit(
        &[&[]],
        &[],
        &[
            ("ReconcilerRepairs", Unit::Count, f64::from(repairs)),
            ("ReconcilerFailures", Unit::Count, f64::from(failures)),
            ("ReconcilerImports", Unit::Count, f64::from(imported)),
        ],
    );
}

/// Where the reconciler's sweep stands after a run, emitted by every run:
/// `SweepAge`, the seconds since the last sweep finished (since the first
/// began, before any has; left out when the run failed before it could
/// tell), and `SweepFaults`, 1 when a fault stopped the sweep (Auth0
/// failing, the sweep's lease lost, the run failing), else 0
/// (docs/operating.md: the metrics, and the alarms on them).
pub fn reconciler_sweep(age: Option<Duration>, faulted: bool) {
    let faults = ("SweepFaults", Unit::Count, if faulted { 1.0 } else { 0.0 });
    match age {
        Some(age) => emit(
            &[&[]],
            &[],
            &[
                faults,
                ("SweepAge", Unit::Seconds, age.as_secs_f64().floor()),
            ],
        ),
        None => emit(&[&[]], &[], &[faults]),
    }
}

fn millis(took: Duration) -> f64 {
    // Microsecond resolution is plenty, and keeps the line short.
    took.as_micros() as f64 / 1000.0
}

/// Writes one EMF document: `metrics` under every set of `dimension_sets`,
/// the dimensions' values at the top level beside the metrics' values.
fn emit(dimension_sets: &[&[&str]], dimensions: &[(&str, &str)], metrics: &[(&str, Unit, f64)]) {
    let line = document(
        namespace(),
        now_millis(),
        dimension_sets,
        dimensions,
        metrics,
    );
    match SINK.get() {
        Some(sink) => sink(&line),
        // The library's unit tests check what the operations do, not their
        // metrics (tests/logging.rs does): their output stays readable.
        None if cfg!(test) => {}
        None => {
            // One write of the whole line, so that lines of concurrent
            // requests never interleave. A failed write is not worth
            // failing the request for.
            let _ = std::io::stdout().lock().write_all(line.as_bytes());
        }
    }
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|now| now.as_millis() as u64)
        .unwrap_or_default()
}

/// The document as one line, newline included.
fn document(
    namespace: &str,
    timestamp: u64,
    dimension_sets: &[&[&str]],
    dimensions: &[(&str, &str)],
    metrics: &[(&str, Unit, f64)],
) -> String {
    let definitions: Vec<Value> = metrics
        .iter()
        .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.name()}))
        .collect();
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": dimension_sets,
                "Metrics": definitions,
            }],
        }),
    );
    for (name, value) in dimensions {
        root.insert((*name).into(), Value::from(*value));
    }
    for (name, _, value) in metrics {
        root.insert((*name).into(), Value::from(*value));
    }
    let mut line = Value::Object(root).to_string();
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_one_emf_line() {
        let line = document(
            "ns",
            1_700_000_000_000,
            &[&["Route", "StatusClass"], &["StatusClass"]],
            &[("Route", "create_client"), ("StatusClass", "2xx")],
            &[
                ("Requests", Unit::Count, 1.0),
                ("Latency", Unit::Milliseconds, 12.5),
            ],
        );
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
        let parsed: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            parsed,
            json!({
                "_aws": {
                    "Timestamp": 1_700_000_000_000u64,
                    "CloudWatchMetrics": [{
                        "Namespace": "ns",
                        "Dimensions": [["Route", "StatusClass"], ["StatusClass"]],
                        "Metrics": [
                            {"Name": "Requests", "Unit": "Count"},
                            {"Name": "Latency", "Unit": "Milliseconds"},
                        ],
                    }],
                },
                "Route": "create_client",
                "StatusClass": "2xx",
                "Requests": 1.0,
                "Latency": 12.5,
            })
        );
    }

    #[test]
    fn auth0_outcomes_are_classed_by_status() {
        let classes: Vec<&str> = [200, 201, 204, 400, 401, 404, 409, 429, 500, 503]
            .map(|status| CallOutcome::of_status(status).name())
            .to_vec();
        assert_eq!(
            classes,
            [
                "2xx", "2xx", "2xx", "4xx", "4xx", "4xx", "4xx", "429", "5xx", "5xx"
            ]
        );
    }

    #[test]
    fn latencies_keep_microseconds() {
        assert_eq!(millis(Duration::from_micros(12_345)), 12.345);
        assert_eq!(millis(Duration::from_nanos(1_999)), 0.001);
    }
}
