//! The owner index at scale: list, get and delete, warm, in a tenant of
//! `--sizes` machine-to-machine clients (default 100, 1,000 and 20,000), of
//! which the caller owns `--owned` (default 50, the default quota).
//!
//! Each release binary is exec'd as `coldstart` and `soak` do (a stub
//! Runtime API, the Auth0 emulator, a Secrets Manager stub, the owner
//! index's table in moto), sent one untimed cold request, then `--requests`
//! warm ones (default 20); the round trip is from queueing the event to the
//! stub Runtime API having the answer, upstreams included, and the
//! Management API calls each request made are counted at the emulator.
//!
//! With `--before DIR`, the release binaries in DIR (built from commit
//! 9874484, the design before the owner index: list paged through the whole
//! tenant, 100 clients a Management API call, get and delete asked Auth0)
//! run beside this build's, against the same tenant; the report gives both
//! medians and their ratio. Every tenant size and design takes its turn
//! request by request, so that the machine's other work falls on all alike,
//! and the upstream stand-ins' own time for the same calls (the emulator's,
//! moto's) is measured from the driver, to tell them from the function's.
//!
//! With `--pace N` (default 16; 0 for none), the largest tenant is listed
//! once more with every Management API page call answered 1/N s late: Auth0
//! at the rate limit of its best plan (docs/owner-index.md), which the
//! emulator otherwise does not have.
//!
//! ```text
//! cargo build --release $(scripts/functions.sh | sed 's/^/-p /') -p bare_echo
//! cargo build --release -p lambda_bench
//! target/release/scale [--sizes 100,1000,20000] [--owned 50] [--requests 20]
//!     [--before DIR] [--pace 16] [--markdown FILE] [--summary FILE]
//! ```
//!
//! `--summary FILE` also writes the README summary's rows (scripts/bench.sh).
//!
//! The table holds the caller's clients only: moto answers a Query by
//! scanning every item of the table and copies the whole table for every
//! transaction, so other owners' items would measure moto, while
//! DynamoDB's Query and GetItem read the caller's partition alone.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use auth0_emulator::{Fault, RecordedRequest, Route as Auth0Route};
use lambda_bench::runtime_api::RuntimeApi;
use lambda_bench::upstream::{CALLER, Credentials, Subject, Upstream, build_command, status_of};
use lambda_bench::{
    ANSWER_LIMIT, Args, Function, answer, binary_dir, exit, launch, logs_dir, publish, verdict,
};
use m2m_shared::Route;
use serde_json::Value;
use test_support::event::Event;
use test_support::setup;
use test_support::stats::{median, ms, percentile};

/// The operations measured, in the report's order.
const OPERATIONS: [Route; 3] = [Route::ListClients, Route::GetClient, Route::DeleteClient];
/// Auth0's page size, which the design before the index listed with.
const AUTH0_PAGE: usize = 100;
/// The largest list ÷ the smallest that still counts as flat: the
/// request's work does not change with the tenant, so what remains is
/// timing noise on a shared machine.
const FLAT: f64 = 1.25;
/// Requests of the paced list, per design (the design before the index
/// stops at its first failure).
const PACED_REQUESTS: usize = 5;
/// Replays of a request's Management API calls from the driver.
const REPLAYS: usize = 5;

/// A build of the functions.
struct Design {
    label: &'static str,
    bin_dir: PathBuf,
    /// Whether it keeps the owner index (this build) or not (before).
    indexed: bool,
}

/// What one design's function did for one operation in one tenant.
struct Cell {
    size: usize,
    operation: Route,
    design: usize,
    round_trips: Vec<Duration>,
    /// Management API calls per request.
    auth0_calls: Vec<usize>,
    /// The first answer that was not a success (then no more are sent).
    failure: Option<Failure>,
    /// With the index: moto's own time for the request's table calls,
    /// made from the driver (median).
    table_alone: Option<Duration>,
    /// The Management API calls of the last request answered.
    auth0_requests: Vec<RecordedRequest>,
    /// The emulator's own time for them, replayed from the driver (median).
    auth0_alone: Option<Duration>,
}

struct Failure {
    status: Option<u16>,
    after: Duration,
    auth0_calls: usize,
    body: String,
}

impl Failure {
    fn of(answer: Answer) -> Failure {
        Failure {
            status: answer.status,
            after: answer.round_trip,
            auth0_calls: answer.auth0_calls,
            body: answer.raw,
        }
    }
}

