//! Issue 21: a client generated from openapi.yaml gets a typed 429. The
//! Python client openapi-python-client makes (pinned in
//! requirements-openapi.txt; scripts/test.sh installs it into .venv and
//! puts it on PATH) drives creates against the local stack, whose
//! `OWNER_WRITES_PER_MINUTE` is 2, until the service answers 429: the
//! client must parse it as its `TooManyRequestsError` model, with `code`
//! `TOO_MANY_REQUESTS`, and give the answer's `Retry-After`.
//! scripts/check-openapi-generators.sh checks every status's model against
//! sample bodies; this is the real answer, over HTTP, end to end.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::WORKSPACE;
use crate::support::local_stack::LocalStack;

/// The generated client's use, as a caller would write it: creates until
/// one is refused; each answer's status, the model it was parsed into,
/// its `Retry-After`, and the 429's `code` and `message`, as JSON.
const DRIVER: &str = r#"
import json
import sys

sys.path.insert(0, sys.argv[1])
import httpx  # noqa: E402

from m2m_client import AuthenticatedClient  # noqa: E402
from m2m_client.api.clients import create_client  # noqa: E402
from m2m_client.models import NewClient, TooManyRequestsError  # noqa: E402

client = AuthenticatedClient(
    base_url=sys.argv[2], token=sys.argv[3], timeout=httpx.Timeout(240.0)
)
answers = []
for n in range(5):
    response = create_client.sync_detailed(
        client=client, body=NewClient(name=f"Generated {n}")
    )
    parsed = response.parsed
    answer = {
        "status": int(response.status_code),
        "model": type(parsed).__name__,
        "retry_after": response.headers.get("Retry-After"),
    }
    if isinstance(parsed, TooManyRequestsError):
        answer["code"] = parsed.code if isinstance(parsed.code, str) else None
        answer["message"] = parsed.message
    answers.append(answer)
    if response.status_code == 429:
        break
print(json.dumps(answers))
"#;

/// `program` on PATH, where scripts/test.sh puts .venv/bin.
fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Runs `command` off the runtime's threads (the emulator answers on them
/// meanwhile); fails the test, with what it printed, unless it succeeds.
async fn run(mut command: Command, what: &'static str) -> Output {
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap_or_else(|error| panic!("{what}: {error}"));
    assert!(
        output.status.success(),
        "{what}: {}\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Generates the client from openapi.yaml into `work`/m2m_client, as
/// scripts/check-openapi-generators.sh does (no warning allowed).
async fn generate(generator: &Path, work: &Path) {
    let bin = generator.parent().expect("the generator's directory");
    // It formats what it writes with ruff, installed beside it.
    let path = std::env::join_paths(std::iter::once(bin.to_owned()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let mut command = Command::new(generator);
    command
        .args(["generate", "--path"])
        .arg(format!("{WORKSPACE}/openapi.yaml"))
        .arg("--output-path")
        .arg(work.join("m2m_client"))
        .args(["--meta", "none", "--fail-on-warning"])
        .env("PATH", path);
    run(command, "openapi-python-client generate").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_python_client_gets_the_owners_limit_as_its_typed_429() {
    let generator = on_path("openapi-python-client").expect(
        "openapi-python-client on PATH (pip install -r requirements-openapi.txt into a venv, or run scripts/test.sh)",
    );
    let python = generator.with_file_name("python");
    let work = std::env::temp_dir().join(format!("m2m-python-client-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    generate(&generator, &work).await;

    let mut stack = LocalStack::start(
        "python-client",
        &[("OWNER_WRITES_PER_MINUTE", "2".to_owned())],
    )
    .await;
    // Another owner's create first: it waits for `cargo lambda watch` to
    // build the function, and counts nothing against the caller below.
    // With a key, so that one cut short by its timeout and sent again
    // makes one client all the same.
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/client", stack.base);
    let warm_up = stack.token("warm-up-owner");
    let create = async || {
        http.post(&url)
            .bearer_auth(&warm_up)
            .header("idempotency-key", "warm-up")
            .json(&json!({"name": "Warm-up"}))
            .timeout(Duration::from_secs(240))
            .send()
            .await
            .map(|response| response.status().as_u16())
    };
    let mut status = stack.first_answer(create).await;
    // 409 IDEMPOTENCY_KEY_IN_USE: the first one, cut short, still runs.
    while status == 409 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        status = stack.first_answer(create).await;
    }
    assert_eq!(status, 201, "the warm-up create");

    std::fs::write(work.join("drive.py"), DRIVER).unwrap();
    let mut command = Command::new(&python);
    command
        .arg(work.join("drive.py"))
        .arg(&work)
        .arg(&stack.base)
        .arg(stack.token("python-owner"));
    let output = run(command, "the generated client's creates").await;
    let answers: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&output.stdout)));
    let answers = answers.as_array().unwrap();
    let statuses: Vec<&Value> = answers.iter().map(|answer| &answer["status"]).collect();
    let models: Vec<&Value> = answers.iter().map(|answer| &answer["model"]).collect();
    assert_eq!(
        statuses,
        [&json!(201), &json!(201), &json!(429)],
        "{answers:?}"
    );
    assert_eq!(
        models,
        [
            &json!("CreatedClient"),
            &json!("CreatedClient"),
            &json!("TooManyRequestsError")
        ],
        "{answers:?}"
    );
    let refused = &answers[2];
    assert_eq!(refused["code"], "TOO_MANY_REQUESTS", "{refused}");
    assert!(
        refused["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{refused}"
    );
    let retry_after: u64 = refused["retry_after"]
        .as_str()
        .and_then(|seconds| seconds.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After in seconds: {refused}"));
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // Refused, so nothing was done: the caller has its two clients.
    assert_eq!(
        stack.emulator.clients().len(),
        3,
        "the warm-up's and the caller's two"
    );
    let _ = std::fs::remove_dir_all(&work);
}
