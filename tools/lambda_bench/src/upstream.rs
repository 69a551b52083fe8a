//! What a function talks to, answered at once on 127.0.0.1: the Auth0
//! emulator (JWKS, `/oauth/token`, `/api/v2`) and a Secrets Manager stub
//! that answers `GetSecretValue` with the management credentials.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use auth0_emulator::{Emulator, EmulatorConfig, TestKey};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

pub const CALLER_AUDIENCE: &str = "https://m2m-client-service/";
/// The `client_id` of the benchmark's caller: the owner of what it creates.
pub const CALLER: &str = "bench-caller";
pub const SECRET_ID: &str = "m2m/auth0-management";
const MANAGEMENT_CLIENT_ID: &str = "bench-mgmt-client";
const MANAGEMENT_CLIENT_SECRET: &str = "bench-mgmt-secret";

/// The four functions, and the bare echo they are compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    Echo,
    Create,
    List,
    Get,
    Delete,
}

impl Subject {
    pub const ALL: [Subject; 5] = [
        Subject::Echo,
        Subject::Create,
        Subject::List,
        Subject::Get,
        Subject::Delete,
    ];
    pub const FUNCTIONS: [Subject; 4] = [
        Subject::Create,
        Subject::List,
        Subject::Get,
        Subject::Delete,
    ];

    /// The binary's name (`cargo build --release` puts it in `target/release`).
    pub fn binary(self) -> &'static str {
        match self {
            Subject::Echo => "bare-echo",
            Subject::Create => "create_client",
            Subject::List => "list_clients",
            Subject::Get => "get_client",
            Subject::Delete => "delete_client",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Subject::Echo => "bare lambda_runtime echo",
            other => other.binary(),
        }
    }

    /// The status of a successful answer.
    pub fn success_status(self) -> Option<u16> {
        match self {
            Subject::Echo => None,
            Subject::Create => Some(201),
            Subject::List | Subject::Get => Some(200),
            Subject::Delete => Some(204),
        }
    }
}

/// Secrets Manager, as far as `GetSecretValue` goes.
struct SecretsStub {
    address: SocketAddr,
    calls: Arc<AtomicUsize>,
    server: JoinHandle<()>,
}

impl Drop for SecretsStub {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn get_secret_value(State(calls): State<Arc<AtomicUsize>>, headers: HeaderMap) -> Response {
    calls.fetch_add(1, Ordering::Relaxed);
    let target = headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if target != "secretsmanager.GetSecretValue" {
        return (
            StatusCode::BAD_REQUEST,
            [("content-type", "application/x-amz-json-1.1")],
            json!({"__type": "UnknownOperationException"}).to_string(),
        )
            .into_response();
    }
    let secret = json!({
        "client_id": MANAGEMENT_CLIENT_ID,
        "client_secret": MANAGEMENT_CLIENT_SECRET,
    })
    .to_string();
    let body = json!({
        "ARN": format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{SECRET_ID}-AbCdEf"),
        "Name": SECRET_ID,
        "SecretString": secret,
        "VersionId": "00000000-0000-0000-0000-000000000001",
        "VersionStages": ["AWSCURRENT"],
        "CreatedDate": 1_700_000_000.0,
    });
    (
        StatusCode::OK,
        [("content-type", "application/x-amz-json-1.1")],
        body.to_string(),
    )
        .into_response()
}

/// How a function's environment is set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// As in Lambda: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
    /// `AWS_SESSION_TOKEN` in the environment.
    InEnvironment,
    /// None in the environment: the SDK walks its whole credential chain
    /// (profile files, web identity, ECS, then IMDS, pointed here at a
    /// closed port on 127.0.0.1 so that nothing leaves the machine).
    Discovered,
}

/// The stubs, for as long as the benchmark runs.
pub struct Upstream {
    pub emulator: Emulator,
    secrets: SecretsStub,
    /// A port on 127.0.0.1 where nothing listens.
    closed_port: u16,
}

