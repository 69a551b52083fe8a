//! What a function talks to, answered at once on 127.0.0.1: the Auth0
//! emulator (JWKS, `/oauth/token`, `/api/v2`) and a Secrets Manager stub
//! that answers `GetSecretValue` with the management credentials; and the
//! owner index's table in moto. With a round-trip time
//! ([`Upstream::with_rtt`]), the function reaches each of them through a
//! relay that delays every request by it and logs it ([`crate::relay`]).
//!
//! By upstream: `secrets.rs` (the Secrets Manager stub), `auth0.rs` (the
//! emulator: tokens, Management API calls), `table.rs` (the owner index in
//! moto); what a function is given: `environment.rs`; what the benchmarks
//! start and ask: `subject.rs`, `request.rs`.

mod auth0;
mod environment;
mod keys;
mod request;
mod secrets;
mod subject;
mod table;

use std::net::SocketAddr;
use std::ops::Range;
use std::time::Duration;

use crate::relay::{Call, CallLog, Relay, Service};
use auth0_emulator::{Emulator, Route as Auth0Route};
use m2m_shared::owner_index::DynamoIndex;
use test_support::setup;

pub use environment::Credentials;
pub use request::{Ask, client_id_of, event_for, request_for, status_of};
use secrets::SecretsStub;
pub use subject::{Subject, build_command};

/// The `client_id` of the benchmark's caller: the owner of what it creates.
pub const CALLER: &str = "bench-caller";
pub const SECRET_ID: &str = "m2m/auth0-management";
/// The owner index's table (see `Upstream::environment`).
pub const TABLE: &str = "m2m-clients";
/// The function's setting of where its Management API token is cached,
/// passed through to the functions if the driver's environment has it.
pub const TOKEN_CACHE_VARIABLE: &str = "MANAGEMENT_TOKEN_CACHE";

/// The token cache the functions run with, for a report: the variable's
/// value, or the function's default.
pub fn token_cache_setting() -> String {
    match std::env::var(TOKEN_CACHE_VARIABLE) {
        Ok(value) => format!("`{TOKEN_CACHE_VARIABLE}={value}`"),
        Err(_) => format!("`{TOKEN_CACHE_VARIABLE}` unset (the function's default)"),
    }
}

/// How a report says the functions reached their upstreams, as
/// [`Upstream::start_with`] was given the round-trip time.
pub fn reached(rtt: Option<Duration>) -> String {
    match rtt {
        Some(rtt) => format!(
            "reached through relays that hold each request {} ms",
            rtt.as_millis()
        ),
        None => "reached directly".to_owned(),
    }
}

/// The stubs, for as long as the benchmark runs, and the owner index: a
/// table of moto's (DynamoDB's own protocol, which no stub here speaks).
pub struct Upstream {
    pub emulator: Emulator,
    secrets: SecretsStub,
    /// The owner index's table, in moto.
    pub table: String,
    index: DynamoIndex,
    /// A port on 127.0.0.1 where nothing listens.
    closed_port: u16,
    /// With a round-trip time: the relays in front of Secrets Manager, the
    /// emulator and the table, and their log.
    relays: Option<Relays>,
}

struct Relays {
    rtt: Duration,
    secrets: Relay,
    /// In front of the emulator, whose `base_url` is this relay's.
    _auth0: Relay,
    table: Relay,
    log: CallLog,
}

impl Upstream {
    /// The stubs, which the functions reach directly.
    pub async fn start() -> Result<Upstream, String> {
        Upstream::try_start(None)
            .await
            .map_err(|e| format!("cannot start the stubs: {e}"))
    }

    /// The stubs, which the functions reach through relays that hold every
    /// request for `rtt` (zero: relayed and logged, not held).
    pub async fn with_rtt(rtt: Duration) -> Result<Upstream, String> {
        Upstream::try_start(Some(rtt))
            .await
            .map_err(|e| format!("cannot start the stubs and relays: {e}"))
    }

    /// [`Upstream::start`] for `None`, [`Upstream::with_rtt`] otherwise.
    pub async fn start_with(rtt: Option<Duration>) -> Result<Upstream, String> {
        match rtt {
            Some(rtt) => Upstream::with_rtt(rtt).await,
            None => Upstream::start().await,
        }
    }

    async fn try_start(rtt: Option<Duration>) -> std::io::Result<Upstream> {
        let auth0_listener = match rtt {
            Some(_) => Some(Relay::bind().await?),
            None => None,
        };
        let mut config = setup::emulator_config();
        if let Some(listener) = &auth0_listener {
            config.public_url = Some(format!("http://{}", listener.local_addr()?));
        }
        let emulator = Emulator::start(config).await?;
        let secrets = SecretsStub::start().await?;
        let closed_port = {
            let probe = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
            probe.local_addr()?.port()
        };
        let (table, index) = table::create().await;
        let relays = match (rtt, auth0_listener) {
            (Some(rtt), Some(auth0_listener)) => {
                let log = CallLog::default();
                Some(Relays {
                    rtt,
                    secrets: Relay::start(
                        Relay::bind().await?,
                        Service::SecretsManager,
                        &secrets.url(),
                        rtt,
                        &log,
                    )?,
                    _auth0: Relay::start(
                        auth0_listener,
                        Service::Auth0,
                        emulator.listen_url(),
                        rtt,
                        &log,
                    )?,
                    table: Relay::start(
                        Relay::bind().await?,
                        Service::Table,
                        test_support::moto::url(),
                        rtt,
                        &log,
                    )?,
                    log,
                })
            }
            _ => None,
        };
        Ok(Upstream {
            emulator,
            secrets,
            index,
            table,
            closed_port,
            relays,
        })
    }

    /// The injected round-trip time, if the functions go through relays.
    pub fn rtt(&self) -> Option<Duration> {
        self.relays.as_ref().map(|relays| relays.rtt)
    }

    /// A mark in the relays' log (0 without relays).
    pub fn calls_mark(&self) -> usize {
        self.relays.as_ref().map_or(0, |relays| relays.log.len())
    }

    /// The calls the relays passed on between two marks, by the time
    /// received (none without relays).
    pub fn calls_between(&self, marks: Range<usize>) -> Vec<Call> {
        self.relays
            .as_ref()
            .map(|relays| relays.log.between(marks))
            .unwrap_or_default()
    }

    /// What the functions have asked of the upstreams so far.
    pub fn counts(&self) -> Counts {
        Counts {
            secret_reads: self.secret_reads(),
            jwks_fetches: self.emulator.jwks_fetches(),
            token_requests: self.emulator.count(Auth0Route::Token),
            management_calls: self.management_calls().len(),
        }
    }
}

/// Requests the upstreams have answered, by kind (ordered as the reports
/// list them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Counts {
    /// Secrets Manager `GetSecretValue` calls.
    pub secret_reads: usize,
    /// JWKS fetches.
    pub jwks_fetches: usize,
    /// Auth0 `/oauth/token` requests.
    pub token_requests: usize,
    /// Management API calls: every other request the emulator had.
    pub management_calls: usize,
}

impl Counts {
    /// What was asked between `before` and these counts.
    pub fn since(self, before: Counts) -> Counts {
        Counts {
            secret_reads: self.secret_reads - before.secret_reads,
            jwks_fetches: self.jwks_fetches - before.jwks_fetches,
            token_requests: self.token_requests - before.token_requests,
            management_calls: self.management_calls - before.management_calls,
        }
    }
}
