//! The functions served by `cargo lambda watch` through the workspace
//! router, as scripts/local.sh serves them: the emulator for Auth0, moto
//! for Secrets Manager and the owner index's table, on a port of their own.
//! For the tests that drive the stack over HTTP as its users do.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use auth0_emulator::Emulator;
use serde_json::{Value, json};
use test_support::setup::{
    base_claims, emulator_config, management_secret_json, service_env, with_claims,
};

use super::{Route, WORKSPACE, moto};

/// How long the stack may take to answer its first request: `cargo lambda
/// watch` compiles each function on its first request.
pub const FIRST_ANSWER_WITHIN: Duration = Duration::from_secs(300);

/// One stack at a time in the test process: each builds the functions on
/// their first requests, and two at once would share that build (cargo's
/// lock) and the cores, past a request's timeout, which a test then
/// retries: a create twice.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A running stack; dropping it stops `cargo lambda watch` and the
/// functions it started (its process group).
pub struct LocalStack {
    pub emulator: Emulator,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    watch: Child,
    log_path: PathBuf,
    /// Released once the stack is stopped (fields drop after `drop`).
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        let group = format!("-{}", self.watch.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.watch.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl LocalStack {
    /// Starts the stack, its functions configured as README says, with
    /// `settings` added (the later of two with the same name wins).
    pub async fn start(name: &str, settings: &[(&'static str, String)]) -> Self {
        let turn = ONE_AT_A_TIME.lock().await;
        let emulator = Emulator::start(emulator_config()).await.unwrap();
        let instance = format!("{name}-{}", std::process::id());
        let secret_id = format!("m2m/{instance}");
        moto::create_secret(&secret_id, &management_secret_json()).await;
        let table = format!("m2m-clients-{instance}");
        test_support::dynamodb::create_clients_table(&test_support::dynamodb::client(), &table)
            .await;

        let port = free_port();
        let log_path = std::env::temp_dir().join(format!("cargo-lambda-watch-{port}.log"));
        let watch = Command::new("cargo")
            .args(["lambda", "watch", "--invoke-address", "127.0.0.1", "-P"])
            .arg(port.to_string())
            .current_dir(WORKSPACE)
            .envs(service_env(&emulator, &secret_id, &table))
            .envs(settings.iter().map(|(name, value)| (name, value)))
            .env("AWS_ENDPOINT_URL", moto::url())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(&log_path).expect("a log file for cargo lambda watch"),
            ))
            .process_group(0)
            .spawn()
            .expect("cargo lambda (pip install cargo-lambda, or run scripts/test.sh)");
        LocalStack {
            emulator,
            base: format!("http://127.0.0.1:{port}"),
            watch,
            log_path,
            _turn: turn,
        }
    }

    /// A caller's token for `owner`, in Auth0's default dialect (`azp`
    /// and `gty`, no `client_id`), with every permission.
    pub fn token(&self, owner: &str) -> String {
        self.emulator.sign_caller_token(&with_claims(
            base_claims(&self.emulator),
            &json!({"sub": format!("{owner}@clients"), "azp": owner, "gty": "client-credentials"}),
        ))
    }

    /// The first answer of `send`, tried until the stack listens (until
    /// then connections are refused); fails the test if `cargo lambda
    /// watch` exits or nothing answers within [`FIRST_ANSWER_WITHIN`].
    pub async fn first_answer<T, E: std::fmt::Display>(
        &mut self,
        mut send: impl AsyncFnMut() -> Result<T, E>,
    ) -> T {
        let started = Instant::now();
        loop {
            match send().await {
                Ok(answer) => return answer,
                Err(error) => {
                    if let Ok(Some(status)) = self.watch.try_wait() {
                        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
                        panic!(
                            "cargo lambda watch exited ({status}); is cargo-lambda installed (scripts/test.sh does)?\n{log}"
                        );
                    }
                    assert!(
                        started.elapsed() < FIRST_ANSWER_WITHIN,
                        "cargo lambda watch did not come up: {error}"
                    );
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }
}

/// A caller of the API over HTTP, as curl would be.
pub struct Caller {
    pub http: reqwest::Client,
    pub base: String,
    pub bearer: Option<String>,
    /// The `x-request-id` of every answer so far.
    pub request_ids: Mutex<Vec<String>>,
}

impl Caller {
    /// `owner`'s caller of `stack`'s functions (with [`LocalStack::token`]).
    pub fn of(stack: &LocalStack, owner: &str) -> Caller {
        Caller {
            http: reqwest::Client::new(),
            base: stack.base.clone(),
            bearer: Some(format!("Bearer {}", stack.token(owner))),
            request_ids: Mutex::default(),
        }
    }

    /// Sends `route` (with `id` and `body`); the status and JSON answer.
    pub async fn send(
        &self,
        route: Route,
        id: Option<&str>,
        body: Option<&str>,
    ) -> Result<(u16, Value), reqwest::Error> {
        let path = match id {
            Some(id) => route.path().replace("{id}", id),
            None => route.path().to_owned(),
        };
        self.send_to(route, &path, body).await
    }

    /// Sends `route` to the concrete `path` (its parameters filled in).
    pub async fn send_to(
        &self,
        route: Route,
        path: &str,
        body: Option<&str>,
    ) -> Result<(u16, Value), reqwest::Error> {
        let method = reqwest::Method::from_bytes(route.method().as_bytes()).unwrap();
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            // The first request to each function compiles and starts it.
            .timeout(Duration::from_secs(240));
        if let Some(bearer) = &self.bearer {
            request = request.header("authorization", bearer);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let request_id = response.headers().get("x-request-id");
        let request_id = request_id
            .and_then(|id| id.to_str().ok())
            .unwrap_or_default();
        self.request_ids.lock().unwrap().push(request_id.to_owned());
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }
}
