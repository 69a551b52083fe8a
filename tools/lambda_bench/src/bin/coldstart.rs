//! Cold start as a caller feels it. For each function, and for the bare
//! `lambda_runtime` echo built with the same profile:
//!
//! - init: from the exec of the release binary to its first
//!   `GET /2018-06-01/runtime/invocation/next`;
//! - cold request: from the exec to the stub Runtime API having the answer to
//!   the first invocation, a valid API Gateway v2 request for that function.
//!
//! Secrets Manager, the JWKS and Auth0 are stubs on 127.0.0.1 that answer at
//! once. The subjects take turns, `--runs` rounds (default 30), after one
//! untimed start each to warm the page cache; medians and 90th percentiles
//! are printed and written as markdown (`--markdown FILE`, default
//! `target/lambda-bench/coldstart.md`).
//!
//! With `--rtt-ms N`, every upstream (Secrets Manager, the Auth0
//! emulator, the table) answers through a relay that holds each request N
//! ms in the timed rounds, a round-trip time as in a real region (0, the
//! default: the stubs are reached directly and answer at once, so that the
//! cold requests compare with the bare echo's). Whatever N, the report adds
//! the first request's critical path, read from the relays' log: the
//! upstream requests received before the operation's own Auth0 call (its
//! first Management API call), how many of them in sequence (the cold
//! chain), how long the first request took, and what the cold start added:
//! each start through relays also serves a second request of the same kind
//! (another create, a delete of another client), warm, whose chain is the
//! operation's own; the cold chain less the warm one is the round trips the
//! cold start put before the Auth0 call. From `--path-runs` starts of each
//! function (default 5, after an untimed one) through relays without delay
//! and through relays holding each request `--path-rtt-ms` (default 20; the
//! round-trip time the verdict needs, apart from the timed rounds'), and,
//! if N is another, from the timed rounds; each start's calls go to
//! `logs/<function>-calls.log`. `MANAGEMENT_TOKEN_CACHE`, if set, is passed to the functions.
//!
//! With `--before DIR`, the release binaries in DIR of the design before the
//! owner index (commit 9874484: no DynamoDB client) take their turns in the
//! same rounds, and the report adds what the owner index's DynamoDB client
//! costs a cold start: each function's init and cold request, before and
//! with it, against the bare echo's.
//!
//! ```text
//! cargo build --release $(scripts/functions.sh | sed 's/^/-p /') -p bare_echo
//! cargo build --release -p lambda_bench
//! target/release/coldstart [--runs 30] [--rtt-ms 0] [--path-runs 5] [--path-rtt-ms 20] [--before DIR] [--markdown FILE] [--summary FILE]
//! ```

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use auth0_emulator::Route as Auth0Route;
use lambda_bench::relay::{Call, CriticalPath};
use lambda_bench::runtime_api::{Outcome, OutcomeKind, RuntimeApi};
use lambda_bench::upstream::{
    Ask, CALLER, Credentials, Subject, Upstream, build_command, event_for, reached, status_of,
    token_cache_setting,
};
use lambda_bench::{
    ANSWER_LIMIT, Args, answer, binary_dir, exit, expect_status, launch, logs_dir, met_cell,
    publish, table_head, verdict,
};
use m2m_shared::Route;
use test_support::stats::{median, ms, percentile};

/// Runs of the variant without credentials in the environment, and the
/// function it starts.
const DISCOVERY_RUNS: usize = 10;
const DISCOVERY_SUBJECT: Subject = Subject::Function(Route::CreateClient);
/// The caller's clients in the tenant and the table before the first run
/// (each run of get and delete adds one of its own).
const LISTED: usize = 5;
/// Table calls timed from the driver, to tell moto's share.
const TABLE_SAMPLES: usize = 30;
/// Requests a start serves at most: the cold one, and through relays a
/// second of the same kind, warm.
const REQUESTS_PER_START: usize = 2;

/// The number of start `start`'s `request`-th request (0: the cold one),
/// which names what it creates or seeds: no two alike in a tenant.
fn request_number(start: usize, request: usize) -> usize {
    start * REQUESTS_PER_START + request
}

/// A binary the driver starts: a subject of this build, or (`before`) of
/// the design before the owner index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Entry {
    subject: Subject,
    before: bool,
}

