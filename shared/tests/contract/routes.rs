//! The route table (`m2m_shared::Route`) is the one list of routes. What
//! must restate it for tools that cannot read Rust says the same: the
//! workspace's functions, the `cargo lambda watch` router in Cargo.toml,
//! template.yaml, openapi.yaml and the sample events. A route added to the
//! table and missing from any of them fails here, and so does one left
//! behind in them after it left the table. Besides the routes' functions
//! there is one scheduled function, the reconciler ([`SCHEDULED`]): it has
//! a crate and a template function, with a schedule and no route; and one
//! on Auth0's log stream ([`ON_LOG_STREAM`]), with an EventBridge rule.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;
use serde_yaml_ng::Value as Yaml;

use crate::support::{Route, WORKSPACE, stdout_of, workspace_yaml};

/// `(function, METHOD, path)` for every route of the table.
fn table() -> BTreeSet<(String, String, String)> {
    Route::ALL
        .iter()
        .map(|route| {
            (
                route.function().to_owned(),
                route.method().to_owned(),
                route.path().to_owned(),
            )
        })
        .collect()
}

fn functions() -> BTreeSet<String> {
    Route::ALL
        .iter()
        .map(|route| route.function().to_owned())
        .collect()
}

/// The functions no route invokes: template.yaml runs them on a schedule
/// (docs/owner-index.md, "The reconciler").
const SCHEDULED: [&str; 1] = ["reconcile_clients"];

/// The functions Auth0's log stream invokes: template.yaml runs them on an
/// EventBridge rule, declared only when `Auth0LogEventSource` is set
/// (docs/owner-index.md, "Auth0's log stream").
const ON_LOG_STREAM: [&str; 1] = ["auth0_log_events"];

/// Every function the workspace builds and template.yaml deploys: the
/// routes', the scheduled ones and the log stream's.
fn all_functions() -> BTreeSet<String> {
    let mut all = functions();
    for function in SCHEDULED.into_iter().chain(ON_LOG_STREAM) {
        assert!(
            all.insert(function.to_owned()),
            "{function} is a route's function and scheduled"
        );
    }
    all
}

fn cargo_metadata() -> Value {
    let stdout = stdout_of(
        Command::new(env!("CARGO"))
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--offline",
            ])
            .current_dir(WORKSPACE),
        "cargo metadata",
    );
    serde_json::from_slice(&stdout).unwrap()
}

fn text(value: &Yaml) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

#[test]
fn each_function_crate_is_one_route_or_scheduled_and_builds_one_binary_of_its_name() {
    let metadata = cargo_metadata();
    let packages = metadata["packages"].as_array().unwrap();
    let in_functions: BTreeSet<String> = packages
        .iter()
        .filter(|package| {
            package["manifest_path"]
                .as_str()
                .unwrap()
                .contains("/functions/")
        })
        .map(|package| {
            let name = package["name"].as_str().unwrap().to_owned();
            let binaries: Vec<&str> = package["targets"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|target| target["kind"][0] == "bin")
                .map(|target| target["name"].as_str().unwrap())
                .collect();
            assert_eq!(binaries, [name.as_str()], "{name}'s binaries");
            name
        })
        .collect();
    assert_eq!(in_functions, all_functions());
}

#[test]
fn cargo_lambda_watch_routes_each_route_to_its_function() {
    let metadata = cargo_metadata();
    let router = metadata["metadata"]["lambda"]["watch"]["router"]
        .as_object()
        .expect("[workspace.metadata.lambda.watch.router] in Cargo.toml");
    let mut routed = BTreeSet::new();
    for (path, targets) in router {
        for target in targets.as_array().unwrap() {
            routed.insert((
                target["function"].as_str().unwrap().to_owned(),
                target["method"].as_str().unwrap().to_owned(),
                path.clone(),
            ));
        }
    }
    assert_eq!(routed, table());
}

/// The binary the Makefile copies for a template function: its logical id
/// without `Function`, in snake case (`RotateClientSecretFunction`:
/// `rotate_client_secret`), by the Makefile's rule: `_` before each capital
/// that follows a small letter or a digit, then all in small letters.
fn binary_of(logical_id: &str) -> String {
    let stem = logical_id
        .strip_suffix("Function")
        .unwrap_or_else(|| panic!("{logical_id}: a function's logical id ends in Function"));
    let mut binary = String::new();
    let mut after_small = false;
    for c in stem.chars() {
        if c.is_ascii_uppercase() && after_small {
            binary.push('_');
        }
        after_small = c.is_ascii_lowercase() || c.is_ascii_digit();
        binary.push(c.to_ascii_lowercase());
    }
    binary
}

