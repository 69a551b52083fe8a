//! The DynamoDB double (moto behind `test_support::dynamodb_proxy`), through
//! the real AWS SDK configured as the service's functions configure it
//! (standard retries, a 2 s attempt timeout): requests reach moto and are
//! recorded; a write can be applied and then answered late or not at all;
//! transactions' idempotency tokens behave as DynamoDB documents them;
//! errors come in DynamoDB's shape; conditional writes are atomic.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::get_item::builders::GetItemFluentBuilder;
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use serde_json::Value;
use test_support::dynamodb::{create_clients_table, deployed_sdk_config};
use test_support::dynamodb_proxy::{Answer, DynamoError, DynamoProxy, Fault, ItemKey, Operation};
use test_support::moto;

/// Longer than any attempt's timeout and the SDK's three attempts with
/// their backoff: every retry of a held transaction finds it in progress.
const HOLD: Duration = Duration::from_secs(8);

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// The key of the owner's item `sk`, as the SDK's requests take it.
fn owner_key(sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".to_owned(), s("OWNER#a")), ("sk".to_owned(), s(sk))])
}

/// A proxy in front of the process's moto, with a table of its own made
/// through it, and a client as the service's.
async fn start() -> (DynamoProxy, Client, String) {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let proxy = DynamoProxy::start(moto::url()).await;
    let client = Client::new(&deployed_sdk_config(proxy.url()));
    let table = format!(
        "proxy-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    create_clients_table(&client, &table).await;
    (proxy, client, table)
}

/// A client of the proxy that never retries: each call is one attempt.
fn without_retries(proxy: &DynamoProxy) -> Client {
    let config = aws_sdk_dynamodb::config::Builder::from(&deployed_sdk_config(proxy.url()))
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

/// The owner's item `sk` stored in `table` with one attribute more, as a
/// test starts from it.
async fn seed(client: &Client, table: &str, sk: &str, (name, value): (&str, &str)) {
    put(client, table, sk)
        .item(name, s(value))
        .send()
        .await
        .unwrap();
}

/// A get of the owner's item `sk` from `table`, to finish and send.
fn get(client: &Client, table: &str, sk: &str) -> GetItemFluentBuilder {
    client
        .get_item()
        .table_name(table)
        .set_key(Some(owner_key(sk)))
}

/// A put of the owner's item `sk` into `table`, to finish and send.
fn put(client: &Client, table: &str, sk: &str) -> PutItemFluentBuilder {
    client
        .put_item()
        .table_name(table)
        .item("pk", s("OWNER#a"))
        .item("sk", s(sk))
}

fn key(table: &str, pk: &str, sk: &str) -> ItemKey {
    ItemKey {
        table: table.to_owned(),
        pk: pk.to_owned(),
        sk: sk.to_owned(),
    }
}

/// A transaction as the owner index makes them: an item put on condition
/// that it is new, and a counter counted up.
fn transaction(table: &str, sk: &str) -> Vec<TransactWriteItem> {
    let put = Put::builder()
        .table_name(table)
        .item("pk", s("OWNER#a"))
        .item("sk", s(sk))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .unwrap();
    let count = Update::builder()
        .table_name(table)
        .set_key(Some(owner_key("QUOTA")))
        .update_expression("SET #count = if_not_exists(#count, :zero) + :one")
        .expression_attribute_names("#count", "count")
        .expression_attribute_values(":zero", AttributeValue::N("0".into()))
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .build()
        .unwrap();
    vec![
        TransactWriteItem::builder().put(put).build(),
        TransactWriteItem::builder().update(count).build(),
    ]
}

/// The item's attributes, read consistently straight from moto.
async fn item(table: &str, sk: &str) -> Option<HashMap<String, AttributeValue>> {
    get(&test_support::dynamodb::client(), table, sk)
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

/// The owner's quota count, read straight from moto.
async fn count(table: &str) -> u64 {
    test_support::dynamodb::quota_count(&test_support::dynamodb::client(), table, "a").await
}

fn error_answer(error: DynamoError) -> Answer {
    Answer::Sent {
        status: error.status(),
        error: Some(error.type_name().to_owned()),
    }
}

const OK: Answer = Answer::Sent {
    status: 200,
    error: None,
};

#[tokio::test]
async fn requests_reach_moto_and_are_recorded_with_the_items_they_touch() {
    let (proxy, client, table) = start().await;
    seed(&client, &table, "CLIENT#one", ("name", "One")).await;
    client
        .transact_write_items()
        .set_transact_items(Some(transaction(&table, "CREATING#two")))
        .send()
        .await
        .unwrap();
    let got = get(&client, &table, "CLIENT#one").send().await.unwrap();
    assert_eq!(got.item.unwrap()["name"], s("One"));
    let queried = client
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", s("OWNER#a"))
        .send()
        .await
        .unwrap();
    assert_eq!(queried.count, 3);

    let requests = proxy.requests();
    let operations: Vec<&Operation> = requests.iter().map(|r| &r.operation).collect();
    assert_eq!(
        operations[operations.len() - 4..],
        [
            &Operation::PutItem,
            &Operation::TransactWriteItems,
            &Operation::GetItem,
            &Operation::Query
        ]
    );
    let [put, transact, get, query] = &requests[requests.len() - 4..] else {
        unreachable!()
    };
    assert_eq!(put.keys, [key(&table, "OWNER#a", "CLIENT#one")]);
    assert_eq!(
        transact.keys,
        [
            key(&table, "OWNER#a", "CREATING#two"),
            key(&table, "OWNER#a", "QUOTA")
        ]
    );
    assert!(transact.touches("CREATING#") && transact.touches("QUOTA"));
    assert!(!transact.touches("CLIENT#"));
    // The SDK gives every transaction a token of its own.
    assert!(transact.client_request_token.is_some());
    assert_eq!(get.keys, [key(&table, "OWNER#a", "CLIENT#one")]);
    assert!(query.keys.is_empty() && query.mentions("OWNER#a"));
    assert!(requests.iter().all(|r| r.answer == OK && r.fault.is_none()));
}

#[tokio::test]
async fn a_transaction_answered_late_is_in_progress_to_its_retries_and_applied_once() {
    let (proxy, client, table) = start().await;
    proxy.inject(Operation::TransactWriteItems, Fault::AnswerLate(HOLD));
    let started = Instant::now();
    let failed = client
        .transact_write_items()
        .set_transact_items(Some(transaction(&table, "CLIENT#late")))
        .send()
        .await
        .expect_err("every attempt is late or finds the first in progress");
    assert_eq!(failed.code(), Some("TransactionInProgressException"));
    assert!(
        started.elapsed() < HOLD,
        "the SDK gave up while it was held"
    );
    // Applied all the same, once.
    assert!(item(&table, "CLIENT#late").await.is_some());
    assert_eq!(count(&table).await, 1);

    proxy.settled().await;
    let attempts = proxy.requests_of(&Operation::TransactWriteItems);
    assert_eq!(attempts.len(), 3, "the SDK's three attempts");
    let token = attempts[0].client_request_token.clone().unwrap();
    assert!(
        attempts
            .iter()
            .all(|a| a.client_request_token.as_ref() == Some(&token))
    );
    assert_eq!(attempts[0].fault, Some(Fault::AnswerLate(HOLD)));
    assert_eq!(attempts[0].answer, OK);
    for retry in &attempts[1..] {
        assert_eq!(
            retry.answer,
            error_answer(DynamoError::TransactionInProgress)
        );
    }

    // Once it has finished, the same token and request get its success
    // again, and nothing is applied twice (the put's condition would fail,
    // the count would go up).
    client
        .transact_write_items()
        .set_transact_items(Some(transaction(&table, "CLIENT#late")))
        .client_request_token(&token)
        .send()
        .await
        .expect("the first attempt's success");
    assert_eq!(count(&table).await, 1);
}

#[tokio::test]
async fn a_transaction_whose_answer_is_lost_is_answered_to_its_retry_with_the_first_success() {
    let (proxy, client, table) = start().await;
    proxy.inject(Operation::TransactWriteItems, Fault::LoseAnswer);
    client
        .transact_write_items()
        .set_transact_items(Some(transaction(&table, "CLIENT#lost")))
        .send()
        .await
        .expect("the retry gets the first attempt's success");
    assert_eq!(count(&table).await, 1);
    let attempts = proxy.requests_of(&Operation::TransactWriteItems);
    let answers: Vec<&Answer> = attempts.iter().map(|a| &a.answer).collect();
    assert_eq!(answers, [&Answer::Lost, &OK]);
}

#[tokio::test]
async fn a_token_is_bound_to_its_request_and_a_failed_one_runs_anew() {
    let (proxy, client, table) = start().await;
    let send = |sk: &'static str, token: &'static str| {
        client
            .transact_write_items()
            .set_transact_items(Some(transaction(&table, sk)))
            .client_request_token(token)
            .send()
    };
    send("CLIENT#first", "token-1").await.unwrap();
    // The same token for another request: refused, not applied.
    let mismatch = send("CLIENT#other", "token-1").await.unwrap_err();
    assert_eq!(
        mismatch.code(),
        Some("IdempotentParameterMismatchException")
    );
    assert!(item(&table, "CLIENT#other").await.is_none());

    // A transaction whose condition fails leaves nothing to replay: once
    // its condition holds, its repeat with the same token is applied.
    put(&client, &table, "CLIENT#taken").send().await.unwrap();
    let canceled = send("CLIENT#taken", "token-2").await.unwrap_err();
    assert_eq!(canceled.code(), Some("TransactionCanceledException"));
    client
        .delete_item()
        .table_name(&table)
        .set_key(Some(owner_key("CLIENT#taken")))
        .send()
        .await
        .unwrap();
    send("CLIENT#taken", "token-2").await.unwrap();
    assert_eq!(count(&table).await, 2);
    let answers: Vec<Answer> = proxy
        .requests_of(&Operation::TransactWriteItems)
        .into_iter()
        .map(|request| request.answer)
        .collect();
    assert_eq!(
        answers[1],
        error_answer(DynamoError::IdempotentParameterMismatch)
    );
}

#[tokio::test]
async fn a_conditional_write_retried_after_a_late_answer_fails_its_own_condition() {
    let (proxy, client, table) = start().await;
    seed(&client, &table, "CLIENT#x", ("status", "active")).await;
    proxy.inject_when(
        Operation::UpdateItem,
        |request| request.touches("CLIENT#"),
        Fault::AnswerLate(HOLD),
    );
    // A single-item write has no token: its retry is a new request.
    let failed = client
        .update_item()
        .table_name(&table)
        .set_key(Some(owner_key("CLIENT#x")))
        .update_expression("SET #status = :deleting")
        .condition_expression("#status = :active")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":deleting", s("deleting"))
        .expression_attribute_values(":active", s("active"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(failed.code(), Some("ConditionalCheckFailedException"));
    // ... although the write was made, by its first attempt.
    let written = item(&table, "CLIENT#x").await.unwrap();
    assert_eq!(written["status"], s("deleting"));
    proxy.settled().await;
    let attempts = proxy.requests_of(&Operation::UpdateItem);
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].answer, OK);
}

#[tokio::test]
async fn errors_come_in_dynamodbs_shape_and_apply_nothing() {
    let (proxy, client, table) = start().await;
    let put = |sk: &'static str| put(&client, &table, sk).send();
    // A persistent 500: the SDK's three attempts, nothing written.
    for _ in 0..3 {
        proxy.inject(
            Operation::PutItem,
            Fault::Fail(DynamoError::InternalServerError),
        );
    }
    let failed = put("CLIENT#never").await.unwrap_err();
    assert_eq!(failed.code(), Some("InternalServerError"));
    assert!(item(&table, "CLIENT#never").await.is_none());
    // Throttles are retried, and the retry goes through.
    for throttle in [
        DynamoError::ProvisionedThroughputExceeded,
        DynamoError::Throttling,
    ] {
        proxy.inject(Operation::PutItem, Fault::Fail(throttle));
    }
    put("CLIENT#later").await.unwrap();
    assert!(item(&table, "CLIENT#later").await.is_some());
    let answers: Vec<Answer> = proxy
        .requests_of(&Operation::PutItem)
        .into_iter()
        .map(|request| request.answer)
        .collect();
    let failed_500 = error_answer(DynamoError::InternalServerError);
    assert_eq!(
        answers,
        [
            failed_500.clone(),
            failed_500.clone(),
            failed_500,
            error_answer(DynamoError::ProvisionedThroughputExceeded),
            error_answer(DynamoError::Throttling),
            OK
        ]
    );

    // On the wire: the JSON 1.0 protocol's error.
    proxy.inject(Operation::GetItem, Fault::Fail(DynamoError::Throttling));
    let answer = reqwest::Client::new()
        .post(proxy.url())
        .header("x-amz-target", "DynamoDB_20120810.GetItem")
        .header("content-type", "application/x-amz-json-1.0")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    assert_eq!(
        answer.headers()["content-type"],
        "application/x-amz-json-1.0"
    );
    let body: Value = answer.json().await.unwrap();
    assert_eq!(
        body["__type"],
        "com.amazonaws.dynamodb.v20120810#ThrottlingException"
    );
    assert!(body["message"].is_string(), "{body}");
}

#[tokio::test]
async fn a_stalled_write_is_applied_after_its_caller_gave_up() {
    let (proxy, _, table) = start().await;
    let client = without_retries(&proxy);
    proxy.inject(Operation::PutItem, Fault::Stall(Duration::from_secs(3)));
    let timed_out = put(&client, &table, "CLIENT#stalled")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            timed_out,
            aws_sdk_dynamodb::error::SdkError::TimeoutError(_)
        ),
        "{timed_out:?}"
    );
    assert!(item(&table, "CLIENT#stalled").await.is_none());
    proxy.settled().await;
    assert!(item(&table, "CLIENT#stalled").await.is_some());
}

