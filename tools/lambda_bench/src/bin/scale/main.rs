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

mod cells;
mod measure;
mod report;
mod tenant;

use std::path::PathBuf;
use std::process::ExitCode;

use lambda_bench::upstream::build_command;
use lambda_bench::{Args, binary_dir, exit, logs_dir, publish, write};
use test_support::stats::ms;

use cells::{Design, OPERATIONS};
use measure::{measure, measure_paced};
use report::{report, summary};
use tenant::Tenant;

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
    if let Some(file) = args.summary() {
        let summary = summary(&designs, &sizes, owned, &cells, (pace, &paced));
        write(&file, &summary)?;
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
