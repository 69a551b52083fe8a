//! The four binaries served by `cargo lambda watch` through the workspace
//! router, driven over HTTP like the documentation's curl examples.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use auth0_emulator::{Emulator, EmulatorConfig};
use serde_json::{Value, json};

use crate::support::{CALLER_AUDIENCE, MANAGEMENT_CLIENT_ID, MANAGEMENT_CLIENT_SECRET, moto};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cargo_lambda_watch_serves_the_four_routes() {
    let emulator = Emulator::start(EmulatorConfig {
        management_client_id: MANAGEMENT_CLIENT_ID.into(),
        management_client_secret: MANAGEMENT_CLIENT_SECRET.into(),
        caller_audience: CALLER_AUDIENCE.into(),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let secret_id = format!("m2m/watch-{}", std::process::id());
    moto::secrets_manager_client()
        .create_secret()
        .name(&secret_id)
        .secret_string(
            json!({"client_id": MANAGEMENT_CLIENT_ID, "client_secret": MANAGEMENT_CLIENT_SECRET})
                .to_string(),
        )
        .send()
        .await
        .unwrap();

    let port = free_port();
    let log_path = std::env::temp_dir().join(format!("cargo-lambda-watch-{port}.log"));
    let workspace = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let child = Command::new("cargo")
        .args(["lambda", "watch", "--invoke-address", "127.0.0.1", "-P"])
        .arg(port.to_string())
        .current_dir(workspace)
        .env("AUTH0_DOMAIN", emulator.base_url())
        .env("AUTH0_SECRET_ID", &secret_id)
        .env("JWT_ISSUER", emulator.issuer())
        .env("JWT_AUDIENCE", CALLER_AUDIENCE)
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

    let base = format!("http://127.0.0.1:{port}/api/v1/client");
    let http = reqwest::Client::new();
    let token = emulator.sign_caller_token(&json!({
        "iss": emulator.issuer(),
        "aud": CALLER_AUDIENCE,
        "exp": crate::support::unix_now() + 3600,
        "azp": "curl-owner",
        "gty": "client-credentials",
    }));
    let bearer = format!("Bearer {token}");

    // The first request to each function compiles and starts it: be patient.
    let started = Instant::now();
    let created = loop {
        let attempt = http
            .post(&base)
            .header("authorization", &bearer)
            .header("content-type", "application/json")
            .body(
                r#"{"name": "My API Client", "description": "Client for accessing internal APIs"}"#,
            )
            .timeout(Duration::from_secs(240))
            .send()
            .await;
        match attempt {
            Ok(response) => {
                assert_eq!(response.status(), 201);
                break response.json::<Value>().await.unwrap();
            }
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
    assert_eq!(created["name"], "My API Client");
    let id = created["client_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("client_"));

    let response = http
        .get(&base)
        .header("authorization", &bearer)
        .timeout(Duration::from_secs(240))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!([{"id": id, "name": "My API Client", "description": "Client for accessing internal APIs", "client_id": id}])
    );

    let response = http
        .get(format!("{base}/{id}"))
        .header("authorization", &bearer)
        .timeout(Duration::from_secs(240))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["id"], id.as_str());

    let response = http
        .delete(format!("{base}/{id}"))
        .header("authorization", &bearer)
        .timeout(Duration::from_secs(240))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert!(emulator.clients().is_empty());

    let response = http.get(&base).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers().get("www-authenticate").unwrap(),
        "Bearer"
    );
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"message": "missing or malformed jwt"})
    );
}
