//! What the service sends out: an upstream that answers with a redirect
//! gets nothing more from us. Following a 307/308 would resend the token
//! request, with the management client secret in its body, to whatever
//! host `Location` names, and fetch the callers' keys from anywhere.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::IntoResponse;
use m2m_shared::auth0::CredentialsSource;
use m2m_shared::secrets_manager::SecretsManagerSource;
use serde_json::{Value, json};

use crate::support::{MANAGEMENT_CLIENT_SECRET, TestEnv, moto};

/// The redirects that keep the method and the body.
const REDIRECTS: [StatusCode; 2] = [
    StatusCode::TEMPORARY_REDIRECT,
    StatusCode::PERMANENT_REDIRECT,
];

/// Serves `router` on a free port of 127.0.0.1 (for as long as the test's
/// runtime lives); its base URL.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

/// A server that answers every request with `status` and a `Location` of
/// the same path on a [`Recorder`] that answers `answer`: its base URL, and
/// the recorder.
async fn redirecting(status: StatusCode, answer: Value) -> (String, Recorder) {
    let recorder = Recorder::start(answer).await;
    let target = recorder.url.clone();
    let url = serve(Router::new().fallback(move |uri: Uri| async move {
        (status, [(header::LOCATION, format!("{target}{uri}"))])
    }))
    .await;
    (url, recorder)
}

/// Where the redirects point: a server that writes down every request it
/// gets and answers 200 with `answer`, as the real upstream would have.
struct Recorder {
    url: String,
    received: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    async fn start(answer: Value) -> Recorder {
        let received = Arc::new(Mutex::new(Vec::new()));
        let router = Router::new()
            .fallback(
                |State((received, answer)): State<(Arc<Mutex<Vec<String>>>, Value)>,
                 method: Method,
                 uri: Uri,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    received.lock().unwrap().push(format!(
                        "{method} {uri} {headers:?} {}",
                        String::from_utf8_lossy(&body)
                    ));
                    axum::Json(answer).into_response()
                },
            )
            .with_state((received.clone(), answer));
        Recorder {
            url: serve(router).await,
            received,
        }
    }

    #[track_caller]
    fn assert_nothing_received(&self, case: &str) {
        let received = self.received.lock().unwrap();
        assert!(
            received.is_empty(),
            "{case}: the redirect was followed ({} requests; the management secret among them: {})",
            received.len(),
            received
                .iter()
                .any(|r| r.contains(MANAGEMENT_CLIENT_SECRET))
        );
    }
}

#[tokio::test]
async fn a_redirecting_token_endpoint_gets_no_secret_sent_elsewhere() {
    for status in REDIRECTS {
        let case = format!("/oauth/token answers {status}");
        // Every path of this "tenant" redirects, `/oauth/token` first of all.
        let (tenant, recorder) = redirecting(
            status,
            json!({"access_token": "a-token-from-elsewhere", "expires_in": 86400}),
        )
        .await;
        let env = TestEnv::with_env(vec![("AUTH0_DOMAIN", tenant)]).await;
        let token = env.token("owner-a");

        // No Management API token: the operations fail as when Auth0 fails.
        let reply = env.create(&token, json!({"name": "Redirected"})).await;
        assert_eq!(reply.status, 502, "{case}: {}", reply.text);
        assert_eq!(reply.json["code"], "CLIENT_CREATE_FAILED", "{case}");
        // The owner index alone answers lists: they keep working.
        env.list(&token).await.assert(200, json!([]));
        recorder.assert_nothing_received(&case);
    }
}

#[tokio::test]
async fn a_redirecting_jwks_endpoint_is_a_failed_fetch() {
    let env = TestEnv::new().await;
    let jwks: Value = reqwest::get(env.emulator.jwks_url())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for status in REDIRECTS {
        let case = format!("the JWKS answers {status}");
        // The keys behind the redirect are the right ones: only not
        // following it keeps the token from being accepted.
        let (keys, recorder) = redirecting(status, jwks.clone()).await;
        let env =
            TestEnv::with_env(vec![("JWKS_URL", format!("{keys}/.well-known/jwks.json"))]).await;
        env.list(&env.token("owner-a"))
            .await
            .assert_unauthorized("invalid or expired jwt", &case);
        recorder.assert_nothing_received(&case);
    }
}

#[tokio::test]
async fn a_redirecting_secrets_manager_gets_no_signed_request_sent_elsewhere() {
    for status in REDIRECTS {
        let case = format!("Secrets Manager answers {status}");
        let (endpoint, recorder) =
            redirecting(status, json!({"Name": "m2m/x", "SecretString": "{}"})).await;
        // The SDK as the service builds it: the container's HTTP client.
        let source =
            SecretsManagerSource::new(moto::client_at(&endpoint, "testing", "testing"), "m2m/x");
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(4);
        let problem = source.read(deadline).await.unwrap_err();
        recorder.assert_nothing_received(&case);
        assert!(
            problem.contains("cannot read secret m2m/x"),
            "{case}: {problem}"
        );
    }
}
