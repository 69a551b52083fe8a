//! Warm per-request cost: JWT validation with the key already cached, and
//! each handler end to end (API Gateway event in, response out) against an
//! in-process Auth0 emulator that answers at once.
//!
//! A handler's time includes its Auth0 round trips on 127.0.0.1. To report
//! the service's own overhead, each handler has an `upstream` twin that
//! makes exactly the same Auth0 calls with a bare pooled `reqwest` client
//! and nothing else; overhead = handler median − upstream median.
//!
//! Every iteration is also timed on its own, so that besides criterion's
//! estimates the median and p99 of single requests can be reported; they
//! are written as markdown to `$BENCH_OUT_DIR/warm.md` (default
//! `target/lambda-bench/warm.md`).
//!
//! ```text
//! cargo bench -p shared --bench warm
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use auth0_emulator::{Emulator, EmulatorConfig};
use criterion::{Criterion, criterion_group, criterion_main};
use lambda_http::{Body, Response};
use m2m_shared::App;
use m2m_shared::auth0::{CredentialsSource, ManagementCredentials};
use m2m_shared::config::Config;
use m2m_shared::secret::SecretString;
use serde_json::{Value, json};
use tokio::runtime::Runtime;

const CALLER_AUDIENCE: &str = "https://m2m-client-service/";
const CALLER: &str = "bench-caller";
const MANAGEMENT_CLIENT_ID: &str = "bench-mgmt-client";
const MANAGEMENT_CLIENT_SECRET: &str = "bench-mgmt-secret";
const READ_FIELDS: &str = "client_id,name,description,app_type,client_metadata";
/// Overhead target per request, upstream time excluded.
const TARGET: Duration = Duration::from_micros(300);

/// The management credentials, without Secrets Manager.
struct StaticCredentials;

impl CredentialsSource for StaticCredentials {
    async fn read(&self) -> Result<ManagementCredentials, String> {
        Ok(ManagementCredentials {
            client_id: MANAGEMENT_CLIENT_ID.into(),
            client_secret: SecretString::new(MANAGEMENT_CLIENT_SECRET),
        })
    }
}

/// One container: the emulator on a thread of its own (a process of its
/// own, as far as the service can tell), the service on a current-thread
/// runtime, as in the functions.
struct Stack {
    service: Runtime,
    // Dropped after the emulator, which stops on drop.
    _emulator_runtime: Runtime,
    emulator: Emulator,
    app: App<StaticCredentials>,
    token: String,
    /// A pooled client and a management token for the `upstream` twins.
    http: reqwest::Client,
    management_token: String,
}