#[derive(Clone, Debug)]
struct Sample {
    init: Duration,
    cold: Duration,
    status: Option<u16>,
    /// Upstream requests made by this start: Secrets Manager reads, JWKS
    /// fetches, token requests, Management API calls.
    upstream: [usize; 4],
    /// Through relays: the first request's critical path, and a warm one's.
    paths: Option<Paths>,
}

/// Through relays, in one container: the first request (cold) and a second
/// of the same kind once it has answered (warm), as [`CriticalPath`]s.
#[derive(Clone, Debug)]
struct Paths {
    cold: CriticalPath,
    warm: CriticalPath,
    /// The second request: from queueing it to its answer.
    warm_request: Duration,
}

impl Paths {
    /// The round trips in sequence that the cold start put before the
    /// operation's Auth0 call: the cold chain less the warm one, which is
    /// the operation's own (its table calls, made warm as well).
    fn added_by_cold_start(&self) -> i64 {
        self.cold.in_sequence as i64 - self.warm.in_sequence as i64
    }
}

/// How the benchmark reaches the upstreams.
#[derive(Clone, Copy, Debug)]
struct Latency {
    /// The timed rounds' round-trip time (`--rtt-ms`): `None` for 0, the
    /// stubs reached directly.
    rounds: Option<Duration>,
    /// Starts of each function through relays, for the critical path:
    /// without delay, and holding each request `path_rtt` (`--path-rtt-ms`).
    path_runs: usize,
    path_rtt: Duration,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::from_env();
    let runs = args.count("--runs", 30);
    // `--only BINARY`: start just that one, `--runs` times, and report
    // nothing (for profilers, through `$BENCH_WRAPPER`).
    // `--subjects`: the binaries it knows, one a line (for scripts).
    if std::env::args().any(|arg| arg == "--subjects") {
        for subject in Subject::ALL {
            println!("{}", subject.binary());
        }
        return ExitCode::SUCCESS;
    }
    let outcome = match args.option("--only") {
        Some(only) => profile_one(&only, runs).await,
        None => {
            let before = args.option("--before").map(PathBuf::from);
            // `--summary FILE`: the README summary's row (scripts/bench.sh).
            let summary = args.option("--summary").map(PathBuf::from);
            let markdown = args.markdown("coldstart.md");
            let latency = Latency {
                rounds: args.rtt(),
                path_runs: args.count("--path-runs", 5),
                path_rtt: Duration::from_millis(args.count("--path-rtt-ms", 20) as u64),
            };
            run(
                runs,
                latency,
                before.as_deref(),
                &markdown,
                summary.as_deref(),
            )
            .await
        }
    };
    exit("coldstart", outcome)
}

async fn profile_one(only: &str, runs: usize) -> Result<(), String> {
    let subject = Subject::from_binary(only).ok_or_else(|| format!("no binary {only}"))?;
    let credentials = if std::env::var_os("BENCH_NO_CREDENTIALS").is_some() {
        Credentials::Discovered
    } else {
        Credentials::InEnvironment
    };
    let upstream = Upstream::start().await?;
    let context = Context::new(&upstream, binary_dir())?;
    let mut samples = Vec::new();
    for n in 0..runs {
        let sample = context.measure(subject, credentials, n).await?;
        println!(
            "{}: init {} ms, cold request {} ms, status {:?}",
            subject.binary(),
            ms(sample.init),
            ms(sample.cold),
            sample.status
        );
        samples.push(sample);
    }
    let init: Vec<Duration> = samples.iter().map(|s| s.init).collect();
    let cold: Vec<Duration> = samples.iter().map(|s| s.cold).collect();
    println!(
        "{}: medians of {runs}: init {} ms, cold request {} ms",
        subject.binary(),
        ms(median(&init)),
        ms(median(&cold))
    );
    Ok(())
}

