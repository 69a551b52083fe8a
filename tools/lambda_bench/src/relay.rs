//! Real-world latency for the stubs: an HTTP relay on 127.0.0.1 in front
//! of each upstream (the Secrets Manager stub, the Auth0 emulator, moto's
//! table) that holds every request for one round-trip time before passing
//! it on, and logs it: which upstream, what was asked, when the relay
//! received it and when it had the answer. One log for all the relays of
//! an [`Upstream`](crate::upstream::Upstream) orders a container's requests
//! across upstreams, so a cold start's critical path can be read from it
//! ([`CriticalPath`]).
//!
//! Not modelled: connection set-up. A new HTTPS connection costs one round
//! trip for TCP and one for TLS 1.3 before its first request; here the
//! functions connect to 127.0.0.1 over plain HTTP at once.

use std::net::SocketAddr;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What a relay stands in front of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    SecretsManager,
    /// The Auth0 emulator: `/oauth/token`, the JWKS, the Management API.
    Auth0,
    /// The owner index's table (moto).
    Table,
}

/// What a call was, as the critical path counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallKind {
    SecretRead,
    Token,
    Jwks,
    Management,
    Table,
}

/// A request a relay passed on.
#[derive(Clone, Debug)]
pub struct Call {
    pub service: Service,
    /// `METHOD /path` for Auth0; the `x-amz-target` (`DynamoDB_20120810.GetItem`)
    /// for AWS.
    pub what: String,
    /// When the relay received it (before the delay).
    pub received: Instant,
    /// When the relay had the upstream's answer (after the delay).
    pub answered: Instant,
}

impl Call {
    pub fn kind(&self) -> CallKind {
        match self.service {
            Service::SecretsManager => CallKind::SecretRead,
            Service::Table => CallKind::Table,
            Service::Auth0 if self.what.ends_with(" /oauth/token") => CallKind::Token,
            Service::Auth0 if self.what.ends_with("/jwks.json") => CallKind::Jwks,
            Service::Auth0 => CallKind::Management,
        }
    }
}

/// The calls of every relay of one set of upstreams, in the order received.
#[derive(Clone, Default)]
pub struct CallLog(Arc<Mutex<Vec<Call>>>);

