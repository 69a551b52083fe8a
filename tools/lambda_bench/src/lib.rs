//! Benchmarks of the functions as Lambda runs them: a release binary is
//! exec'd with `AWS_LAMBDA_RUNTIME_API` pointing at a stub Runtime API
//! ([`runtime_api`]) and its configuration pointing at stubs of everything
//! it talks to ([`upstream`]), all on 127.0.0.1: the Auth0 emulator and a
//! Secrets Manager stub, which answer at once, and the owner index's table
//! in moto (a Python server: a table call takes milliseconds there).
//!
//! - `coldstart`: exec to the first `invocation/next` (init) and exec to the
//!   answer of the first invocation (the cold request), for each function
//!   and for `bare-echo` (`tools/bare_echo`), a bare `lambda_runtime`
//!   function built the same way.
//! - `soak`: 1,000 mixed requests to one process per function, its resident
//!   memory sampled as they go.
//! - `fleet`: many containers of one function started at once against one
//!   emulator and one table: token requests and secret reads per start.
//!
//! With a round-trip time (`--rtt-ms`), the functions reach every upstream
//! through a relay that holds each request that long and logs it
//! ([`relay`]): the cold start's critical path is read from that log.
//! - `scale`: list, get and delete, warm, as the tenant grows (100 to 20,000
//!   clients, the caller's 50 the same), beside the release binaries of the
//!   design before the owner index (`--before DIR`).

pub mod relay;
pub mod runtime_api;
pub mod upstream;

use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use runtime_api::{Outcome, OutcomeKind};
use test_support::report;
use tokio::process::{Child, Command};
use upstream::{Subject, status_of};

/// A running function process.
pub struct Function {
    pub child: Child,
    /// Just before the exec.
    pub started: Instant,
}

/// Execs `binary` with exactly `env` (nothing inherited), its output
/// appended to `log`. `$BENCH_WRAPPER` (e.g. `valgrind --tool=callgrind`),
/// if set, runs it instead, with the binary as its last argument.
pub fn launch(binary: &Path, env: &[(String, String)], log: &Path) -> std::io::Result<Function> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let err = out.try_clone()?;
    let wrapper = std::env::var("BENCH_WRAPPER").unwrap_or_default();
    let mut words = wrapper.split_whitespace();
    let mut command = match words.next() {
        Some(program) => {
            let mut command = Command::new(program);
            command.args(words).arg(binary);
            command
        }
        None => Command::new(binary),
    };
    command
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .kill_on_drop(true);
    let started = Instant::now();
    let child = command.spawn()?;
    Ok(Function { child, started })
}

impl Function {
    /// Resident memory now and at its peak (`VmRSS`, `VmHWM`), in KiB.
    pub fn memory_kib(&self) -> Option<(u64, u64)> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find(|line| line.starts_with(name))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        };
        Some((field("VmRSS:")?, field("VmHWM:")?))
    }

    /// Kills the process, or under `$BENCH_WRAPPER` (a profiler that
    /// writes its report at exit) waits up to a minute for it to end by
    /// itself: the Runtime API stub must be gone by then, so that its
    /// `invocation/next` fails.
    pub async fn stop(mut self) {
        if std::env::var_os("BENCH_WRAPPER").is_some() {
            let _ = tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await;
        }
        let _ = self.child.kill().await;
    }
}

/// Where `cargo build --release` put the binaries: `$BENCH_BIN_DIR`, or
/// `target/release` of this workspace (honouring `CARGO_TARGET_DIR`).
pub fn binary_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("BENCH_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| report::workspace_dir().join("target"));
    target.join("release")
}

/// The folder of the functions' logs, in the report folder
/// ([`report::output_dir`]: `$BENCH_OUT_DIR`, or `target/lambda-bench`).
pub fn logs_dir() -> Result<PathBuf, String> {
    let logs = report::output_dir().join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
    Ok(logs)
}

/// A driver's command line: `--name value` options.
pub struct Args(Vec<String>);

impl Args {
    pub fn from_env() -> Args {
        Args(std::env::args().skip(1).collect())
    }

    /// `--name value`.
    pub fn option(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .position(|arg| arg == name)
            .and_then(|i| self.0.get(i + 1))
            .cloned()
    }

