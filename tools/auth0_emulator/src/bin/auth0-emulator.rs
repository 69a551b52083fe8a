//! The Auth0 emulator as a process, for local runs.
//!
//! ```text
//! auth0-emulator [serve] [--port 8081] [--management-client-id ID]
//!                [--management-client-secret SECRET] [--caller-audience AUD]
//!                [--resource-server AUD]... [--no-custom-client-ids]
//!                [--no-private-key-jwt] [--demo-owner ID]
//! auth0-emulator token --owner ID --issuer URL [--audience AUD] [--ttl SECONDS] [--scope SCOPES]
//! ```
//!
//! `serve` prints `auth0-emulator listening on http://127.0.0.1:PORT` once
//! ready and stops on Ctrl-C. The port may also come from `EMULATOR_PORT`;
//! `--resource-server` (repeatable) replaces the default `https://butlrauth/`.
//! `--no-private-key-jwt` makes a tenant whose plan lacks Private Key JWT.
//! `token` prints a caller token signed with the emulator's development key
//! (no server needed), granting `--scope` (space-separated; by default all
//! four permissions of the service, `read:m2m_clients create:m2m_clients
//! update:m2m_clients delete:m2m_clients`; `--scope read:m2m_clients` makes
//! a read-only caller, `--scope ""` one without any). `--demo-owner` seeds the
//! two clients of the documentation's examples (`abc123def456`, `xyz789`),
//! owned by that caller, so the documented curl commands work verbatim.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth0_emulator::{Emulator, EmulatorConfig, TestKey, sign};
use jsonwebtoken::{Algorithm, Header};
use serde_json::json;

const USAGE: &str = "usage: auth0-emulator [serve] [--port N] [--management-client-id ID] \
[--management-client-secret SECRET] [--caller-audience AUD] [--resource-server AUD]... \
[--no-custom-client-ids] [--no-private-key-jwt] [--demo-owner ID]\n       \
auth0-emulator token --owner ID --issuer URL [--audience AUD] [--ttl SECONDS] [--scope SCOPES]";

/// What a caller token grants unless `--scope` says otherwise: every
/// permission of the service (docs/behaviour.md, "Authorization").
const ALL_PERMISSIONS: &str =
    "read:m2m_clients create:m2m_clients update:m2m_clients delete:m2m_clients";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let command = match args.first().map(String::as_str) {
        Some("token") | Some("serve") => args.remove(0),
        _ => "serve".to_owned(),
    };
    let result = match command.as_str() {
        "token" => token(&args),
        _ => serve(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("auth0-emulator: {problem}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// `--name value` pairs and bare `--flag`s.
fn option<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|arg| arg == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// Every value of a repeatable `--name value`.
fn options<'a>(args: &'a [String], name: &str) -> Vec<&'a str> {
    args.windows(2)
        .filter(|pair| pair[0] == name)
        .map(|pair| pair[1].as_str())
        .collect()
}

/// Refuses anything but the known options (each with its value) and flags,
/// so a typo is not silently ignored.
fn check_arguments(args: &[String], with_value: &[&str], flags: &[&str]) -> Result<(), String> {
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if with_value.contains(&arg.as_str()) {
            if rest.next().is_none() {
                return Err(format!("{arg} needs a value"));
            }
        } else if !flags.contains(&arg.as_str()) {
            return Err(format!("unknown argument {arg}"));
        }
    }
    Ok(())
}

fn token(args: &[String]) -> Result<(), String> {
    check_arguments(
        args,
        &["--owner", "--issuer", "--audience", "--ttl", "--scope"],
        &[],
    )?;
    let owner = option(args, "--owner").ok_or("--owner is required")?;
    let issuer = option(args, "--issuer").ok_or("--issuer is required")?;
    let audience = option(args, "--audience").unwrap_or("https://m2m-client-service/");
    let ttl: u64 = option(args, "--ttl")
        .unwrap_or("86400")
        .parse()
        .map_err(|_| "--ttl must be a number of seconds")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| "clock before 1970")?
        .as_secs();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(TestKey::Dev.kid().to_owned());
    let mut claims = json!({
        "iss": issuer,
        "sub": format!("{owner}@clients"),
        "aud": audience,
        "iat": now,
        "exp": now + ttl,
        "azp": owner,
        "gty": "client-credentials",
        "client_id": owner,
    });
    let scope = option(args, "--scope").unwrap_or(ALL_PERMISSIONS).trim();
    if !scope.is_empty() {
        claims["scope"] = json!(scope);
    }
    println!("{}", sign(&header, &claims, TestKey::Dev));
    Ok(())
}

fn serve(args: &[String]) -> Result<(), String> {
    check_arguments(
        args,
        &[
            "--port",
            "--management-client-id",
            "--management-client-secret",
            "--caller-audience",
            "--resource-server",
            "--demo-owner",
        ],
        &["--no-custom-client-ids", "--no-private-key-jwt"],
    )?;
    let defaults = EmulatorConfig::default();
    let resource_servers = options(args, "--resource-server");
    let port = option(args, "--port")
        .map(str::to_owned)
        .or_else(|| std::env::var("EMULATOR_PORT").ok())
        .unwrap_or_else(|| "8081".to_owned())
        .parse()
        .map_err(|_| "--port must be a port number")?;
    let config = EmulatorConfig {
        management_client_id: option(args, "--management-client-id")
            .map_or(defaults.management_client_id.clone(), str::to_owned),
        management_client_secret: option(args, "--management-client-secret")
            .map_or(defaults.management_client_secret.clone(), str::to_owned),
        caller_audience: option(args, "--caller-audience")
            .map_or(defaults.caller_audience.clone(), str::to_owned),
        custom_client_ids: !args.iter().any(|a| a == "--no-custom-client-ids"),
        private_key_jwt: !args.iter().any(|a| a == "--no-private-key-jwt"),
        resource_servers: if resource_servers.is_empty() {
            defaults.resource_servers.clone()
        } else {
            resource_servers.into_iter().map(str::to_owned).collect()
        },
        port,
        ..defaults
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async {
        let emulator = Emulator::start(config)
            .await
            .map_err(|e| format!("cannot listen on port {port}: {e}"))?;
        if let Some(owner) = option(args, "--demo-owner") {
            for (id, name, description) in [
                (
                    "abc123def456",
                    "My API Client",
                    "Client for accessing internal APIs",
                ),
                ("xyz789", "Another Client", "Secondary API client"),
            ] {
                emulator.seed_client(json!({
                    "client_id": id,
                    "name": name,
                    "description": description,
                    "app_type": "non_interactive",
                    "grant_types": ["client_credentials"],
                    "client_metadata": {"owner_client_id": owner},
                }));
            }
        }
        // Listen for Ctrl-C before saying so: a SIGINT that arrives between
        // the line and a lazily registered handler would kill the process.
        let mut interrupt =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
                .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
        println!("auth0-emulator listening on {}", emulator.base_url());
        interrupt.recv().await;
        // Report what this run was sent that Auth0 would refuse, without
        // the panic a test gets.
        for violation in emulator.take_schema_violations() {
            eprintln!("schema violation: {violation}");
        }
        Ok::<(), String>(())
    })?;
    // Give in-flight connections a moment; the runtime drops the rest.
    runtime.shutdown_timeout(Duration::from_millis(200));
    Ok(())
}
