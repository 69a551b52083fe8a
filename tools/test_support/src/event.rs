//! API Gateway HTTP API (payload 2.0) events, as API Gateway sends them to
//! a function of the route table.

use m2m_shared::Route;
use serde_json::{Map, Value, json};

/// `requestContext.requestId` of every event built here.
pub const REQUEST_ID: &str = "api-request-id";

/// An event for one route, built up and then rendered with [`Event::json`].
#[derive(Clone, Debug)]
pub struct Event {
    route: Route,
    id: Option<String>,
    credential_id: Option<String>,
    headers: Vec<(String, String)>,
    body: Option<String>,
}

impl Event {
    /// An event for `route` with the headers every API Gateway request has
    /// and a JSON content type, without `Authorization`, id or body.
    pub fn new(route: Route) -> Event {
        let headers = [
            ("accept", "*/*"),
            ("content-type", "application/json"),
            ("host", "api-id.execute-api.us-east-1.amazonaws.com"),
            ("user-agent", "test-support"),
            ("x-forwarded-for", "192.0.2.1"),
            ("x-forwarded-port", "443"),
            ("x-forwarded-proto", "https"),
        ];
        Event {
            route,
            id: None,
            credential_id: None,
            headers: headers
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
            body: None,
        }
    }

    /// The `{id}` of the path: in `pathParameters` as given, in the path
    /// percent-encoded, as a client would send it.
    pub fn id(mut self, id: &str) -> Event {
        self.id = Some(id.to_owned());
        self
    }

    /// The `{credential_id}` of a credential's path, as [`Event::id`].
    pub fn credential(mut self, credential_id: &str) -> Event {
        self.credential_id = Some(credential_id.to_owned());
        self
    }

    /// Sets a header (replacing one of the same name).
    pub fn header(mut self, name: &str, value: &str) -> Event {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(existing, _)| *existing != name);
        self.headers.push((name, value.to_owned()));
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Event {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// Removes a header.
    pub fn without_header(mut self, name: &str) -> Event {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(existing, _)| *existing != name);
        self
    }

    pub fn body(mut self, body: &str) -> Event {
        self.body = Some(body.to_owned());
        self
    }

    /// The concrete path: the route's, with the id percent-encoded.
    pub fn path(&self) -> String {
        let path = match &self.id {
            Some(id) => self.route.path().replace("{id}", &percent_encode(id)),
            None => self.route.path().to_owned(),
        };
        match &self.credential_id {
            Some(credential_id) => path.replace("{credential_id}", &percent_encode(credential_id)),
            None => path,
        }
    }

    /// The event as API Gateway sends it.
    pub fn json(&self) -> Value {
        let path = self.path();
        let route_key = self.route.route_key();
        let headers: Map<String, Value> = self
            .headers
            .iter()
            .map(|(name, value)| (name.clone(), Value::String(value.clone())))
            .collect();
        let mut event = json!({
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": path,
            "rawQueryString": "",
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "api-id",
                "domainName": "api-id.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "api-id",
                "http": {
                    "method": self.route.method(),
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "192.0.2.1",
                    "userAgent": "test-support"
                },
                "requestId": REQUEST_ID,
                "routeKey": route_key,
                "stage": "$default",
                "time": "22/Nov/2026:17:00:00 +0000",
                "timeEpoch": 1_795_366_800_000u64
            },
            "isBase64Encoded": false
        });
        if let Some(id) = &self.id {
            event["pathParameters"] = json!({ "id": id });
        }
        if let Some(credential_id) = &self.credential_id {
            event["pathParameters"]["credential_id"] = json!(credential_id);
        }
        if let Some(body) = &self.body {
            event["body"] = json!(body);
        }
        event
    }

    /// The event as the text a function reads.
    pub fn text(&self) -> String {
        self.json().to_string()
    }

    /// The request `lambda_http` makes of the event.
    pub fn request(&self) -> lambda_http::Request {
        lambda_http::request::from_str(&self.text()).expect("a valid API Gateway event")
    }
}

/// Encodes everything but RFC 3986's unreserved characters, as a client
/// would before putting an id in a URL path.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