#[tokio::test]
async fn a_fault_waits_for_the_request_it_matches() {
    let (proxy, _, table) = start().await;
    let client = without_retries(&proxy);
    proxy.inject_when(
        Operation::UpdateItem,
        |request| request.touches("CLIENT#") && request.mentions("Renamed"),
        Fault::Fail(DynamoError::InternalServerError),
    );
    let rename = |sk: &'static str, name: &'static str| {
        client
            .update_item()
            .table_name(&table)
            .set_key(Some(owner_key(sk)))
            .update_expression("SET #name = :name")
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":name", s(name))
            .send()
    };
    rename("QUOTA", "Renamed").await.unwrap();
    rename("CLIENT#x", "Other").await.unwrap();
    assert_eq!(proxy.queued_faults(), 1);
    let failed = rename("CLIENT#x", "Renamed").await.unwrap_err();
    assert_eq!(failed.code(), Some("InternalServerError"));
    assert_eq!(proxy.queued_faults(), 0);
    rename("CLIENT#x", "Renamed").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_writes_are_atomic_through_the_proxy() {
    let (proxy, client, table) = start().await;
    // 16 creations of one item at once: one is made, the rest refused.
    let creations = (0..16).map(|n| {
        put(&client, &table, "CLIENT#contested")
            .item("by", s(&n.to_string()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
    });
    let outcomes = all_at_once(creations).await;
    let made = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    assert_eq!(made, 1, "{outcomes:?}");
    for refused in outcomes.iter().filter_map(|outcome| outcome.as_ref().err()) {
        assert_eq!(refused.code(), Some("ConditionalCheckFailedException"));
    }
    // 16 transactions at once under a quota of 5: exactly 5 counted.
    let counted = (0..16).map(|n| {
        let mut items = transaction(&table, &format!("CREATING#{n}"));
        if let Some(update) = items.pop().and_then(|item| item.update) {
            let capped = Update::builder()
                .table_name(&table)
                .set_key(Some(update.key))
                .update_expression(update.update_expression)
                .set_expression_attribute_names(update.expression_attribute_names)
                .set_expression_attribute_values(update.expression_attribute_values)
                .expression_attribute_values(":max", AttributeValue::N("5".into()))
                .condition_expression("attribute_not_exists(#count) OR #count < :max")
                .build()
                .unwrap();
            items.push(TransactWriteItem::builder().update(capped).build());
        }
        client
            .clone()
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
    });
    let outcomes = all_at_once(counted).await;
    let committed = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    assert_eq!(committed, 5, "{outcomes:?}");
    assert_eq!(count(&table).await, 5);
    drop(proxy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_reach_the_upstream_one_at_a_time() {
    // moto's races are rare (the previous test rarely meets one even
    // without the proxy), so the proxy's serialization is seen here from
    // the other side: an upstream that answers slowly and counts how many
    // requests it holds at once.
    let upstream = SlowUpstream::start().await;
    let proxy = DynamoProxy::start(&upstream.url).await;
    let client = without_retries(&proxy);
    let reads = (0..8).map(|_| get(&client, "any", "QUOTA").send());
    for read in all_at_once(reads).await {
        read.unwrap();
    }
    assert_eq!(upstream.served.load(Ordering::SeqCst), 8);
    assert_eq!(upstream.most_at_once.load(Ordering::SeqCst), 1);
}

/// An upstream DynamoDB that takes 50 ms for every request (answering an
/// empty GetItem) and records how many it held at once.
struct SlowUpstream {
    url: String,
    served: std::sync::Arc<AtomicU32>,
    most_at_once: std::sync::Arc<AtomicU32>,
}

impl SlowUpstream {
    async fn start() -> SlowUpstream {
        use std::sync::Arc;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let served = Arc::new(AtomicU32::new(0));
        let most_at_once = Arc::new(AtomicU32::new(0));
        let now = Arc::new(AtomicU32::new(0));
        let counters = (served.clone(), most_at_once.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (served, most, now) = (counters.0.clone(), counters.1.clone(), now.clone());
                let service = hyper::service::service_fn(move |_request| {
                    let (served, most, now) = (served.clone(), most.clone(), now.clone());
                    async move {
                        let held = now.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(held, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        now.fetch_sub(1, Ordering::SeqCst);
                        served.fetch_add(1, Ordering::SeqCst);
                        let mut answer = hyper::Response::new(http_body_util::Full::new(
                            bytes::Bytes::from_static(b"{}"),
                        ));
                        answer.headers_mut().insert(
                            "content-type",
                            hyper::header::HeaderValue::from_static("application/x-amz-json-1.0"),
                        );
                        Ok::<_, std::convert::Infallible>(answer)
                    }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
                );
            }
        });
        SlowUpstream {
            url,
            served,
            most_at_once,
        }
    }
}

/// Runs every future at once, each in a task of its own; their outputs in
/// the order given.
async fn all_at_once<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let tasks: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for task in tasks {
        outputs.push(task.await.unwrap());
    }
    outputs
}