impl Upstream {
    pub async fn start() -> std::io::Result<Upstream> {
        let emulator = Emulator::start(EmulatorConfig {
            management_client_id: MANAGEMENT_CLIENT_ID.into(),
            management_client_secret: MANAGEMENT_CLIENT_SECRET.into(),
            caller_audience: CALLER_AUDIENCE.into(),
            ..EmulatorConfig::default()
        })
        .await?;
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let address = listener.local_addr()?;
        let calls = Arc::new(AtomicUsize::new(0));
        let router = Router::new()
            .fallback(get_secret_value)
            .with_state(calls.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let closed_port = {
            let probe = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
            probe.local_addr()?.port()
        };
        Ok(Upstream {
            emulator,
            secrets: SecretsStub {
                address,
                calls,
                server,
            },
            closed_port,
        })
    }

    /// `GetSecretValue` calls answered so far.
    pub fn secret_reads(&self) -> usize {
        self.secrets.calls.load(Ordering::Relaxed)
    }

    /// The function's environment: Lambda's own variables, then README's
    /// configuration table pointing at the stubs.
    pub fn environment(
        &self,
        function: Subject,
        runtime_api: &str,
        credentials: Credentials,
    ) -> Vec<(String, String)> {
        let mut env: Vec<(&str, String)> = vec![
            ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_owned()),
            ("AWS_LAMBDA_FUNCTION_NAME", function.binary().to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON".into()),
            ("AWS_LAMBDA_LOG_LEVEL", "INFO".into()),
            ("LAMBDA_TASK_ROOT", "/var/task".into()),
            ("TZ", ":UTC".into()),
            ("PATH", "/usr/local/bin:/usr/bin:/bin".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_DEFAULT_REGION", "us-east-1".into()),
            (
                "AWS_ENDPOINT_URL",
                format!("http://{}", self.secrets.address),
            ),
            ("AUTH0_DOMAIN", self.emulator.base_url()),
            ("AUTH0_SECRET_ID", SECRET_ID.into()),
            ("JWT_ISSUER", self.emulator.issuer()),
            ("JWT_AUDIENCE", CALLER_AUDIENCE.into()),
        ];
        match credentials {
            Credentials::InEnvironment => env.extend([
                ("AWS_ACCESS_KEY_ID", "AKIABENCHMARK000000".into()),
                ("AWS_SECRET_ACCESS_KEY", "bench-secret-access-key".into()),
                ("AWS_SESSION_TOKEN", "bench-session-token".into()),
            ]),
            Credentials::Discovered => env.extend([
                // An empty home: no profile files to find.
                ("HOME", std::env::temp_dir().display().to_string()),
                (
                    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                    format!("http://127.0.0.1:{}", self.closed_port),
                ),
            ]),
        }
        let mut env: Vec<(String, String)> =
            env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        // Experiments: `BENCH_FUNCTION_ENV="NAME=value NAME2=value2"` adds
        // or overrides variables.
        if let Ok(extra) = std::env::var("BENCH_FUNCTION_ENV") {
            for pair in extra.split_whitespace() {
                if let Some((name, value)) = pair.split_once('=') {
                    env.retain(|(k, _)| k != name);
                    env.push((name.to_owned(), value.to_owned()));
                }
            }
        }
        env
    }

    /// A valid caller token (one hour).
    pub fn caller_token(&self, owner: &str) -> String {
        self.emulator.sign_caller_token(&self.claims(owner))
    }

    /// The same claims, signed by a key the JWKS does not publish.
    pub fn foreign_token(&self, owner: &str) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(TestKey::Foreign.kid().to_owned());
        self.emulator
            .sign_with(&header, &self.claims(owner), TestKey::Foreign)
    }

    fn claims(&self, owner: &str) -> Value {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        json!({
            "iss": self.emulator.issuer(),
            "aud": CALLER_AUDIENCE,
            "sub": format!("{owner}@clients"),
            "iat": now,
            "exp": now + 3600,
            "client_id": owner,
        })
    }

    /// A client of `owner`, made directly in the tenant; returns its id.
    pub fn seed_client(&self, owner: &str, name: &str) -> String {
        self.emulator.seed_client(json!({
            "name": name,
            "description": "seeded by the benchmark",
            "app_type": "non_interactive",
            "grant_types": ["client_credentials"],
            "client_metadata": {"owner_client_id": owner},
        }))
    }
}

/// An API Gateway HTTP API (payload 2.0) event.
pub fn api_gateway_event(
    method: &str,
    route_key: &str,
    id: Option<&str>,
    authorization: Option<&str>,
    body: Option<&str>,
) -> String {
    let path = match id {
        Some(id) => format!("/api/v1/client/{id}"),
        None => "/api/v1/client".to_owned(),
    };
    let mut headers = json!({
        "accept": "*/*",
        "content-type": "application/json",
        "host": "api-id.execute-api.us-east-1.amazonaws.com",
        "user-agent": "lambda-bench",
        "x-forwarded-for": "192.0.2.1",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    });
    if let Some(authorization) = authorization {
        headers["authorization"] = json!(authorization);
    }
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
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "lambda-bench"
            },
            "requestId": "bench-api-request",
            "routeKey": route_key,
            "stage": "$default",
            "time": "22/Nov/2026:17:00:00 +0000",
            "timeEpoch": 1_795_366_800_000u64
        },
        "isBase64Encoded": false
    });
    if let Some(id) = id {
        event["pathParameters"] = json!({ "id": id });
    }
    if let Some(body) = body {
        event["body"] = json!(body);
    }
    event.to_string()
}

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
    /// Create: a body without a name (400); get and delete: an id nobody
    /// has (404); list: a caller without clients (200, `[]`).
    Refused,
}

