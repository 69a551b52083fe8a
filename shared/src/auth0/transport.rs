//! Sending one call to Auth0 with the retry rules of docs/behaviour.md
//! ("Upstream failures"): 429 waits for the rate-limit reset and retries (at
//! most twice, never past the deadline); 5xx, timeouts and dropped
//! connections are retried only for calls that are safe to repeat; POSTs are
//! never blindly retried. A 401 is not retried here: it goes back to the
//! caller ([`Outcome::Unauthorized`]), which renews its token (step 5 of
//! the chain in `mod.rs`) or, for a token request, its credentials.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::time::{Instant, sleep};
use tracing::{debug, warn};

use crate::error::UpstreamError;
use crate::metrics::{self, CallOutcome};

/// Retries after the first attempt, for any one reason.
pub const MAX_RETRIES: u32 = 2;
/// Each attempt may take this long, less only when the deadline is nearer:
/// long enough for a slow but healthy Auth0, short enough that a hung one
/// leaves the retries (and a request's other steps) their time within the
/// answer's bound (docs/behaviour.md, "Upstream failures").
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(4);
/// Auth0 answers are small; anything larger is not an answer we understand.
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// Waits longer than this are not worth it even inside the budget.
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(10);
/// Pause before retrying a 5xx or a lost connection: Auth0 is having a moment.
const ERROR_BACKOFF: Duration = Duration::from_millis(200);

/// Whether a call may be sent again after its outcome became unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// GET, DELETE, PATCH, token requests: repeating them changes nothing
    /// (a PATCH sets the same values again).
    Safe,
    /// POSTs that create or rotate something: only 429 (not processed)
    /// and failed connects (never sent) are retried.
    OnlyIfNotProcessed,
}

/// One request, rebuilt for every attempt.
pub struct Call<'a> {
    /// What the call is, for its metrics (`create_client`, `token`, ...):
    /// never its path, which can hold a client id.
    pub name: &'static str,
    pub method: Method,
    pub path: &'a str,
    pub query: &'a [(&'a str, String)],
    pub body: Option<&'a Value>,
    pub retry: Retry,
}

impl<'a> Call<'a> {
    /// A read: safe to repeat.
    pub fn get(name: &'static str, path: &'a str, query: &'a [(&'a str, String)]) -> Self {
        Call {
            name,
            method: Method::GET,
            path,
            query,
            body: None,
            retry: Retry::Safe,
        }
    }

    /// Whether it changes nothing in Auth0: a read, or the token request
    /// (the one POST retried as safe: it mints a token, nothing else).
    fn changes_nothing(&self) -> bool {
        self.method == Method::GET || (self.method == Method::POST && self.retry == Retry::Safe)
    }

    /// A deletion: repeating it changes nothing.
    pub fn delete(name: &'static str, path: &'a str) -> Self {
        Call {
            name,
            method: Method::DELETE,
            path,
            query: &[],
            body: None,
            retry: Retry::Safe,
        }
    }

    /// An action without a body (a rotation): never sent again once it
    /// may have been processed.
    pub fn post_empty(name: &'static str, path: &'a str) -> Self {
        Call {
            name,
            method: Method::POST,
            path,
            query: &[],
            body: None,
            retry: Retry::OnlyIfNotProcessed,
        }
    }

    /// An update: it sets the same values again if repeated.
    pub fn patch(name: &'static str, path: &'a str, body: &'a Value) -> Self {
        Call {
            name,
            method: Method::PATCH,
            path,
            query: &[],
            body: Some(body),
            retry: Retry::Safe,
        }
    }

    /// A creation: never sent again once it may have been processed.
    pub fn post(name: &'static str, path: &'a str, body: &'a Value) -> Self {
        Call {
            name,
            method: Method::POST,
            path,
            query: &[],
            body: Some(body),
            retry: Retry::OnlyIfNotProcessed,
        }
    }
}

/// Auth0's answer: status and body, fully read.
pub struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

/// Status and size only: the body may hold a new client's secret or a
/// Management API token, and `{:?}` ends up in logs and error messages.
impl fmt::Debug for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Answer")
            .field("status", &self.status)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

impl Answer {
    /// The `errorCode` and `message` of an Auth0 error body, if it has them.
    pub fn error_code(&self) -> Option<String> {
        let body: Value = serde_json::from_slice(&self.body).ok()?;
        body.get("errorCode")?.as_str().map(str::to_owned)
    }

    pub fn error_message(&self) -> Option<String> {
        let body: Value = serde_json::from_slice(&self.body).ok()?;
        body.get("message")?.as_str().map(str::to_owned)
    }

    /// The body as `T`; `what` names the call in the error.
    pub fn parse<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, UpstreamError> {
        serde_json::from_slice(&self.body)
            .map_err(|_| UpstreamError::Failed(format!("{what}: unreadable answer")))
    }