impl Cell {
    fn new(size: usize, operation: Route, design: usize) -> Cell {
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

    fn median(&self) -> Duration {
        median(&self.round_trips)
    }

    fn calls(&self) -> String {
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
    fn timing(&self) -> String {
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

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::from_env();
    exit("scale", run(&args).await)
}

async fn run(args: &Args) -> Result<(), String> {
    let mut sizes: Vec<usize> = args
        .option("--sizes")
        .unwrap_or_else(|| "100,1000,20000".into())
        .split(',')
        .map(|n| n.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("--sizes: {e}"))?;
    sizes.sort_unstable();
    sizes.dedup();
    let owned = args.count("--owned", 50).max(1);
    let requests = args.count("--requests", 20).max(1);
    let pace = args.count("--pace", 16);
    if sizes.is_empty() || sizes[0] < owned {
        return Err(format!("every size must be at least --owned ({owned})"));
    }
    let mut designs = Vec::new();
    if let Some(before) = args.option("--before") {
        designs.push(Design {
            label: "before",
            bin_dir: PathBuf::from(before),
            indexed: false,
        });
    }
    designs.push(Design {
        label: "after",
        bin_dir: binary_dir(),
        indexed: true,
    });
    for design in &designs {
        for operation in OPERATIONS {
            let binary = design.bin_dir.join(operation.function());
            if !binary.exists() {
                return Err(format!(
                    "{} not found: build with `{}`",
                    binary.display(),
                    build_command()
                ));
            }
        }
    }
    let logs = logs_dir()?;
    let mut cells = Vec::new();
    let mut paced = Vec::new();
    let mut tenants = Vec::new();
    for &size in &sizes {
        println!("== seeding a tenant of {size} clients, {owned} of them the caller's");
        tenants.push(Tenant::seed(size, owned).await?);
    }
    for operation in OPERATIONS {
        println!("== {}", operation.function());
        let measured = measure(&mut tenants, &designs, operation, requests, &logs).await?;
        for cell in &measured {
            println!(
                "{} {} at {}: {} (Auth0 calls per request: {}; moto alone: {})",
                designs[cell.design].label,
                operation.function(),
                cell.size,
                cell.timing(),
                cell.calls(),
                cell.table_alone.map_or("—".into(), ms),
            );
        }
        cells.extend(measured);
    }
    if let (true, Some(tenant)) = (pace > 0, tenants.last_mut()) {
        println!("== the list again, Auth0 answering {pace} requests a second");
        paced = measure_paced(tenant, &designs, pace, &logs).await?;
        for cell in &paced {
            println!(
                "{} list_clients at {}, paced: {} (Auth0 calls: {})",
                designs[cell.design].label,
                cell.size,
                cell.timing(),
                cell.calls()
            );
        }
    }
    let report = report(&designs, &sizes, owned, requests, pace, &cells, &paced);
    publish(&report, &args.markdown("scale.md"))?;
    if let Some(file) = args.option("--summary") {
        let summary = summary(&designs, &sizes, owned, &cells, (pace, &paced));
        std::fs::write(&file, summary).map_err(|e| format!("{file}: {e}"))?;
    }
    // The owner index's design must answer everything it was asked.
    let after = designs.len() - 1;
    if let Some(cell) = cells
        .iter()
        .chain(&paced)
        .find(|c| c.design == after && c.failure.is_some())
    {
        let failure = cell.failure.as_ref().map(|f| f.body.as_str()).unwrap_or("");
        return Err(format!(
            "{} at {} failed: {failure}",
            cell.operation.function(),
            cell.size
        ));
    }
    Ok(())
}

/// The upstreams of one tenant size, and the caller's clients in it.
struct Tenant {
    upstream: Upstream,
    size: usize,
    token: String,
    /// The caller's clients, in the tenant and in the owner index.
    mine: VecDeque<String>,
    seeded: usize,
}

impl Tenant {
    /// `size` M2M clients, `owned` of them the caller's (spread evenly
    /// through the tenant, so that no design finds them first), the rest
    /// of a thousand other owners.
    async fn seed(size: usize, owned: usize) -> Result<Tenant, String> {
        let upstream = Upstream::start().await?;
        let token = upstream.caller_token(CALLER);
        let spacing = size / owned;
        let mut tenant = Tenant {
            upstream,
            size,
            token,
            mine: VecDeque::new(),
            seeded: 0,
        };
        for n in 0..size {
            if n % spacing == 0 && tenant.mine.len() < owned {
                tenant.seed_mine().await;
            } else {
                setup::seed_owned_client(
                    &tenant.upstream.emulator,
                    &format!("bench-other-{}", n % 1000),
                    &format!("someone else's {n}"),
                );
            }
        }
        Ok(tenant)
    }

    /// One more client of the caller's, at the end of the tenant.
    async fn seed_mine(&mut self) {
        let name = format!("mine {}", self.seeded);
        self.seeded += 1;
        let id = self.upstream.seed_client(&name).await;
        self.mine.push_back(id);
    }

    /// The Management API calls the emulator has had.
    fn management_calls(&self) -> Vec<RecordedRequest> {
        self.upstream
            .emulator
            .requests()
            .into_iter()
            .filter(|r| !matches!(r.route, Auth0Route::Token | Auth0Route::Jwks))
            .collect()
    }

    /// The emulator's time for `requests` made again, in order, from the
    /// driver: median of [`REPLAYS`], after an untimed one.
    async fn replay(&self, requests: &[RecordedRequest]) -> Result<Duration, String> {
        // The service's own HTTP client, its connection made in the
        // untimed round.
        let http = m2m_shared::http::client()?;
        let token = setup::management_token(&http, &self.upstream.emulator).await;
        let base = self.upstream.emulator.base_url();
        let mut times = Vec::new();
        for round in 0..=REPLAYS {
            let started = Instant::now();
            for request in requests {
                let mut url = format!("{base}{}", request.path);
                if !request.query.is_empty() {
                    url = format!("{url}?{}", request.query);
                }
                let builder = match request.method.as_str() {
                    "GET" => http.get(&url),
                    "DELETE" => http.delete(&url),
                    other => return Err(format!("no replay of {other} {url}")),
                };
                let answer = builder
                    .bearer_auth(&token)
                    .send()
                    .await
                    .map_err(|e| format!("replay of {url}: {e}"))?;
                answer
                    .bytes()
                    .await
                    .map_err(|e| format!("replay of {url}: {e}"))?;
            }
            if round > 0 {
                times.push(started.elapsed());
            }
        }
        Ok(median(&times))
    }
}

/// One design's function, running.
struct Running {
    api: RuntimeApi,
    function: Function,
    log: PathBuf,
    what: String,
}

async fn start(
    tenant: &Tenant,
    design: &Design,
    operation: Route,
    logs: &Path,
) -> Result<Running, String> {
    let subject = Subject::Function(operation);
    let api = RuntimeApi::start()
        .await
        .map_err(|e| format!("cannot start the Runtime API stub: {e}"))?;
    let env = tenant
        .upstream
        .environment(subject, &api.address(), Credentials::InEnvironment);
    let log = logs.join(format!("scale-{}-{}.log", design.label, subject.binary()));
    let _ = std::fs::remove_file(&log);
    let function = launch(&design.bin_dir.join(subject.binary()), &env, &log)
        .map_err(|e| format!("cannot exec {}: {e}", subject.binary()))?;
    Ok(Running {
        api,
        function,
        log,
        what: format!("{} {} at {}", design.label, subject.binary(), tenant.size),
    })
}

/// What one request answered.
struct Answer {
    status: Option<u16>,
    round_trip: Duration,
    auth0_calls: usize,
    auth0_requests: Vec<RecordedRequest>,
    body: Value,
    raw: String,
}

async fn send(tenant: &Tenant, running: &Running, event: String) -> Result<Answer, String> {
    let before = tenant.management_calls().len();
    let sent = Instant::now();
    running.api.invoke(event);
    let outcome = answer(
        running.api.outcome(ANSWER_LIMIT).await,
        &running.what,
        &running.log,
    )?;
    let round_trip = outcome.at - sent;
    let auth0_requests = tenant.management_calls().split_off(before);
    let document: Value = serde_json::from_slice(&outcome.body).unwrap_or_default();
    let raw = document["body"].as_str().unwrap_or_default().to_owned();
    Ok(Answer {
        status: status_of(&outcome.body),
        round_trip,
        auth0_calls: auth0_requests.len(),
        auth0_requests,
        body: serde_json::from_str(&raw).unwrap_or_default(),
        raw,
    })
}

/// Whether `answer` is the operation's success, checked for content: the
/// whole list of the caller's clients, the client asked for.
fn check(
    tenant: &Tenant,
    operation: Route,
    target: Option<&str>,
    answer: &Answer,
    what: &str,
) -> Result<bool, String> {
    if answer.status != Some(operation.success_status()) {
        return Ok(false);
    }
    let listed = answer.body.as_array().map_or(0, Vec::len);
    match operation {
        Route::ListClients if listed != tenant.mine.len() => Err(format!(
            "{what}: listed {listed} clients, the caller has {}",
            tenant.mine.len()
        )),
        Route::GetClient if answer.body["client_id"].as_str() != target => {
            Err(format!("{what}: got {}, asked for {target:?}", answer.raw))
        }
        _ => Ok(true),
    }
}

/// `operation` in every tenant and design, `requests` warm requests each
/// after one cold one, all of them taking turns (so that the machine's
/// other work falls on every tenant size and design alike).
async fn measure(
    tenants: &mut [Tenant],
    designs: &[Design],
    operation: Route,
    requests: usize,
    logs: &Path,
) -> Result<Vec<Cell>, String> {
    // (tenant, design) pairs.
    let pairs: Vec<(usize, usize)> = (0..tenants.len())
        .flat_map(|t| (0..designs.len()).map(move |d| (t, d)))
        .collect();
    let mut running = Vec::new();
    let mut cells = Vec::new();
    for &(t, d) in &pairs {
        running.push(start(&tenants[t], &designs[d], operation, logs).await?);
        cells.push(Cell::new(tenants[t].size, operation, d));
    }
    // Request 0 is the cold one: answered, checked, not counted.
    for i in 0..=requests {
        for turn in 0..pairs.len() {
            // Rotate who goes first.
            let k = (turn + i) % pairs.len();
            let (t, d) = pairs[k];
            if cells[k].failure.is_some() {
                continue;
            }
            let tenant = &mut tenants[t];
            let target = match operation {
                Route::ListClients => None,
                Route::GetClient => Some(tenant.mine[i % tenant.mine.len()].clone()),
                // A client of the caller's, replaced once deleted: the
                // caller owns `owned` before every delete.
                _ => tenant.mine.pop_front(),
            };
            let mut event = Event::new(operation).bearer(&tenant.token);
            if let Some(id) = &target {
                event = event.id(id);
            }
            let answer = send(tenant, &running[k], event.text()).await?;
            if operation == Route::DeleteClient {
                if let (false, Some(id)) = (designs[d].indexed, &target) {
                    // Deleted from Auth0 alone: out of the index too, as
                    // the reconciler would take it.
                    tenant.upstream.forget(id).await?;
                }
                tenant.seed_mine().await;
            }
            let ok = check(
                tenant,
                operation,
                target.as_deref(),
                &answer,
                &running[k].what,
            )?;
            let cell = &mut cells[k];
            if !ok {
                cell.failure = Some(Failure::of(answer));
            } else if i > 0 {
                cell.round_trips.push(answer.round_trip);
                cell.auth0_calls.push(answer.auth0_calls);
                cell.auth0_requests = answer.auth0_requests;
            }
        }
    }
    for run in running {
        drop(run.api);
        run.function.stop().await;
    }
    // moto's share of the index's round trips, the tenants taking turns
    // (round 0 untimed).
    let mut alone = vec![Vec::new(); tenants.len()];
    for round in 0..=requests {
        for (t, tenant) in tenants.iter().enumerate() {
            let time = tenant
                .upstream
                .time_table_calls(operation, &tenant.mine[0])
                .await?;
            if round > 0 {
                alone[t].push(time);
            }
        }
    }
    for (cell, &(t, d)) in cells.iter_mut().zip(&pairs) {
        if designs[d].indexed {
            cell.table_alone = Some(median(&alone[t]));
        }
    }
    // The emulator's share: each design's Management API calls made again
    // (a deleted client's answer the same lookup as before: a 404 or a 204).
    for (cell, &(t, _)) in cells.iter_mut().zip(&pairs) {
        if !cell.auth0_requests.is_empty() {
            cell.auth0_alone = Some(tenants[t].replay(&cell.auth0_requests).await?);
        }
    }
    Ok(cells)
}

/// The list once more in each design, every Management API list call
/// answered `1/pace` s late.
async fn measure_paced(
    tenant: &mut Tenant,
    designs: &[Design],
    pace: usize,
    logs: &Path,
) -> Result<Vec<Cell>, String> {
    let delay = Duration::from_secs_f64(1.0 / pace as f64);
    let pages = tenant.size.div_ceil(AUTH0_PAGE) + 1;
    let mut cells = Vec::new();
    for (d, design) in designs.iter().enumerate() {
        let running = start(tenant, design, Route::ListClients, logs).await?;
        let mut cell = Cell::new(tenant.size, Route::ListClients, d);
        // The cold request unpaced, then the paced ones.
        for i in 0..=PACED_REQUESTS {
            if i > 0 {
                // Only the design before the index lists through Auth0;
                // faults it leaves unused pace its next request.
                for _ in 0..pages {
                    tenant
                        .upstream
                        .emulator
                        .inject(Auth0Route::ListClients, Fault::Delay(delay));
                }
            }
            let event = Event::new(Route::ListClients).bearer(&tenant.token);
            let answer = send(tenant, &running, event.text()).await?;
            if !check(tenant, Route::ListClients, None, &answer, &running.what)? {
                cell.failure = Some(Failure::of(answer));
                break;
            }
            if i > 0 {
                cell.round_trips.push(answer.round_trip);
                cell.auth0_calls.push(answer.auth0_calls);
            }
        }
        drop(running.api);
        running.function.stop().await;
        cells.push(cell);
    }
    Ok(cells)
}

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

fn find(cells: &[Cell], size: usize, operation: Route, design: usize) -> Option<&Cell> {
    cells
        .iter()
        .find(|c| c.size == size && c.operation == operation && c.design == design)
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

fn report(
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
fn summary(
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
