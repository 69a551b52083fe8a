//! The reconciler (`reconcile_clients`, on a schedule): repairs what
//! stopped half-way, and sweeps Auth0 against the owner index; invoked with
//! `{"audit": true}`, it compares the two and changes nothing
//! (docs/owner-index.md, "The reconciler"). Idempotent: a second run right
//! after the first changes nothing.
//!
//! `reconciler.rs` holds the reconciler and its summary; `repairs.rs` what
//! stopped half-way, `sweep.rs` the sweep and its lease, `audit.rs` the
//! audit, `log_events.rs` what Auth0's log stream tells (`auth0_log_events`,
//! the same reconciler on another event). This file is a run, what an invocation asks, and the reconciler a
//! container builds from the environment.

mod audit;
mod log_events;
mod reconciler;
mod repairs;
mod sweep;
#[cfg(test)]
mod test_fixtures;

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;
use tracing::{error, info};

pub use audit::{Audit, Differences, Differing, Named, QuotaMismatch};
pub use log_events::{Followed, LogEvent};
pub use reconciler::{Reconciler, STALE_AFTER, Summary};
pub use sweep::SWEEP_LEASE;

use crate::domain::{ClientDirectory, GrantPolicy, OwnerIndex, now_micros};
use crate::error::ServiceError;

/// Time kept back, before the invocation's deadline, to save where the
/// sweep stands and answer.
const FINISH_MARGIN: Duration = Duration::from_secs(5);

/// What an invocation asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invocation {
    /// A run: repairs, and the sweep when it is due. `{"backfill": true}`
    /// also imports clients that only Auth0 has; anything else
    /// (EventBridge's scheduled event) does not.
    Run { backfill: bool },
    /// `{"audit": true}`: the differences between Auth0 and the table,
    /// and nothing changed (whatever else the event says).
    Audit,
}

impl Invocation {
    pub fn of(event: &Value) -> Self {
        let asks = |what: &str| event.get(what).and_then(Value::as_bool) == Some(true);
        if asks("audit") {
            Invocation::Audit
        } else {
            Invocation::Run {
                backfill: asks("backfill"),
            }
        }
    }
}

impl<D: ClientDirectory, I: OwnerIndex> Reconciler<D, I> {
    /// One run, by `deadline`.
    pub async fn run(&self, backfill: bool, deadline: Instant) -> Result<Summary, ServiceError> {
        let mut summary = Summary::default();
        // List cursors need the deployment's key, which the first writer
        // makes: after a backfill, that may be this run.
        self.index.cursor_key(true).await?;
        let work_by = deadline
            .checked_sub(FINISH_MARGIN)
            .unwrap_or(deadline)
            .max(Instant::now());
        self.repair(&mut summary, work_by).await?;
        self.sweep(&mut summary, backfill, work_by).await?;
        info!(?summary, "reconciled");
        Ok(summary)
    }

    /// The answer to one invocation (`event`), by `deadline`: a run's
    /// summary, with its metrics, or the audit.
    pub async fn answer(&self, event: &Value, deadline: Instant) -> Result<Value, ServiceError> {
        let answer = match Invocation::of(event) {
            Invocation::Audit => {
                let work_by = deadline.checked_sub(FINISH_MARGIN).unwrap_or(deadline);
                let audit = self.audit(work_by).await.inspect_err(|problem| {
                    error!(error = %problem, "audit failed");
                })?;
                info!(
                    complete = audit.complete,
                    only_in_auth0 = audit.audit.only_in_auth0.len(),
                    only_in_table = audit.audit.only_in_table.len(),
                    differing = audit.audit.differing.len(),
                    quota_mismatches = audit.audit.quota_mismatches.len(),
                    "audited"
                );
                serde_json::to_value(audit)
            }
            Invocation::Run { backfill } => match self.run(backfill, deadline).await {
                Ok(summary) => {
                    let age = summary
                        .sweep_age_from
                        .map(|from| Duration::from_micros(now_micros().saturating_sub(from)));
                    crate::metrics::reconciler_run(
                        summary.repairs(),
                        summary.failed,
                        summary.imported,
                    );
                    crate::metrics::reconciler_sweep(age, summary.sweep == "failed");
                    serde_json::to_value(summary)
                }
                Err(problem) => {
                    // Whatever stopped the run stopped its sweep.
                    crate::metrics::reconciler_run(0, 1, 0);
                    crate::metrics::reconciler_sweep(None, true);
                    error!(error = %problem, "reconcile run failed");
                    return Err(problem);
                }
            },
        };
        answer.map_err(|problem| ServiceError::Internal(problem.to_string()))
    }
}

/// The instant of Lambda's deadline (ms since the epoch), or a minute from
/// now for an invocation without one.
pub fn deadline(deadline_ms: u64) -> Instant {
    let now_ms = now_micros() / 1000;
    let left = deadline_ms.saturating_sub(now_ms);
    let left = if left == 0 { 60_000 } else { left };
    Instant::now() + Duration::from_millis(left)
}

/// The reconciler a container builds once, from the environment (the
/// functions' configuration; the callers' settings are read but unused).
pub async fn from_env() -> Result<
    Reconciler<
        crate::auth0::ManagementApi<crate::secrets_manager::SecretsManagerSource>,
        crate::owner_index::DynamoIndex,
    >,
    String,
> {
    let config = crate::config::Config::from_env().map_err(|problem| problem.to_string())?;
    let http = crate::http::client()?;
    let sdk_config = crate::aws::sdk_config(http.clone());
    let credentials = crate::secrets_manager::SecretsManagerSource::from_config(
        config.auth0_secret_id.clone(),
        &sdk_config,
    );
    let index =
        crate::owner_index::DynamoIndex::from_config(config.clients_table.clone(), &sdk_config);
    // The deployment's shared token, as the functions use it.
    let shared_tokens = match config.management_token_cache {
        crate::config::TokenCache::Shared => index.token_store(),
        crate::config::TokenCache::Container => None,
    };
    let directory = crate::auth0::ManagementApi::new(
        http,
        config.auth0_base_url.clone(),
        config.management_audience(),
        credentials,
        config.custom_client_ids,
        shared_tokens,
    );
    let grant = GrantPolicy {
        audience: config.grant_audience.clone(),
        scopes: config.grant_scopes.clone(),
    };
    Ok(Reconciler::new(directory, index, grant).sweeping_every(config.sweep_interval))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_an_explicit_backfill_imports_and_an_audit_changes_nothing() {
        assert_eq!(
            Invocation::of(&json!({"backfill": true})),
            Invocation::Run { backfill: true }
        );
        for event in [
            json!({"backfill": "true"}),
            json!({"audit": "true"}),
            json!({"source": "aws.events", "detail-type": "Scheduled Event"}),
            json!(null),
        ] {
            assert_eq!(
                Invocation::of(&event),
                Invocation::Run { backfill: false },
                "{event}"
            );
        }
        for event in [
            json!({"audit": true}),
            json!({"audit": true, "backfill": true}),
        ] {
            assert_eq!(Invocation::of(&event), Invocation::Audit, "{event}");
        }
    }
}
