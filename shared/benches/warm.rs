//! Warm per-request cost: JWT validation with the key already cached, and
//! each handler end to end (API Gateway event in, response out) against an
//! in-process Auth0 emulator that answers at once, with the owner index in
//! memory (`MemoryIndex`: DynamoDB's round trips are an upstream's, like
//! Auth0's, and not the service's own overhead).
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
//! cargo bench -p m2m_shared --bench warm
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;
use std::time::{Duration, Instant};

use auth0_emulator::Emulator;
use criterion::{Criterion, criterion_group, criterion_main};
use lambda_http::{Body, Response};
use m2m_shared::config::{DEFAULT_GRANT_AUDIENCE, DEFAULT_GRANT_SCOPES};
use m2m_shared::domain::{IndexedClient, OwnerIndex};
use m2m_shared::owner_index::MemoryIndex;
use m2m_shared::{App, Route};
use serde_json::{Value, json};
use test_support::event::Event;
use test_support::report;
use test_support::setup::{
    StaticCredentials, caller_token, config_from, emulator_config, management_token, owner,
    seed_owned_client, service_env,
};
use test_support::stats::{percentile, us};
use tokio::runtime::Runtime;

/// The routes measured: the documented four. The lifecycle routes are
/// not benched yet (docs/performance.md says so).
const BENCHED: [Route; 4] = [
    Route::CreateClient,
    Route::ListClients,
    Route::GetClient,
    Route::DeleteClient,
];

const CALLER: &str = "bench-caller";
/// Overhead target per request, upstream time excluded.
const TARGET: Duration = Duration::from_micros(300);

