//! Caller authentication on every route: the three documented 401 bodies.

use std::time::{Duration, Instant};

use auth0_emulator::TestKey;
use jsonwebtoken::Algorithm;
use serde_json::json;

use crate::support::{
    Reply, Route, TestEnv, base64url, bearer, closed_url, jwt_header, sample_event, silent_url,
    unix_now,
};

const MALFORMED: &str = "missing or malformed jwt";
const INVALID: &str = "invalid or expired jwt";
const NO_OWNER: &str = "token is valid but missing client_id";

async fn send_each_route(env: &TestEnv, authorization: Option<&str>) -> Vec<Reply> {
    let mut replies = Vec::new();
    for route in Route::ALL {
        let event = match authorization {
            Some(authorization) => sample_event(route).header("authorization", authorization),
            None => sample_event(route),
        };
        replies.push(env.dispatch(route, &event.text()).await);
    }
    replies
}

#[tokio::test]
async fn every_route_requires_a_token() {
    let env = TestEnv::new().await;
    for reply in send_each_route(&env, None).await {
        reply.assert_unauthorized(MALFORMED, "no header");
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    }
    assert!(env.emulator.clients().is_empty());
}

#[tokio::test]
async fn malformed_authorization_headers() {
    let env = TestEnv::new().await;
    let valid = env.token("owner-a");
    let oversized = format!("Bearer {valid}{}", "A".repeat(8 * 1024));
    let cases = [
        ("empty", String::new()),
        ("scheme only", "Bearer".into()),
        ("basic", "Basic dXNlcjpwYXNz".into()),
        ("no scheme", valid.clone()),
        ("other scheme", format!("Token {valid}")),
        ("two parts", "Bearer aaaa.bbbb".into()),
        ("four parts", format!("Bearer {valid}.extra")),
        ("oversized", oversized),
    ];
    for (case, header) in cases {
        for reply in send_each_route(&env, Some(&header)).await {
            reply.assert_unauthorized(MALFORMED, case);
        }
    }
}

#[tokio::test]
async fn the_scheme_is_case_insensitive() {
    let env = TestEnv::new().await;
    let token = env.token("owner-a");
    for header in [format!("bearer {token}"), format!("BEARER {token}")] {
        let reply = env
            .send(Route::ListClients, Some(&header), None, None)
            .await;
        assert_eq!(reply.status, 200, "{header:.20}: {}", reply.text);
    }
}

