//! Every sample event in `events/` runs through its function's handler (or
//! the reconciler, or the log stream's function) and gets the answer its
//! name promises.

use serde_json::json;

use auth0_emulator::ClientKey;

use crate::support::keys::public_key;
use crate::support::{Route, TestEnv};

fn expected(case: &str) -> (u16, Option<serde_json::Value>) {
    match case {
        "success" => (0, None),
        "no-token" => (401, Some(json!({"message": "missing or malformed jwt"}))),
        "malformed-body" => (
            400,
            Some(json!({"code": "INVALID_REQUEST", "message": "request body must be valid JSON"})),
        ),
        "missing-name" => (
            400,
            Some(json!({"code": "INVALID_REQUEST", "message": "client name is required"})),
        ),
        "unknown-id" => (
            404,
            Some(json!({"code": "CLIENT_NOT_FOUND", "message": "client not found"})),
        ),
        other => panic!("events/: no expectation for case {other:?}: add one here"),
    }
}

#[tokio::test]
async fn every_sample_event_gets_the_answer_its_name_promises() {
    let directory = concat!(env!("CARGO_MANIFEST_DIR"), "/../events");
    let mut files: Vec<_> = std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 39, "{files:?}");

    for path in files {
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        if let Some(case) = name.strip_prefix("reconcile_clients-") {
            reconcile_event(&path, case).await;
            continue;
        }
        if let Some(case) = name.strip_prefix("auth0_log_events-") {
            log_event(&path, case).await;
            continue;
        }
        let env = TestEnv::new().await;
        let token = env.token("event-owner");
        let (function, case) = name.split_once('-').unwrap();
        let route = Route::from_function(function)
            .unwrap_or_else(|| panic!("events/{name}.json: unknown function {function}"));
        // The credentials routes are a key client's; a removal needs a
        // second key, and removes the first.
        let keys_route = matches!(
            route,
            Route::ListCredentials | Route::CreateCredential | Route::DeleteCredential
        );
        let existing = if keys_route {
            env.create_with_key("event-owner", "From an event", ClientKey::A)
                .await
        } else {
            env.create_ok("event-owner", "From an event").await
        };
        let id = existing["client_id"].as_str().unwrap();
        let first = existing["credentials"][0]["credential_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if route == Route::DeleteCredential {
            let added = env
                .add_credential(&token, id, &public_key(ClientKey::C))
                .await;
            assert_eq!(added.status, 201, "{name}: {}", added.text);
        }
        let event = std::fs::read_to_string(&path)
            .unwrap()
            .replace("{{TOKEN}}", &token)
            .replace("{{CLIENT_ID}}", id)
            .replace("{{CREDENTIAL_ID}}", &first);
        let reply = env.dispatch(route, &event).await;

        let (status, body) = expected(case);
        if case == "success" {
            assert_eq!(
                reply.status,
                route.success_status(),
                "{name}: {}",
                reply.text
            );
            match route {
                Route::CreateClient => assert_eq!(reply.json["name"], "My API Client", "{name}"),
                Route::ListClients => assert_eq!(reply.json[0]["id"], id, "{name}"),
                Route::GetClient => assert_eq!(reply.json["id"], id, "{name}"),
                Route::DeleteClient => assert!(env.emulator.clients().is_empty(), "{name}"),
                Route::UpdateClient => assert_eq!(reply.json["id"], id, "{name}"),
                Route::RotateClientSecret => {
                    assert_eq!(reply.json["client_id"], id, "{name}");
                    assert!(reply.json["client_secret"].is_string(), "{name}");
                }
                Route::DisableClient => assert_eq!(reply.json["status"], "disabled", "{name}"),
                Route::EnableClient => assert_eq!(reply.json["status"], "active", "{name}"),
                Route::ListCredentials => {
                    assert_eq!(reply.json[0]["credential_id"], first.as_str(), "{name}")
                }
                Route::CreateCredential => assert_eq!(
                    reply.json["thumbprint_sha256"],
                    ClientKey::B.thumbprint(),
                    "{name}"
                ),
                Route::DeleteCredential => {
                    let left = env.list_credentials(&token, id).await;
                    assert_eq!(left.json.as_array().map(Vec::len), Some(1), "{name}");
                    assert_ne!(left.json[0]["credential_id"], first.as_str(), "{name}");
                }
            }
        } else {
            assert_eq!(reply.status, status, "{name}: {}", reply.text);
            assert_eq!(Some(reply.json.clone()), body, "{name}");
        }
    }
}

/// The reconciler's events: a scheduled run imports nothing, a backfill
/// imports a client made before the owner index, an audit changes nothing
/// and answers that client as only Auth0's.
async fn reconcile_event(path: &std::path::Path, case: &str) {
    let env = TestEnv::new().await;
    let legacy = test_support::setup::seed_owned_client(&env.emulator, "event-owner", "Legacy");
    let event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let answer = env.reconcile_event(&event).await;
    let imported = match case {
        "scheduled" => 0,
        "backfill" => 1,
        "audit" => {
            assert_eq!(
                answer["audit"]["only_in_auth0"],
                json!([{"client_id": legacy, "owner": "event-owner"}]),
                "{case}: {answer}"
            );
            assert_eq!(answer["complete"], true, "{case}: {answer}");
            0
        }
        other => panic!("events/reconcile_clients-{other}.json: no expectation: add one here"),
    };
    if case != "audit" {
        assert_eq!(answer["imported"], imported, "{case}: {answer}");
    }
    let got = env.get(&env.token("event-owner"), &legacy).await;
    assert_eq!(got.status, if imported == 1 { 200 } else { 404 }, "{case}");
}

/// Auth0's log stream's events (`auth0_log_events`), with one of the
/// caller's clients for `{{CLIENT_ID}}`: each is an event as Auth0 writes it
/// (its `data` valid under Auth0's tenant log schema); a `seccft` shows on
/// get as the client's `last_used_at`, a deletion in the dashboard removes
/// the client once Auth0 has none.
async fn log_event(path: &std::path::Path, case: &str) {
    let env = TestEnv::new().await;
    let id = env.create_id("event-owner", "From an event").await;
    let event: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(path)
            .unwrap()
            .replace("{{CLIENT_ID}}", &id),
    )
    .unwrap();
    assert_eq!(event["detail-type"], "Auth0 log", "{case}");
    let data = &event["detail"]["data"];
    let schema = match case {
        "seccft" => auth0_emulator::Schema::LogSeccft,
        "client-deleted" => auth0_emulator::Schema::LogSapi,
        other => panic!("events/auth0_log_events-{other}.json: no expectation: add one here"),
    };
    schema
        .check(data)
        .unwrap_or_else(|problem| panic!("{case}: not as Auth0 writes it: {problem}"));
    let token = env.token("event-owner");
    match case {
        "seccft" => {
            let answer = env.follow_log_event(&event).await.unwrap();
            assert_eq!(answer["outcome"], "recorded", "{case}: {answer}");
            let got = env.get(&token, &id).await;
            assert_eq!(got.json["last_used_at"], data["date"], "{case}");
        }
        _ => {
            env.delete_in_auth0(&id).await;
            let answer = env.follow_log_event(&event).await.unwrap();
            assert_eq!(answer["outcome"], "removed", "{case}: {answer}");
            env.get(&token, &id).await.assert_not_found();
        }
    }
}