    /// This answer as the failure of `what`: its status and Auth0's error
    /// code, never Auth0's message (for the log only, in any case).
    pub fn failure(&self, what: &str) -> UpstreamError {
        UpstreamError::Failed(format!(
            "{what}: HTTP {}{}",
            self.status.as_u16(),
            self.error_code()
                .map(|code| format!(" ({code})"))
                .unwrap_or_default()
        ))
    }
}

/// What an attempt came to.
pub enum Outcome {
    /// Auth0 answered (any status but a retried 429/5xx).
    Answered(Answer),
    /// Auth0 answered 401: the bearer token is no good.
    Unauthorized,
}

/// The HTTP side of the Auth0 adapter: one pooled client, one base URL.
#[derive(Clone)]
pub struct Auth0Http {
    http: reqwest::Client,
    base_url: String,
}

impl Auth0Http {
    pub fn new(http: reqwest::Client, base_url: String) -> Self {
        Auth0Http { http, base_url }
    }

    /// Sends `call` (with `bearer`, if any), retrying as the rules allow.
    /// A 401 is returned as [`Outcome::Unauthorized`] for the caller to
    /// refresh its token; every other status is returned as is once retries
    /// are exhausted, except a persistent 429, which is an error.
    pub async fn send(
        &self,
        call: &Call<'_>,
        bearer: Option<&str>,
        deadline: Instant,
    ) -> Result<Outcome, UpstreamError> {
        let url = format!("{}{}", self.base_url, call.path);
        let mut retries = 0;
        // The last rate-limit wait, if Auth0 asked for one.
        let mut rate_limited: Option<Duration> = None;
        // Whether an attempt of a change may have been processed (it timed
        // out, its connection broke after sending, Auth0 answered 5xx): the
        // call's outcome is the least certain of its attempts, so from then
        // on a 429 cannot say "nothing was done" (CONTRACT.md, "Writes
        // whose outcome is unknown").
        let mut maybe_processed = false;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                // Nothing was sent this time: if waiting out Auth0's rate
                // limit used up the time, that is what the caller must hear.
                if let Some(wait) = rate_limited.filter(|_| !maybe_processed) {
                    return Err(UpstreamError::RateLimited {
                        retry_after: wait.max(Duration::from_secs(1)),
                    });
                }
                return Err(UpstreamError::Failed(format!(
                    "{} {}: time budget exhausted",
                    call.method, call.path
                )));
            }
            // Every attempt gets its full timeout rather than a share of the
            // time left: a share would cut a slow but healthy attempt short.
            // The deadline bounds the retries instead: the last attempt gets
            // what is left.
            let cut_by_deadline = remaining < ATTEMPT_TIMEOUT;
            let mut request = self
                .http
                .request(call.method.clone(), &url)
                .timeout(remaining.min(ATTEMPT_TIMEOUT));
            if !call.query.is_empty() {
                request = request.query(call.query);
            }
            if let Some(token) = bearer {
                request = request.bearer_auth(token);
            }
            if let Some(body) = call.body {
                request = request.json(body);
            }

            let sent = Instant::now();
            let (failure, reached_auth0) = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    metrics::auth0_call(
                        call.name,
                        CallOutcome::of_status(status.as_u16()),
                        sent.elapsed(),
                    );
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        let wait = rate_limit_wait(response.headers());
                        if retries < MAX_RETRIES
                            && wait <= MAX_RATE_LIMIT_WAIT
                            && fits(wait, deadline)
                        {
                            debug!(
                                path = call.path,
                                wait_ms = wait.as_millis() as u64,
                                "Auth0 rate limit: waiting"
                            );
                            retries += 1;
                            rate_limited = Some(wait);
                            sleep(wait).await;
                            continue;
                        }
                        warn!(path = call.path, retries, "Auth0 rate limit persists");
                        if maybe_processed {
                            return Err(UpstreamError::Failed(format!(
                                "{} {}: rate limited after an attempt that may have been processed",
                                call.method, call.path
                            )));
                        }
                        return Err(UpstreamError::RateLimited {
                            retry_after: wait.max(Duration::from_secs(1)),
                        });
                    }
                    if status == StatusCode::UNAUTHORIZED {
                        return Ok(Outcome::Unauthorized);
                    }
                    match read_body(response).await {
                        Ok(body) if status.is_server_error() => (
                            format!("HTTP {} ({} bytes)", status.as_u16(), body.len()),
                            true,
                        ),
                        Ok(body) => return Ok(Outcome::Answered(Answer { status, body })),
                        Err(reason) => (reason, true),
                    }
                }
                Err(error) => {
                    let outcome = if error.is_timeout() {
                        CallOutcome::Timeout
                    } else {
                        CallOutcome::ConnectionError
                    };
                    metrics::auth0_call(call.name, outcome, sent.elapsed());
                    // An attempt the deadline cut short, after waiting out
                    // the rate limit had used up the time: as above, the
                    // caller must hear of the rate limit. Only for a call
                    // that changes nothing: a change whose answer was lost
                    // may have been made, which the rate limit's "nothing
                    // was processed" would hide.
                    let cut_after_waiting =
                        error.is_timeout() && cut_by_deadline && call.changes_nothing();
                    if let Some(wait) = rate_limited.filter(|_| cut_after_waiting) {
                        return Err(UpstreamError::RateLimited {
                            retry_after: wait.max(Duration::from_secs(1)),
                        });
                    }
                    let reason = describe(&error);
                    if error.is_connect() && retries < MAX_RETRIES && fits(ERROR_BACKOFF, deadline)
                    {
                        // Never sent: safe to try again whatever the method.
                        retries += 1;
                        sleep(ERROR_BACKOFF).await;
                        continue;
                    }
                    (reason, !error.is_connect())
                }
            };
            // A connection that failed to connect sent nothing; anything
            // else (5xx, a timeout, a connection lost after sending, an
            // unreadable answer) may have been processed.
            maybe_processed |= reached_auth0 && !call.changes_nothing();

            if call.retry == Retry::Safe && retries < MAX_RETRIES && fits(ERROR_BACKOFF, deadline) {
                warn!(path = call.path, reason = %failure, "Auth0 call failed; retrying");
                retries += 1;
                sleep(ERROR_BACKOFF).await;
                continue;
            }
            return Err(UpstreamError::Failed(format!(
                "{} {}: {failure}",
                call.method, call.path
            )));
        }
    }
}

