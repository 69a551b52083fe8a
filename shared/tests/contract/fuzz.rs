//! Property tests: whatever a caller sends, the answer is a documented 4xx
//! (or the success it asked for), never a panic or a 5xx.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

use crate::support::{Reply, Route, TestEnv, bearer};

/// Cases per property: a fixed budget, so CI time is predictable.
const CASES: u32 = 500;

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    })
}

fn documented(reply: &Reply, allowed: &[u16]) -> Result<(), TestCaseError> {
    prop_assert!(
        allowed.contains(&reply.status),
        "status {}: {}",
        reply.status,
        reply.text
    );
    if reply.status >= 400 {
        prop_assert_eq!(reply.header("content-type"), Some("application/json"));
        let expected_code = match reply.status {
            400 => Some("INVALID_REQUEST"),
            404 => Some("CLIENT_NOT_FOUND"),
            _ => None,
        };
        prop_assert_eq!(reply.json["code"].as_str(), expected_code);
        prop_assert!(reply.json["message"].is_string(), "{}", reply.text);
    }
    Ok(())
}

/// JSON values of any shape, biased towards objects with our field names.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,300}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("name".to_owned()),
                    Just("description".to_owned()),
                    "[a-z_]{1,12}"
                ],
                inner,
                0..4
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        json_value().prop_map(|v| v.to_string().into_bytes()),
        (".{0,300}", prop::option::of(".{0,200}")).prop_map(|(name, description)| {
            match description {
                Some(d) => json!({"name": name, "description": d}),
                None => json!({"name": name}),
            }
            .to_string()
            .into_bytes()
        }),
        prop::collection::vec(any::<u8>(), 0..512),
    ]
}

#[test]
fn create_answers_201_or_a_documented_400_whatever_the_body() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let env = runtime.block_on(TestEnv::new());
    let authorization = bearer(&env.token("fuzzer"));
    runner()
        .run(&body(), |body| {
            let text = String::from_utf8_lossy(&body).into_owned();
            let reply = runtime.block_on(env.send(
                Route::CreateClient,
                Some(&authorization),
                None,
                Some(&text),
            ));
            documented(&reply, &[201, 400])
        })
        .unwrap();
    // Every success left a client with its grant, nothing else.
    assert_eq!(env.emulator.clients().len(), env.emulator.grants().len());
    runtime.block_on(async { drop(env) });
}

#[test]
fn reads_and_deletes_answer_404_for_any_id_that_is_not_the_callers() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let env = runtime.block_on(TestEnv::new());
    let theirs = runtime.block_on(env.create_ok("someone-else", "Theirs"));
    let authorization = bearer(&env.token("fuzzer"));
    let ids = prop_oneof![
        ".{1,100}",
        "[A-Za-z0-9_-]{1,64}",
        Just(theirs["client_id"].as_str().unwrap().to_owned()),
    ];
    runner()
        .run(&(ids, any::<bool>()), |(id, delete)| {
            let route = if delete {
                Route::DeleteClient
            } else {
                Route::GetClient
            };
            let reply = runtime.block_on(env.send(route, Some(&authorization), Some(&id), None));
            documented(&reply, &[404])
        })
        .unwrap();
    assert_eq!(
        env.emulator.clients().len(),
        1,
        "someone else's client survived"
    );
    runtime.block_on(async { drop(env) });
}

#[test]
fn any_authorization_header_is_a_documented_401() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let env = runtime.block_on(TestEnv::new());
    let valid = env.token("fuzzer");
    let headers = prop_oneof![
        // Anything a header can carry (API Gateway forwards no control characters).
        "[\\t\\x20-\\x7e\\u{a0}-\\u{2fff}]{0,200}",
        "[Bb][Ee][Aa][Rr][Ee][Rr] [A-Za-z0-9_.-]{0,300}",
        // A real token with one character changed.
        (0..valid.len(), "[A-Za-z0-9_-]").prop_filter_map("a change", {
            let valid = valid.clone();
            move |(at, c)| {
                let mut token = valid.clone().into_bytes();
                let c = c.as_bytes()[0];
                (token[at] != c && token[at] != b'.').then(|| {
                    token[at] = c;
                    format!("Bearer {}", String::from_utf8_lossy(&token))
                })
            }
        }),
    ];
    runner()
        .run(&(headers, 0usize..Route::ALL.len()), |(header, route)| {
            let route = Route::ALL[route];
            let id = route.takes_id().then_some("client_x");
            let reply =
                runtime.block_on(env.send(route, Some(&header), id, Some(r#"{"name":"x"}"#)));
            // A one-character change to the base64 of the signature's last
            // char can leave the decoded bytes unchanged; everything else is 401.
            if reply.status == 401 {
                prop_assert!(
                    [
                        json!({"message": "missing or malformed jwt"}),
                        json!({"message": "invalid or expired jwt"}),
                        json!({"message": "token is valid but missing client_id"}),
                    ]
                    .contains(&reply.json),
                    "{}",
                    reply.text
                );
                prop_assert!(
                    reply
                        .header("www-authenticate")
                        .is_some_and(|v| v.starts_with("Bearer"))
                );
                Ok(())
            } else {
                documented(&reply, &[200, 201, 404])
            }
        })
        .unwrap();
    runtime.block_on(async { drop(env) });
}
