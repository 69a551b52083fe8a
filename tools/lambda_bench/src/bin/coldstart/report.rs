//! The report's tables of cold starts: each binary's init and cold
//! request against the bare echo's, the upstream requests per start, what
//! the owner index's DynamoDB client costs (with `--before`), each function
//! at an earlier commit and at this one (with `--baseline`), moto's share,
//! the start without credentials; and the README summary's row.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use lambda_bench::upstream::{Counts, Subject, reached, token_cache_setting};
use lambda_bench::{met_cell, table_head, verdict};
use test_support::stats::{median, ms, percentile};

use crate::sample::{Build, DISCOVERY_SUBJECT, Entry, LISTED, Sample, TABLE_SAMPLES};

/// An earlier commit's release binaries (`--baseline DIR`), and what the
/// report calls them (`--baseline-label`, its commit).
pub(crate) struct Baseline {
    pub(crate) dir: PathBuf,
    pub(crate) label: String,
}

/// The tables of the timed rounds, the starts without credentials and
/// moto's own time for a GetItem and a Query (`get_alone`, `list_alone`).
pub(crate) fn report(
    runs: usize,
    rtt: Option<Duration>,
    subjects: &[Subject],
    samples: &HashMap<Entry, Vec<Sample>>,
    discovered: &[Sample],
    (get_alone, list_alone): (Duration, Duration),
    baseline: Option<&Baseline>,
) -> String {
    let column = |subject: Subject, pick: fn(&Sample) -> Duration| -> Vec<Duration> {
        samples
            .get(&Entry::this(subject))
            .map(|s| s.iter().map(pick).collect())
            .unwrap_or_default()
    };
    let echo_cold = median(&column(Subject::Echo, |s| s.cold));
    let mut out = table_head(
        "binary | init: exec → first `next`, median (p90) | cold request: exec → answer, median (p90) | first invocation alone, median | cold request ÷ bare echo's | ≤ 2×",
        "lrrrrc",
    );
    let mut all_met = true;
    for &subject in subjects {
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
    for &subject in subjects.iter().filter(|s| **s != Subject::Echo) {
        let mut seen: Vec<Counts> = samples
            .get(&Entry::this(subject))
            .map(|s| s.iter().map(|s| s.upstream).collect())
            .unwrap_or_default();
        seen.sort();
        seen.dedup();
        let seen: Vec<String> = seen
            .iter()
            .map(|c| {
                format!(
                    "{} / {} / {} / {}",
                    c.secret_reads, c.jwks_fetches, c.token_requests, c.management_calls
                )
            })
            .collect();
        let _ = writeln!(out, "| {} | {} |", subject.label(), seen.join(", or "));
    }
    dynamodb_client_cost(&mut out, echo_cold, &client_costs(samples));
    if let Some(baseline) = baseline {
        against_baseline(&mut out, runs, echo_cold, samples, &baseline.label);
    }
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
pub(crate) struct ClientCost {
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
pub(crate) fn client_costs(samples: &HashMap<Entry, Vec<Sample>>) -> Vec<ClientCost> {
    let pick = |subject, build, f: fn(&Sample) -> Duration| {
        let values: Vec<Duration> = samples
            .get(&Entry { subject, build })
            .map(|s| s.iter().map(f).collect())
            .unwrap_or_default();
        median(&values)
    };
    Subject::FUNCTIONS
        .into_iter()
        .filter(|&subject| {
            samples.contains_key(&Entry {
                subject,
                build: Build::Before,
            })
        })
        .map(|subject| ClientCost {
            subject,
            init: (
                pick(subject, Build::Before, |s| s.init),
                pick(subject, Build::This, |s| s.init),
            ),
            cold: (
                pick(subject, Build::Before, |s| s.cold),
                pick(subject, Build::This, |s| s.cold),
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

/// Each function the baseline commit had, there and here: init and cold
/// request medians, their ratio to this run's bare echo, and the median of
/// the round-by-round ratios (a round starts each binary once, so the two
/// starts of a pair ran under the same load).
fn against_baseline(
    out: &mut String,
    runs: usize,
    echo_cold: Duration,
    samples: &HashMap<Entry, Vec<Sample>>,
    label: &str,
) {
    let echo = echo_cold.as_secs_f64().max(1e-9);
    let _ = writeln!(
        out,
        "\nThe functions of `{label}` (the baseline) in the same rounds, its release binaries beside \
         this build's, medians of {runs} starts each; \"paired\" is the median of the round-by-round \
         ratios, this build's start ÷ the baseline's start of the same round.\n"
    );
    out.push_str(&table_head(
        "baseline → this build | init, ms | cold request, ms | cold request ÷ bare echo's | cold request, paired ratio | init, paired ratio",
        "lrrrrr",
    ));
    for subject in Subject::FUNCTIONS {
        let (Some(then), Some(now)) = (
            samples.get(&Entry {
                subject,
                build: Build::Baseline,
            }),
            samples.get(&Entry::this(subject)),
        ) else {
            continue;
        };
        let pick = |s: &[Sample], f: fn(&Sample) -> Duration| -> Vec<Duration> {
            s.iter().map(f).collect()
        };
        let paired = |f: fn(&Sample) -> Duration| -> f64 {
            let mut ratios: Vec<f64> = then
                .iter()
                .zip(now)
                .map(|(a, b)| f(b).as_secs_f64() / f(a).as_secs_f64().max(1e-9))
                .collect();
            ratios.sort_by(f64::total_cmp);
            ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN)
        };
        let cold = (
            median(&pick(then, |s| s.cold)),
            median(&pick(now, |s| s.cold)),
        );
        let _ = writeln!(
            out,
            "| {} | {} → {} | {} → {} | {:.2}× → {:.2}× | {:.3} | {:.3} |",
            subject.label(),
            ms(median(&pick(then, |s| s.init))),
            ms(median(&pick(now, |s| s.init))),
            ms(cold.0),
            ms(cold.1),
            cold.0.as_secs_f64() / echo,
            cold.1.as_secs_f64() / echo,
            paired(|s| s.cold),
            paired(|s| s.init),
        );
    }
}

/// The README summary's row: what the DynamoDB client added to init.
pub(crate) fn summary(echo_cold: Duration, costs: &[ClientCost]) -> String {
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
