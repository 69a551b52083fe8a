//! A DynamoDB that can apply a write and then fail to say so: an HTTP
//! proxy in front of moto, started in the test's process, for the tests of
//! writes whose outcome is unknown (a timed-out write may have been made).
//!
//! - **Faults**, queued per operation and optionally per request (a
//!   predicate on what it touches), each used up by the first request that
//!   matches it ([`Fault`]): the answer held past the SDK's attempt
//!   timeout or lost after the write was applied, an error instead of
//!   forwarding, or a stall before it.
//! - **`ClientRequestToken`** on `TransactWriteItems`, honoured as DynamoDB
//!   does and moto does not: a repeat with the same token and request gets
//!   the first attempt's success (within 10 minutes of it) without applying
//!   anything again; while the first attempt is still being applied (its
//!   answer held), `TransactionInProgressException`; the same token with
//!   another request, `IdempotentParameterMismatchException`. A first
//!   attempt that failed leaves nothing to replay: its repeat runs anew.
//! - **One request at a time** reaches moto, which applies conditional
//!   writes and transactions without a lock of its own (see
//!   [`crate::moto::start_single_threaded_server`]): through the proxy
//!   they are atomic, as DynamoDB's are.
//! - **Every request recorded** ([`ProxiedRequest`]): its operation, the
//!   keys it touches, its token, its fault and its answer.
//!
//! A request the proxy received is carried out whatever becomes of its
//! caller: DynamoDB applies a write whose caller stopped listening.

mod server;
mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, TRANSFER_ENCODING};
use hyper::http::{HeaderMap, HeaderValue};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use wire::{DynamoError, ItemKey, Operation};

/// How long DynamoDB remembers a transaction's token once its first
/// request completed.
const TOKEN_WINDOW: Duration = Duration::from_secs(600);

/// What goes wrong with the next request that matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Carried out (a write is applied), then its answer held this long
    /// before it is sent: longer than the SDK's attempt timeout, the caller
    /// has given up and retried by then. A transaction with a token is in
    /// progress until its answer is sent.
    AnswerLate(Duration),
    /// Carried out, then the connection closed without an answer.
    LoseAnswer,
    /// Answered with this error at once, never forwarded: nothing applied.
    Fail(DynamoError),
    /// Held this long before it is carried out (then carried out even if
    /// its caller gave up meanwhile: a write applied late).
    Stall(Duration),
}

/// What a request was answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Not yet: being carried out, stalled or held.
    Pending,
    /// This status; for an error, its type (`ConditionalCheckFailedException`).
    Sent { status: u16, error: Option<String> },
    /// The connection was closed instead ([`Fault::LoseAnswer`]).
    Lost,
}

/// One request the proxy received.
#[derive(Clone, Debug)]
pub struct ProxiedRequest {
    pub operation: Operation,
    /// The items it reads or writes (a Query or a Scan: none).
    pub keys: Vec<ItemKey>,
    /// A `TransactWriteItems`' idempotency token.
    pub client_request_token: Option<String>,
    /// The request's JSON body.
    pub body: Value,
    /// The fault it met, if any.
    pub fault: Option<Fault>,
    pub answer: Answer,
}

impl ProxiedRequest {
    /// Whether it reads or writes an item whose sort key begins with
    /// `sk_prefix` (`CLIENT#`, `QUOTA`).
    pub fn touches(&self, sk_prefix: &str) -> bool {
        self.keys.iter().any(|key| key.sk.starts_with(sk_prefix))
    }

    /// Whether `text` appears anywhere in its body (a value it writes, an
    /// attribute it names).
    pub fn mentions(&self, text: &str) -> bool {
        self.body.to_string().contains(text)
    }
}

type Predicate = Box<dyn Fn(&ProxiedRequest) -> bool + Send + Sync>;

struct QueuedFault {
    operation: Operation,
    when: Option<Predicate>,
    fault: Fault,
}

/// An answer, as moto gave it or the proxy made it.
#[derive(Clone)]
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn error(error: DynamoError) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-amz-json-1.0"),
        );
        Reply {
            status: error.status(),
            headers,
            body: Bytes::from(error.body()),
        }
    }
}

/// What DynamoDB remembers of a transaction's `ClientRequestToken`.
struct TokenUse {
    /// The request it was first used for, without the token.
    request: Value,
    /// `None` while that request is being applied; its answer once it
    /// succeeded, and when.
    succeeded: Option<(Reply, Instant)>,
}