impl Stack {
    fn new() -> Stack {
        let emulator_runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("emulator runtime");
        let emulator = emulator_runtime
            .block_on(Emulator::start(EmulatorConfig {
                management_client_id: MANAGEMENT_CLIENT_ID.into(),
                management_client_secret: MANAGEMENT_CLIENT_SECRET.into(),
                caller_audience: CALLER_AUDIENCE.into(),
                ..EmulatorConfig::default()
            }))
            .expect("start the emulator");
        let service = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("service runtime");
        let vars = [
            ("AUTH0_DOMAIN", emulator.base_url()),
            ("AUTH0_SECRET_ID", "unused".to_owned()),
            ("JWT_ISSUER", emulator.issuer()),
            ("JWT_AUDIENCE", CALLER_AUDIENCE.to_owned()),
        ];
        let config = Config::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        })
        .expect("config");
        let app = service.block_on(App::start(&config, StaticCredentials));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let token = emulator.sign_caller_token(&json!({
            "iss": emulator.issuer(), "aud": CALLER_AUDIENCE, "sub": "bench@clients",
            "iat": now, "exp": now + 3600, "client_id": CALLER,
        }));
        for n in 0..5 {
            seed(&emulator, n);
        }
        let http = reqwest::Client::new();
        let management_token = service.block_on(async {
            let answer: Value = http
                .post(format!("{}/oauth/token", emulator.base_url()))
                .json(&json!({
                    "grant_type": "client_credentials",
                    "client_id": MANAGEMENT_CLIENT_ID,
                    "client_secret": MANAGEMENT_CLIENT_SECRET,
                    "audience": format!("{}/api/v2/", emulator.base_url()),
                }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            answer["access_token"].as_str().unwrap().to_owned()
        });
        let stack = Stack {
            service,
            _emulator_runtime: emulator_runtime,
            emulator,
            app,
            token,
            http,
            management_token,
        };
        // Warm: the management token is fetched and the connection pooled.
        let reply = stack.handle(Op::List, &stack.event(Op::List, None));
        assert_eq!(reply.status(), 200);
        stack
    }

    fn event(&self, op: Op, id: Option<&str>) -> String {
        let (method, route_key, body) = match op {
            Op::Create => (
                "POST",
                "POST /api/v1/client",
                Some(
                    json!({"name": "bench client", "description": "made by the benchmark"})
                        .to_string(),
                ),
            ),
            Op::List => ("GET", "GET /api/v1/client", None),
            Op::Get => ("GET", "GET /api/v1/client/{id}", None),
            Op::Delete => ("DELETE", "DELETE /api/v1/client/{id}", None),
        };
        let path = match id {
            Some(id) => format!("/api/v1/client/{id}"),
            None => "/api/v1/client".to_owned(),
        };
        let mut event = json!({
            "version": "2.0", "routeKey": route_key, "rawPath": path, "rawQueryString": "",
            "headers": {
                "authorization": format!("Bearer {}", self.token),
                "content-type": "application/json",
                "host": "api-id.execute-api.us-east-1.amazonaws.com",
                "user-agent": "bench",
            },
            "requestContext": {
                "accountId": "123456789012", "apiId": "api-id",
                "domainName": "api-id.execute-api.us-east-1.amazonaws.com", "domainPrefix": "api-id",
                "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                         "sourceIp": "192.0.2.1", "userAgent": "bench"},
                "requestId": "bench-request", "routeKey": route_key, "stage": "$default",
                "time": "22/Nov/2026:17:00:00 +0000", "timeEpoch": 1_795_366_800_000u64
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

    /// What a function does with an event: parse it, run the handler.
    fn handle(&self, op: Op, event: &str) -> Response<Body> {
        self.service.block_on(async {
            let request = lambda_http::request::from_str(event).expect("event");
            match op {
                Op::Create => m2m_shared::api::create_client(&self.app, request).await,
                Op::List => m2m_shared::api::list_clients(&self.app, request).await,
                Op::Get => m2m_shared::api::get_client(&self.app, request).await,
                Op::Delete => m2m_shared::api::delete_client(&self.app, request).await,
            }
            .expect("handlers always answer")
        })
    }

    fn management(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.emulator.base_url()))
            .bearer_auth(&self.management_token)
    }

    /// The Auth0 calls `op` makes, and nothing else.
    fn upstream(&self, op: Op, id: &str) -> u16 {
        use reqwest::Method;
        self.service.block_on(async {
            let read = [("fields", READ_FIELDS), ("include_fields", "true")];
            let finish = |response: reqwest::Response| async move {
                let status = response.status().as_u16();
                let _ = response.bytes().await.unwrap();
                status
            };
            match op {
                Op::Get => {
                    let path = format!("/api/v2/clients/{id}");
                    finish(
                        self.management(Method::GET, &path)
                            .query(&read)
                            .send()
                            .await
                            .unwrap(),
                    )
                    .await
                }
                Op::List => {
                    let query = [
                        ("fields", READ_FIELDS),
                        ("include_fields", "true"),
                        ("app_type", "non_interactive"),
                        ("per_page", "100"),
                        ("page", "0"),
                        ("include_totals", "true"),
                    ];
                    finish(
                        self.management(Method::GET, "/api/v2/clients")
                            .query(&query)
                            .send()
                            .await
                            .unwrap(),
                    )
                    .await
                }
                Op::Delete => {
                    let path = format!("/api/v2/clients/{id}");
                    finish(
                        self.management(Method::GET, &path)
                            .query(&read)
                            .send()
                            .await
                            .unwrap(),
                    )
                    .await;
                    finish(self.management(Method::DELETE, &path).send().await.unwrap()).await
                }
                Op::Create => {
                    let body = json!({
                        "client_id": id,
                        "name": "bench client",
                        "description": "made by the benchmark",
                        "app_type": "non_interactive",
                        "grant_types": ["client_credentials"],
                        "token_endpoint_auth_method": "client_secret_post",
                        "client_metadata": {"owner_client_id": CALLER},
                    });
                    let created: Value = self
                        .management(Method::POST, "/api/v2/clients")
                        .json(&body)
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    let grant = json!({
                        "client_id": created["client_id"],
                        "audience": "https://butlrauth/",
                        "scope": ["read:spaces", "write:spaces", "delete:spaces", "read:rooms",
                                  "write:rooms", "delete:rooms", "read:sensors", "write:sensors",
                                  "delete:sensors", "read:hives", "write:hives", "delete:hives"],
                    });
                    finish(
                        self.management(Method::POST, "/api/v2/client-grants")
                            .json(&grant)
                            .send()
                            .await
                            .unwrap(),
                    )
                    .await
                }
            }
        })
    }

    /// Deletes a client outside the timed part, so creates do not make the
    /// tenant (and the emulator's answers) grow.
    fn discard(&self, id: &str) {
        self.service.block_on(async {
            let response = self
                .management(reqwest::Method::DELETE, &format!("/api/v2/clients/{id}"))
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success());
        });
    }
}

fn seed(emulator: &Emulator, n: usize) -> String {
    emulator.seed_client(json!({
        "name": format!("seeded {n}"),
        "description": "seeded by the benchmark",
        "app_type": "non_interactive",
        "grant_types": ["client_credentials"],
        "client_metadata": {"owner_client_id": CALLER},
    }))
}

fn created_id(response: &Response<Body>) -> String {
    let Body::Text(text) = response.body() else {
        panic!("a created client's body is text");
    };
    let body: Value = serde_json::from_str(text).unwrap();
    body["client_id"].as_str().unwrap().to_owned()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Create,
    List,
    Get,
    Delete,
}

impl Op {
    const ALL: [Op; 4] = [Op::Create, Op::List, Op::Get, Op::Delete];

    fn name(self) -> &'static str {
        match self {
            Op::Create => "create_client",
            Op::List => "list_clients",
            Op::Get => "get_client",
            Op::Delete => "delete_client",
        }
    }

    fn status(self) -> u16 {
        match self {
            Op::Create => 201,
            Op::List | Op::Get => 200,
            Op::Delete => 204,
        }
    }
}