async fn run(
    runs: usize,
    latency: Latency,
    before: Option<&Path>,
    markdown: &Path,
    summary_file: Option<&Path>,
) -> Result<(), String> {
    for subject in Subject::ALL {
        let binary = binary_dir().join(subject.binary());
        if !binary.exists() {
            return Err(format!(
                "{} not found: build with `{}` (and the drivers apart: `cargo build --release -p lambda_bench`)",
                binary.display(),
                build_command()
            ));
        }
    }
    let mut entries: Vec<Entry> = Subject::ALL
        .into_iter()
        .map(|subject| Entry {
            subject,
            before: false,
        })
        .collect();
    // The design before the index had fewer routes: those of its binaries
    // that are there (the echo is this build's, once).
    if let Some(dir) = before {
        let found: Vec<Entry> = Subject::FUNCTIONS
            .into_iter()
            .filter(|subject| dir.join(subject.binary()).exists())
            .map(|subject| Entry {
                subject,
                before: true,
            })
            .collect();
        if found.is_empty() {
            return Err(format!("--before {}: no function there", dir.display()));
        }
        entries.extend(found);
    }
    // A tenant and a table per binary: what one function's runs add (get's
    // and delete's targets, create's clients) must not lengthen another's
    // work, as the list's would (moto's Query takes longer per client).
    let mut upstreams = Vec::new();
    for _ in &entries {
        let upstream = Upstream::start_with(latency.rounds).await?;
        let listed = upstream.seed_listed(LISTED).await;
        upstreams.push((upstream, listed));
    }
    let contexts = upstreams
        .iter()
        .zip(&entries)
        .map(|((upstream, _), entry)| {
            let mut context = Context::new(upstream, binary_dir())?;
            if let (true, Some(dir)) = (entry.before, before) {
                context.bin_dir = dir.to_owned();
                context.logs = context.logs.join("before-owner-index");
                std::fs::create_dir_all(&context.logs)
                    .map_err(|e| format!("{}: {e}", context.logs.display()))?;
            }
            Ok::<_, String>(context)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let at = |entry: Entry| entries.iter().position(|e| *e == entry).unwrap_or(0);

    // One untimed start of each: the binaries are in the page cache from
    // then on, as they would be on a warm Lambda host.
    for (entry, context) in entries.iter().zip(&contexts) {
        context
            .measure(entry.subject, Credentials::InEnvironment, 0)
            .await?;
    }
    let mut samples: HashMap<Entry, Vec<Sample>> = HashMap::new();
    for round in 0..runs {
        // Rotate the order so that no binary always follows the same one.
        for i in 0..entries.len() {
            let k = (round + i) % entries.len();
            let sample = contexts[k]
                .measure(entries[k].subject, Credentials::InEnvironment, round + 1)
                .await?;
            samples.entry(entries[k]).or_default().push(sample);
        }
    }
    let discovery = at(Entry {
        subject: DISCOVERY_SUBJECT,
        before: false,
    });
    let mut discovered = Vec::new();
    for round in 0..DISCOVERY_RUNS {
        discovered.push(
            contexts[discovery]
                .measure(DISCOVERY_SUBJECT, Credentials::Discovered, runs + round + 1)
                .await?,
        );
    }
    // In the list's tenant, whose caller still has the clients it listed.
    let (upstream, listed) = &upstreams[at(Entry {
        subject: Subject::Function(Route::ListClients),
        before: false,
    })];
    let table = (
        upstream
            .table_alone(Route::GetClient, &listed[0], TABLE_SAMPLES)
            .await?,
        upstream
            .table_alone(Route::ListClients, &listed[0], TABLE_SAMPLES)
            .await?,
    );

    // The critical path: each function through relays, without delay and
    // with the critical path's own round-trip time.
    let mut path_rtts = vec![Duration::ZERO, latency.path_rtt];
    path_rtts.dedup();
    let mut paths: Vec<(Duration, Subject, Vec<Sample>)> = Vec::new();
    for (rtt, subject) in path_rtts
        .iter()
        .flat_map(|&rtt| Subject::FUNCTIONS.map(|subject| (rtt, subject)))
    {
        let upstream = Upstream::with_rtt(rtt).await?;
        upstream.seed_listed(LISTED).await;
        let context = Context::new(&upstream, binary_dir())?;
        // One untimed start, as in the rounds: a deployment's very first
        // create also makes the cursor key, which no later start does.
        context
            .measure(subject, Credentials::InEnvironment, 0)
            .await?;
        let mut starts = Vec::new();
        for n in 1..=latency.path_runs {
            starts.push(
                context
                    .measure(subject, Credentials::InEnvironment, n)
                    .await?,
            );
        }
        paths.push((rtt, subject, starts));
    }
    if let Some(rtt) = latency.rounds.filter(|rtt| !path_rtts.contains(rtt)) {
        for subject in Subject::FUNCTIONS {
            let entry = Entry {
                subject,
                before: false,
            };
            paths.push((
                rtt,
                subject,
                samples.get(&entry).cloned().unwrap_or_default(),
            ));
        }
    }

    let mut text = report(runs, latency.rounds, &samples, &discovered, table);
    let path_summary = critical_path(&mut text, &paths);
    publish(&text, markdown)?;
    if let Some(file) = summary_file {
        let echo: Vec<Duration> = samples
            .get(&Entry {
                subject: Subject::Echo,
                before: false,
            })
            .map(|s| s.iter().map(|s| s.cold).collect())
            .unwrap_or_default();
        let row = summary(median(&echo), &client_costs(&samples)) + &path_summary;
        std::fs::write(file, row).map_err(|e| format!("{}: {e}", file.display()))?;
    }
    Ok(())
}

struct Context<'a> {
    upstream: &'a Upstream,
    bin_dir: PathBuf,
    logs: PathBuf,
    token: String,
}

impl Context<'_> {
    fn new(upstream: &Upstream, bin_dir: PathBuf) -> Result<Context<'_>, String> {
        Ok(Context {
            upstream,
            bin_dir,
            logs: logs_dir()?,
            token: upstream.caller_token(CALLER),
        })
    }

    /// One cold start of `subject` with a fresh stub Runtime API; through
    /// relays, with credentials, its second request too (warm).
    async fn measure(
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
        let before = self.upstream_counts();
        let mark = self.upstream.calls_mark();
        let function = launch(&self.bin_dir.join(subject.binary()), &env, &log)
            .map_err(|e| format!("cannot exec {}: {e}", subject.binary()))?;
        let outcome = api.outcome(ANSWER_LIMIT).await;
        let started = function.started;
        let init = api.first_next().map(|at| at - started);
        // The first request's own: counted before a second one adds to them.
        let after = self.upstream_counts();
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
        let upstream = std::array::from_fn(|i| after[i] - before[i]);
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

    fn upstream_counts(&self) -> [usize; 4] {
        let emulator = &self.upstream.emulator;
        let requests = emulator.requests();
        let management = requests
            .iter()
            .filter(|r| !matches!(r.route, Auth0Route::Token | Auth0Route::Jwks))
            .count();
        [
            self.upstream.secret_reads(),
            emulator.jwks_fetches(),
            emulator.count(Auth0Route::Token),
            management,
        ]
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

fn report(
    runs: usize,
    rtt: Option<Duration>,
    samples: &HashMap<Entry, Vec<Sample>>,
    discovered: &[Sample],
    (get_alone, list_alone): (Duration, Duration),
) -> String {
    let column = |subject: Subject, pick: fn(&Sample) -> Duration| -> Vec<Duration> {
        samples
            .get(&Entry {
                subject,
                before: false,
            })
            .map(|s| s.iter().map(pick).collect())
            .unwrap_or_default()
    };
    let echo_cold = median(&column(Subject::Echo, |s| s.cold));
    let mut out = table_head(
        "binary | init: exec → first `next`, median (p90) | cold request: exec → answer, median (p90) | first invocation alone, median | cold request ÷ bare echo's | ≤ 2×",
        "lrrrrc",
    );
    let mut all_met = true;
    for subject in Subject::ALL {
        let init = column(subject, |s| s.init);
        let cold = column(subject, |s| s.cold);
        let invocation = column(subject, |s| s.cold.saturating_sub(s.init));
        let ratio = median(&cold).as_secs_f64() / echo_cold.as_secs_f64().max(1e-9);
        let met = subject == Subject::Echo || ratio <= 2.0;
        all_met &= met;
        let _ = writeln!(
            out,
            "| {} | {} ms ({}) | {} ms ({}) | {} ms | {:.2}× | {} |",
            subject.label(),
            ms(median(&init)),
            ms(percentile(&init, 0.9)),
            ms(median(&cold)),
            ms(percentile(&cold, 0.9)),
            ms(median(&invocation)),
            ratio,
            met_cell(subject, met),
        );
    }
    let _ = writeln!(
        out,
        "\n{runs} cold starts of each binary, taking turns, after one untimed start each; every \
         upstream (Secrets Manager, Auth0, the table) {}; \
         the token cache: {}. Target (every function's cold request ≤ 2× the bare echo's): **{}**.",
        reached(rtt),
        token_cache_setting(),
        verdict(all_met)
    );
    out.push('\n');
    out.push_str(&table_head(
        "function | upstream requests per cold start: Secrets Manager / JWKS / Auth0 token / Management API",
        "ll",
    ));
    for subject in Subject::FUNCTIONS {
        let mut seen: Vec<[usize; 4]> = samples
            .get(&Entry {
                subject,
                before: false,
            })
            .map(|s| s.iter().map(|s| s.upstream).collect())
            .unwrap_or_default();
        seen.sort();
        seen.dedup();
        let seen: Vec<String> = seen
            .iter()
            .map(|[s, j, t, m]| format!("{s} / {j} / {t} / {m}"))
            .collect();
        let _ = writeln!(out, "| {} | {} |", subject.label(), seen.join(", or "));
    }
    dynamodb_client_cost(&mut out, echo_cold, &client_costs(samples));
    let _ = writeln!(
        out,
        "\nThe owner index's table is moto's (a Python server), whose own time the first \
         requests include: get's GetItem, list's Query, delete's UpdateItem and transaction, \
         create's reads and transactions (`economy.rs`, `table_calls_per_operation`). From a warm \
         client in the driver, moto answers a GetItem in {} ms and a Query of the caller's \
         {LISTED} clients (as list's) in {} ms (medians of {TABLE_SAMPLES}). Each function has a \
         tenant and a table of its own, its caller owning {LISTED} clients to begin with.",
        ms(get_alone),
        ms(list_alone),
    );
    let init = discovered.iter().map(|s| s.init).collect::<Vec<_>>();
    let cold = discovered.iter().map(|s| s.cold).collect::<Vec<_>>();
    let statuses: Vec<String> = {
        let mut statuses: Vec<String> = discovered
            .iter()
            .map(|s| s.status.map_or("none".into(), |s| s.to_string()))
            .collect();
        statuses.sort();
        statuses.dedup();
        statuses
    };
    let _ = writeln!(
        out,
        "\nWithout AWS credentials in the environment (Lambda always sets them), `{}` \
         walks the SDK's whole credential chain (profile files, web identity, ECS, IMDS, here a \
         closed port on 127.0.0.1), finds nothing and answers {}: init {} ms, cold request {} ms \
         (medians of {} runs).",
        DISCOVERY_SUBJECT.binary(),
        statuses.join("/"),
        ms(median(&init)),
        ms(median(&cold)),
        discovered.len()
    );
    out
}

/// One function's cold start before the owner index and with it (medians
/// of the same rounds).
struct ClientCost {
    subject: Subject,
    init: (Duration, Duration),
    cold: (Duration, Duration),
}

impl ClientCost {
    /// What the DynamoDB client added to init, in seconds (negative if
    /// init came out shorter).
    fn added(&self) -> f64 {
        self.init.1.as_secs_f64() - self.init.0.as_secs_f64()
    }
}

/// Each function that was there before the index, before and with it
/// (none without `--before`).
fn client_costs(samples: &HashMap<Entry, Vec<Sample>>) -> Vec<ClientCost> {
    let pick = |subject, before, f: fn(&Sample) -> Duration| {
        let values: Vec<Duration> = samples
            .get(&Entry { subject, before })
            .map(|s| s.iter().map(f).collect())
            .unwrap_or_default();
        median(&values)
    };
    Subject::FUNCTIONS
        .into_iter()
        .filter(|&subject| {
            samples.contains_key(&Entry {
                subject,
                before: true,
            })
        })
        .map(|subject| ClientCost {
            subject,
            init: (
                pick(subject, true, |s| s.init),
                pick(subject, false, |s| s.init),
            ),
            cold: (
                pick(subject, true, |s| s.cold),
                pick(subject, false, |s| s.cold),
            ),
        })
        .collect()
}

/// What the owner index's DynamoDB client adds to a cold start, against
/// the bare echo's cold request.
fn dynamodb_client_cost(out: &mut String, echo_cold: Duration, costs: &[ClientCost]) {
    if costs.is_empty() {
        return;
    }
    let echo = echo_cold.as_secs_f64().max(1e-9);
    let _ = writeln!(
        out,
        "\nThe owner index's DynamoDB client, in the same rounds: the release binaries of the design before the \
         index (no DynamoDB client; list and get asked Auth0) beside this build's, medians. The client is built \
         during init, beside the Secrets Manager client and from the same loaded configuration, so the \
         difference in init is its cost (and that of anything else the design changed at init); the cold \
         request's difference also has the first request's table calls (moto's time) instead of the Auth0 \
         calls it no longer makes.\n"
    );
    out.push_str(&table_head(
        "before → with the index | init, ms | added to init, ms | … ÷ bare echo's cold request | cold request, ms | cold request ÷ bare echo's",
        "lrrrrr",
    ));
    for cost in costs {
        let _ = writeln!(
            out,
            "| {} | {} → {} | {:+.2} | {:+.2}× | {} → {} | {:.2}× → {:.2}× |",
            cost.subject.label(),
            ms(cost.init.0),
            ms(cost.init.1),
            cost.added() * 1000.0,
            cost.added() / echo,
            ms(cost.cold.0),
            ms(cost.cold.1),
            cost.cold.0.as_secs_f64() / echo,
            cost.cold.1.as_secs_f64() / echo,
        );
    }
}

/// The README summary's row: what the DynamoDB client added to init.
fn summary(echo_cold: Duration, costs: &[ClientCost]) -> String {
    if costs.is_empty() {
        return String::new();
    }
    let echo = echo_cold.as_secs_f64().max(1e-9);
    let figures: Vec<String> = costs
        .iter()
        .map(|cost| {
            format!(
                "{} {:+.2} ms ({:+.2}×)",
                cost.subject.binary(),
                cost.added() * 1000.0,
                cost.added() / echo
            )
        })
        .collect();
    format!(
        "| the owner index's DynamoDB client: added to a cold start's init (with the index − before it, medians of the same rounds; × the bare echo's cold request, {} ms) | {} | — |\n",
        ms(echo_cold),
        figures.join("; ")
    )
}

/// The first request's critical path, by function and round-trip time,
/// after the tables of `out`; the README summary's row for it (from the
/// first round-trip time other than 0 in `paths`).
fn critical_path(out: &mut String, paths: &[(Duration, Subject, Vec<Sample>)]) -> String {
    let _ = writeln!(
        out,
        "\nThe first request's critical path, from the relays' log: the upstream requests received \
         before the operation's own Auth0 call (its first Management API call; for an operation that \
         makes none, before its answer), and the longest chain of them in sequence (each received \
         after the one before it was answered): the cold chain. The same container then serves a \
         second request of the same kind (another create; a get, delete or change of another \
         client), warm: its chain, counted the same way, is the operation's own, made cold or warm. \
         What the cold start adds is the difference, cold − warm, start by start, and the target \
         (at most one upstream round trip before the operation's Auth0 call) is on it. With a \
         round-trip time, a chain is the round trips the request waited for before its Auth0 call; \
         without one, concurrent calls answer so fast that they can look sequential, so the counts \
         are upper bounds and get no verdict. Medians; where starts differ, their range.\n"
    );
    out.push_str(&table_head(
        "function | round-trip time | cold request: exec → answer, median | after init: first `next` → answer, median | warm request: queued → answer, median | before the Auth0 call, cold: secret reads / token requests / JWKS fetches / table calls | cold chain (round trips) | warm chain (round trips) | added by the cold start: cold − warm | ≤ 1",
        "lrrrrlrrrc",
    ));
    // The summary's round-trip time, each function's figures, whether all met.
    let mut summary: Option<(Duration, Vec<String>, bool)> = None;
    for (rtt, subject, samples) in paths {
        let found: Vec<&Paths> = samples.iter().filter_map(|s| s.paths.as_ref()).collect();
        if found.is_empty() {
            continue;
        }
        let cold: Vec<Duration> = samples.iter().map(|s| s.cold).collect();
        let after_init: Vec<Duration> = samples
            .iter()
            .map(|s| s.cold.saturating_sub(s.init))
            .collect();
        let warm_request: Vec<Duration> = found.iter().map(|p| p.warm_request).collect();
        let before = (0..4)
            .map(|i| span(found.iter().map(|p| p.cold.before[i] as i64)))
            .collect::<Vec<_>>()
            .join(" / ");
        let cold_chain = span(found.iter().map(|p| p.cold.in_sequence as i64));
        let warm_chain = span(found.iter().map(|p| p.warm.in_sequence as i64));
        let added = span(found.iter().map(|p| p.added_by_cold_start()));
        let most_added = found
            .iter()
            .map(|p| p.added_by_cold_start())
            .max()
            .unwrap_or(0);
        let calls_auth0 = found.iter().all(|p| p.cold.calls_management_api);
        let met = if !calls_auth0 {
            "— (no Auth0 call)"
        } else if rtt.is_zero() {
            "—"
        } else if most_added <= 1 {
            "yes"
        } else {
            "**no**"
        };
        let _ = writeln!(
            out,
            "| {} | {} ms | {} ms | {} ms | {} ms | {before} | {cold_chain} | {warm_chain} | {added} | {met} |",
            subject.label(),
            rtt.as_millis(),
            ms(median(&cold)),
            ms(median(&after_init)),
            ms(median(&warm_request)),
        );
        if calls_auth0 && !rtt.is_zero() {
            let entry = summary.get_or_insert((*rtt, Vec::new(), true));
            if entry.0 == *rtt {
                entry.1.push(format!(
                    "{} {added} ({cold_chain} cold − {warm_chain} warm)",
                    subject.binary()
                ));
                entry.2 &= most_added <= 1;
            }
        }
    }
    match summary {
        Some((rtt, figures, all_met)) => format!(
            "| first request's critical path: at most 1 upstream round trip added by the cold start before the operation's Auth0 call (the first request's chain − a warm request's of the same kind, same container; {} ms round-trip time injected) | {} | {} |\n",
            rtt.as_millis(),
            figures.join("; "),
            if all_met { "met" } else { "**not met**" }
        ),
        None => String::new(),
    }
}

/// `values` as one figure if they are all alike, else their range.
fn span(values: impl Iterator<Item = i64> + Clone) -> String {
    let low = values.clone().min().unwrap_or(0);
    let high = values.max().unwrap_or(0);
    if low == high {
        low.to_string()
    } else {
        format!("{low} to {high}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A start whose first request waited for `cold` round trips in
    /// sequence before its Auth0 call, and its second for `warm`.
    fn start(cold: usize, warm: usize) -> Sample {
        let path = |in_sequence| CriticalPath {
            before: [0, 0, 1, in_sequence],
            in_sequence,
            calls_management_api: true,
        };
        Sample {
            init: Duration::from_millis(3),
            cold: Duration::from_millis(100),
            status: Some(201),
            upstream: [0, 1, 0, 2],
            paths: Some(Paths {
                cold: path(cold),
                warm: path(warm),
                warm_request: Duration::from_millis(60),
            }),
        }
    }

    #[test]
    fn the_target_is_on_what_the_cold_start_adds_to_the_operations_own_chain() {
        let rtt = Duration::from_millis(20);
        let create = Subject::Function(Route::CreateClient);
        let delete = Subject::Function(Route::DeleteClient);

        // The JWKS, then the operation's two table calls, which it makes warm too.
        let mut out = String::new();
        let summary = critical_path(&mut out, &[(rtt, create, vec![start(3, 2), start(3, 2)])]);
        assert!(out.contains("| 3 | 2 | 1 | yes |"), "{out}");
        assert!(
            summary.contains("| create_client 1 (3 cold − 2 warm) | met |"),
            "{summary}"
        );

        // One start's cold chain two round trips longer than its warm one.
        let mut out = String::new();
        let summary = critical_path(&mut out, &[(rtt, delete, vec![start(2, 1), start(3, 1)])]);
        assert!(out.contains("| 2 to 3 | 1 | 1 to 2 | **no** |"), "{out}");
        assert!(summary.ends_with("| **not met** |\n"), "{summary}");

        // Without a round-trip time the counts are upper bounds: no verdict.
        let mut out = String::new();
        let summary = critical_path(&mut out, &[(Duration::ZERO, create, vec![start(4, 1)])]);
        assert!(out.contains("| 4 | 1 | 3 | — |"), "{out}");
        assert_eq!(summary, "");

        // The summary is the critical path's own round-trip time's, not also
        // the timed rounds' that come after it.
        let mut out = String::new();
        let rounds = Duration::from_millis(50);
        let summary = critical_path(
            &mut out,
            &[
                (rtt, create, vec![start(3, 2)]),
                (rounds, create, vec![start(4, 1)]),
            ],
        );
        assert!(out.contains("| 4 | 1 | 3 | **no** |"), "{out}");
        assert!(summary.contains("20 ms round-trip time"), "{summary}");
        assert!(
            summary.ends_with("| create_client 1 (3 cold − 2 warm) | met |\n"),
            "{summary}"
        );
    }
}
