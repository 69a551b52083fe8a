//! The container's one HTTP client, used for Auth0, the JWKS and Secrets
//! Manager alike: one connection pool, one TLS configuration, built once.
//!
//! Start-up cost is why this module exists (see docs/performance.md). The
//! defaults each loaded the operating system's root certificates, reading
//! and parsing every file of the certificate store, once for `reqwest`
//! and once more for the AWS SDK's own HTTP stack: most of a container's
//! init. Here the roots are Mozilla's, compiled in as ready-made trust
//! anchors (`webpki-roots`), and the AWS SDK sends its requests through
//! the same `reqwest` client ([`AwsHttpClient`]) instead of a second
//! HTTP/TLS stack of its own.

use std::sync::Arc;
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

/// Connections that take longer than this to open are given up (and,
/// where safe, retried).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The client: rustls with the aws-lc-rs provider, Mozilla's roots, and no
/// redirects followed.
pub fn client() -> Result<reqwest::Client, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|problem| format!("cannot configure TLS: {problem}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .connect_timeout(CONNECT_TIMEOUT)
        // No upstream of ours has a reason to redirect us, and following one
        // is how secrets leave: a 307/308 from `/oauth/token` resends the
        // body, the management client secret, to wherever `Location` says,
        // and a redirected JWKS may come from anyone over plain http. A 3xx
        // is a failed answer (docs/behaviour.md, "Outbound connections").
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("m2m-client-service/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|problem| format!("cannot build the HTTP client: {problem}"))
}

/// The AWS SDK's HTTP client, sending through a `reqwest` client.
#[derive(Clone, Debug)]
pub struct AwsHttpClient {
    http: reqwest::Client,
}

impl AwsHttpClient {
    pub fn new(http: reqwest::Client) -> Self {
        AwsHttpClient { http }
    }
}

impl HttpClient for AwsHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(AwsConnector {
            http: self.http.clone(),
            read_timeout: settings.read_timeout(),
        })
    }
}

#[derive(Debug)]
struct AwsConnector {
    http: reqwest::Client,
    read_timeout: Option<Duration>,
}

impl HttpConnector for AwsConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let http = self.http.clone();
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|error| ConnectorError::user(error.into()))?;
            let (parts, body) = request.into_parts();
            // Secrets Manager requests are small JSON documents, never streams.
            let body = body
                .bytes()
                .ok_or_else(|| {
                    ConnectorError::user("streaming request bodies are not supported".into())
                })?
                .to_vec();
            let mut outgoing = http
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body);
            if let Some(timeout) = read_timeout {
                outgoing = outgoing.timeout(timeout);
            }
            let response = outgoing.send().await.map_err(connector_error)?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await.map_err(connector_error)?;
            let mut answer = lambda_http::http::Response::new(SdkBody::from(body));
            *answer.status_mut() = status;
            *answer.headers_mut() = headers;
            HttpResponse::try_from(answer)
                .map_err(|error| ConnectorError::other(error.into(), None))
        })
    }
}

/// Timeouts and failed connections as the SDK classifies them (its
/// retries and `SdkError::DispatchFailure`/`TimeoutError` depend on it).
fn connector_error(error: reqwest::Error) -> ConnectorError {
    if error.is_timeout() {
        ConnectorError::timeout(error.into())
    } else if error.is_connect() || error.is_request() || error.is_body() {
        ConnectorError::io(error.into())
    } else {
        ConnectorError::other(error.into(), None)
    }
}
