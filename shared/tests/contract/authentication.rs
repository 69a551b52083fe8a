//! Caller authentication on every route: the three documented 401 bodies.

use auth0_emulator::TestKey;
use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};

use crate::support::{Reply, Route, TestEnv, base64url, bearer, sample_event, unix_now};

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
    let signed = |claims: Value| env.token_with(claims);
    let foreign = env.emulator.sign_with(
        &rs256_header("dev-key-1"),
        &env.claims(json!({"client_id": "owner-a"})),
        TestKey::Foreign,
    );
    let unknown_kid = env.emulator.sign_with(
        &rs256_header("no-such-key"),
        &env.claims(json!({"client_id": "owner-a"})),
        TestKey::Dev,
    );
    let mut no_kid_header = Header::new(Algorithm::RS256);
    no_kid_header.kid = None;
    let no_kid = env.emulator.sign_with(
        &no_kid_header,
        &env.claims(json!({"client_id": "owner-a"})),
        TestKey::Dev,
    );
    let valid = env.token("owner-a");
    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    let tampered_payload = {
        let mut p = parts.clone();
        p[1] = base64url(
            env.claims(json!({"client_id": "owner-b"}))
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
        base64url(
            env.claims(json!({"client_id": "owner-a"}))
                .to_string()
                .as_bytes()
        )
    );

    let cases: Vec<(&str, String)> = vec![
        (
            "expired",
            signed(json!({"client_id": "owner-a", "exp": now - 120})),
        ),
        (
            "not yet valid",
            signed(json!({"client_id": "owner-a", "nbf": now + 600})),
        ),
        (
            "no exp",
            signed(json!({"client_id": "owner-a", "exp": null})),
        ),
        (
            "wrong issuer",
            signed(json!({"client_id": "owner-a", "iss": "https://evil.example/"})),
        ),
        (
            "no issuer",
            signed(json!({"client_id": "owner-a", "iss": null})),
        ),
        (
            "wrong audience",
            signed(json!({"client_id": "owner-a", "aud": "https://other-api/"})),
        ),
        (
            "no audience",
            signed(json!({"client_id": "owner-a", "aud": null})),
        ),
        ("foreign key", foreign),
        ("unknown kid", unknown_kid),
        ("no kid", no_kid),
        ("tampered payload", tampered_payload),
        ("tampered signature", tampered_signature),
        ("alg none", alg_none),
        ("garbage", "Zm9v.YmFy.YmF6".into()),
    ];
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
    let just_expired = env.token_with(json!({"client_id": "owner-a", "exp": now - 10}));
    let reply = env
        .send(Route::ListClients, Some(&bearer(&just_expired)), None, None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let long_expired = env.token_with(json!({"client_id": "owner-a", "exp": now - 90}));
    let reply = env
        .send(Route::ListClients, Some(&bearer(&long_expired)), None, None)
        .await;
    reply.assert_unauthorized(INVALID, "beyond leeway");
}

#[tokio::test]
async fn audience_may_be_an_array() {
    let env = TestEnv::new().await;
    let token = env.token_with(json!({
        "client_id": "owner-a",
        "aud": ["https://other-api/", crate::support::CALLER_AUDIENCE]
    }));
    let reply = env
        .send(Route::ListClients, Some(&bearer(&token)), None, None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

#[tokio::test]
async fn the_owner_is_client_id_or_azp_of_a_client_credentials_token() {
    let env = TestEnv::new().await;
    // Auth0's default dialect: azp + gty.
    let auth0_style = env.token_with(json!({"azp": "owner-a", "gty": "client-credentials"}));
    let reply = env
        .send(
            Route::CreateClient,
            Some(&bearer(&auth0_style)),
            None,
            Some(r#"{"name": "via azp"}"#),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let id = reply.json["client_id"].as_str().unwrap().to_owned();
    // The RFC 9068 client_id of the same application sees it.
    assert_eq!(env.get(&env.token("owner-a"), &id).await.status, 200);

    for (case, claims) in [
        ("no identity", json!({})),
        ("azp without gty", json!({"azp": "owner-a"})),
        (
            "azp of a user token",
            json!({"azp": "owner-a", "gty": "password"}),
        ),
        ("empty client_id", json!({"client_id": ""})),
        ("numeric client_id", json!({"client_id": 12345})),
    ] {
        let token = env.token_with(claims);
        for reply in send_each_route(&env, Some(&bearer(&token))).await {
            reply.assert_unauthorized(NO_OWNER, case);
        }
    }
}

fn rs256_header(kid: &str) -> Header {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    header
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_on_first_use() {
    let env = TestEnv::new().await;
    assert_eq!(env.emulator.jwks_fetches(), 1, "loaded once at start-up");
    env.emulator.publish_key(TestKey::Rotated);
    let token = env.token("owner-a");
    let reply = env
        .send(Route::ListClients, Some(&bearer(&token)), None, None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(env.emulator.jwks_fetches(), 2);
    // Known now: no more fetches.
    env.send(Route::ListClients, Some(&bearer(&token)), None, None)
        .await;
    assert_eq!(env.emulator.jwks_fetches(), 2);
}

#[tokio::test]
async fn unknown_kids_refetch_the_jwks_at_most_once_per_30_seconds() {
    let env = TestEnv::new().await;
    let claims = env.claims(json!({"client_id": "owner-a"}));
    let mut tokens = Vec::new();
    for n in 0..20 {
        tokens.push(env.emulator.sign_with(
            &rs256_header(&format!("made-up-{n}")),
            &claims,
            TestKey::Dev,
        ));
    }
    for token in &tokens {
        let reply = env
            .send(Route::ListClients, Some(&bearer(token)), None, None)
            .await;
        reply.assert_unauthorized(INVALID, "made-up kid");
    }
    // One fetch at start-up, one refetch for the whole flood.
    assert_eq!(env.emulator.jwks_fetches(), 2);
    // Even a real rotation waits for the interval to pass.
    env.emulator.publish_key(TestKey::Rotated);
    let reply = env
        .send(
            Route::ListClients,
            Some(&bearer(&env.token("owner-a"))),
            None,
            None,
        )
        .await;
    reply.assert_unauthorized(INVALID, "rotated within the interval");
    assert_eq!(env.emulator.jwks_fetches(), 2);
}

#[tokio::test]
async fn concurrent_unknown_kids_share_one_refetch() {
    let env = TestEnv::new().await;
    let claims = env.claims(json!({"client_id": "owner-a"}));
    let header = |n: u32| {
        bearer(&env.emulator.sign_with(
            &rs256_header(&format!("unknown-{n}")),
            &claims,
            TestKey::Dev,
        ))
    };
    let (a, b, c) = (header(1), header(2), header(3));
    let (ra, rb, rc) = tokio::join!(
        env.send(Route::ListClients, Some(&a), None, None),
        env.send(Route::ListClients, Some(&b), None, None),
        env.send(Route::ListClients, Some(&c), None, None),
    );
    for reply in [ra, rb, rc] {
        reply.assert_unauthorized(INVALID, "unknown kid");
    }
    assert_eq!(env.emulator.jwks_fetches(), 2);
}

#[tokio::test]
async fn a_jwks_endpoint_that_is_down_gives_401_quickly() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        closed.local_addr().unwrap()
    );
    drop(closed);
    let env = TestEnv::with(crate::support::Options {
        env: vec![("JWKS_URL", url)],
        ..crate::support::Options::default()
    })
    .await;
    let started = std::time::Instant::now();
    let reply = env
        .send(
            Route::ListClients,
            Some(&bearer(&env.token("owner-a"))),
            None,
            None,
        )
        .await;
    reply.assert_unauthorized(INVALID, "jwks down");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}

#[tokio::test]
async fn a_jwks_endpoint_that_hangs_gives_401_within_the_fetch_timeout() {
    // Accepts connections and never answers.
    let blackhole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        blackhole.local_addr().unwrap()
    );
    let _hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = blackhole.accept().await {
            open.push(socket);
        }
    });
    let started = std::time::Instant::now();
    let env = TestEnv::with(crate::support::Options {
        env: vec![("JWKS_URL", url)],
        ..crate::support::Options::default()
    })
    .await;
    // Start-up waited at most the 2 s fetch timeout for the keys.
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    let started = std::time::Instant::now();
    let reply = env
        .send(
            Route::ListClients,
            Some(&bearer(&env.token("owner-a"))),
            None,
            None,
        )
        .await;
    reply.assert_unauthorized(INVALID, "jwks hangs");
    let elapsed = started.elapsed();
    assert!(elapsed < std::time::Duration::from_secs(3), "{elapsed:?}");
    // And within the next 30 s nobody waits for it again.
    let started = std::time::Instant::now();
    let reply = env
        .send(
            Route::ListClients,
            Some(&bearer(&env.token("owner-a"))),
            None,
            None,
        )
        .await;
    reply.assert_unauthorized(INVALID, "jwks hangs, again");
    assert!(started.elapsed() < std::time::Duration::from_millis(500));
}