impl Ask {
    pub fn expected_status(self, subject: Subject) -> Option<u16> {
        match (self, subject) {
            (_, Subject::Echo) => None,
            (Ask::Success, subject) => subject.success_status(),
            (Ask::NoToken | Ask::ForeignToken, _) => Some(401),
            (Ask::Refused, Subject::Create) => Some(400),
            (Ask::Refused, Subject::List) => Some(200),
            (Ask::Refused, _) => Some(404),
        }
    }
}

/// The event for `ask` on `subject`, preparing the tenant as needed (a
/// fresh client of the caller for each successful delete).
pub fn event_for(upstream: &Upstream, subject: Subject, ask: Ask, token: &str, n: usize) -> String {
    let bearer = if subject == Subject::List && ask == Ask::Refused {
        format!("Bearer {}", upstream.caller_token("bench-nobody"))
    } else {
        format!("Bearer {token}")
    };
    let foreign;
    let authorization = match ask {
        Ask::NoToken => None,
        Ask::ForeignToken => {
            foreign = format!("Bearer {}", upstream.foreign_token(CALLER));
            Some(foreign.as_str())
        }
        _ => Some(bearer.as_str()),
    };
    match subject {
        Subject::Echo | Subject::List => {
            api_gateway_event("GET", "GET /api/v1/client", None, authorization, None)
        }
        Subject::Create => {
            let body = if ask == Ask::Refused {
                json!({"description": "no name"}).to_string()
            } else {
                json!({"name": format!("bench client {n}"), "description": "made by the benchmark"})
                    .to_string()
            };
            api_gateway_event(
                "POST",
                "POST /api/v1/client",
                None,
                authorization,
                Some(&body),
            )
        }
        Subject::Get | Subject::Delete => {
            let id = match ask {
                Ask::Refused => "client_doesNotExist000000000000".to_owned(),
                _ => upstream.seed_client(CALLER, &format!("bench target {n}")),
            };
            let (method, route_key) = if subject == Subject::Get {
                ("GET", "GET /api/v1/client/{id}")
            } else {
                ("DELETE", "DELETE /api/v1/client/{id}")
            };
            api_gateway_event(method, route_key, Some(&id), authorization, None)
        }
    }
}

/// The `statusCode` of an API Gateway response document.
pub fn status_of(response: &[u8]) -> Option<u16> {
    let value: Value = serde_json::from_slice(response).ok()?;
    value.get("statusCode")?.as_u64().map(|s| s as u16)
}