/// One container: the emulator on a thread of its own (a process of its
/// own, as far as the service can tell), the service on a current-thread
/// runtime, as in the functions.
struct Stack {
    service: Runtime,
    // Dropped after the emulator, which stops on drop.
    _emulator_runtime: Runtime,
    emulator: Emulator,
    app: App<StaticCredentials, MemoryIndex>,
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
            .block_on(Emulator::start(emulator_config()))
            .expect("start the emulator");
        let service = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("service runtime");
        let mut config = config_from(&service_env(&emulator, "unused", "unused"));
        // Criterion creates and deletes for one caller faster than any
        // OWNER_WRITES_PER_MINUTE allows: no limit (the count is the same
        // one conditional write whatever its value).
        config.owner_writes_per_minute = u32::MAX;
        let app = service.block_on(App::start(&config, StaticCredentials, MemoryIndex::new()));
        let token = caller_token(&emulator, CALLER);
        let http = reqwest::Client::new();
        let management_token = service.block_on(management_token(&http, &emulator));
        let stack = Stack {
            service,
            _emulator_runtime: emulator_runtime,
            emulator,
            app,
            token,
            http,
            management_token,
        };
        for n in 0..5 {
            stack.seed(n);
        }
        // Warm: the management token is fetched and the connection pooled.
        let reply = stack.handle(Route::ListClients, &stack.event(Route::ListClients, None));
        assert_eq!(reply.status(), 200);
        stack
    }

    fn event(&self, route: Route, id: Option<&str>) -> String {
        let mut event = Event::new(route).bearer(&self.token);
        if let Some(id) = id {
            event = event.id(id);
        }
        if route == Route::CreateClient {
            event = event.body(
                &json!({"name": "bench client", "description": "made by the benchmark"})
                    .to_string(),
            );
        }
        event.text()
    }

    /// What a function does with an event: parse it, run the handler.
    fn handle(&self, route: Route, event: &str) -> Response<Body> {
        self.service.block_on(async {
            let request = lambda_http::request::from_str(event).expect("event");
            m2m_shared::api::handle(&self.app, route, request).await
        })
    }

    fn management(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.emulator.base_url()))
            .bearer_auth(&self.management_token)
    }

    /// Sends a Management API request and reads the whole answer.
    async fn status_of(&self, request: reqwest::RequestBuilder) -> u16 {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let _ = response.bytes().await.unwrap();
        status
    }

    /// The Auth0 calls `route`'s handler makes, and nothing else: the
    /// same requests, restated here with a bare client. (The owner index is
    /// in memory here: its calls cost nothing to restate.)
    fn upstream(&self, route: Route, id: &str) -> u16 {
        use reqwest::Method;
        self.service.block_on(async {
            let path = format!("/api/v2/clients/{id}");
            match route {
                // The owner index answers them alone: no Auth0 call.
                Route::GetClient | Route::ListClients => 200,
                Route::UpdateClient
                | Route::RotateClientSecret
                | Route::DisableClient
                | Route::EnableClient
                | Route::ListCredentials
                | Route::CreateCredential
                | Route::DeleteCredential => 0,
                Route::DeleteClient => self.status_of(self.management(Method::DELETE, &path)).await,
                Route::CreateClient => {
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
                        "audience": DEFAULT_GRANT_AUDIENCE,
                        "scope": DEFAULT_GRANT_SCOPES,
                    });
                    self.status_of(
                        self.management(Method::POST, "/api/v2/client-grants")
                            .json(&grant),
                    )
                    .await
                }
            }
        })
    }

    /// A client of the caller, in the tenant and the owner index; its id.
    fn seed(&self, n: usize) -> String {
        let id = seed_owned_client(&self.emulator, CALLER, &format!("seeded {n}"));
        let client = IndexedClient::imported(
            id.clone(),
            owner(CALLER),
            format!("seeded {n}"),
            String::new(),
        );
        let index = self
            .app
            .service()
            .expect("a working service")
            .clients
            .index();
        self.service
            .block_on(index.import(&client, None, 0))
            .expect("seeded into the index");
        id
    }

    /// Deletes a client the service created, through the service, outside
    /// the timed part: the tenant, the index and the caller's count of
    /// clients stay as they were, so that creates go on succeeding (past
    /// `MAX_CLIENTS_PER_OWNER` they would be refused).
    fn delete_created(&self, created: &Response<Body>) {
        let event = self.event(Route::DeleteClient, Some(&created_id(created)));
        let reply = self.handle(Route::DeleteClient, &event);
        assert_eq!(
            reply.status().as_u16(),
            Route::DeleteClient.success_status()
        );
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

fn created_id(response: &Response<Body>) -> String {
    let Body::Text(text) = response.body() else {
        panic!("a created client's body is text");
    };
    let body: Value = serde_json::from_str(text).unwrap();
    body["client_id"].as_str().unwrap().to_owned()
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
    // Each request's metric lines are formatted as in Lambda, then dropped:
    // written to the terminal they would be criterion's output.
    m2m_shared::metrics::install_sink(|line| {
        std::hint::black_box(line);
    });

    let stack = Stack::new();
    let authorization = format!("Bearer {}", stack.token);
    let authenticator = &stack.app.service().unwrap().authenticator;
    c.bench_function("jwt/validate_cached_key", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let owner = stack.service.block_on(
                    authenticator.authorize(Some(&authorization), Route::ListClients.permission()),
                );
                let elapsed = started.elapsed();
                assert_eq!(owner.unwrap().as_str(), CALLER);
                total += elapsed;
                record(&samples, "jwt", elapsed);
            }
            total
        })
    });

    for route in BENCHED {
        // A fresh tenant (and container) per operation.
        let stack = Stack::new();
        let get_target = stack.seed(100);
        let handler = format!("handler/{}", route.function());
        c.bench_function(&handler, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for n in 0..iters {
                    let id = match route {
                        Route::GetClient => Some(get_target.clone()),
                        Route::DeleteClient => Some(stack.seed(1000 + n as usize)),
                        _ => None,
                    };
                    let event = stack.event(route, id.as_deref());
                    let started = Instant::now();
                    let response = stack.handle(route, &event);
                    let elapsed = started.elapsed();
                    assert_eq!(response.status().as_u16(), route.success_status());
                    if route == Route::CreateClient {
                        stack.delete_created(&response);
                    }
                    total += elapsed;
                    record(&samples, &handler, elapsed);
                }
                total
            })
        });
        let upstream = format!("upstream/{}", route.function());
        let mut counter = 0u64;
        c.bench_function(&upstream, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for n in 0..iters {
                    let id = match route {
                        Route::GetClient => get_target.clone(),
                        Route::DeleteClient => stack.seed(1000 + n as usize),
                        Route::CreateClient => {
                            counter += 1;
                            format!("client_bench{counter:020}")
                        }
                        _ => String::new(),
                    };
                    let started = Instant::now();
                    let status = stack.upstream(route, &id);
                    let elapsed = started.elapsed();
                    assert!((200..300).contains(&status), "{status}");
                    if route == Route::CreateClient {
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
    for route in BENCHED {
        let handler = get(&format!("handler/{}", route.function()));
        let upstream = get(&format!("upstream/{}", route.function()));
        let overhead = percentile(&handler, 0.5).saturating_sub(percentile(&upstream, 0.5));
        let met = overhead <= TARGET;
        all_met &= met;
        let _ = writeln!(
            out,
            "| `{}` handler, event to response | {} | {} | {} / {} | {} | {} |",
            route.function(),
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
    report::write("warm.md", &out);
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
