//! A stub of the Lambda Runtime API (`/2018-06-01/runtime/...`) on
//! 127.0.0.1: hands out the events it is given, one per
//! `GET invocation/next`, and records when each answer arrives.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// The X-Ray trace id of every invocation the stub hands out.
pub const TRACE_ID: &str =
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0";

/// How an invocation ended, as the runtime reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutcomeKind {
    /// `POST invocation/{id}/response`
    Response,
    /// `POST invocation/{id}/error`
    Error,
    /// `POST init/error`
    InitError,
}

/// An answer the stub received.
#[derive(Debug)]
pub struct Outcome {
    pub kind: OutcomeKind,
    pub request_id: String,
    /// When the stub had the whole answer.
    pub at: Instant,
    pub body: Bytes,
}

struct Shared {
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<(String, String)>>,
    outcomes: mpsc::UnboundedSender<Outcome>,
    first_next: OnceLock<Instant>,
    stop: watch::Receiver<bool>,
}

/// One stub, for one function process.
pub struct RuntimeApi {
    address: SocketAddr,
    shared: Arc<Shared>,
    events: mpsc::UnboundedSender<(String, String)>,
    outcomes: Mutex<Option<mpsc::UnboundedReceiver<Outcome>>>,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    next_id: std::sync::atomic::AtomicU64,
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<RuntimeApi> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let address = listener.local_addr()?;
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (outcomes_tx, outcomes_rx) = mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            events: tokio::sync::Mutex::new(events_rx),
            outcomes: outcomes_tx,
            first_next: OnceLock::new(),
            stop: stop_rx,
        });
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let mut stopped = stop_tx.subscribe();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                })
                .await;
        });
        Ok(RuntimeApi {
            address,
            shared,
            events: events_tx,
            outcomes: Mutex::new(Some(outcomes_rx)),
            stop: stop_tx,
            server,
            next_id: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// `AWS_LAMBDA_RUNTIME_API`: `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Queues an event; returns its request id.
    pub fn invoke(&self, event: String) -> String {
        let n = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let request_id = format!("bench-{n:08}");
        // The receiver lives as long as `self`.
        let _ = self.events.send((request_id.clone(), event));
        request_id
    }

    /// When the function first asked for an event (the end of its init).
    pub fn first_next(&self) -> Option<Instant> {
        self.shared.first_next.get().copied()
    }

    /// The next answer, or `None` after `limit`.
    pub async fn outcome(&self, limit: Duration) -> Option<Outcome> {
        let mut receiver = self.outcomes.lock().ok()?.take()?;
        let outcome = tokio::time::timeout(limit, receiver.recv())
            .await
            .ok()
            .flatten();
        if let Ok(mut slot) = self.outcomes.lock() {
            *slot = Some(receiver);
        }
        outcome
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.server.abort();
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let _ = shared.first_next.set(Instant::now());
    let mut stop = shared.stop.clone();
    let mut events = shared.events.lock().await;
    let event = tokio::select! {
        event = events.recv() => event,
        _ = stop.wait_for(|stop| *stop) => None,
    };
    let Some((request_id, body)) = event else {
        return StatusCode::GONE.into_response();
    };
    let deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|now| now.as_millis() as u64 + 30_000)
        .unwrap_or_default();
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set("lambda-runtime-aws-request-id", request_id);
    set("lambda-runtime-deadline-ms", deadline.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:bench".to_owned(),
    );
    set("lambda-runtime-trace-id", TRACE_ID.to_owned());
    set("content-type", "application/json".to_owned());
    (StatusCode::OK, headers, body).into_response()
}

async fn response(state: State<Arc<Shared>>, id: Path<String>, body: Bytes) -> Response {
    report(state, id, body, OutcomeKind::Response)
}

async fn error(state: State<Arc<Shared>>, id: Path<String>, body: Bytes) -> Response {
    report(state, id, body, OutcomeKind::Error)
}

fn report(
    State(shared): State<Arc<Shared>>,
    Path(request_id): Path<String>,
    body: Bytes,
    kind: OutcomeKind,
) -> Response {
    let at = Instant::now();
    let _ = shared.outcomes.send(Outcome {
        kind,
        request_id,
        at,
        body,
    });
    accepted()
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let at = Instant::now();
    let _ = shared.outcomes.send(Outcome {
        kind: OutcomeKind::InitError,
        request_id: String::new(),
        at,
        body,
    });
    accepted()
}

fn accepted() -> Response {
    (
        StatusCode::ACCEPTED,
        [("content-type", "application/json")],
        r#"{"status":"OK"}"#,
    )
        .into_response()
}