/// The least time worth an attempt: a request to Auth0 on a busy container
/// can take this long even when Auth0 answers at once.
const WORTHWHILE_ATTEMPT: Duration = Duration::from_secs(1);

/// Whether waiting `wait` still leaves time for a worthwhile attempt.
fn fits(wait: Duration, deadline: Instant) -> bool {
    Instant::now() + wait + WORTHWHILE_ATTEMPT < deadline
}

/// How long Auth0 asks us to wait: `x-ratelimit-reset` (unix seconds) or
/// `Retry-After` (seconds); one second when it says neither.
fn rate_limit_wait(headers: &HeaderMap) -> Duration {
    let header = |name| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
    };
    let wait = if let Some(reset) = header("x-ratelimit-reset") {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Duration::from_secs(reset).saturating_sub(now)
    } else if let Some(seconds) = header(RETRY_AFTER.as_str()) {
        Duration::from_secs(seconds)
    } else {
        Duration::from_secs(1)
    };
    // A reset that has already passed still deserves a short pause.
    wait.max(Duration::from_millis(100))
}

async fn read_body(response: reqwest::Response) -> Result<Vec<u8>, String> {
    if response
        .content_length()
        .is_some_and(|length| length > MAX_RESPONSE_BYTES as u64)
    {
        return Err("response too large".into());
    }
    let body = response.bytes().await.map_err(|error| describe(&error))?;
    if body.len() > MAX_RESPONSE_BYTES {
        return Err("response too large".into());
    }
    Ok(body.to_vec())
}

/// A transport error in a few words, without the URL.
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "connection lost while reading the answer"
    } else if error.is_request() {
        "request failed"
    } else {
        "transport error"
    };
    kind.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn unix_now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[test]
    fn answers_debug_without_their_body() {
        let secret = "s3cr3t-value";
        let answer = Answer {
            status: StatusCode::CREATED,
            body: format!(r#"{{"client_id": "c", "client_secret": "{secret}"}}"#).into_bytes(),
        };
        let shown = format!("{answer:?} {answer:#?}");
        // Neither as text nor as the list of bytes a derived Debug shows.
        let bytes = format!("{:?}", secret.as_bytes());
        for form in [secret, bytes.trim_matches(['[', ']'])] {
            assert!(!shown.contains(form), "{shown}");
        }
        assert!(shown.contains("201"), "{shown}");
        assert!(shown.contains(&answer.body.len().to_string()), "{shown}");
    }

    #[test]
    fn waits_follow_the_rate_limit_headers() {
        let wait = rate_limit_wait(&headers(&[(
            "x-ratelimit-reset",
            (unix_now() + 3).to_string(),
        )]));
        assert!(
            wait > Duration::from_secs(1) && wait <= Duration::from_secs(3),
            "{wait:?}"
        );
        let wait = rate_limit_wait(&headers(&[("retry-after", "2".into())]));
        assert_eq!(wait, Duration::from_secs(2));
        assert_eq!(rate_limit_wait(&HeaderMap::new()), Duration::from_secs(1));
        // A reset in the past still leaves a short pause.
        let wait = rate_limit_wait(&headers(&[("x-ratelimit-reset", "1".into())]));
        assert_eq!(wait, Duration::from_millis(100));
        // A long wait is reported as is, so callers can pass it on.
        let wait = rate_limit_wait(&headers(&[("retry-after", "120".into())]));
        assert_eq!(wait, Duration::from_secs(120));
    }
}
