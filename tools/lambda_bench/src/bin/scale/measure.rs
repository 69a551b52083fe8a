//! The requests: each design's function started against a tenant, sent
//! its events in turns with the others, its answers checked and timed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use auth0_emulator::{Fault, Route as Auth0Route};
use lambda_bench::runtime_api::RuntimeApi;
use lambda_bench::upstream::{Credentials, Subject, status_of};
use lambda_bench::{ANSWER_LIMIT, Function, answer, launch};
use m2m_shared::Route;
use serde_json::Value;
use test_support::event::Event;
use test_support::stats::median;

use crate::cells::{AUTH0_PAGE, Answer, Cell, Design, Failure, PACED_REQUESTS};
use crate::tenant::Tenant;

/// One design's function, running.
struct Running {
    api: RuntimeApi,
    function: Function,
    log: PathBuf,
    what: String,
}

/// `design`'s function for `operation`, exec'd against `tenant` with a
/// stub Runtime API of its own.
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

/// Sends `event` and waits for the answer: its round trip, and the
/// Management API calls it made (the emulator's log).
async fn send(tenant: &Tenant, running: &Running, event: String) -> Result<Answer, String> {
    let before = tenant.upstream.management_calls().len();
    let sent = Instant::now();
    running.api.invoke(event);
    let outcome = answer(
        running.api.outcome(ANSWER_LIMIT).await,
        &running.what,
        &running.log,
    )?;
    let round_trip = outcome.at - sent;
    let auth0_requests = tenant.upstream.management_calls().split_off(before);
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
pub(crate) async fn measure(
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
pub(crate) async fn measure_paced(
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
