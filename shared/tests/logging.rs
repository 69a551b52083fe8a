//! The functions' logs as Lambda gets them: a process running
//! `m2m_shared::run`, a function's whole `main`, against a stub Lambda
//! Runtime API, the Auth0 emulator and Secrets Manager on moto, at TRACE
//! and in Lambda's JSON format. Its own binary, so that the subscriber
//! `run` installs is the one of a real function, not the contract tests'.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use lambda_bench::runtime_api::{Outcome, OutcomeKind, RuntimeApi};
use lambda_bench::upstream::{CALLER, Credentials, Subject, Upstream, status_of};
use m2m_shared::Route;
use serde_json::{Value, json};
use test_support::event::Event;
use test_support::moto;
use test_support::setup::{self, MANAGEMENT_CLIENT_SECRET};

/// Set in the environment of the function process: the one test that is
/// then not skipped runs the function.
const FUNCTION_PROCESS: &str = "M2M_LOGGING_TEST_FUNCTION_PROCESS";
const AWS_SECRET_ACCESS_KEY: &str = "logging-test-secret-access-key";
const AWS_SESSION_TOKEN: &str = "logging-test-session-token";

/// The function process of the test below (this binary again, with
/// [`FUNCTION_PROCESS`] set); without it, nothing to do.
#[tokio::test]
async fn function_process() {
    if std::env::var_os(FUNCTION_PROCESS).is_some() {
        // It ends when the Runtime API goes away, or is killed.
        let _ = m2m_shared::run(Route::CreateClient).await;
    }
}

/// The next answer of the function, which must be a response.
async fn response(runtime_api: &RuntimeApi, what: &str) -> Outcome {
    let outcome = runtime_api
        .outcome(Duration::from_secs(60))
        .await
        .unwrap_or_else(|| panic!("{what}: no answer within 60 s"));
    assert_eq!(outcome.kind, OutcomeKind::Response, "{what}");
    outcome
}

#[tokio::test]
async fn at_trace_the_logs_name_their_targets_and_hold_no_secret() {
    // The benchmarks' surroundings of a function (Lambda's variables, the
    // emulator), with the secret in moto instead of their stub, and TRACE.
    let upstream = Upstream::start().await.expect("the emulator");
    let emulator = &upstream.emulator;
    let secret_id = format!("m2m/logging-{}", std::process::id());
    moto::create_secret(&secret_id, &setup::management_secret_json()).await;
    let runtime_api = RuntimeApi::start().await.expect("a stub Runtime API");
    let subject = Subject::Function(Route::CreateClient);
    let mut env = upstream.environment(subject, &runtime_api.address(), Credentials::InEnvironment);
    // Later values win.
    env.extend(
        [
            (FUNCTION_PROCESS, "1"),
            ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
            ("AWS_ENDPOINT_URL", moto::url()),
            ("AUTH0_SECRET_ID", &secret_id),
            ("AWS_SECRET_ACCESS_KEY", AWS_SECRET_ACCESS_KEY),
            ("AWS_SESSION_TOKEN", AWS_SESSION_TOKEN),
        ]
        .map(|(name, value)| (name.to_owned(), value.to_owned())),
    );

    // A create that goes all the way (the secret read through the AWS SDK,
    // a Management API token, the client and its grant), then one whose
    // token is signed by a key nobody published (a JWKS refetch, a 401).
    let token = upstream.caller_token(CALLER);
    let foreign = upstream.foreign_token(CALLER);
    for bearer in [&token, &foreign] {
        runtime_api.invoke(
            Event::new(Route::CreateClient)
                .bearer(bearer)
                .body(&json!({"name": "Logged"}).to_string())
                .text(),
        );
    }

    let log: PathBuf = [env!("CARGO_TARGET_TMPDIR"), "logging-function.log"]
        .iter()
        .collect();
    let mut function = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["function_process", "--exact", "--nocapture"])
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start the function process");
    let created = response(&runtime_api, "the create").await;
    let refused = response(&runtime_api, "the foreign token").await;
    function.kill().await.unwrap();

    assert_eq!(status_of(&created.body), Some(201));
    assert_eq!(status_of(&refused.body), Some(401));
    let created: Value = serde_json::from_slice(&created.body).unwrap();
    let created: Value = serde_json::from_str(created["body"].as_str().unwrap()).unwrap();
    let client_secret = created["client_secret"].as_str().unwrap();

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    assert!(
        lines.iter().any(|line| line["level"] == "TRACE"),
        "the function did not log at TRACE: {text}"
    );

    // No secret, token or credential in any line.
    let mut sensitive = vec![
        ("the caller's token", token.clone()),
        ("the foreign token", foreign.clone()),
        ("the management secret", MANAGEMENT_CLIENT_SECRET.to_owned()),
        ("the new client's secret", client_secret.to_owned()),
        ("the AWS secret key", AWS_SECRET_ACCESS_KEY.to_owned()),
        ("the AWS session token", AWS_SESSION_TOKEN.to_owned()),
    ];
    let tokens = emulator.management_tokens();
    assert!(!tokens.is_empty());
    sensitive.extend(tokens.into_iter().map(|t| ("a Management API token", t)));
    let leaks: Vec<String> = sensitive
        .iter()
        .flat_map(|(what, value)| {
            let lines = text.lines().filter(|line| line.contains(value.as_str()));
            lines.map(move |line| match serde_json::from_str::<Value>(line) {
                Ok(line) => format!("{what}, in a line of {}", line["target"]),
                Err(_) => format!("{what}, in a line that is not JSON"),
            })
        })
        .collect();
    assert!(leaks.is_empty(), "in the logs: {leaks:#?}");

    // Every line names its target; the audit line is told apart by it.
    for line in &lines {
        assert!(
            line["target"].is_string(),
            "a line without its target: {line}"
        );
    }
    let audit: Vec<&Value> = lines
        .iter()
        .filter(|line| line["target"] == "audit")
        .collect();
    assert_eq!(audit.len(), 1, "{text}");
    assert_eq!(
        audit[0]["fields"],
        json!({
            "message": "audit",
            "action": "create_client",
            "owner": CALLER,
            "client_id": created["client_id"],
            "outcome": "created",
        })
    );
    assert!(text.contains(r#""target":"audit""#));
}