/// Every timed iteration, per benchmark.
type Samples = Rc<RefCell<BTreeMap<String, Vec<Duration>>>>;

fn record(samples: &Samples, name: &str, duration: Duration) {
    samples
        .borrow_mut()
        .entry(name.to_owned())
        .or_default()
        .push(duration);
}

fn benches(c: &mut Criterion) {
    let samples: Samples = Rc::default();

    let stack = Stack::new();
    let authorization = format!("Bearer {}", stack.token);
    let authenticator = &stack.app.service().unwrap().authenticator;
    c.bench_function("jwt/validate_cached_key", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let owner = stack
                    .service
                    .block_on(authenticator.authenticate(Some(&authorization)));
                let elapsed = started.elapsed();
                assert_eq!(owner.unwrap().as_str(), CALLER);
                total += elapsed;
                record(&samples, "jwt", elapsed);
            }
            total
        })
    });

    for op in Op::ALL {
        // A fresh tenant (and container) per operation.
        let stack = Stack::new();
        let get_target = seed(&stack.emulator, 100);
        let handler = format!("handler/{}", op.name());
        c.bench_function(&handler, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for n in 0..iters {
                    let id = match op {
                        Op::Get => Some(get_target.clone()),
                        Op::Delete => Some(seed(&stack.emulator, 1000 + n as usize)),
                        _ => None,
                    };
                    let event = stack.event(op, id.as_deref());
                    let started = Instant::now();
                    let response = stack.handle(op, &event);
                    let elapsed = started.elapsed();
                    assert_eq!(response.status().as_u16(), op.status());
                    if op == Op::Create {
                        stack.discard(&created_id(&response));
                    }
                    total += elapsed;
                    record(&samples, &handler, elapsed);
                }
                total
            })
        });
        let upstream = format!("upstream/{}", op.name());
        let mut counter = 0u64;
        c.bench_function(&upstream, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for n in 0..iters {
                    let id = match op {
                        Op::Get => get_target.clone(),
                        Op::Delete => seed(&stack.emulator, 1000 + n as usize),
                        Op::Create => {
                            counter += 1;
                            format!("client_bench{counter:020}")
                        }
                        Op::List => String::new(),
                    };
                    let started = Instant::now();
                    let status = stack.upstream(op, &id);
                    let elapsed = started.elapsed();
                    assert!((200..300).contains(&status), "{status}");
                    if op == Op::Create {
                        stack.discard(&id);
                    }
                    total += elapsed;
                    record(&samples, &upstream, elapsed);
                }
                total
            })
        });
        assert!(stack.emulator.schema_violations().is_empty());
    }

    write_report(&samples.borrow());
}

