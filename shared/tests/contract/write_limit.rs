//! `OWNER_WRITES_PER_MINUTE` beyond finding 7's test (unknown_outcomes.rs):
//! what counts as a write and what does not, and a count the table cannot
//! make (docs/owner-index.md, "Writes per minute").

use serde_json::json;
use test_support::dynamodb_proxy::{DynamoError, DynamoProxy, Fault, Operation};

use crate::support::{Options, Reply, Route, TestEnv, logs, moto};

/// A 429 of the owners' limit, with its `Retry-After`.
fn assert_too_many(reply: &Reply) {
    assert_eq!(reply.status, 429, "{}", reply.text);
    assert_eq!(reply.json["code"], "TOO_MANY_REQUESTS", "{}", reply.text);
    let retry_after: u64 = reply
        .header("retry-after")
        .and_then(|seconds| seconds.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
}

#[tokio::test]
async fn replays_reads_and_changes_to_what_a_client_is_are_not_counted() {
    let env = TestEnv::with_env(vec![("OWNER_WRITES_PER_MINUTE", "2".into())]).await;
    let token = env.token("owner-a");
    let body = json!({"name": "Keyed"});
    let first = env.create_keyed(&token, "the-key", body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let id = first.json["client_id"].as_str().unwrap().to_owned();
    // The second write of the minute: disable.
    let disabled = env.lifecycle(Route::DisableClient, &token, &id, None).await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    // At the limit: a replay of the key (no new write), reads, and a
    // disable of the disabled client (nothing to ask of Auth0) still answer.
    let replayed = env.create_keyed(&token, "the-key", body).await;
    assert_eq!(replayed.status, 201, "{}", replayed.text);
    assert_eq!(replayed.json["client_id"], id.as_str());
    assert_eq!(env.get(&token, &id).await.status, 200);
    assert_eq!(env.list(&token).await.status, 200);
    let again = env.lifecycle(Route::DisableClient, &token, &id, None).await;
    assert_eq!(again.status, 200, "{}", again.text);
    // A change is a write: refused, and nothing was done.
    let calls = env.management_calls().len();
    for refused in [
        env.lifecycle(Route::EnableClient, &token, &id, None).await,
        env.lifecycle(Route::RotateClientSecret, &token, &id, None)
            .await,
        env.create(&token, json!({"name": "Third"})).await,
        env.delete(&token, &id).await,
    ] {
        assert_too_many(&refused);
    }
    assert_eq!(env.management_calls().len(), calls, "Auth0 was called");
    let listed = env.list(&token).await;
    assert_eq!(listed.json.as_array().map(Vec::len), Some(1));
    assert_eq!(listed.json[0]["status"], "disabled");
    assert_eq!(env.quota_count("owner-a").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_the_table_cannot_count_goes_ahead() {
    let proxy = DynamoProxy::start(moto::url()).await;
    let env = TestEnv::with(Options {
        dynamodb_endpoint: Some(proxy.url().to_owned()),
        env: vec![("OWNER_WRITES_PER_MINUTE", "1".into())],
        ..Options::default()
    })
    .await;
    // The count's update fails (an error the SDK does not retry).
    proxy.inject_when(
        Operation::UpdateItem,
        |request| request.touches("WRITES"),
        Fault::Fail(DynamoError::IdempotentParameterMismatch),
    );
    env.create_id("owner-a", "Uncounted").await;
    assert_eq!(proxy.queued_faults(), 0, "the count was never asked for");
    let text = logs::text();
    assert!(text.contains("owner's writes not counted"), "not logged");
    assert!(text.contains("\"WriteLimitUnchecked\""), "no metric");
    // The limit holds again from the next write.
    env.create_id("owner-a", "Counted").await;
    assert_too_many(
        &env.create(&env.token("owner-a"), json!({"name": "Past it"}))
            .await,
    );
}
