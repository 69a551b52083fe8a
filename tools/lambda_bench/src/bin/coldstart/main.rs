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
//! With `--baseline DIR` (and `--baseline-label COMMIT`, what the report
//! calls it), the release binaries in DIR of an earlier commit
//! (scripts/bench.sh builds them from `BENCH_BASELINE_COMMIT`) take their
//! turns too, and the report adds each function's init and cold request
//! at that commit and at this one: whether a change made the cold start of
//! the functions it already had slower. The same rounds, so that what else
//! the machine does weighs on both alike; besides the medians, the median
//! of the round-by-round ratios (this ÷ baseline, the two starts of a round
//! well under a second apart).
//!
//! With `--functions a,b`, only those functions are started (with the echo,
//! and create_client and list_clients, which the start without credentials
//! and moto's share are measured with): on a busy machine, where each
//! release binary is a long LTO link, the ones a change concerns.
//!
//! ```text
//! cargo build --release $(scripts/functions.sh | sed 's/^/-p /') -p bare_echo
//! cargo build --release -p lambda_bench
//! target/release/coldstart [--runs 30] [--rtt-ms 0] [--path-runs 5] [--path-rtt-ms 20] [--before DIR]
//!     [--baseline DIR --baseline-label COMMIT] [--functions a,b] [--markdown FILE] [--summary FILE]
//! ```

mod critical_path;
mod report;
mod sample;
mod start;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use lambda_bench::upstream::{Credentials, Subject, Upstream, build_command};
use lambda_bench::{Args, binary_dir, exit, publish, write};
use m2m_shared::Route;
use test_support::stats::{median, ms};

use critical_path::critical_path;
use report::{Baseline, client_costs, report, summary};
use sample::{Build, DISCOVERY_RUNS, DISCOVERY_SUBJECT, Entry, LISTED, Sample, TABLE_SAMPLES};
use start::Context;

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
            let baseline = args.option("--baseline").map(|dir| Baseline {
                dir: PathBuf::from(dir),
                label: args
                    .option("--baseline-label")
                    .unwrap_or_else(|| "the baseline".into()),
            });
            // `--summary FILE`: the README summary's row (scripts/bench.sh).
            let summary = args.summary();
            let markdown = args.markdown("coldstart.md");
            let latency = Latency {
                rounds: args.rtt(),
                path_runs: args.count("--path-runs", 5),
                path_rtt: Duration::from_millis(args.count("--path-rtt-ms", 20) as u64),
            };
            let earlier = Earlier {
                before: before.as_deref(),
                baseline: baseline.as_ref(),
            };
            match subjects(args.option("--functions")) {
                Ok(subjects) => {
                    run(
                        runs,
                        latency,
                        earlier,
                        &subjects,
                        &markdown,
                        summary.as_deref(),
                    )
                    .await
                }
                Err(problem) => Err(problem),
            }
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

/// The echo and the functions `--functions` names, with those the driver
/// measures more with (all of them without it), in the route table's order.
fn subjects(only: Option<String>) -> Result<Vec<Subject>, String> {
    let Some(only) = only else {
        return Ok(Subject::ALL.to_vec());
    };
    let mut named = vec![
        Subject::Echo,
        DISCOVERY_SUBJECT,
        Subject::Function(Route::ListClients),
    ];
    for name in only.split(',').filter(|name| !name.is_empty()) {
        match Subject::from_binary(name) {
            Some(subject @ Subject::Function(_)) => named.push(subject),
            _ => return Err(format!("--functions: no function {name}")),
        }
    }
    Ok(Subject::ALL
        .into_iter()
        .filter(|subject| named.contains(subject))
        .collect())
}

/// Earlier builds whose binaries take turns with this build's.
#[derive(Clone, Copy)]
struct Earlier<'a> {
    /// The design before the owner index (`--before DIR`).
    before: Option<&'a Path>,
    /// An earlier commit's (`--baseline DIR`).
    baseline: Option<&'a Baseline>,
}

impl Earlier<'_> {
    /// The folder of `build`'s binaries, if it is started at all.
    fn dir(&self, build: Build) -> Option<PathBuf> {
        match build {
            Build::This => Some(binary_dir()),
            Build::Before => self.before.map(Path::to_owned),
            Build::Baseline => self.baseline.map(|b| b.dir.clone()),
        }
    }
}

async fn run(
    runs: usize,
    latency: Latency,
    earlier: Earlier<'_>,
    subjects: &[Subject],
    markdown: &Path,
    summary_file: Option<&Path>,
) -> Result<(), String> {
    let functions: Vec<Subject> = subjects
        .iter()
        .copied()
        .filter(|subject| *subject != Subject::Echo)
        .collect();
    for &subject in subjects {
        let binary = binary_dir().join(subject.binary());
        if !binary.exists() {
            return Err(format!(
                "{} not found: build with `{}` (and the drivers apart: `cargo build --release -p lambda_bench`)",
                binary.display(),
                build_command()
            ));
        }
    }
    let mut entries: Vec<Entry> = subjects.iter().copied().map(Entry::this).collect();
    // Earlier builds had fewer routes: those of their binaries that are
    // there (the echo is this build's, once).
    for build in [Build::Before, Build::Baseline] {
        let Some(dir) = earlier.dir(build) else {
            continue;
        };
        let found: Vec<Entry> = functions
            .iter()
            .copied()
            .filter(|subject| dir.join(subject.binary()).exists())
            .map(|subject| Entry { subject, build })
            .collect();
        if found.is_empty() {
            return Err(format!(
                "{} {}: no function there",
                build.option(),
                dir.display()
            ));
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
            let folder = match entry.build {
                Build::This => None,
                Build::Before => Some("before-owner-index"),
                Build::Baseline => Some("baseline"),
            };
            if let (Some(folder), Some(dir)) = (folder, earlier.dir(entry.build)) {
                context.bin_dir = dir;
                context.logs = context.logs.join(folder);
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
    let discovery = at(Entry::this(DISCOVERY_SUBJECT));
    let mut discovered = Vec::new();
    for round in 0..DISCOVERY_RUNS {
        discovered.push(
            contexts[discovery]
                .measure(DISCOVERY_SUBJECT, Credentials::Discovered, runs + round + 1)
                .await?,
        );
    }
    // In the list's tenant, whose caller still has the clients it listed.
    let (upstream, listed) = &upstreams[at(Entry::this(Subject::Function(Route::ListClients)))];
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
        .flat_map(|&rtt| functions.iter().map(move |&subject| (rtt, subject)))
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
        for &subject in &functions {
            let entry = Entry::this(subject);
            paths.push((
                rtt,
                subject,
                samples.get(&entry).cloned().unwrap_or_default(),
            ));
        }
    }

    let mut text = report(
        runs,
        latency.rounds,
        subjects,
        &samples,
        &discovered,
        table,
        earlier.baseline,
    );
    let path_summary = critical_path(&mut text, &paths);
    publish(&text, markdown)?;
    if let Some(file) = summary_file {
        let echo: Vec<Duration> = samples
            .get(&Entry::this(Subject::Echo))
            .map(|s| s.iter().map(|s| s.cold).collect())
            .unwrap_or_default();
        let row = summary(median(&echo), &client_costs(&samples)) + &path_summary;
        write(file, &row)?;
    }
    Ok(())
}