#[test]
fn template_yaml_deploys_each_function_on_its_route_or_schedule() {
    let template = workspace_yaml("template.yaml");
    let mut deployed = BTreeSet::new();
    let mut binaries = BTreeSet::new();
    let mut scheduled = BTreeSet::new();
    let mut on_log_stream = BTreeSet::new();
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let name = text(name);
        assert_eq!(
            text(&resource["Metadata"]["BuildMethod"]),
            "makefile",
            "{name}: the Makefile builds every function"
        );
        let binary = binary_of(&name);
        assert!(
            binaries.insert(binary.clone()),
            "{binary} is deployed twice"
        );
        let events = resource["Properties"]["Events"].as_mapping();
        for event in events.into_iter().flat_map(|events| events.values()) {
            if event["Type"] == "HttpApi" {
                let properties = &event["Properties"];
                deployed.insert((
                    binary.clone(),
                    text(&properties["Method"]),
                    text(&properties["Path"]),
                ));
            } else if event["Type"] == "Schedule" {
                scheduled.insert(binary.clone());
            } else if event["Type"] == "EventBridgeRule" {
                on_log_stream.insert(binary.clone());
                // Only where the deployment names Auth0's event source.
                assert_eq!(
                    text(&resource["Condition"]),
                    "FollowsAuth0LogStream",
                    "{name}: declared only with Auth0LogEventSource"
                );
            }
        }
    }
    // No scheduled function has a route (the table has none for them), and
    // each route's function has exactly its route.
    assert_eq!(deployed, table());
    let expected: BTreeSet<String> = SCHEDULED.iter().map(|f| (*f).to_owned()).collect();
    assert_eq!(scheduled, expected, "the functions with a Schedule event");
    let expected: BTreeSet<String> = ON_LOG_STREAM.iter().map(|f| (*f).to_owned()).collect();
    assert_eq!(
        on_log_stream, expected,
        "the functions with an EventBridgeRule event"
    );
    assert_eq!(
        binaries,
        all_functions(),
        "no function without a route or a schedule"
    );
}

/// Only a function that calls Auth0 may read the Management API secret
/// and the shared Management API token: list and get read the owner index
/// alone.
#[test]
fn template_yaml_gives_the_management_secret_and_token_only_to_functions_that_call_auth0() {
    let template = workspace_yaml("template.yaml");
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = binary_of(&text(name));
        let policies = serde_yaml_ng::to_string(&resource["Properties"]["Policies"]).unwrap();
        let reads_secret = policies.contains("ManagementSecretAccess");
        let decrypts = policies.contains("ManagementSecretDecrypt");
        let shares_the_token = policies.contains("ManagementTokenAccess");
        let calls_auth0 = Route::from_function(&binary).is_none_or(Route::calls_auth0);
        assert_eq!(reads_secret, calls_auth0, "{binary}: {policies}");
        assert_eq!(decrypts, calls_auth0, "{binary}: {policies}");
        assert_eq!(shares_the_token, calls_auth0, "{binary}: {policies}");
    }
}

#[test]
fn openapi_yaml_documents_each_route() {
    let document = workspace_yaml("openapi.yaml");
    let mut documented = BTreeSet::new();
    for (path, operations) in document["paths"].as_mapping().unwrap() {
        for (method, _) in operations.as_mapping().unwrap() {
            let method = text(method);
            if method != "parameters" {
                documented.insert((method.to_ascii_uppercase(), text(path)));
            }
        }
    }
    let routes: BTreeSet<(String, String)> = table()
        .into_iter()
        .map(|(_, method, path)| (method, path))
        .collect();
    assert_eq!(documented, routes);
}

#[test]
fn each_function_has_a_sample_event_of_its_success() {
    let names: BTreeSet<String> = std::fs::read_dir(format!("{WORKSPACE}/events"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for function in functions() {
        assert!(
            names.contains(&format!("{function}-success.json")),
            "events/{function}-success.json is missing"
        );
    }
}
