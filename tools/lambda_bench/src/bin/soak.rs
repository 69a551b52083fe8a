//! Memory over many requests: one process per function serves `--requests`
//! (default 1,000) mixed invocations through the stub Runtime API, one at a
//! time: successes, 401s without a token and with a token signed by an
//! unpublished key, and 400s (create), 404s (get, delete) or an empty list
//! (list, another caller). Its resident
//! memory (`/proc/PID/status`) is sampled as it goes; the peak (`VmHWM`) and
//! the growth from request 100 to the last are reported, with the round
//! trip of a warm request as the Runtime API sees it (stub upstreams
//! included). Markdown goes to `--markdown FILE` (default
//! `target/lambda-bench/soak.md`).

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use lambda_bench::runtime_api::RuntimeApi;
use lambda_bench::upstream::{
    Ask, CALLER, Counts, Credentials, Subject, Upstream, client_id_of, request_for,
};
use lambda_bench::{
    ANSWER_LIMIT, Args, answer, binary_dir, exit, expect_status, launch, logs_dir, met_cell,
    publish, table_head, verdict,
};
use m2m_shared::Route;
use test_support::stats::{median, ms, percentile};

/// Peak resident memory allowed.
const RSS_LIMIT_KIB: u64 = 20 * 1024;
/// Growth from request 100 to the last that still counts as flat (allocator
/// slack).
const GROWTH_LIMIT_KIB: u64 = 512;

struct Soak {
    subject: Subject,
    requests: usize,
    rss_at_100: u64,
    rss_at_end: u64,
    peak: u64,
    round_trips: Vec<Duration>,
    /// Secrets Manager reads, JWKS fetches and token requests over the soak.
    fetches: Counts,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::from_env();
    let requests = args.count("--requests", 1000).max(100);
    exit("soak", run(requests, &args.markdown("soak.md")).await)
}

fn ask(i: usize) -> Ask {
    match (i % 20, i % 10) {
        (19, _) => Ask::ForeignToken,
        (_, 8) => Ask::NoToken,
        (_, 9) => Ask::Refused,
        _ => Ask::Success,
    }
}

async fn run(requests: usize, markdown: &Path) -> Result<(), String> {
    let bin_dir = binary_dir();
    let logs = logs_dir()?;
    let mut results = Vec::new();
    for subject in Subject::ALL {
        // A fresh tenant per function: creates must not make lists longer.
        let upstream = Upstream::start().await?;
        upstream.seed_listed(5).await;
        results.push(soak(&upstream, &bin_dir, &logs, subject, requests).await?);
    }
    publish(&report(&results), markdown)
}

async fn soak(
    upstream: &Upstream,
    bin_dir: &Path,
    logs: &Path,
    subject: Subject,
    requests: usize,
) -> Result<Soak, String> {
    let token = upstream.caller_token(CALLER);
    let api = RuntimeApi::start()
        .await
        .map_err(|e| format!("cannot start the Runtime API stub: {e}"))?;
    let env = upstream.environment(subject, &api.address(), Credentials::InEnvironment);
    let log = logs.join(format!("soak-{}.log", subject.binary()));
    let _ = std::fs::remove_file(&log);
    let function = launch(&bin_dir.join(subject.binary()), &env, &log)
        .map_err(|e| format!("cannot exec {}: {e}", subject.binary()))?;
    let mut round_trips = Vec::with_capacity(requests);
    let mut rss_at_100 = 0;
    for i in 0..requests {
        let ask = ask(i);
        let (event, seeded) = request_for(upstream, subject, ask, &token, i).await;
        let what = format!("{}: request {i} ({ask:?})", subject.binary());
        let sent = Instant::now();
        api.invoke(event);
        let outcome = answer(api.outcome(ANSWER_LIMIT).await, &what, &log)?;
        expect_status(&outcome, ask.expected_status(subject), &what, &log)?;
        // The first request is the cold one.
        if i > 0 {
            round_trips.push(outcome.at - sent);
        }
        // The client the request named or created leaves the table: moto
        // copies a table for every transaction (and its heap grows, and
        // with it its pauses), so that by the last request moto would be
        // slower than DynamoDB, which does not slow down as a table grows,
        // to the point of timing out the function's calls.
        let created = match subject {
            Subject::Function(Route::CreateClient) => client_id_of(&outcome.body),
            _ => None,
        };
        if let Some(id) = seeded.or(created) {
            upstream.forget(&id).await?;
        }
        if i + 1 == 100 {
            rss_at_100 = function
                .memory_kib()
                .map(|(rss, _)| rss)
                .unwrap_or_default();
        }
    }
    let (rss_at_end, peak) = function.memory_kib().unwrap_or_default();
    function.stop().await;
    let fetches = upstream.counts();
    Ok(Soak {
        subject,
        requests,
        rss_at_100,
        rss_at_end,
        peak,
        round_trips,
        fetches,
    })
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

fn report(results: &[Soak]) -> String {
    let mut out = table_head(
        "binary | requests | peak RSS (MiB) | RSS after 100 (MiB) | RSS after all (MiB) | growth 100 → all (KiB) | warm round trip, median / p99 (ms) | secret reads / JWKS fetches / token requests | ≤ 20 MB, flat",
        "lrrrrrrcc",
    );
    let mut all_met = true;
    for soak in results {
        let growth = soak.rss_at_end as i64 - soak.rss_at_100 as i64;
        let met = soak.peak <= RSS_LIMIT_KIB && growth <= GROWTH_LIMIT_KIB as i64;
        if soak.subject != Subject::Echo {
            all_met &= met;
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:+} | {} / {} | {} / {} / {} | {} |",
            soak.subject.label(),
            soak.requests,
            mib(soak.peak),
            mib(soak.rss_at_100),
            mib(soak.rss_at_end),
            growth,
            ms(median(&soak.round_trips)),
            ms(percentile(&soak.round_trips, 0.99)),
            soak.fetches.secret_reads,
            soak.fetches.jwks_fetches,
            soak.fetches.token_requests,
            met_cell(soak.subject, met),
        );
    }
    let _ = writeln!(
        out,
        "\nOne process per function; every 10 requests: 7 successes, one 401 without a token, \
         one 400 (create: no name), 404 (get, delete: unknown id) or empty list (list: another caller), and every 20th a token signed by an \
         unpublished key (401; the JWKS is refetched at most once per 30 s). Round trips are \
         from queueing the event to the stub Runtime API having the answer, upstream stubs \
         included; after each request the driver takes the client it named or created out of \
         the table (moto, unlike DynamoDB, slows down as a table grows). Target (peak ≤ 20 MB, growth ≤ {GROWTH_LIMIT_KIB} KiB): **{}**.",
        verdict(all_met)
    );
    out
}