impl CallLog {
    fn calls(&self) -> MutexGuard<'_, Vec<Call>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many calls were logged so far (a mark for [`CallLog::between`]).
    pub fn len(&self) -> usize {
        self.calls().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The calls logged between two marks, by the time they were
    /// received. A call is logged once answered, before the caller has the
    /// answer: what a request waited for is logged by the time it answers.
    pub fn between(&self, marks: Range<usize>) -> Vec<Call> {
        let mut calls = self.calls().get(marks).unwrap_or_default().to_vec();
        calls.sort_by_key(|call| call.received);
        calls
    }
}

struct Target {
    service: Service,
    /// `http://127.0.0.1:PORT` of the upstream.
    url: String,
    rtt: Duration,
    http: reqwest::Client,
    log: CallLog,
}

/// A relay; it stops when dropped.
pub struct Relay {
    address: SocketAddr,
    server: JoinHandle<()>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Relay {
    /// Binds a port on 127.0.0.1 (so that an upstream can be told its
    /// public URL before it starts: the emulator's issuer is its URL).
    pub async fn bind() -> std::io::Result<TcpListener> {
        TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Relays what `listener` receives to `url` (`http://host:port`), each
    /// request held for `rtt` first, logging it in `log`.
    pub fn start(
        listener: TcpListener,
        service: Service,
        url: &str,
        rtt: Duration,
        log: &CallLog,
    ) -> std::io::Result<Relay> {
        let address = listener.local_addr()?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(std::io::Error::other)?;
        let target = Arc::new(Target {
            service,
            url: url.trim_end_matches('/').to_owned(),
            rtt,
            http,
            log: log.clone(),
        });
        let router = Router::new().fallback(relay).with_state(target);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Relay { address, server })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }
}

/// Headers of one hop, which the relay's own connections set.
fn hop_by_hop(name: &HeaderName) -> bool {
    [
        header::HOST,
        header::CONNECTION,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
    ]
    .contains(name)
}

async fn relay(State(target): State<Arc<Target>>, request: Request) -> Response {
    let received = Instant::now();
    let (parts, body) = request.into_parts();
    let what = match target.service {
        Service::Auth0 => format!("{} {}", parts.method, parts.uri.path()),
        _ => parts
            .headers
            .get("x-amz-target")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("?")
            .to_owned(),
    };
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return (StatusCode::BAD_REQUEST, "unreadable body").into_response();
    };
    tokio::time::sleep(target.rtt).await;
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut forward = target
        .http
        .request(parts.method, format!("{}{path}", target.url))
        .body(body);
    for (name, value) in &parts.headers {
        if !hop_by_hop(name) {
            forward = forward.header(name, value);
        }
    }
    let response = match forward.send().await {
        Ok(answer) => {
            let status = answer.status();
            let headers = answer.headers().clone();
            match answer.bytes().await {
                Ok(bytes) => {
                    let mut response = Response::new(Body::from(bytes));
                    *response.status_mut() = status;
                    for (name, value) in &headers {
                        if !hop_by_hop(name) {
                            response.headers_mut().append(name, value.clone());
                        }
                    }
                    response
                }
                Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
            }
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    target.log.calls().push(Call {
        service: target.service,
        what,
        received,
        answered: Instant::now(),
    });
    response
}

/// A request's critical path, read from the calls it made (a cold
/// start's first request, or a later one of the same container): what
/// stood before the operation's own Auth0 call (its first Management API
/// call), or before the answer for an operation that makes none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CriticalPath {
    /// Requests received before it: Secrets Manager reads, token
    /// requests, JWKS fetches, table calls.
    pub before: [usize; 4],
    /// Of them, how many in sequence at most: the longest chain of calls
    /// each received after the one before it was answered. With an
    /// injected round-trip time this is the number of round trips the
    /// request waited for before its Auth0 call; without one, calls answer
    /// so fast that concurrent ones can look sequential (an upper bound).
    pub in_sequence: usize,
    /// Whether the operation made a Management API call at all.
    pub calls_management_api: bool,
}

impl CriticalPath {
    /// From the calls of one container (in the order received).
    pub fn of(calls: &[Call]) -> CriticalPath {
        let first_management = calls
            .iter()
            .position(|call| call.kind() == CallKind::Management);
        let before = &calls[..first_management.unwrap_or(calls.len())];
        let mut counts = [0; 4];
        for call in before {
            match call.kind() {
                CallKind::SecretRead => counts[0] += 1,
                CallKind::Token => counts[1] += 1,
                CallKind::Jwks => counts[2] += 1,
                CallKind::Table => counts[3] += 1,
                CallKind::Management => {}
            }
        }
        // depth[i]: the longest chain of calls ending with call i.
        let mut depth: Vec<usize> = Vec::with_capacity(calls.len());
        for (i, call) in calls.iter().enumerate() {
            let longest_before = (0..i)
                .filter(|&j| calls[j].answered <= call.received)
                .map(|j| depth[j])
                .max()
                .unwrap_or(0);
            depth.push(longest_before + 1);
        }
        let in_sequence = match first_management {
            Some(i) => depth[i] - 1,
            None => depth.iter().copied().max().unwrap_or(0),
        };
        CriticalPath {
            before: counts,
            in_sequence,
            calls_management_api: first_management.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(service: Service, what: &str, at: &Instant, from_ms: u64, to_ms: u64) -> Call {
        Call {
            service,
            what: what.to_owned(),
            received: *at + Duration::from_millis(from_ms),
            answered: *at + Duration::from_millis(to_ms),
        }
    }

    #[test]
    fn the_critical_path_counts_what_stands_before_the_first_management_call() {
        let t = Instant::now();
        // Secret, then token; the JWKS beside them; a table read after
        // the token; then the create, and a table write after it.
        let calls = vec![
            call(
                Service::SecretsManager,
                "secretsmanager.GetSecretValue",
                &t,
                0,
                20,
            ),
            call(Service::Auth0, "GET /.well-known/jwks.json", &t, 1, 21),
            call(Service::Auth0, "POST /oauth/token", &t, 21, 41),
            call(Service::Table, "DynamoDB_20120810.GetItem", &t, 42, 62),
            call(Service::Auth0, "POST /api/v2/clients", &t, 63, 83),
            call(
                Service::Table,
                "DynamoDB_20120810.TransactWriteItems",
                &t,
                84,
                104,
            ),
        ];
        let path = CriticalPath::of(&calls);
        assert_eq!(path.before, [1, 1, 1, 1]);
        assert_eq!(path.in_sequence, 3);
        assert!(path.calls_management_api);
        // Without a Management API call: the longest chain of them all.
        let path = CriticalPath::of(&calls[..4]);
        assert_eq!(path.before, [1, 1, 1, 1]);
        assert_eq!(path.in_sequence, 3);
        assert!(!path.calls_management_api);
    }
}
