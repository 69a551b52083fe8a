//! Auth0's log stream (`auth0_log_events`; docs/owner-index.md, "Auth0's
//! log stream"): what the tenant's log tells the index at once instead of
//! at the next sweep. A `seccft` (a client got a token) moves the client's
//! `last_used_at` forward; a `sapi` of `DELETE /api/v2/clients/{id}` (a
//! client deleted past the service, in the dashboard say) removes its item
//! once Auth0 answers 404 for it, by the sweep's own removal.
//!
//! The shape, as Auth0 streams a log event to Amazon EventBridge (Auth0,
//! "Stream Logs to Amazon EventBridge",
//! <https://auth0.com/docs/monitor-auth0/streams/stream-logs-to-amazon-eventbridge>):
//! `source` is the partner event source (`aws.partner/auth0.com/<tenant>-<id>/auth0.logs`),
//! `detail-type` `Auth0 log`, and `detail` is `{"log_id": …, "data": <the
//! log event>}`. The log event is Auth0's tenant log schema
//! (auth0/docs-v2 `main/docs/oas/tenant-logs/logs-schema.json`, vendored as
//! `tools/auth0_emulator/schemas/tenant-logs.schema.json`): `type` (the
//! event type code, <https://auth0.com/docs/deploy-monitor/logs/log-event-type-codes>),
//! `date` (ISO 8601), `client_id` (for `seccft` the client that got the
//! token; for `sapi` the client that called the Management API, not the one
//! it acted on) and `details.request` (`method`, `path`) of a `sapi`.
//!
//! Events come more than once and out of order: recording a use is a
//! conditional write that only moves forward, and a removal happens once
//! (the item is marked first, as delete's first step).

use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;
use tracing::{info, warn};

use super::reconciler::Reconciler;
use crate::domain::{ClientDirectory, OwnerIndex, is_possible_client_id, parse_rfc3339};
use crate::error::{Operation, ServiceError};

/// What one event of the log stream is to the index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogEvent {
    /// `seccft`: the client got a token (client credentials) at `at` (µs).
    TokenExchanged { client_id: String, at: u64 },
    /// `sapi` of `DELETE /api/v2/clients/{client_id}`: the client was
    /// deleted, maybe past the service.
    ClientDeleted { client_id: String },
    /// Anything else (another type, another call, a field missing or not
    /// what Auth0 writes): nothing to do.
    Other,
}

/// `value`'s string at `path`, if there is one.
fn text_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |value, name| value.get(name))
        .and_then(Value::as_str)
}

impl LogEvent {
    /// The event EventBridge delivers (`{…, "detail": {"log_id", "data"}}`).
    pub fn of(event: &Value) -> Self {
        let Some(data) = event.get("detail").and_then(|detail| detail.get("data")) else {
            return LogEvent::Other;
        };
        match text_at(data, &["type"]) {
            Some("seccft") => {
                let client_id =
                    text_at(data, &["client_id"]).filter(|id| is_possible_client_id(id));
                let at = text_at(data, &["date"]).and_then(parse_rfc3339);
                match (client_id, at) {
                    (Some(client_id), Some(at)) => LogEvent::TokenExchanged {
                        client_id: client_id.to_owned(),
                        at,
                    },
                    _ => LogEvent::Other,
                }
            }
            Some("sapi") => {
                let deletes = text_at(data, &["details", "request", "method"])
                    .is_some_and(|method| method.eq_ignore_ascii_case("delete"));
                // `/api/v2/clients/{id}` exactly: not a credential's path
                // below it (an id holds no `/`), nor a query.
                let deleted = text_at(data, &["details", "request", "path"])
                    .and_then(|path| path.strip_prefix("/api/v2/clients/"))
                    .filter(|id| is_possible_client_id(id));
                match deleted {
                    Some(client_id) if deletes => LogEvent::ClientDeleted {
                        client_id: client_id.to_owned(),
                    },
                    _ => LogEvent::Other,
                }
            }
            _ => LogEvent::Other,
        }
    }
}

/// What following one event did: the function's answer and its log line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Followed {
    /// `token_exchanged`, `client_deleted` or `ignored`.
    pub event: &'static str,
    pub client_id: Option<String>,
    /// `recorded` (`last_used_at` moved), `not_newer` (a duplicate or an
    /// older event), `unknown_client` (not one of the index's), `removed`,
    /// `still_in_auth0` (Auth0 has the client: nothing removed),
    /// `already_going` (being deleted, or gone, already), `ignored`.
    pub outcome: &'static str,
}

