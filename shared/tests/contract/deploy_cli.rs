//! deploy/auth0 through Auth0's own Deploy CLI (`a0deploy import`, pinned in
//! deploy/auth0/package-lock.json) into the Auth0 emulator, served over TLS
//! as the CLI requires: the tenant then holds exactly the declared APIs,
//! applications, scopes and grants, a second import changes none of them nor
//! the clients the service minted, and the example caller's token works
//! against the service, as README's first deployed call does.
//!
//! The CLI is installed by `npm ci --prefix deploy/auth0` (scripts/test.sh
//! runs it); without it this test fails, saying so.

use std::collections::BTreeSet;
use std::time::Duration;

use auth0_emulator::EmulatorConfig;
use m2m_shared::config::DEFAULT_GRANT_AUDIENCE;
use m2m_shared::routes::Permission;
use serde_json::{Value, json};
use test_support::setup::{MANAGEMENT_CLIENT_ID, emulator_config, token_answer};
use test_support::tls_proxy::TlsProxy;

use crate::support::{MANAGEMENT_CLIENT_SECRET, Options, TestEnv, WORKSPACE, workspace_yaml};

/// The values of deploy/auth0's keywords in this test.
const STACK_NAME: &str = "m2m-test";
const CALLER_API: &str = "https://m2m-client-service.test/";

