//! The functions served by `cargo lambda watch` through the workspace
//! router, driven over HTTP like the documentation's curl examples.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use auth0_emulator::Emulator;
use serde_json::{Value, json};
use test_support::setup::{
    base_claims, emulator_config, management_secret_json, service_env, with_claims,
};

use crate::support::{Route, moto};

/// Stops `cargo lambda watch` and the functions it started (its process group).
struct Watch(Child);

impl Drop for Watch {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A caller of the API over HTTP, as curl would be.
struct Caller {
    http: reqwest::Client,
    base: String,
    bearer: Option<String>,
    /// The `x-request-id` of every answer so far.
    request_ids: Mutex<Vec<String>>,
}

impl Caller {
    /// Sends `route` (with `id` and `body`); the status and JSON answer.
    async fn send(
        &self,
        route: Route,
        id: Option<&str>,
        body: Option<&str>,
    ) -> Result<(u16, Value), reqwest::Error> {
        let path = match id {
            Some(id) => route.path().replace("{id}", id),
            None => route.path().to_owned(),
        };
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cargo_lambda_watch_serves_every_route() {
    let emulator = Emulator::start(emulator_config()).await.unwrap();
    let secret_id = format!("m2m/watch-{}", std::process::id());
    moto::create_secret(&secret_id, &management_secret_json()).await;
    let table = format!("m2m-clients-watch-{}", std::process::id());
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
    let mut watch = Watch(child);

    // Auth0's default token dialect: `azp` and `gty`, no `client_id`.
    let token = emulator.sign_caller_token(&with_claims(
        base_claims(&emulator),
        &json!({"sub": "curl-owner@clients", "azp": "curl-owner", "gty": "client-credentials"}),
    ));
    let caller = Caller {
        http: reqwest::Client::new(),
        base: format!("http://127.0.0.1:{port}"),
        bearer: Some(format!("Bearer {token}")),
        request_ids: Mutex::default(),
    };

    // Until cargo lambda watch listens, connections are refused.
    let started = Instant::now();
    let body = r#"{"name": "My API Client", "description": "Client for accessing internal APIs"}"#;
    let (status, created) = loop {
        match caller.send(Route::CreateClient, None, Some(body)).await {
            Ok(answer) => break answer,
            Err(error) => {
                if let Ok(Some(status)) = watch.0.try_wait() {
                    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
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
    };
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["name"], "My API Client");
    let id = created["client_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("client_"));

    let scopes = created["scopes"].clone();
    let listed = caller.send(Route::ListClients, None, None).await.unwrap();
    assert_eq!(
        listed,
        (
            200,
            json!([{"id": id, "name": "My API Client", "description": "Client for accessing internal APIs", "client_id": id, "scopes": scopes, "status": "active", "last_used_at": null}])
        )
    );
    let (status, got) = caller
        .send(Route::GetClient, Some(&id), None)
        .await
        .unwrap();
    assert_eq!((status, &got["id"]), (200, &json!(id)));

    // The lifecycle routes, each found by the router with its id.
    let (status, updated) = caller
        .send(
            Route::UpdateClient,
            Some(&id),
            Some(r#"{"name": "Renamed"}"#),
        )
        .await
        .unwrap();
    assert_eq!((status, &updated["name"]), (200, &json!("Renamed")));
    let (status, rotated) = caller
        .send(Route::RotateClientSecret, Some(&id), None)
        .await
        .unwrap();
    assert_eq!((status, &rotated["client_id"]), (200, &json!(id)));
    assert_ne!(rotated["client_secret"], created["client_secret"]);
    for (route, status_after) in [
        (Route::DisableClient, "disabled"),
        (Route::EnableClient, "active"),
    ] {
        let (status, client) = caller.send(route, Some(&id), None).await.unwrap();
        assert_eq!(
            (status, &client["status"]),
            (200, &json!(status_after)),
            "{route:?}"
        );
    }
    let deleted = caller
        .send(Route::DeleteClient, Some(&id), None)
        .await
        .unwrap();
    assert_eq!(deleted, (204, Value::Null));
    assert!(emulator.clients().is_empty());

    // Without API Gateway in front, every answer still names its request:
    // one id each (Lambda's request id of the invocation).
    let ids = caller.request_ids.lock().unwrap().clone();
    assert!(ids.iter().all(|id| !id.is_empty()), "{ids:?}");
    let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "{ids:?}");

    let anonymous = Caller {
        bearer: None,
        ..caller
    };
    let response = anonymous
        .http
        .get(format!("{}{}", anonymous.base, Route::ListClients.path()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(
        response.headers().get("www-authenticate").unwrap(),
        "Bearer"
    );
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"message": "missing or malformed jwt"})
    );
}
