//! The owner index as callers see it (docs/owner-index.md): pages with
//! cursors and `Link`, the quota, and idempotent creates.

use serde_json::{Value, json};

use crate::support::{Event, Reply, Route, TestEnv};
use auth0_emulator::Route as Auth0Route;

/// A list request with this query string.
async fn list_query(env: &TestEnv, owner: &str, query: &str) -> Reply {
    let mut event = Event::new(Route::ListClients)
        .bearer(&env.token(owner))
        .json();
    event["rawQueryString"] = json!(query);
    let mut parameters = serde_json::Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        parameters.insert(name.to_owned(), json!(value));
    }
    event["queryStringParameters"] = Value::Object(parameters);
    env.dispatch(Route::ListClients, &event.to_string()).await
}

fn names(reply: &Reply) -> Vec<String> {
    reply
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The `limit` and `cursor` of a `Link: <...>; rel="next"` header.
fn next_query(reply: &Reply) -> Option<String> {
    let link = reply.header("link")?;
    let target = link
        .strip_prefix("</api/v1/client?")
        .and_then(|rest| rest.strip_suffix(">; rel=\"next\""))
        .unwrap_or_else(|| panic!("not a documented Link: {link}"));
    Some(target.to_owned())
}

#[tokio::test]
async fn pages_follow_the_link_until_the_last_page() {
    let env = TestEnv::new().await;
    for n in 0..7 {
        env.create_ok("owner-a", &format!("c{n}")).await;
    }
    env.create_ok("owner-b", "theirs").await;
    let mut seen = Vec::new();
    let mut query = "limit=3".to_owned();
    let mut pages = 0;
    loop {
        let reply = list_query(&env, "owner-a", &query).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        pages += 1;
        assert!(names(&reply).len() <= 3);
        seen.extend(names(&reply));
        match next_query(&reply) {
            Some(next) => {
                assert!(next.starts_with("limit=3&cursor="), "{next}");
                query = next;
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, (0..7).map(|n| format!("c{n}")).collect::<Vec<_>>());
    // Exactly a page's worth: no Link.
    let all = list_query(&env, "owner-a", "limit=7").await;
    assert_eq!((names(&all).len(), all.header("link")), (7, None));
    // No Auth0 call for any of it.
    assert_eq!(env.emulator.count(Auth0Route::ListClients), 0);
}

#[tokio::test]
async fn bad_limits_and_cursors_are_400() {
    let env = TestEnv::new().await;
    for n in 0..3 {
        env.create_ok("owner-a", &format!("c{n}")).await;
    }
    let first = list_query(&env, "owner-a", "limit=1").await;
    let next = next_query(&first).unwrap();
    let cursor = next.split_once("cursor=").unwrap().1.to_owned();
    let limit_message =
        json!({"code": "INVALID_REQUEST", "message": "limit must be a whole number from 1 to 100"});
    for limit in ["0", "101", "-1", "ten", "1.5", ""] {
        list_query(&env, "owner-a", &format!("limit={limit}"))
            .await
            .assert(400, limit_message.clone());
    }
    let cursor_message = json!({"code": "INVALID_REQUEST", "message": "cursor is not valid"});
    // Its last character changed (to one it is not: a fixed one would be
    // the cursor itself, now and then).
    let last = if cursor.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &cursor[..cursor.len() - 1]);
    for (owner, cursor) in [
        // Another owner's cursor is no cursor of theirs.
        ("owner-b", cursor.as_str()),
        ("owner-a", forged.as_str()),
        ("owner-a", "not-a-cursor"),
    ] {
        list_query(&env, owner, &format!("limit=1&cursor={cursor}"))
            .await
            .assert(400, cursor_message.clone());
    }
    // The genuine one works, for its owner.
    let second = list_query(&env, "owner-a", &next).await;
    assert_eq!(names(&second), ["c1"]);
}

#[tokio::test]
async fn the_quota_is_409_and_counts_again_after_a_delete() {
    let env = TestEnv::with_env(vec![("MAX_CLIENTS_PER_OWNER", "2".into())]).await;
    let token = env.token("owner-a");
    let first = env.create_id("owner-a", "one").await;
    env.create_id("owner-a", "two").await;
    env.create(&token, json!({"name": "three"})).await.assert(
        409,
        json!({"code": "CLIENT_LIMIT_REACHED", "message": "client limit reached: an owner may have at most 2 clients"}),
    );
    // Refused before Auth0 was asked.
    assert_eq!(env.emulator.count(Auth0Route::CreateClient), 2);
    // Another owner has its own quota; a delete gives one back.
    env.create_id("owner-b", "theirs").await;
    assert_eq!(env.delete(&token, &first).await.status, 204);
    env.create_id("owner-a", "three").await;
    env.assert_index_names_the_tenants_clients("owner-a", "quota")
        .await;
}

#[tokio::test]
async fn an_idempotency_key_replays_refuses_another_body_and_is_per_owner() {
    let env = TestEnv::with_env(vec![("MAX_CLIENTS_PER_OWNER", "1".into())]).await;
    let token = env.token("owner-a");
    let body = json!({"name": "Once", "description": "d"});
    let first = env.create_keyed(&token, "order-42", body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    // The same request (fields in another order): the first answer, with
    // the secret read back from Auth0, though the quota is full.
    let reordered = json!({"description": "d", "name": "Once"});
    env.create_keyed(&token, "order-42", reordered)
        .await
        .assert(201, first.json.clone());
    assert_eq!(env.emulator.count(Auth0Route::CreateClient), 1);
    // Another body with the key: 422.
    env.create_keyed(&token, "order-42", json!({"name": "Twice"}))
        .await
        .assert(
            422,
            json!({"code": "IDEMPOTENCY_KEY_REUSED", "message": "this Idempotency-Key was used with another request body"}),
        );
    // Keys are per owner.
    let theirs = env
        .create_keyed(&env.token("owner-b"), "order-42", body.clone())
        .await;
    assert_eq!(theirs.status, 201);
    assert_ne!(theirs.json["client_id"], first.json["client_id"]);
    // Deleting the client releases the key: the repeat runs anew.
    let id = first.json["client_id"].as_str().unwrap();
    assert_eq!(env.delete(&token, id).await.status, 204);
    let anew = env.create_keyed(&token, "order-42", body).await;
    assert_eq!(anew.status, 201);
    assert_ne!(anew.json["client_id"], first.json["client_id"]);
}

#[tokio::test]
async fn a_failed_create_releases_its_key() {
    let env = TestEnv::new().await;
    let token = env.token("owner-a");
    env.emulator
        .inject(Auth0Route::CreateGrant, auth0_emulator::Fault::Status(500));
    let body = json!({"name": "Retried"});
    let failed = env.create_keyed(&token, "retry-me", body.clone()).await;
    assert_eq!(failed.status, 502);
    let retried = env.create_keyed(&token, "retry-me", body).await;
    assert_eq!(retried.status, 201, "{}", retried.text);
    env.assert_index_names_the_tenants_clients("owner-a", "after the retry")
        .await;
}

#[tokio::test]
async fn idempotency_keys_must_be_printable_ascii() {
    let env = TestEnv::new().await;
    let token = env.token("owner-a");
    let message = json!({"code": "INVALID_REQUEST", "message": "Idempotency-Key must be 1 to 255 printable ASCII characters"});
    for key in ["", &"k".repeat(256), "tab\there"] {
        env.create_keyed(&token, key, json!({"name": "x"}))
            .await
            .assert(400, message.clone());
    }
    // Bytes that are not text at all.
    let mut request = Event::new(Route::CreateClient)
        .bearer(&token)
        .body(r#"{"name": "x"}"#)
        .request();
    request.headers_mut().append(
        "idempotency-key",
        lambda_http::http::HeaderValue::from_bytes(b"caf\xe9").unwrap(),
    );
    let reply = env.dispatch_request(Route::CreateClient, request).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(env.emulator.count(Auth0Route::CreateClient), 0);
    assert_eq!(
        env.create_keyed(&token, &"k".repeat(255), json!({"name": "x"}))
            .await
            .status,
        201
    );
}
