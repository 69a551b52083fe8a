//! Benchmarks of the functions as Lambda runs them: a release binary is
//! exec'd with `AWS_LAMBDA_RUNTIME_API` pointing at a stub Runtime API
//! ([`runtime_api`]) and its configuration pointing at stubs of everything
//! it talks to ([`upstream`]), all on 127.0.0.1 and answering at once.
//!
//! - `coldstart`: exec to the first `invocation/next` (init) and exec to the
//!   answer of the first invocation (the cold request), for each function
//!   and for `bare-echo` (`tools/bare_echo`), a bare `lambda_runtime`
//!   function built the same way.
//! - `soak`: 1,000 mixed requests to one process per function, its resident
//!   memory sampled as they go.

pub mod runtime_api;
pub mod upstream;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

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
        .unwrap_or_else(|_| workspace_dir().join("target"));
    target.join("release")
}

pub fn workspace_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Where the drivers write their logs and markdown: `$BENCH_OUT_DIR`, or
/// `target/lambda-bench`.
pub fn output_dir() -> PathBuf {
    let dir = std::env::var("BENCH_OUT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace_dir().join("target/lambda-bench"));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// The value below which `q` of the samples lie (nearest rank).
pub fn percentile(samples: &[Duration], q: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

pub fn median(samples: &[Duration]) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let middle = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2
    } else {
        sorted[middle]
    }
}

pub fn ms(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1000.0)
}

/// `--name value` from the command line.
pub fn option(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|arg| arg == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}