/// The scopes README's prerequisites give the Deploy CLI's own application:
/// the emulator's management application has exactly these (the service's
/// own calls in this test are ones the emulator does not scope-check).
fn deploy_cli_scopes() -> String {
    let readme = std::fs::read_to_string(format!("{WORKSPACE}/README.md")).unwrap();
    let listed = readme
        .split("application for the Deploy CLI itself")
        .nth(1)
        .and_then(|rest| rest.split("with the scopes `").nth(1))
        .and_then(|rest| rest.split('`').next())
        .expect("README lists the Deploy CLI application's scopes");
    listed.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn a0deploy() -> String {
    let path = format!("{WORKSPACE}/deploy/auth0/node_modules/.bin/a0deploy");
    assert!(
        std::path::Path::new(&path).exists(),
        "{path} is missing: run `npm ci --prefix deploy/auth0` (scripts/test.sh does)"
    );
    path
}

/// Every `##KEY##` and `@@KEY@@` keyword of `text`.
pub fn keywords(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for marker in ["##", "@@"] {
        let mut parts = text.split(marker);
        parts.next();
        while let (Some(inside), Some(_)) = (parts.next(), parts.next()) {
            if !inside.is_empty()
                && inside
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            {
                found.insert(inside.to_owned());
            }
        }
    }
    found
}

/// The management scopes docs/configuration.md lists, each with what it is
/// for: the first column of the table under "The management application's
/// scopes".
pub fn documented_management_scopes() -> Vec<String> {
    let doc = std::fs::read_to_string(format!("{WORKSPACE}/docs/configuration.md")).unwrap();
    let section = doc
        .split("## The management application's scopes")
        .nth(1)
        .expect("docs/configuration.md has the management scopes' section");
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .map(str::to_owned)
        .collect()
}

/// `program` in the environment a deployer runs it in, for the tenant
/// behind `proxy` (whose certificate is the file `certificate`): the Deploy
/// CLI's credentials and domain, nothing else of this process's.
fn deployer_command(
    program: &str,
    env: &TestEnv,
    proxy: &TlsProxy,
    certificate: &str,
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(program);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // Node (the Deploy CLI) and curl (the secret script) trust it.
        .env("NODE_EXTRA_CA_CERTS", certificate)
        .env("CURL_CA_BUNDLE", certificate)
        .env("AUTH0_DOMAIN", &proxy.domain)
        .env("AUTH0_CLIENT_ID", MANAGEMENT_CLIENT_ID)
        .env("AUTH0_CLIENT_SECRET", MANAGEMENT_CLIENT_SECRET)
        // The emulator names its Management API after its own plain-http
        // address, not the proxy's https one a tenant would have.
        .env("AUTH0_AUDIENCE", management_api(env))
        .kill_on_drop(true);
    command
}

/// Runs `command` to its end, within `limit`; its standard output, or a
/// panic with everything it printed.
async fn run(mut command: tokio::process::Command, what: &str, limit: Duration) -> String {
    let output = tokio::time::timeout(limit, command.output())
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {limit:?}"))
        .unwrap_or_else(|error| panic!("{what} does not run: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// One `a0deploy import` of deploy/auth0 into the emulator behind `proxy`.
async fn import(env: &TestEnv, proxy: &TlsProxy, certificate: &str) {
    let mappings = json!({
        "STACK_NAME": STACK_NAME,
        "JWT_AUDIENCE": CALLER_API,
        "GRANT_AUDIENCE": DEFAULT_GRANT_AUDIENCE,
        "MANAGEMENT_API_AUDIENCE": management_api(env),
    });
    let mut command = deployer_command(&a0deploy(), env, proxy, certificate);
    command
        .current_dir(format!("{WORKSPACE}/deploy/auth0"))
        .args([
            "import",
            "--config_file",
            "config.json",
            "--input_file",
            "tenant.yaml",
        ])
        .env("AUTH0_KEYWORD_REPLACE_MAPPINGS", mappings.to_string());
    run(command, "a0deploy import", Duration::from_secs(180)).await;
}

/// deploy/auth0/store-management-secret.sh, as README's Deploy section runs
/// it after the import (curl to the tenant behind `proxy`, the AWS CLI to
/// moto): the ARN it prints.
async fn store_management_secret(env: &TestEnv, proxy: &TlsProxy, certificate: &str) -> String {
    let script = format!("{WORKSPACE}/deploy/auth0/store-management-secret.sh");
    let mut command = deployer_command(&script, env, proxy, certificate);
    command
        .env("STACK_NAME", STACK_NAME)
        .env(
            "SECRET_NAME",
            format!("{STACK_NAME}/auth0-management-{}", env.table),
        )
        .env("AWS_ENDPOINT_URL", crate::support::moto::url())
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing");
    let printed = run(
        command,
        "store-management-secret.sh (curl, python3, the AWS CLI)",
        Duration::from_secs(120),
    )
    .await;
    printed.trim().to_owned()
}

fn management_api(env: &TestEnv) -> String {
    format!("{}/api/v2/", env.emulator.base_url())
}

fn scope_values(api: &Value) -> Vec<&str> {
    api["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|scope| scope["value"].as_str().unwrap())
        .collect()
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

/// The tenant's APIs (but the system one), applications and grants, each
/// as `(what it is, its JSON)` sorted, for comparing two imports.
fn declared_state(env: &TestEnv) -> Vec<Value> {
    let mut state: Vec<Value> = env
        .emulator
        .resource_servers()
        .into_iter()
        .filter(|api| api["is_system"] != true)
        .chain(env.emulator.clients())
        .chain(env.emulator.grants())
        .collect();
    state.sort_by_key(Value::to_string);
    state
}

#[tokio::test]
async fn the_deploy_cli_sets_up_the_tenant_and_its_example_caller_uses_the_service() {
    let tenant_yaml =
        std::fs::read_to_string(format!("{WORKSPACE}/deploy/auth0/tenant.yaml")).unwrap();
    let expected_keywords: BTreeSet<String> = [
        "STACK_NAME",
        "JWT_AUDIENCE",
        "GRANT_AUDIENCE",
        "MANAGEMENT_API_AUDIENCE",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(keywords(&tenant_yaml), expected_keywords);

    // A tenant with no API of the service's yet: the Deploy CLI makes them.
    let env = TestEnv::with(Options {
        emulator: EmulatorConfig {
            resource_servers: Vec::new(),
            caller_audience: "https://no-such-api.invalid/".into(),
            management_scopes: deploy_cli_scopes(),
            ..emulator_config()
        },
        env: vec![("JWT_AUDIENCE", CALLER_API.to_owned())],
        ..Options::default()
    })
    .await;
    let listen = env.emulator.listen_url().trim_start_matches("http://");
    let proxy = TlsProxy::start(listen.parse().unwrap()).await;
    let certificate = format!(
        "{}/deploy-cli-{}.pem",
        env!("CARGO_TARGET_TMPDIR"),
        std::process::id()
    );
    std::fs::write(&certificate, &proxy.certificate_pem).unwrap();

    import(&env, &proxy, &certificate).await;

    // Exactly the declared APIs, with their scopes.
    let apis: Vec<Value> = env
        .emulator
        .resource_servers()
        .into_iter()
        .filter(|api| api["is_system"] != true)
        .collect();
    assert_eq!(apis.len(), 2, "{apis:?}");
    let callers = &apis[0];
    assert_eq!(callers["name"], format!("{STACK_NAME} callers"));
    assert_eq!(callers["identifier"], CALLER_API);
    assert_eq!(callers["signing_alg"], "RS256");
    assert_eq!(
        scope_values(callers),
        Permission::ALL.map(Permission::as_str)
    );
    let granted = &apis[1];
    assert_eq!(granted["identifier"], DEFAULT_GRANT_AUDIENCE);
    let template = workspace_yaml("template.yaml");
    let grant_scopes = template["Parameters"]["GrantScopes"]["Default"]
        .as_str()
        .unwrap();
    assert_eq!(
        scope_values(granted),
        grant_scopes.split_whitespace().collect::<Vec<_>>(),
        "the minted clients' API has template.yaml's GrantScopes, in order"
    );

    // Exactly the two applications, machine-to-machine.
    let clients = env.emulator.clients();
    let names: Vec<&str> = clients
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            format!("{STACK_NAME} management"),
            format!("{STACK_NAME} example caller")
        ]
    );
    for client in &clients {
        assert_eq!(client["app_type"], "non_interactive", "{client}");
        assert_eq!(strings(&client["grant_types"]), ["client_credentials"]);
        assert_eq!(client["token_endpoint_auth_method"], "client_secret_post");
    }
    let (management, caller) = (&clients[0], &clients[1]);

    // Exactly the two grants: the management scopes the docs list, and
    // every permission of the service for the example caller.
    let grants = env.emulator.grants();
    assert_eq!(grants.len(), 2, "{grants:?}");
    let grant_of = |client: &Value| {
        grants
            .iter()
            .find(|g| g["client_id"] == client["client_id"])
            .unwrap()
            .clone()
    };
    let management_grant = grant_of(management);
    assert_eq!(management_grant["audience"], management_api(&env));
    assert_eq!(
        strings(&management_grant["scope"]),
        documented_management_scopes()
    );
    let caller_grant = grant_of(caller);
    assert_eq!(caller_grant["audience"], CALLER_API);
    assert_eq!(
        strings(&caller_grant["scope"]),
        Permission::ALL.map(Permission::as_str)
    );

    // The management application's credentials into Secrets Manager, as
    // the JSON the service reads, under the ARN the script prints; run
    // again (after a rotation of that secret, say), the same secret.
    let arn = store_management_secret(&env, &proxy, &certificate).await;
    assert!(arn.starts_with("arn:aws:secretsmanager:"), "{arn}");
    assert_eq!(
        store_management_secret(&env, &proxy, &certificate).await,
        arn
    );
    let stored = env
        .secrets
        .get_secret_value()
        .secret_id(&arn)
        .send()
        .await
        .unwrap();
    let stored: Value = serde_json::from_str(stored.secret_string().unwrap()).unwrap();
    assert_eq!(
        stored,
        json!({"client_id": management["client_id"], "client_secret": management["client_secret"]})
    );

    // The first deployed call: the example caller's token from Auth0, then
    // create and list.
    let credentials = (
        caller["client_id"].as_str().unwrap(),
        caller["client_secret"].as_str().unwrap(),
    );
    let http = reqwest::Client::new();
    let (status, answer) = token_answer(&http, &env.emulator, credentials, CALLER_API).await;
    assert_eq!(status, 200, "{answer}");
    let token = answer["access_token"].as_str().expect("a token").to_owned();
    assert_eq!(
        answer["scope"],
        Permission::ALL.map(Permission::as_str).join(" ")
    );
    env.remember_sensitive(&token);
    let created = env
        .create(&token, json!({"name": "first deployed call"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["client_id"].as_str().unwrap().to_owned();
    let listed = env.list(&token).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.json[0]["id"], id.as_str());

    // A second import (an upgrade, or a re-run) changes nothing declared,
    // and leaves the minted client and its grant alone: the Deploy CLI may
    // not delete.
    let before = declared_state(&env);
    import(&env, &proxy, &certificate).await;
    assert_eq!(declared_state(&env), before);
    assert!(
        env.emulator
            .clients()
            .iter()
            .any(|c| c["client_id"] == id.as_str())
    );

    let deleted = env.delete(&token, &id).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let listed = env.list(&token).await;
    assert_eq!(listed.json, json!([]), "{}", listed.text);
    let _ = std::fs::remove_file(&certificate);
}
