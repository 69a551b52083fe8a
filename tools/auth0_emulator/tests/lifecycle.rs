//! Starting, stopping, the unread-violation check on drop, and the binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

mod support;

use auth0_emulator::{Emulator, EmulatorConfig};
use serde_json::{Value, json};
use support::Tenant;

#[tokio::test]
#[should_panic(expected = "violate Auth0's schemas")]
async fn unread_violations_fail_the_test_on_drop() {
    let tenant = Tenant::start().await;
    tenant
        .create(json!({"name": "ok", "unknown_property": 1}))
        .await;
    assert_eq!(tenant.emulator.schema_violations().len(), 1);
    drop(tenant);
}

#[tokio::test]
async fn taken_violations_do_not() {
    let tenant = Tenant::start().await;
    tenant
        .create(json!({"name": "ok", "unknown_property": 1}))
        .await;
    let taken = tenant.emulator.take_schema_violations();
    assert_eq!(taken.len(), 1);
    assert!(taken[0].contains("unknown_property"), "{taken:?}");
    assert!(tenant.emulator.schema_violations().is_empty());
}

#[tokio::test]
async fn a_dropped_emulator_stops_listening() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let url = emulator.jwks_url();
    let http = reqwest::Client::new();
    assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
    drop(emulator);
    // The listener closes at once; a kept-alive connection shortly after.
    let mut refused = false;
    for _ in 0..20 {
        if http.get(&url).send().await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(refused, "still answering after drop");
}

#[tokio::test]
async fn a_configured_port_is_used() {
    // Find a free port, release it, then ask for it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let emulator = Emulator::start(EmulatorConfig {
        port,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    assert_eq!(emulator.base_url(), format!("http://127.0.0.1:{port}"));
    // The port is taken now.
    let second = Emulator::start(EmulatorConfig {
        port,
        ..EmulatorConfig::default()
    })
    .await;
    assert!(second.is_err());
}

/// The claims of the caller token the binary prints with `extra` arguments.
fn printed_token_claims(extra: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_auth0-emulator"))
        .args([
            "token",
            "--owner",
            "owner-a",
            "--issuer",
            "http://127.0.0.1:8081/",
            "--audience",
            "https://m2m-client-service/",
        ])
        .args(extra)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let token = String::from_utf8(output.stdout).unwrap();
    let token = token.trim();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.kid.as_deref(), Some("dev-key-1"));
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(
        auth0_emulator::public_key_pem(auth0_emulator::TestKey::Dev).as_bytes(),
    )
    .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&["https://m2m-client-service/"]);
    validation.set_issuer(&["http://127.0.0.1:8081/"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims
}

#[test]
fn the_binary_prints_a_caller_token() {
    let claims = printed_token_claims(&[]);
    assert_eq!(claims["azp"], "owner-a");
    assert_eq!(claims["client_id"], "owner-a");
    assert_eq!(claims["sub"], "owner-a@clients");
    assert_eq!(claims["gty"], "client-credentials");
    // Every permission of the service, unless asked otherwise.
    assert_eq!(
        claims["scope"],
        "read:m2m_clients create:m2m_clients update:m2m_clients delete:m2m_clients"
    );
    let read_only = printed_token_claims(&["--scope", "read:m2m_clients"]);
    assert_eq!(read_only["scope"], "read:m2m_clients");
    let none = printed_token_claims(&["--scope", ""]);
    assert!(none.get("scope").is_none(), "{none}");

    let missing = Command::new(env!("CARGO_BIN_EXE_auth0-emulator"))
        .args(["token", "--owner", "owner-a"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
}

#[test]
fn the_binary_serves_until_interrupted() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_auth0-emulator"))
        .args(["--port", "0", "--no-custom-client-ids"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base_url = line
        .trim()
        .strip_prefix("auth0-emulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");
    let jwks = std::net::TcpStream::connect(base_url.trim_start_matches("http://"));
    assert!(jwks.is_ok());

    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