#[tokio::test]
async fn invalid_or_expired_tokens() {
    let env = TestEnv::new().await;
    let now = unix_now();
    let claims = env.claims(json!({"client_id": "owner-a", "sub": "owner-a@clients"}));
    let sign = |kid: Option<&str>, key: TestKey| {
        env.emulator
            .sign_with(&jwt_header(Algorithm::RS256, kid), &claims, key)
    };
    let valid = env.token("owner-a");
    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    let tampered_payload = {
        let mut p = parts.clone();
        p[1] = base64url(
            env.claims(json!({"client_id": "owner-b", "sub": "owner-b@clients"}))
                .to_string()
                .as_bytes(),
        );
        p.join(".")
    };
    parts[2] = parts[2].chars().rev().collect();
    let tampered_signature = parts.join(".");
    let alg_none = format!(
        "{}.{}.",
        base64url(br#"{"alg":"none","typ":"JWT"}"#),
        base64url(claims.to_string().as_bytes())
    );

    // Owner-a's token with these claims.
    let claimed = [
        ("expired", json!({"exp": now - 120})),
        ("not yet valid", json!({"nbf": now + 600})),
        ("no exp", json!({"exp": null})),
        ("wrong issuer", json!({"iss": "https://evil.example/"})),
        ("no issuer", json!({"iss": null})),
        ("wrong audience", json!({"aud": "https://other-api/"})),
        ("no audience", json!({"aud": null})),
    ];
    let mut cases: Vec<(&str, String)> = claimed
        .into_iter()
        .map(|(case, extra)| (case, env.token_of("owner-a", extra)))
        .collect();
    cases.extend([
        ("foreign key", sign(Some("dev-key-1"), TestKey::Foreign)),
        ("unknown kid", sign(Some("no-such-key"), TestKey::Dev)),
        ("no kid", sign(None, TestKey::Dev)),
        ("tampered payload", tampered_payload),
        ("tampered signature", tampered_signature),
        ("alg none", alg_none),
        ("garbage", "Zm9v.YmFy.YmF6".into()),
    ]);
    for (case, token) in cases {
        for reply in send_each_route(&env, Some(&bearer(&token))).await {
            reply.assert_unauthorized(INVALID, case);
        }
    }
    assert!(env.emulator.clients().is_empty());
}

#[tokio::test]
async fn leeway_is_thirty_seconds() {
    let env = TestEnv::new().await;
    let now = unix_now();
    let just_expired = env.token_of("owner-a", json!({"exp": now - 10}));
    let reply = env.list(&just_expired).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let long_expired = env.token_of("owner-a", json!({"exp": now - 90}));
    let reply = env.list(&long_expired).await;
    reply.assert_unauthorized(INVALID, "beyond leeway");
}

#[tokio::test]
async fn audience_may_be_an_array() {
    let env = TestEnv::new().await;
    let token = env.token_of(
        "owner-a",
        json!({"aud": ["https://other-api/", crate::support::CALLER_AUDIENCE]}),
    );
    let reply = env.list(&token).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

#[tokio::test]
async fn the_owner_is_client_id_or_azp_of_a_client_credentials_token() {
    let env = TestEnv::new().await;
    // Auth0's default dialect: azp + gty, with the client as sub.
    let auth0_style = env.token_with(
        json!({"azp": "owner-a", "gty": "client-credentials", "sub": "owner-a@clients"}),
    );
    let reply = env.create(&auth0_style, json!({"name": "via azp"})).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let id = reply.json["client_id"].as_str().unwrap().to_owned();
    // The RFC 9068 client_id of the same application sees it.
    assert_eq!(env.get(&env.token("owner-a"), &id).await.status, 200);

    for (case, claims) in [
        ("no identity", json!({})),
        (
            "azp without gty",
            json!({"azp": "owner-a", "sub": "owner-a@clients"}),
        ),
        (
            "azp of a user token",
            json!({"azp": "owner-a", "gty": "password", "sub": "owner-a@clients"}),
        ),
        ("empty client_id", json!({"client_id": "", "sub": ""})),
        (
            "numeric client_id",
            json!({"client_id": 12345, "sub": "12345@clients"}),
        ),
    ] {
        let token = env.token_with(claims);
        for reply in send_each_route(&env, Some(&bearer(&token))).await {
            reply.assert_unauthorized(NO_OWNER, case);
        }
    }
}

/// A token of owner-a signed with the published key under a `kid` the
/// JWKS does not have.
fn token_of_unknown_kid(env: &TestEnv, kid: &str) -> String {
    env.emulator.sign_with(
        &jwt_header(Algorithm::RS256, Some(kid)),
        &env.claims(json!({"client_id": "owner-a", "sub": "owner-a@clients"})),
        TestKey::Dev,
    )
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_on_first_use() {
    let env = TestEnv::new().await;
    assert_eq!(env.emulator.jwks_fetches(), 1, "loaded once at start-up");
    env.emulator.publish_key(TestKey::Rotated);
    let token = env.token("owner-a");
    let reply = env.list(&token).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(env.emulator.jwks_fetches(), 2);
    // Known now: no more fetches.
    env.list(&token).await;
    assert_eq!(env.emulator.jwks_fetches(), 2);
}

#[tokio::test]
async fn unknown_kids_refetch_the_jwks_at_most_once_per_30_seconds() {
    let env = TestEnv::new().await;
    for n in 0..20 {
        let token = token_of_unknown_kid(&env, &format!("made-up-{n}"));
        env.list(&token)
            .await
            .assert_unauthorized(INVALID, "made-up kid");
    }
    // One fetch at start-up, one refetch for the whole flood.
    assert_eq!(env.emulator.jwks_fetches(), 2);
    // Even a real rotation waits for the interval to pass.
    env.emulator.publish_key(TestKey::Rotated);
    env.list(&env.token("owner-a"))
        .await
        .assert_unauthorized(INVALID, "rotated within the interval");
    assert_eq!(env.emulator.jwks_fetches(), 2);
}

#[tokio::test]
async fn concurrent_unknown_kids_share_one_refetch() {
    let env = TestEnv::new().await;
    let [a, b, c] = [1, 2, 3].map(|n| token_of_unknown_kid(&env, &format!("unknown-{n}")));
    let (ra, rb, rc) = tokio::join!(env.list(&a), env.list(&b), env.list(&c));
    for reply in [ra, rb, rc] {
        reply.assert_unauthorized(INVALID, "unknown kid");
    }
    assert_eq!(env.emulator.jwks_fetches(), 2);
}

/// A container whose JWKS is at `base_url`.
async fn with_jwks_at(base_url: &str) -> TestEnv {
    TestEnv::with_env(vec![(
        "JWKS_URL",
        format!("{base_url}/.well-known/jwks.json"),
    )])
    .await
}

/// A list request of owner-a: its answer, and how long that took.
async fn timed_list(env: &TestEnv) -> (Reply, Duration) {
    let started = Instant::now();
    let reply = env.list(&env.token("owner-a")).await;
    (reply, started.elapsed())
}

#[tokio::test]
async fn a_jwks_endpoint_that_is_down_gives_401_quickly() {
    let env = with_jwks_at(&closed_url()).await;
    let (reply, elapsed) = timed_list(&env).await;
    reply.assert_unauthorized(INVALID, "jwks down");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[tokio::test]
async fn a_jwks_endpoint_that_hangs_gives_401_within_the_fetch_timeout() {
    let url = silent_url().await;
    let started = Instant::now();
    let env = with_jwks_at(&url).await;
    // Start-up waited at most the 2 s fetch timeout for the keys.
    assert!(started.elapsed() < Duration::from_secs(4));
    let (reply, elapsed) = timed_list(&env).await;
    reply.assert_unauthorized(INVALID, "jwks hangs");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    // And within the next 30 s nobody waits for it again.
    let (reply, elapsed) = timed_list(&env).await;
    reply.assert_unauthorized(INVALID, "jwks hangs, again");
    assert!(elapsed < Duration::from_millis(500), "{elapsed:?}");
}
