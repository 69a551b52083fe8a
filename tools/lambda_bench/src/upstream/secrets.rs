//! Secrets Manager, as far as `GetSecretValue` goes: a stub that answers
//! with the management credentials and counts the reads.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use test_support::setup;
use tokio::task::JoinHandle;

use super::{SECRET_ID, Upstream};

/// Secrets Manager, as far as `GetSecretValue` goes.
pub(super) struct SecretsStub {
    address: SocketAddr,
    calls: Arc<AtomicUsize>,
    server: JoinHandle<()>,
}

impl Drop for SecretsStub {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl SecretsStub {
    /// The stub, listening on a port of 127.0.0.1 of its own.
    pub(super) async fn start() -> std::io::Result<SecretsStub> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let address = listener.local_addr()?;
        let calls = Arc::new(AtomicUsize::new(0));
        let router = Router::new()
            .fallback(get_secret_value)
            .with_state(calls.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(SecretsStub {
            address,
            calls,
            server,
        })
    }

    /// Where the functions reach it directly.
    pub(super) fn url(&self) -> String {
        format!("http://{}", self.address)
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
    let secret = setup::management_secret_json();
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

impl Upstream {
    /// `GetSecretValue` calls answered so far.
    pub fn secret_reads(&self) -> usize {
        self.secrets.calls.load(Ordering::Relaxed)
    }
}