    /// `--name N`, or `default` if absent or not a number.
    pub fn count(&self, name: &str, default: usize) -> usize {
        self.option(name)
            .and_then(|n| n.parse().ok())
            .unwrap_or(default)
    }

    /// `--rtt-ms N`: the round-trip time the relays hold each request
    /// for; `None` for 0 or none, the upstreams reached directly.
    pub fn rtt(&self) -> Option<Duration> {
        let ms = self.count("--rtt-ms", 0) as u64;
        (ms > 0).then(|| Duration::from_millis(ms))
    }

    /// `--markdown FILE`, or `default_name` in the report folder.
    pub fn markdown(&self, default_name: &str) -> PathBuf {
        self.option("--markdown")
            .map(PathBuf::from)
            .unwrap_or_else(|| report::output_dir().join(default_name))
    }

    /// `--summary FILE`: where the README summary's rows go
    /// (scripts/bench.sh), if anywhere.
    pub fn summary(&self) -> Option<PathBuf> {
        self.option("--summary").map(PathBuf::from)
    }
}

/// How long a function may take to answer an invocation.
pub const ANSWER_LIMIT: Duration = Duration::from_secs(30);

/// The answer to `what` (a function, a request), which must have come
/// within [`ANSWER_LIMIT`] and be a response, not an error report.
pub fn answer(outcome: Option<Outcome>, what: &str, log: &Path) -> Result<Outcome, String> {
    let outcome = outcome.ok_or_else(|| {
        format!(
            "{what}: no answer within {} s (log: {})",
            ANSWER_LIMIT.as_secs(),
            log.display()
        )
    })?;
    if outcome.kind != OutcomeKind::Response {
        return Err(format!(
            "{what} ended in {:?}: {} (log: {})",
            outcome.kind,
            String::from_utf8_lossy(&outcome.body),
            log.display()
        ));
    }
    Ok(outcome)
}

/// The answer's status, which must be `expected`.
pub fn expect_status(
    outcome: &Outcome,
    expected: Option<u16>,
    what: &str,
    log: &Path,
) -> Result<Option<u16>, String> {
    let status = status_of(&outcome.body);
    if status != expected {
        return Err(format!(
            "{what} answered {status:?}, expected {expected:?}: {} (log: {})",
            String::from_utf8_lossy(&outcome.body),
            log.display()
        ));
    }
    Ok(status)
}

/// A row's cell for whether its target is met: none for the echo.
pub fn met_cell(subject: Subject, met: bool) -> &'static str {
    if subject == Subject::Echo {
        "—"
    } else if met {
        "yes"
    } else {
        "**no**"
    }
}

/// A markdown table's header row and the rule under it, from the header's
/// cells (`"binary | requests | met"`) and their alignments, a letter each
/// (`"lrc"`: left, right, centre; left past the letters' end), so that
/// the rule always has as many cells as the header.
pub fn table_head(cells: &str, align: &str) -> String {
    let cells: Vec<&str> = cells.split(" | ").collect();
    let mut alignments = align.chars();
    let rule: Vec<&str> = cells
        .iter()
        .map(|_| match alignments.next() {
            Some('r') => "---:",
            Some('c') => ":---:",
            _ => "---",
        })
        .collect();
    format!("| {} |\n| {} |\n", cells.join(" | "), rule.join(" | "))
}

/// A report's verdict on its target.
pub fn verdict(all_met: bool) -> &'static str {
    if all_met { "met" } else { "not met" }
}

/// Prints the report and writes it to `markdown`.
pub fn publish(report: &str, markdown: &Path) -> Result<(), String> {
    print!("{report}");
    write(markdown, report)
}

/// Writes `text` to `file`, replacing what was there.
pub fn write(file: &Path, text: &str) -> Result<(), String> {
    std::fs::write(file, text).map_err(|e| format!("{}: {e}", file.display()))
}

/// A driver's exit: its problem, if any, on stderr.
pub fn exit(driver: &str, outcome: Result<(), String>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("{driver}: {problem}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_head_has_a_rule_cell_for_every_column() {
        assert_eq!(
            table_head("binary | init, ms | met", "lrc"),
            "| binary | init, ms | met |\n| --- | ---: | :---: |\n"
        );
        // Columns without a letter are left-aligned, not dropped.
        assert_eq!(
            table_head("function | chain | met", "l"),
            "| function | chain | met |\n| --- | --- | --- |\n"
        );
    }
}