fn percentile(samples: &[Duration], q: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn us(duration: Duration) -> String {
    format!("{:.0}", duration.as_secs_f64() * 1e6)
}

fn write_report(samples: &BTreeMap<String, Vec<Duration>>) {
    let get = |name: &str| samples.get(name).cloned().unwrap_or_default();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| per request | median (µs) | p99 (µs) | upstream alone: median / p99 (µs) | overhead = median − upstream median (µs) | ≤ 300 µs |"
    );
    let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | :---: |");
    let jwt = get("jwt");
    let jwt_median = percentile(&jwt, 0.5);
    let mut all_met = jwt_median <= TARGET;
    let _ = writeln!(
        out,
        "| JWT validation, cached key | {} | {} | — | {} | {} |",
        us(jwt_median),
        us(percentile(&jwt, 0.99)),
        us(jwt_median),
        if jwt_median <= TARGET {
            "yes"
        } else {
            "**no**"
        }
    );
    for op in Op::ALL {
        let handler = get(&format!("handler/{}", op.name()));
        let upstream = get(&format!("upstream/{}", op.name()));
        let overhead = percentile(&handler, 0.5).saturating_sub(percentile(&upstream, 0.5));
        let met = overhead <= TARGET;
        all_met &= met;
        let _ = writeln!(
            out,
            "| `{}` handler, event to response | {} | {} | {} / {} | {} | {} |",
            op.name(),
            us(percentile(&handler, 0.5)),
            us(percentile(&handler, 0.99)),
            us(percentile(&upstream, 0.5)),
            us(percentile(&upstream, 0.99)),
            us(overhead),
            if met { "yes" } else { "**no**" }
        );
    }
    let counts: Vec<String> = samples
        .iter()
        .map(|(name, s)| format!("{name} {}", s.len()))
        .collect();
    let _ = writeln!(
        out,
        "\nEvery timed iteration of criterion's runs (warm-up included), one request each: {}. \
         Handlers take an API Gateway v2 event (parsing included) and call Auth0 on 127.0.0.1; \
         the upstream twin makes the same Auth0 calls with a bare pooled client. \
         Target (median overhead ≤ 0.3 ms): **{}**.",
        counts.join(", "),
        if all_met { "met" } else { "not met" }
    );
    let dir = std::env::var("BENCH_OUT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/lambda-bench")
        });
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("warm.md"), &out).unwrap();
    print!("{out}");
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = warm;
    config = config();
    targets = benches
}
criterion_main!(warm);
