//! What the benchmarks ask a function: the API Gateway events of each
//! [`Ask`], the tenant prepared for them, and what the answers say.

use auth0_emulator::ClientKey;
use m2m_shared::Route;
use serde_json::{Value, json};
use test_support::event::Event;

use super::{CALLER, Subject, Upstream};

/// A caller who owns nothing (a refused list: the empty list).
const OTHER_CALLER: &str = "bench-nobody";
/// An id nobody has (a refused get or delete: 404).
const UNKNOWN_ID: &str = "client_doesNotExist000000000000";

/// What the benchmark asks a function to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ask {
    /// The route's successful request.
    Success,
    /// No `Authorization` header: 401.
    NoToken,
    /// A token signed by a key nobody published: 401 (after a JWKS refetch,
    /// at most once per 30 s).
    ForeignToken,
    /// A request the route refuses, as [`Refusal::of`] says: create, a
    /// body without a name (400); get and delete, an id nobody has (404);
    /// list, a caller without clients (200, `[]`).
    Refused,
}

/// How a route refuses the benchmark's [`Ask::Refused`]: route by route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// A body without a name: 400.
    InvalidBody,
    /// An id nobody has: 404.
    UnknownId,
    /// A caller who owns nothing: the route's success, empty.
    OtherCaller,
}

impl Refusal {
    fn of(route: Route) -> Refusal {
        match route {
            Route::CreateClient => Refusal::InvalidBody,
            Route::ListClients => Refusal::OtherCaller,
            Route::GetClient
            | Route::DeleteClient
            | Route::UpdateClient
            | Route::RotateClientSecret
            | Route::DisableClient
            | Route::EnableClient
            | Route::ListCredentials
            | Route::CreateCredential
            | Route::DeleteCredential => Refusal::UnknownId,
        }
    }

    fn status(self, route: Route) -> u16 {
        match self {
            Refusal::InvalidBody => 400,
            Refusal::UnknownId => 404,
            Refusal::OtherCaller => route.success_status(),
        }
    }
}

impl Ask {
    pub fn expected_status(self, subject: Subject) -> Option<u16> {
        match (self, subject) {
            (_, Subject::Echo) => None,
            (Ask::Success, subject) => subject.success_status(),
            (Ask::NoToken | Ask::ForeignToken, _) => Some(401),
            (Ask::Refused, Subject::Function(route)) => Some(Refusal::of(route).status(route)),
        }
    }

    /// How `subject` refuses this ask, if it is [`Ask::Refused`].
    fn refusal(self, subject: Subject) -> Option<Refusal> {
        match (self, subject) {
            (Ask::Refused, Subject::Function(route)) => Some(Refusal::of(route)),
            _ => None,
        }
    }
}

/// The event for `ask` on `subject`, preparing the tenant as needed (a
/// fresh client of the caller for each request naming one, but an unknown
/// id).
pub async fn event_for(
    upstream: &Upstream,
    subject: Subject,
    ask: Ask,
    token: &str,
    n: usize,
) -> String {
    request_for(upstream, subject, ask, token, n).await.0
}

/// [`event_for`], and the client seeded for it, if any.
pub async fn request_for(
    upstream: &Upstream,
    subject: Subject,
    ask: Ask,
    token: &str,
    n: usize,
) -> (String, Option<String>) {
    let route = subject.route();
    let refusal = ask.refusal(subject);
    let mut event = Event::new(route);
    let mut seeded = None;
    let keys_route = matches!(
        route,
        Route::ListCredentials | Route::CreateCredential | Route::DeleteCredential
    );
    if route.takes_id() {
        let id = if refusal == Some(Refusal::UnknownId) {
            UNKNOWN_ID.to_owned()
        } else if keys_route {
            // A key client; a removal's holds two keys and removes the first.
            let keys: &[ClientKey] = match route {
                Route::DeleteCredential => &[ClientKey::A, ClientKey::B],
                _ => &[ClientKey::A],
            };
            let name = format!("bench key target {n}");
            let (id, credentials) = upstream.seed_key_client(&name, keys).await;
            if route == Route::DeleteCredential {
                event = event.credential(&credentials[0]);
            }
            seeded.insert(id).clone()
        } else {
            seeded
                .insert(upstream.seed_client(&format!("bench target {n}")).await)
                .clone()
        };
        event = event.id(&id);
    }
    if route == Route::CreateCredential {
        let key = json!({"pem": ClientKey::B.public_pem(), "alg": "RS256"});
        event = event.body(&key.to_string());
    }
    // Create and update take a body; the other routes have none to read.
    if matches!(route, Route::CreateClient | Route::UpdateClient) {
        let body = if refusal == Some(Refusal::InvalidBody) {
            json!({"description": "no name"})
        } else {
            json!({"name": format!("bench client {n}"), "description": "made by the benchmark"})
        };
        event = event.body(&body.to_string());
    }
    let event = match ask {
        Ask::NoToken => event,
        Ask::ForeignToken => event.bearer(&upstream.foreign_token(CALLER)),
        _ if refusal == Some(Refusal::OtherCaller) => {
            event.bearer(&upstream.caller_token(OTHER_CALLER))
        }
        _ => event.bearer(token),
    };
    (event.text(), seeded)
}

/// The `statusCode` of an API Gateway response document.
pub fn status_of(response: &[u8]) -> Option<u16> {
    let value: Value = serde_json::from_slice(response).ok()?;
    value.get("statusCode")?.as_u64().map(|s| s as u16)
}

/// The `client_id` in the body of an API Gateway response document (a
/// created client's).
pub fn client_id_of(response: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(response).ok()?;
    let body: Value = serde_json::from_str(value.get("body")?.as_str()?).ok()?;
    body.get("client_id")?.as_str().map(str::to_owned)
}
