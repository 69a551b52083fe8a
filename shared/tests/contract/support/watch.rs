//! The functions served by `cargo lambda watch` through the workspace
//! router, with the emulator, moto and a table of their own: what the
//! local stack runs, driven over HTTP as the documentation's curl examples
//! drive it.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use auth0_emulator::Emulator;
use serde_json::Value;
use test_support::setup::{emulator_config, management_secret_json, service_env};

use super::{Route, moto};

/// `cargo lambda watch` and the functions it started (its process group),
/// stopped when dropped.
pub struct Watch {
    child: Child,
    log_path: PathBuf,
    pub port: u16,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// An emulator, and `cargo lambda watch` serving every function against it
/// (its secret in moto, a table of its own named after `name`).
pub async fn start(name: &str) -> (Emulator, Watch) {
    let emulator = Emulator::start(emulator_config()).await.unwrap();
    let secret_id = format!("m2m/{name}-{}", std::process::id());
    moto::create_secret(&secret_id, &management_secret_json()).await;
    let table = format!("m2m-clients-{name}-{}", std::process::id());
    test_support::dynamodb::create_clients_table(&test_support::dynamodb::client(), &table).await;

    let port = free_port();
    let log_path = std::env::temp_dir().join(format!("cargo-lambda-watch-{port}.log"));
    let workspace = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let child = Command::new("cargo")
        .args(["lambda", "watch", "--invoke-address", "127.0.0.1", "-P"])
        .arg(port.to_string())
        .current_dir(workspace)
        .envs(service_env(&emulator, &secret_id, &table))
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
    (
        emulator,
        Watch {
            child,
            log_path,
            port,
        },
    )
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
    /// A caller of `watch`'s functions with the token `token`.
    pub fn of(watch: &Watch, token: &str) -> Caller {
        Caller {
            http: reqwest::Client::new(),
            base: format!("http://127.0.0.1:{}", watch.port),
            bearer: Some(format!("Bearer {token}")),
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

    /// The answer to the first request (`route` with `body`), once `watch`
    /// listens: until then, connections are refused.
    pub async fn first(&self, watch: &mut Watch, route: Route, body: &str) -> (u16, Value) {
        let started = Instant::now();
        loop {
            match self.send(route, None, Some(body)).await {
                Ok(answer) => return answer,
                Err(error) => {
                    if let Ok(Some(status)) = watch.child.try_wait() {
                        let log = std::fs::read_to_string(&watch.log_path).unwrap_or_default();
                        panic!(
                            "cargo lambda watch exited ({status}); is cargo-lambda installed (scripts/test.sh does)?\n{log}"
                        );
                    }
                    assert!(
                        started.elapsed() < Duration::from_secs(300),
                        "cargo lambda watch did not come up: {error}"
                    );
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }
}
