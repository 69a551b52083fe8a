//! The functions' logs as Lambda gets them: a process running
//! `m2m_shared::run`, a function's whole `main`, against a stub Lambda
//! Runtime API, the Auth0 emulator and Secrets Manager on moto, at TRACE
//! and in Lambda's JSON format. Its own binary, so that the subscriber
//! `run` installs is the one of a real function, not the contract tests'.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use auth0_emulator::Fault;
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
const METRICS_NAMESPACE: &str = "m2m-logging-test";
/// Auth0 rate-limits one request, its reset a second away.
const RATE_LIMITED: Fault = Fault::RateLimited {
    reset_after_secs: 1,
};

/// The function process of the test below (this binary again, with
/// [`FUNCTION_PROCESS`] set); without it, nothing to do.
#[tokio::test]
async fn function_process() {
    if std::env::var_os(FUNCTION_PROCESS).is_some() {
        // It ends when the Runtime API goes away, or is killed.
        let _ = m2m_shared::run::<m2m_shared::CreateClient>().await;
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

/// A function process of `m2m_shared::run::<m2m_shared::CreateClient>()` and what
/// it runs against: the benchmarks' surroundings of a function (Lambda's
/// variables, the emulator), with the secret in moto instead of their stub.
struct Function {
    upstream: Upstream,
    runtime_api: RuntimeApi,
    process: tokio::process::Child,
    log: PathBuf,
}

impl Function {
    /// Starts it at `level`, its standard output in `log_name` of the
    /// test's temporary directory.
    async fn start(level: &str, log_name: &str) -> Function {
        Function::start_with(level, log_name, &[]).await
    }

    /// As [`Function::start`], with these variables added (or overriding).
    async fn start_with(level: &str, log_name: &str, extra: &[(&str, &str)]) -> Function {
        let upstream = Upstream::start().await.expect("the emulator");
        let secret_id = format!("m2m/{log_name}-{}", std::process::id());
        moto::create_secret(&secret_id, &setup::management_secret_json()).await;
        let runtime_api = RuntimeApi::start().await.expect("a stub Runtime API");
        let subject = Subject::Function(Route::CreateClient);
        let mut env =
            upstream.environment(subject, &runtime_api.address(), Credentials::InEnvironment);
        // Later values win.
        env.extend(
            [
                (FUNCTION_PROCESS, "1"),
                ("AWS_LAMBDA_LOG_LEVEL", level),
                ("AWS_ENDPOINT_URL", moto::url()),
                ("AUTH0_SECRET_ID", &secret_id),
                ("AWS_SECRET_ACCESS_KEY", AWS_SECRET_ACCESS_KEY),
                ("AWS_SESSION_TOKEN", AWS_SESSION_TOKEN),
                ("METRICS_NAMESPACE", METRICS_NAMESPACE),
            ]
            .map(|(name, value)| (name.to_owned(), value.to_owned())),
        );
        env.extend(
            extra
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
        );
        let log: PathBuf = [env!("CARGO_TARGET_TMPDIR"), log_name].iter().collect();
        let process = tokio::process::Command::new(std::env::current_exe().unwrap())
            .args(["function_process", "--exact", "--nocapture"])
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start the function process");
        Function {
            upstream,
            runtime_api,
            process,
            log,
        }
    }

    /// Sends a create of `name` with `bearer` and waits for its answer.
    async fn create(&self, bearer: &str, name: &str) -> Outcome {
        self.runtime_api.invoke(
            Event::new(Route::CreateClient)
                .bearer(bearer)
                .body(&json!({ "name": name }).to_string())
                .text(),
        );
        response(&self.runtime_api, name).await
    }

    /// Sends `event` as API Gateway would with `api_request_id` as its id
    /// (`requestContext.requestId`), and waits for its answer.
    async fn send(&self, event: Event, api_request_id: &str) -> Outcome {
        let mut event = event.json();
        event["requestContext"]["requestId"] = json!(api_request_id);
        self.runtime_api.invoke(event.to_string());
        response(&self.runtime_api, api_request_id).await
    }

    /// Stops it and returns everything it wrote.
    async fn stop(mut self) -> (Upstream, String) {
        self.process.kill().await.unwrap();
        let text = std::fs::read_to_string(&self.log).unwrap();
        (self.upstream, text)
    }
}

/// Every line of `text` that is JSON, parsed.
fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

#[tokio::test]
async fn at_trace_the_logs_name_their_targets_and_hold_no_secret() {
    let function = Function::start("TRACE", "logging-function.log").await;
    // A create that goes all the way (the secret read through the AWS SDK,
    // a Management API token, the client and its grant), then one whose
    // token is signed by a key nobody published (a JWKS refetch, a 401).
    let token = function.upstream.caller_token(CALLER);
    let foreign = function.upstream.foreign_token(CALLER);
    let created = function.create(&token, "Logged").await;
    let refused = function.create(&foreign, "Refused").await;
    let (upstream, text) = function.stop().await;
    let emulator = &upstream.emulator;

    assert_eq!(status_of(&created.body), Some(201));
    assert_eq!(status_of(&refused.body), Some(401));
    let created: Value = serde_json::from_slice(&created.body).unwrap();
    let created: Value = serde_json::from_str(created["body"].as_str().unwrap()).unwrap();
    let client_secret = created["client_secret"].as_str().unwrap();

    let lines = json_lines(&text);
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

    // Every line names its target (but the metrics' EMF documents, which
    // CloudWatch reads whole); the audit line is told apart by it.
    for line in lines.iter().filter(|line| line.get("_aws").is_none()) {
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

/// The EMF documents of `lines` that declare `metrics` (name, unit; by the
/// first's name), each asserted to be well-formed with exactly these
/// metrics under `dimension_sets`: as CloudWatch reads them.
fn emf_documents<'a>(
    lines: &'a [Value],
    dimension_sets: Value,
    metrics: &[(&str, &str)],
) -> Vec<&'a Value> {
    let documents: Vec<&Value> = lines
        .iter()
        .filter(|line| {
            line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .is_some_and(|declared| declared.iter().any(|m| m["Name"] == metrics[0].0))
        })
        .collect();
    for document in &documents {
        assert_emf(document, &dimension_sets, metrics);
    }
    documents
}

/// Asserts that `document` is a well-formed EMF document of the test's
/// namespace, declaring `metrics` (name, unit) under `dimension_sets`, with
/// every dimension's and metric's value at the top level.
fn assert_emf(document: &Value, dimension_sets: &Value, metrics: &[(&str, &str)]) {
    let aws = &document["_aws"];
    assert!(aws["Timestamp"].as_u64().is_some(), "{document}");
    let directive = &aws["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], METRICS_NAMESPACE, "{document}");
    assert_eq!(directive["Dimensions"], *dimension_sets, "{document}");
    let declared: Vec<(String, String)> = directive["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["Name"].as_str().unwrap().into(),
                m["Unit"].as_str().unwrap().into(),
            )
        })
        .collect();
    let wanted: Vec<(String, String)> = metrics
        .iter()
        .map(|(name, unit)| ((*name).into(), (*unit).into()))
        .collect();
    assert_eq!(declared, wanted, "{document}");
    // Every dimension and metric has its value at the top level.
    for set in dimension_sets.as_array().unwrap() {
        for dimension in set.as_array().unwrap() {
            let name = dimension.as_str().unwrap();
            assert!(document[name].is_string(), "{name} in {document}");
        }
    }
    for (name, _) in metrics {
        assert!(document[*name].is_number(), "{name} in {document}");
    }
}

/// `(dimension value, ...)` of each document, for comparing what was counted.
fn values(documents: &[&Value], names: &[&str]) -> Vec<Vec<String>> {
    documents
        .iter()
        .map(|document| {
            names
                .iter()
                .map(|name| document[*name].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn metrics_are_emf_documents_and_log_lines_carry_the_trace_id() {
    let function = Function::start("INFO", "metrics-function.log").await;
    let emulator = &function.upstream.emulator;
    let token = function.upstream.caller_token(CALLER);
    // A create, one that Auth0 rate-limits once (waited out, then created)
    // and one whose grant Auth0 fails (undone: 502).
    let created = function.create(&token, "Counted").await;
    emulator.inject(auth0_emulator::Route::CreateClient, RATE_LIMITED);
    let rate_limited = function.create(&token, "Waited").await;
    emulator.inject(auth0_emulator::Route::CreateGrant, Fault::Status(500));
    let failed = function.create(&token, "Failed").await;
    let (_upstream, text) = function.stop().await;
    assert_eq!(status_of(&created.body), Some(201));
    assert_eq!(status_of(&rate_limited.body), Some(201));
    assert_eq!(status_of(&failed.body), Some(502));
    let lines = json_lines(&text);

    // Requests: by route and status class, and by class alone.
    let requests = emf_documents(
        &lines,
        json!([["Route", "StatusClass"], ["StatusClass"]]),
        &[("Requests", "Count"), ("Latency", "Milliseconds")],
    );
    for document in &requests {
        assert_eq!(document["Requests"], 1.0);
    }
    let wanted = |class: &str| vec!["create_client".to_owned(), class.to_owned()];
    assert_eq!(
        values(&requests, &["Route", "StatusClass"]),
        [wanted("2xx"), wanted("2xx"), wanted("5xx")],
        "{text}"
    );

    // Auth0 calls, an attempt each: the token, then each create's client
    // and grant; the rate-limited attempt and the failed grant by outcome.
    let calls = emf_documents(
        &lines,
        json!([["Call", "Outcome"], ["Outcome"]]),
        &[("Auth0Calls", "Count"), ("Auth0Latency", "Milliseconds")],
    );
    let call = |name: &str, outcome: &str| vec![name.to_owned(), outcome.to_owned()];
    let counted = values(&calls, &["Call", "Outcome"]);
    for expected in [
        call("token", "2xx"),
        call("create_client", "429"),
        call("create_grant", "5xx"),
        call("delete_client", "2xx"),
    ] {
        assert!(counted.contains(&expected), "{expected:?} in {counted:?}");
    }
    let created_clients = counted
        .iter()
        .filter(|c| **c == call("create_client", "2xx"))
        .count();
    assert_eq!(created_clients, 3, "{counted:?}");

    // What each create came to, as its audit line says.
    let operations = emf_documents(
        &lines,
        json!([["Action", "Outcome"]]),
        &[("ClientOperations", "Count")],
    );
    let outcomes: Vec<String> = values(&operations, &["Outcome"]).concat();
    assert_eq!(
        outcomes,
        ["created", "created", "grant_failed_rolled_back"],
        "{text}"
    );

    // One Management API token fetched, then reused.
    let tokens = emf_documents(
        &lines,
        json!([["Source"]]),
        &[("ManagementTokens", "Count")],
    );
    let sources = values(&tokens, &["Source"]).concat();
    assert_eq!(
        sources.iter().filter(|s| *s == "fetched").count(),
        1,
        "{sources:?}"
    );
    assert!(sources.iter().any(|s| s == "reused"), "{sources:?}");

    // Every line an invocation writes carries its X-Ray trace id (the
    // Runtime API's Lambda-Runtime-Trace-Id), through the runtime's span.
    let in_invocations: Vec<&Value> = lines
        .iter()
        .filter(|line| line["span"]["name"] == "request")
        .collect();
    assert!(in_invocations.len() >= 3, "{text}");
    for line in in_invocations {
        let trace = line["spans"]
            .as_array()
            .and_then(|spans| spans.iter().find_map(|span| span["xrayTraceId"].as_str()));
        assert_eq!(trace, Some(lambda_bench::runtime_api::TRACE_ID), "{line}");
    }

    // No owner or client id is ever a dimension.
    for document in lines.iter().filter(|line| line.get("_aws").is_some()) {
        let shown = document.to_string();
        assert!(!shown.contains(CALLER), "{shown}");
        assert!(!shown.contains("client_"), "{shown}");
    }
}

/// The id an answer names (`x-request-id`), from the API Gateway response
/// document the function returned, with its status.
fn named_request(outcome: &Outcome) -> (Option<u16>, String) {
    let response: Value = serde_json::from_slice(&outcome.body).unwrap();
    let id = response["headers"]["x-request-id"]
        .as_str()
        .unwrap_or_default();
    (status_of(&outcome.body), id.to_owned())
}

/// Asserts that the answer `outcome` (to the event sent with
/// `api_request_id`) names its invocation's request id, that every line of
/// `text` mentioning that id or `api_request_id` belongs to that invocation,
/// and that among them is a line whose message is `concluding` (how the
/// request ended), carrying both ids in the service's span.
fn assert_found_by_its_ids(
    text: &str,
    outcome: &Outcome,
    status: u16,
    api_request_id: &str,
    concluding: &str,
) {
    let (answered, id) = named_request(outcome);
    assert_eq!(answered, Some(status), "{api_request_id}");
    // Lambda's id of the invocation, as the Runtime API handed it out.
    assert_eq!(id, outcome.request_id, "x-request-id of the {status}");
    let mentioning: Vec<Value> = text
        .lines()
        .filter(|line| line.contains(&id) || line.contains(api_request_id))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    for line in &mentioning {
        // The runtime's span: the invocation's own.
        let invocation = line["spans"][0]["requestId"].as_str();
        assert_eq!(
            invocation,
            Some(id.as_str()),
            "a line of another invocation: {line}"
        );
    }
    let concluded = mentioning
        .iter()
        .find(|line| line["fields"]["message"] == concluding);
    let Some(concluded) = concluded else {
        panic!("the {status}: no line {concluding:?} carries {id}: {mentioning:#?}");
    };
    assert_eq!(concluded["span"]["name"], "request", "{concluded}");
    assert_eq!(concluded["span"]["request_id"], id, "{concluded}");
    assert_eq!(
        concluded["span"]["api_request_id"], api_request_id,
        "{concluded}"
    );
}

#[tokio::test]
async fn every_answer_names_the_request_id_its_log_lines_carry() {
    let function = Function::start("INFO", "request-ids-function.log").await;
    let token = function.upstream.caller_token(CALLER);
    let create = || Event::new(Route::CreateClient).body(r#"{"name": "Named"}"#);
    // A container's first answer is a 401, before anything else; then a
    // 400, a 201 and a 502 (Auth0 fails the grant: the client is undone).
    let unauthorized = function.send(create(), "apigw-401").await;
    let invalid = function
        .send(create().bearer(&token).body("{}"), "apigw-400")
        .await;
    let created = function.send(create().bearer(&token), "apigw-201").await;
    function
        .upstream
        .emulator
        .inject(auth0_emulator::Route::CreateGrant, Fault::Status(500));
    let failed = function.send(create().bearer(&token), "apigw-502").await;
    let (_upstream, text) = function.stop().await;

    assert_found_by_its_ids(&text, &unauthorized, 401, "apigw-401", "request refused");
    assert_found_by_its_ids(&text, &invalid, 400, "apigw-400", "request refused");
    assert_found_by_its_ids(&text, &created, 201, "apigw-201", "audit");
    assert_found_by_its_ids(&text, &failed, 502, "apigw-502", "upstream failure");

    // A container whose configuration is unusable answers 500 from its
    // first request on, and names it too.
    let broken = Function::start_with(
        "INFO",
        "request-ids-broken-function.log",
        &[("MAX_CLIENTS_PER_OWNER", "many")],
    )
    .await;
    let token = broken.upstream.caller_token(CALLER);
    let internal = broken.send(create().bearer(&token), "apigw-500").await;
    let (_upstream, text) = broken.stop().await;
    assert_found_by_its_ids(&text, &internal, 500, "apigw-500", "internal error");
}