#[derive(Default)]
struct State {
    faults: Vec<QueuedFault>,
    tokens: HashMap<String, TokenUse>,
    requests: Vec<ProxiedRequest>,
    /// Requests received and not yet answered.
    unanswered: usize,
}

struct Shared {
    upstream: String,
    http: reqwest::Client,
    /// Held while a request is with moto: one at a time.
    forwarding: tokio::sync::Mutex<()>,
    state: Mutex<State>,
}

/// A running proxy; it stops accepting connections when dropped.
pub struct DynamoProxy {
    url: String,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
}

impl DynamoProxy {
    /// Starts a proxy on 127.0.0.1 in front of the DynamoDB at `upstream`
    /// (moto's URL), in the current runtime.
    pub async fn start(upstream: &str) -> DynamoProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port for the DynamoDB proxy");
        let address = listener.local_addr().expect("the proxy's address");
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            forwarding: tokio::sync::Mutex::new(()),
            state: Mutex::new(State::default()),
        });
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(server::serve(listener, shared.clone(), stopped));
        DynamoProxy {
            url: format!("http://{address}"),
            shared,
            stop: Some(stop),
        }
    }

    /// Where DynamoDB clients are pointed: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Queues `fault` for the next request of `operation`.
    pub fn inject(&self, operation: Operation, fault: Fault) {
        self.queue(operation, None, fault);
    }

    /// Queues `fault` for the next request of `operation` for which `when`
    /// holds (faults queued before it for the same request come first).
    pub fn inject_when(
        &self,
        operation: Operation,
        when: impl Fn(&ProxiedRequest) -> bool + Send + Sync + 'static,
        fault: Fault,
    ) {
        self.queue(operation, Some(Box::new(when)), fault);
    }

    fn queue(&self, operation: Operation, when: Option<Predicate>, fault: Fault) {
        self.shared.state().faults.push(QueuedFault {
            operation,
            when,
            fault,
        });
    }

    /// How many queued faults no request has met yet.
    pub fn queued_faults(&self) -> usize {
        self.shared.state().faults.len()
    }

    /// Forgets every queued fault no request has met yet; how many there
    /// were (a test whose request is over takes its faults back).
    pub fn take_faults(&self) -> usize {
        std::mem::take(&mut self.shared.state().faults).len()
    }

    /// Every request so far, in the order received.
    pub fn requests(&self) -> Vec<ProxiedRequest> {
        self.shared.state().requests.clone()
    }

    /// The requests so far of `operation`.
    pub fn requests_of(&self, operation: &Operation) -> Vec<ProxiedRequest> {
        self.requests()
            .into_iter()
            .filter(|request| request.operation == *operation)
            .collect()
    }

    /// Waits until every request received has been answered (held answers
    /// sent, stalled requests carried out).
    ///
    /// # Panics
    /// After a minute: a fault longer than any test's.
    pub async fn settled(&self) {
        let started = Instant::now();
        while self.shared.state().unanswered > 0 {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the DynamoDB proxy still holds answers after a minute"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for DynamoProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked elsewhere poisons it; what it holds is still whole.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records `request` and takes the first queued fault it meets; its
    /// place in the record.
    fn receive(&self, mut request: ProxiedRequest) -> (usize, Option<Fault>) {
        let mut state = self.state();
        let matching = state.faults.iter().position(|queued| {
            queued.operation == request.operation
                && queued.when.as_ref().is_none_or(|when| when(&request))
        });
        request.fault = matching.map(|at| state.faults.remove(at).fault);
        let fault = request.fault;
        state.requests.push(request);
        state.unanswered += 1;
        (state.requests.len() - 1, fault)
    }

    fn answered(&self, at: usize, answer: Answer) {
        let mut state = self.state();
        if let Some(request) = state.requests.get_mut(at) {
            request.answer = answer;
        }
        state.unanswered = state.unanswered.saturating_sub(1);
    }

    /// What DynamoDB answers at once for a transaction's `token`, if its
    /// request is not to be carried out: the first success again, or an
    /// error. `None`: carry it out (the token is now in progress).
    fn claim_token(&self, token: &str, request: Value) -> Option<Reply> {
        let mut state = self.state();
        let expired = state.tokens.get(token).is_some_and(|used| {
            used.succeeded
                .as_ref()
                .is_some_and(|(_, at)| at.elapsed() > TOKEN_WINDOW)
        });
        if expired {
            state.tokens.remove(token);
        }
        match state.tokens.get(token) {
            Some(used) if used.request != request => {
                Some(Reply::error(DynamoError::IdempotentParameterMismatch))
            }
            Some(TokenUse {
                succeeded: Some((reply, _)),
                ..
            }) => Some(reply.clone()),
            Some(_) => Some(Reply::error(DynamoError::TransactionInProgress)),
            None => {
                state.tokens.insert(
                    token.to_owned(),
                    TokenUse {
                        request,
                        succeeded: None,
                    },
                );
                None
            }
        }
    }

    /// The end of the request that claimed `token`: remembered if it
    /// succeeded, forgotten (its repeat runs anew) if not.
    fn complete_token(&self, token: &str, reply: &Reply) {
        let mut state = self.state();
        if reply.status == 200 {
            if let Some(used) = state.tokens.get_mut(token) {
                used.succeeded = Some((reply.clone(), Instant::now()));
            }
        } else {
            state.tokens.remove(token);
        }
    }

    /// Sends the request on to moto, alone.
    async fn forward(&self, path: &str, headers: &HeaderMap, body: Bytes) -> Reply {
        let _alone = self.forwarding.lock().await;
        let mut request = self
            .http
            .post(format!("{}{path}", self.upstream))
            .body(body);
        for (name, value) in headers {
            if ![HOST, CONTENT_LENGTH, CONNECTION, TRANSFER_ENCODING].contains(name) {
                request = request.header(name, value);
            }
        }
        let Ok(response) = request.send().await else {
            // moto unreachable: a DynamoDB failing, as the caller sees it.
            return Reply::error(DynamoError::InternalServerError);
        };
        let status = response.status().as_u16();
        let mut headers = response.headers().clone();
        for hop in [CONTENT_LENGTH, CONNECTION, TRANSFER_ENCODING] {
            headers.remove(hop);
        }
        match response.bytes().await {
            Ok(body) => Reply {
                status,
                headers,
                body,
            },
            Err(_) => Reply::error(DynamoError::InternalServerError),
        }
    }

    /// Carries out one request, with its fault: the answer to send, or
    /// `None` for a connection to close unanswered.
    async fn carry_out(
        self: Arc<Self>,
        path: String,
        headers: HeaderMap,
        body: Bytes,
    ) -> Option<Reply> {
        let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let operation = headers
            .get("x-amz-target")
            .and_then(|target| target.to_str().ok())
            .map_or_else(|| Operation::Other(String::new()), Operation::from_target);
        let token = (operation == Operation::TransactWriteItems)
            .then(|| parsed["ClientRequestToken"].as_str().map(str::to_owned))
            .flatten();
        let (at, fault) = self.receive(ProxiedRequest {
            keys: wire::keys_of(&operation, &parsed),
            operation,
            client_request_token: token.clone(),
            body: parsed.clone(),
            fault: None,
            answer: Answer::Pending,
        });

        match fault {
            Some(Fault::Fail(error)) => {
                let reply = Reply::error(error);
                self.answered(at, sent(&reply));
                return Some(reply);
            }
            Some(Fault::Stall(stall)) => tokio::time::sleep(stall).await,
            _ => {}
        }
        // A repeat of a token's transaction is answered at once; the
        // request that carries the transaction out completes its token.
        let mut carried_token = None;
        let reply = match token {
            Some(token) => match self.claim_token(&token, wire::without_token(&parsed)) {
                Some(answer) => answer,
                None => {
                    carried_token = Some(token);
                    self.forward(&path, &headers, body).await
                }
            },
            None => self.forward(&path, &headers, body).await,
        };
        if let Some(Fault::AnswerLate(hold)) = fault {
            tokio::time::sleep(hold).await;
        }
        if let Some(token) = carried_token {
            self.complete_token(&token, &reply);
        }
        if fault == Some(Fault::LoseAnswer) {
            self.answered(at, Answer::Lost);
            return None;
        }
        self.answered(at, sent(&reply));
        Some(reply)
    }
}

fn sent(reply: &Reply) -> Answer {
    Answer::Sent {
        status: reply.status,
        error: (reply.status >= 400)
            .then(|| wire::error_type(&reply.body))
            .flatten(),
    }
}
