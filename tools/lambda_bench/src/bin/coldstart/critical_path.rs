//! The first request's critical path, from the relays' log: what it
//! waited for before the operation's own Auth0 call, against a warm
//! request's of the same kind, by function and round-trip time.

use std::fmt::Write as _;
use std::time::Duration;

use lambda_bench::table_head;
use lambda_bench::upstream::Subject;
use test_support::stats::{median, ms};

use crate::sample::{Paths, Sample};

/// The first request's critical path, by function and round-trip time,
/// after the tables of `out`; the README summary's row for it (from the
/// first round-trip time other than 0 in `paths`).
pub(crate) fn critical_path(
    out: &mut String,
    paths: &[(Duration, Subject, Vec<Sample>)],
) -> String {
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
    use lambda_bench::relay::CriticalPath;
    use lambda_bench::upstream::Counts;
    use m2m_shared::Route;

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
            upstream: Counts {
                secret_reads: 0,
                jwks_fetches: 1,
                token_requests: 0,
                management_calls: 2,
            },
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
