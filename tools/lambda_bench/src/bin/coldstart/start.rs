//! One cold start: a fresh stub Runtime API, the binary exec'd, its first
//! request timed and, through relays, a second one of the same kind (warm),
//! and the upstream requests each of them made.

use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Instant;

use lambda_bench::relay::{Call, CriticalPath};
use lambda_bench::runtime_api::{Outcome, OutcomeKind, RuntimeApi};
use lambda_bench::upstream::{Ask, CALLER, Credentials, Subject, Upstream, event_for, status_of};
use lambda_bench::{ANSWER_LIMIT, answer, expect_status, launch, logs_dir};
use test_support::stats::ms;

use crate::sample::{Paths, Sample};

/// Requests a start serves at most: the cold one, and through relays a
/// second of the same kind, warm.
const REQUESTS_PER_START: usize = 2;

/// The number of start `start`'s `request`-th request (0: the cold one),
/// which names what it creates or seeds: no two alike in a tenant.
fn request_number(start: usize, request: usize) -> usize {
    start * REQUESTS_PER_START + request
}

/// Where a binary is started from: its tenant's upstreams, the folder of
/// the binary and of its logs, and the caller's token.
pub(crate) struct Context<'a> {
    upstream: &'a Upstream,
    pub(crate) bin_dir: PathBuf,
    pub(crate) logs: PathBuf,
    token: String,
}

impl Context<'_> {
    pub(crate) fn new(upstream: &Upstream, bin_dir: PathBuf) -> Result<Context<'_>, String> {
        Ok(Context {
            upstream,
            bin_dir,
            logs: logs_dir()?,
            token: upstream.caller_token(CALLER),
        })
    }

    /// One cold start of `subject` with a fresh stub Runtime API; through
    /// relays, with credentials, its second request too (warm).
    pub(crate) async fn measure(
        &self,
        subject: Subject,
        credentials: Credentials,
        n: usize,
    ) -> Result<Sample, String> {
        let api = RuntimeApi::start()
            .await
            .map_err(|e| format!("cannot start the Runtime API stub: {e}"))?;
        api.invoke(self.event(subject, request_number(n, 0)).await);
        let env = self
            .upstream
            .environment(subject, &api.address(), credentials);
        let log = self.logs.join(format!("{}.log", subject.binary()));
        let before = self.upstream.counts();
        let mark = self.upstream.calls_mark();
        let function = launch(&self.bin_dir.join(subject.binary()), &env, &log)
            .map_err(|e| format!("cannot exec {}: {e}", subject.binary()))?;
        let outcome = api.outcome(ANSWER_LIMIT).await;
        let started = function.started;
        let init = api.first_next().map(|at| at - started);
        // The first request's own: counted before a second one adds to them.
        let after = self.upstream.counts();
        let cold_calls = mark..self.upstream.calls_mark();
        let answered = outcome
            .as_ref()
            .is_some_and(|o| o.kind == OutcomeKind::Response);
        // Without credentials the function cannot succeed: no second request.
        let second = match (self.upstream.rtt(), credentials) {
            (Some(_), Credentials::InEnvironment) if answered => {
                Some(self.second_request(&api, subject, n).await)
            }
            _ => None,
        };
        drop(api);
        function.stop().await;
        let what = subject.binary();
        let outcome = answer(outcome, what, &log)?;
        let upstream = after.since(before);
        let status = match credentials {
            Credentials::InEnvironment => {
                expect_status(&outcome, subject.success_status(), what, &log)?
            }
            // No secret without credentials: the report says what it answered.
            Credentials::Discovered => status_of(&outcome.body),
        };
        let paths = match second {
            Some((sent, second, warm_calls)) => {
                let what = format!("{what}'s second request");
                let second = answer(second, &what, &log)?;
                expect_status(&second, subject.success_status(), &what, &log)?;
                let cold = self.upstream.calls_between(cold_calls);
                let warm = self.upstream.calls_between(warm_calls);
                // Each start's calls, for a look at the path behind the counts.
                append(
                    &self.logs.join(format!("{}-calls.log", subject.binary())),
                    &format!(
                        "start {n} ({} ms round-trip time), first request (cold)\n{}  second request (warm)\n{}",
                        self.upstream.rtt().unwrap_or_default().as_millis(),
                        call_lines(&cold, started),
                        call_lines(&warm, started)
                    ),
                );
                Some(Paths {
                    cold: CriticalPath::of(&cold),
                    warm: CriticalPath::of(&warm),
                    warm_request: second.at - sent,
                })
            }
            None => None,
        };
        Ok(Sample {
            init: init.unwrap_or_default(),
            cold: outcome.at - started,
            status,
            upstream,
            paths,
        })
    }

    /// The benchmark's successful request number `number` to `subject`.
    async fn event(&self, subject: Subject, number: usize) -> String {
        event_for(self.upstream, subject, Ask::Success, &self.token, number).await
    }

    /// Start `n`'s second request, once the first has answered: when it
    /// was queued, its outcome, and the marks of the calls it made.
    async fn second_request(
        &self,
        api: &RuntimeApi,
        subject: Subject,
        n: usize,
    ) -> (Instant, Option<Outcome>, Range<usize>) {
        // Its target seeded first (straight into the tenant and the table,
        // not through the relays).
        let event = self.event(subject, request_number(n, 1)).await;
        let mark = self.upstream.calls_mark();
        let sent = Instant::now();
        api.invoke(event);
        let outcome = api.outcome(ANSWER_LIMIT).await;
        (sent, outcome, mark..self.upstream.calls_mark())
    }
}

/// `calls`, one a line: when each was received and answered, from `started`.
fn call_lines(calls: &[Call], started: Instant) -> String {
    let mut lines = String::new();
    for call in calls {
        let _ = writeln!(
            lines,
            "    {} → {} ms {:?} {}",
            ms(call.received - started),
            ms(call.answered - started),
            call.service,
            call.what
        );
    }
    lines
}

/// Appends `text` to `file` (a log: a failure to write it is no failure
/// of the benchmark).
fn append(file: &Path, text: &str) {
    use std::io::Write as _;
    if let Ok(mut log) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
    {
        let _ = log.write_all(text.as_bytes());
    }
}
