//! The report: the largest tenant's table, the table by tenant size, the
//! paced list, and the README summary's rows.

use std::fmt::Write as _;
use std::time::Duration;

use lambda_bench::verdict;
use m2m_shared::Route;
use test_support::stats::{ms, percentile};

use crate::cells::{AUTH0_PAGE, Cell, Design, FLAT, OPERATIONS, PACED_REQUESTS};

/// `n` with a comma every three digits (`20,000`).
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One design's cell for `operation` in the tenant of `size` clients.
fn find(cells: &[Cell], size: usize, operation: Route, design: usize) -> Option<&Cell> {
    cells
        .iter()
        .find(|c| c.size == size && c.operation == operation && c.design == design)
}

/// `a` ÷ `b`.
fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

/// The report: by operation and design in the largest tenant, then by
/// tenant size, then the paced list.
pub(crate) fn report(
    designs: &[Design],
    sizes: &[usize],
    owned: usize,
    requests: usize,
    pace: usize,
    cells: &[Cell],
    paced: &[Cell],
) -> String {
    let mut out = String::new();
    let largest = *sizes.last().unwrap_or(&0);
    let smallest = sizes[0];
    let after = designs.len() - 1;
    let label = |design: &Design| {
        if design.indexed {
            "with the index"
        } else {
            "before the index"
        }
    };
    let opt_ms = |t: Option<Duration>| t.map_or("—".into(), ms);
    let _ = writeln!(
        out,
        "Warm, a tenant of {} M2M clients, {owned} of them the caller's: the round trip, the Management API calls it made, \
         and the upstream stand-ins' own time for the same calls made again from the driver (the Auth0 emulator's, moto's); \
         the remainder is the function's own work, the Runtime API's and the event's.\n",
        thousands(largest)
    );
    let _ = writeln!(
        out,
        "| operation | design | round trip: median (p90), ms | Auth0 calls | the emulator alone, ms | moto alone, ms | remainder, ms | before ÷ with |"
    );
    let _ = writeln!(
        out,
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for operation in OPERATIONS {
        for (d, design) in designs.iter().enumerate() {
            let Some(cell) = find(cells, largest, operation, d) else {
                continue;
            };
            let timing = match &cell.failure {
                Some(_) if cell.round_trips.is_empty() => cell.timing(),
                _ => format!(
                    "{} ({})",
                    ms(cell.median()),
                    ms(percentile(&cell.round_trips, 0.9))
                ),
            };
            let upstream =
                cell.auth0_alone.unwrap_or_default() + cell.table_alone.unwrap_or_default();
            // Separate measurements: the stand-ins alone can come out a
            // little slower than the whole round trip.
            let remainder = match (&cell.failure, cell.median().checked_sub(upstream)) {
                (Some(_), _) => "—".into(),
                (None, Some(rest)) => ms(rest),
                (None, None) => "≈ 0".into(),
            };
            let speedup = match (design.indexed, find(cells, largest, operation, 0)) {
                (true, Some(before))
                    if d > 0 && before.failure.is_none() && cell.failure.is_none() =>
                {
                    format!("{:.1}×", ratio(before.median(), cell.median()))
                }
                (true, Some(_)) if d > 0 => "—".into(),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {timing} | {} | {} | {} | {remainder} | {speedup} |",
                operation.function(),
                label(design),
                cell.calls(),
                opt_ms(cell.auth0_alone),
                opt_ms(cell.table_alone),
            );
        }
    }
    let _ = writeln!(
        out,
        "\nBy tenant size ({owned} clients the caller's at every size): median round trip in ms (Management API calls per request), \
         and below it the stand-ins' own time for the same calls (the emulator's and moto's, summed).\n"
    );
    let mut header = "| operation | design |".to_owned();
    let mut rule = "| --- | --- |".to_owned();
    for &size in sizes {
        let _ = write!(header, " {} |", thousands(size));
        rule.push_str(" ---: |");
    }
    let _ = write!(
        header,
        " {} ÷ {} |",
        thousands(largest),
        thousands(smallest)
    );
    rule.push_str(" ---: |");
    let _ = writeln!(out, "{header}\n{rule}");
    for operation in OPERATIONS {
        for (d, design) in designs.iter().enumerate() {
            let mut row = format!("| {} | {} |", operation.function(), label(design));
            let mut alone_row = format!("| {} | … stand-ins alone |", operation.function());
            let mut alone = Vec::new();
            for &size in sizes {
                let cell = find(cells, size, operation, d);
                let text = cell.map_or("—".into(), |c| match &c.failure {
                    Some(_) if c.round_trips.is_empty() => c.timing(),
                    _ => format!("{} ({})", ms(c.median()), c.calls()),
                });
                let _ = write!(row, " {text} |");
                let time = cell.and_then(|c| match (c.auth0_alone, c.table_alone) {
                    (None, None) => None,
                    (a, t) => Some(a.unwrap_or_default() + t.unwrap_or_default()),
                });
                let _ = write!(alone_row, " {} |", opt_ms(time));
                alone.push(time);
            }
            let growth =
                growth(cells, sizes, operation, d).map_or("—".into(), |g| format!("{g:.2}"));
            let _ = writeln!(out, "{row} {growth} |");
            let growth = match (
                alone.first().copied().flatten(),
                alone.last().copied().flatten(),
            ) {
                (Some(s), Some(l)) => format!("{:.2}", ratio(l, s)),
                _ => "—".into(),
            };
            let _ = writeln!(out, "{alone_row} {growth} |");
        }
    }
    let flat = growth(cells, sizes, Route::ListClients, after);
    let _ = writeln!(
        out,
        "\n{requests} warm requests per design, operation and size, after one cold one; the designs take turns request by request, \
         against the same emulated tenant (the caller's clients spread evenly through it, the others of 1,000 other owners) and the same \
         table in moto (the caller's clients only). A deleted client is replaced by a new one, so the caller owns {owned} before every request \
         (and one the design before the index deleted is taken out of the table, as the reconciler would). \
         Target (list with the index flat from {} to {} tenant clients: {} ÷ {} ≤ {FLAT}): **{}** ({}).",
        thousands(smallest),
        thousands(largest),
        thousands(largest),
        thousands(smallest),
        verdict(flat.is_some_and(|f| f <= FLAT)),
        flat.map_or("not measured".into(), |f| format!("{f:.2}")),
    );
    if !paced.is_empty() {
        let _ = writeln!(
            out,
            "\nAuth0 at its rate limit: the list of {} clients again, every Management API list call answered {:.1} ms late ({pace} requests a second, the best plan's limit; {} requests per design after a cold one, none more after one that fails):\n",
            thousands(largest),
            1000.0 / pace as f64,
            PACED_REQUESTS
        );
        let _ = writeln!(
            out,
            "| design | list_clients, paced: median (p90), or the answer | Auth0 calls per request | calls a whole list needs |"
        );
        let _ = writeln!(out, "| --- | ---: | ---: | ---: |");
        for cell in paced {
            let design = &designs[cell.design];
            let needs = if design.indexed {
                "0".to_owned()
            } else {
                thousands(largest.div_ceil(AUTH0_PAGE))
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {needs} |",
                label(design),
                cell.timing(),
                cell.calls()
            );
        }
    }
    out
}

/// The largest tenant's median ÷ the smallest's, for one operation and design.
fn growth(cells: &[Cell], sizes: &[usize], operation: Route, design: usize) -> Option<f64> {
    let largest = find(cells, *sizes.last()?, operation, design)?;
    let smallest = find(cells, sizes[0], operation, design)?;
    (largest.failure.is_none() && smallest.failure.is_none())
        .then(|| ratio(largest.median(), smallest.median()))
}

/// The README summary's rows: the flatness target, and before → after.
pub(crate) fn summary(
    designs: &[Design],
    sizes: &[usize],
    owned: usize,
    cells: &[Cell],
    (pace, paced): (usize, &[Cell]),
) -> String {
    let after = designs.len() - 1;
    let largest = *sizes.last().unwrap_or(&0);
    let flat = growth(cells, sizes, Route::ListClients, after);
    let before = if designs.len() > 1 {
        growth(cells, sizes, Route::ListClients, 0)
            .map_or(String::new(), |g| format!(" (before the index: {g:.1}×)"))
    } else {
        String::new()
    };
    let mut out = format!(
        "| list flat as the tenant grows: median at {} ÷ at {} tenant clients ≤ {FLAT}× | {}{before} | {} |\n",
        thousands(largest),
        thousands(sizes[0]),
        flat.map_or("not measured".into(), |f| format!("{f:.2}×")),
        if flat.is_some_and(|f| f <= FLAT) {
            "met"
        } else {
            "**not met**"
        },
    );
    if designs.len() < 2 {
        return out;
    }
    let figures: Vec<String> = OPERATIONS
        .iter()
        .filter_map(|&operation| {
            let before = find(cells, largest, operation, 0)?;
            let now = find(cells, largest, operation, after)?;
            let name = operation
                .function()
                .trim_end_matches("_clients")
                .trim_end_matches("_client");
            let timing = |cell: &Cell| match &cell.failure {
                Some(_) if cell.round_trips.is_empty() => cell.timing(),
                _ => format!("{} ms", ms(cell.median())),
            };
            Some(format!(
                "{name} {} → {} Auth0 calls, {} → {}",
                before.calls(),
                now.calls(),
                timing(before),
                timing(now),
            ))
        })
        .collect();
    let _ = writeln!(
        out,
        "| warm at {} tenant clients (the caller's {owned}), before the owner index → with it (medians; locally the table, moto, is slower than the Auth0 emulator) | {} | — |",
        thousands(largest),
        figures.join("; ")
    );
    if let (Some(before), Some(now)) = (
        paced.iter().find(|c| c.design == 0),
        paced.iter().find(|c| c.design == after),
    ) {
        let _ = writeln!(
            out,
            "| list of {} tenant clients with Auth0 at {pace} requests a second, before → with the index (every request answered within 12 s) | {} ({} of {} Auth0 calls made) → {} (0) | {} |",
            thousands(largest),
            before.timing(),
            before.calls(),
            thousands(largest.div_ceil(AUTH0_PAGE)),
            now.timing(),
            if now.failure.is_none() {
                "met"
            } else {
                "**not met**"
            },
        );
    }
    out
}
