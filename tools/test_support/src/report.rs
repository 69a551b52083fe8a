//! Where benchmark reports go: `$BENCH_OUT_DIR`, or `target/lambda-bench`
//! of the workspace (scripts/bench.sh collects them from there).

use std::path::PathBuf;

/// The workspace's root folder.
pub fn workspace_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The report folder, created if missing.
pub fn output_dir() -> PathBuf {
    let dir = std::env::var("BENCH_OUT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace_dir().join("target/lambda-bench"));
    std::fs::create_dir_all(&dir).expect("a folder for the reports");
    dir
}

/// Writes `markdown` as `name` in the report folder and prints it.
pub fn write(name: &str, markdown: &str) {
    let path = output_dir().join(name);
    std::fs::write(&path, markdown)
        .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
    print!("{markdown}");
}