impl<D: ClientDirectory, I: OwnerIndex> Reconciler<D, I> {
    /// Follows one event of Auth0's log stream, by `deadline`. An error
    /// (the table or Auth0 failing) fails the invocation, which Lambda
    /// retries (EventBridge invokes asynchronously); following an event
    /// twice changes nothing the second time.
    pub async fn follow(&self, event: &Value, deadline: Instant) -> Result<Followed, ServiceError> {
        let followed = match LogEvent::of(event) {
            LogEvent::TokenExchanged { client_id, at } => {
                let outcome = match self.index.owner_of(&client_id).await? {
                    None => "unknown_client",
                    Some(owner) if self.index.record_use(&owner, &client_id, at).await? => {
                        "recorded"
                    }
                    Some(_) => "not_newer",
                };
                Followed {
                    event: "token_exchanged",
                    client_id: Some(client_id),
                    outcome,
                }
            }
            LogEvent::ClientDeleted { client_id } => {
                let outcome = self.remove_if_gone(&client_id, deadline).await?;
                Followed {
                    event: "client_deleted",
                    client_id: Some(client_id),
                    outcome,
                }
            }
            LogEvent::Other => Followed {
                event: "ignored",
                client_id: None,
                outcome: "ignored",
            },
        };
        info!(
            event = followed.event,
            client_id = followed.client_id.as_deref().unwrap_or(""),
            outcome = followed.outcome,
            "followed a log event"
        );
        Ok(followed)
    }

    /// [`follow`](Self::follow), answered as JSON (the function's answer).
    pub async fn answer_log_event(
        &self,
        event: &Value,
        deadline: Instant,
    ) -> Result<Value, ServiceError> {
        let followed = self.follow(event, deadline).await.inspect_err(|problem| {
            tracing::error!(error = %problem, "a log event could not be followed; Lambda retries it");
        })?;
        serde_json::to_value(followed)
            .map_err(|problem| ServiceError::Internal(problem.to_string()))
    }

    /// Removes the item of `client_id` if Auth0 answers 404 for it: marked
    /// as being deleted (delete's first step: an item being deleted, or
    /// gone, is left to whoever is at it), then removed as the sweep
    /// removes, with its quota and key.
    async fn remove_if_gone(
        &self,
        client_id: &str,
        deadline: Instant,
    ) -> Result<&'static str, ServiceError> {
        let Some(owner) = self.index.owner_of(client_id).await? else {
            return Ok("unknown_client");
        };
        let exists = self
            .directory
            .client_exists(client_id, deadline)
            .await
            .map_err(ServiceError::upstream(Operation::DeleteClient))?;
        if exists {
            warn!(
                client_id,
                owner = owner.as_str(),
                "log stream: a deletion of a client Auth0 still has; kept"
            );
            return Ok("still_in_auth0");
        }
        match self.index.begin_deletion(&owner, client_id).await? {
            Some(marked) => {
                self.remove_gone(&marked).await?;
                Ok("removed")
            }
            None => Ok("already_going"),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A sample event of `events/`, about `client_x`.
    fn sample(text: &str) -> Value {
        serde_json::from_str(&text.replace("{{CLIENT_ID}}", "client_x")).unwrap()
    }

    fn seccft() -> Value {
        sample(include_str!("../../../events/auth0_log_events-seccft.json"))
    }

    fn deleted() -> Value {
        sample(include_str!(
            "../../../events/auth0_log_events-client-deleted.json"
        ))
    }

    #[test]
    fn the_sample_events_are_a_token_exchange_and_a_deletion() {
        assert_eq!(
            LogEvent::of(&seccft()),
            LogEvent::TokenExchanged {
                client_id: "client_x".into(),
                at: parse_rfc3339("2026-12-06T23:12:45.123Z").unwrap(),
            }
        );
        // The deleted client is the path's, not the caller's `client_id`.
        assert_eq!(
            LogEvent::of(&deleted()),
            LogEvent::ClientDeleted {
                client_id: "client_x".into()
            }
        );
    }

    #[test]
    fn only_a_delete_of_the_client_itself_is_a_deletion() {
        let with_request = |method: &str, path: &str| {
            let mut event = deleted();
            event["detail"]["data"]["details"]["request"] = json!({"method": method, "path": path});
            LogEvent::of(&event)
        };
        assert_eq!(
            with_request("DELETE", "/api/v2/clients/client_x"),
            LogEvent::ClientDeleted {
                client_id: "client_x".into()
            }
        );
        for (method, path) in [
            ("get", "/api/v2/clients/client_x"),
            ("patch", "/api/v2/clients/client_x"),
            ("delete", "/api/v2/clients/client_x/credentials/cred_1"),
            ("delete", "/api/v2/client-grants/cgr_1"),
            ("delete", "/api/v2/clients/"),
            ("delete", "/api/v2/clients/client_x?x=1"),
        ] {
            assert_eq!(
                with_request(method, path),
                LogEvent::Other,
                "{method} {path}"
            );
        }
    }

    #[test]
    fn an_exchange_without_a_usable_client_or_date_is_nothing() {
        for (field, value) in [
            ("date", json!("not a date")),
            ("date", json!(null)),
            ("client_id", json!(null)),
            ("client_id", json!("../x")),
            ("type", json!("feccft")),
        ] {
            let mut event = seccft();
            event["detail"]["data"][field] = value.clone();
            assert_eq!(LogEvent::of(&event), LogEvent::Other, "{field}: {value}");
        }
        assert_eq!(LogEvent::of(&json!({"detail": "x"})), LogEvent::Other);
        assert_eq!(LogEvent::of(&json!(null)), LogEvent::Other);
    }
}
