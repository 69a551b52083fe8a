//! One tenant size: the Auth0 emulator's tenant and the owner index's
//! table, the caller's clients in them, and the emulator's own time for the
//! Management API calls a request made.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use auth0_emulator::RecordedRequest;
use lambda_bench::upstream::{CALLER, Upstream};
use test_support::setup;
use test_support::stats::median;

/// Replays of a request's Management API calls from the driver.
const REPLAYS: usize = 5;

/// The upstreams of one tenant size, and the caller's clients in it.
pub(crate) struct Tenant {
    pub(crate) upstream: Upstream,
    pub(crate) size: usize,
    pub(crate) token: String,
    /// The caller's clients, in the tenant and in the owner index.
    pub(crate) mine: VecDeque<String>,
    seeded: usize,
}

impl Tenant {
    /// `size` M2M clients, `owned` of them the caller's (spread evenly
    /// through the tenant, so that no design finds them first), the rest
    /// of a thousand other owners.
    pub(crate) async fn seed(size: usize, owned: usize) -> Result<Tenant, String> {
        let upstream = Upstream::start().await?;
        let token = upstream.caller_token(CALLER);
        let spacing = size / owned;
        let mut tenant = Tenant {
            upstream,
            size,
            token,
            mine: VecDeque::new(),
            seeded: 0,
        };
        for n in 0..size {
            if n % spacing == 0 && tenant.mine.len() < owned {
                tenant.seed_mine().await;
            } else {
                setup::seed_owned_client(
                    &tenant.upstream.emulator,
                    &format!("bench-other-{}", n % 1000),
                    &format!("someone else's {n}"),
                );
            }
        }
        Ok(tenant)
    }

    /// One more client of the caller's, at the end of the tenant.
    pub(crate) async fn seed_mine(&mut self) {
        let name = format!("mine {}", self.seeded);
        self.seeded += 1;
        let id = self.upstream.seed_client(&name).await;
        self.mine.push_back(id);
    }

    /// The emulator's time for `requests` made again, in order, from the
    /// driver: median of [`REPLAYS`], after an untimed one.
    pub(crate) async fn replay(&self, requests: &[RecordedRequest]) -> Result<Duration, String> {
        // The service's own HTTP client, its connection made in the
        // untimed round.
        let http = m2m_shared::http::client()?;
        let token = setup::management_token(&http, &self.upstream.emulator).await;
        let base = self.upstream.emulator.base_url();
        let mut times = Vec::new();
        for round in 0..=REPLAYS {
            let started = Instant::now();
            for request in requests {
                let mut url = format!("{base}{}", request.path);
                if !request.query.is_empty() {
                    url = format!("{url}?{}", request.query);
                }
                let builder = match request.method.as_str() {
                    "GET" => http.get(&url),
                    "DELETE" => http.delete(&url),
                    other => return Err(format!("no replay of {other} {url}")),
                };
                let answer = builder
                    .bearer_auth(&token)
                    .send()
                    .await
                    .map_err(|e| format!("replay of {url}: {e}"))?;
                answer
                    .bytes()
                    .await
                    .map_err(|e| format!("replay of {url}: {e}"))?;
            }
            if round > 0 {
                times.push(started.elapsed());
            }
        }
        Ok(median(&times))
    }
}
