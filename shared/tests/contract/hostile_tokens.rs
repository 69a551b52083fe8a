//! Hostile credentials, table-driven: every case is a 401 with the
//! documented body and `WWW-Authenticate`, on every route, and nothing
//! reaches Auth0's Management API.

use auth0_emulator::{Route as Auth0Route, TestKey};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use lambda_http::http::HeaderValue;
use serde_json::{Value, json};

use crate::support::{Reply, Route, TestEnv, base64url, jwt_header, sample_event, unix_now};

const MALFORMED: &str = "missing or malformed jwt";
const INVALID: &str = "invalid or expired jwt";
const NO_OWNER: &str = "token is valid but missing client_id";

/// A token with a hand-made header and payload (any JSON, any signature).
fn raw_token(header: &Value, payload: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        base64url(header.to_string().as_bytes()),
        base64url(payload.to_string().as_bytes())
    )
}

/// Replaces one dot-separated part of `token`.
fn with_part(token: &str, index: usize, part: &str) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[index] = part;
    parts.join(".")
}

/// Every authorization header value to try, with the message it must get.
fn cases(env: &TestEnv) -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let now = unix_now();
    let owner = json!({"client_id": "owner-a"});
    let claims = env.claims(owner.clone());
    let with = |extra: Value| env.claims(extra);
    let dev =
        |header: &Header, claims: &Value| env.emulator.sign_with(header, claims, TestKey::Dev);
    let valid = env.token("owner-a");
    let valid_parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    let rs256_dev = jwt_header(Algorithm::RS256, Some(TestKey::Dev.kid()));
    let hmac = |alg: Algorithm, secret: &[u8]| {
        jsonwebtoken::encode(
            &jwt_header(alg, Some(TestKey::Dev.kid())),
            &claims,
            &EncodingKey::from_secret(secret),
        )
        .unwrap()
    };
    let public_pem = TestKey::Dev.public_key_pem().as_bytes();
    let bearer = |token: String| format!("Bearer {token}").into_bytes();

    [
        // The header itself.
        ("no header at all", Vec::new(), MALFORMED),
        (
            "Basic credentials",
            b"Basic dXNlcjpwYXNzd29yZA==".to_vec(),
            MALFORMED,
        ),
        (
            "Digest scheme",
            b"Digest username=\"a\"".to_vec(),
            MALFORMED,
        ),
        (
            "Token scheme",
            format!("Token {valid}").into_bytes(),
            MALFORMED,
        ),
        (
            "scheme glued to token",
            format!("Bearer{valid}").into_bytes(),
            MALFORMED,
        ),
        (
            "token without scheme",
            valid.clone().into_bytes(),
            MALFORMED,
        ),
        ("scheme only", b"Bearer".to_vec(), MALFORMED),
        ("scheme and spaces", b"Bearer    ".to_vec(), MALFORMED),
        ("one segment", b"Bearer abcdef".to_vec(), MALFORMED),
        (
            "two segments",
            format!("Bearer {}.{}", valid_parts[0], valid_parts[1]).into_bytes(),
            MALFORMED,
        ),
        (
            "four segments",
            format!("Bearer {valid}.{}", valid_parts[2]).into_bytes(),
            MALFORMED,
        ),
        (
            "five segments (JWE shape)",
            b"Bearer a.b.c.d.e".to_vec(),
            MALFORMED,
        ),
        (
            "oversized token",
            bearer(format!("{valid}{}", "A".repeat(9000))),
            MALFORMED,
        ),
        (
            "non-text bytes",
            b"Bearer \xff\xfe\xfd.\x80\x81.\x82".to_vec(),
            MALFORMED,
        ),
        ("garbage segments", b"Bearer %%%.$$$.&&&".to_vec(), INVALID),
        (
            "two tokens in one header",
            format!("Bearer {valid}, Bearer {valid}").into_bytes(),
            MALFORMED,
        ),
        // Algorithms.
        (
            "alg none",
            bearer(raw_token(
                &json!({"alg": "none", "typ": "JWT"}),
                &claims,
                "",
            )),
            INVALID,
        ),
        (
            "alg None",
            bearer(raw_token(&json!({"alg": "None"}), &claims, "")),
            INVALID,
        ),
        (
            "alg NONE with kid",
            bearer(raw_token(
                &json!({"alg": "NONE", "kid": "dev-key-1"}),
                &claims,
                "",
            )),
            INVALID,
        ),
        (
            "HS256 keyed with the RSA public key",
            bearer(hmac(Algorithm::HS256, public_pem)),
            INVALID,
        ),
        (
            "HS384 keyed with the RSA public key",
            bearer(hmac(Algorithm::HS384, public_pem)),
            INVALID,
        ),
        (
            "HS512 keyed with the RSA public key",
            bearer(hmac(Algorithm::HS512, public_pem)),
            INVALID,
        ),
        (
            "HS256 keyed with an empty secret",
            bearer(hmac(Algorithm::HS256, b"")),
            INVALID,
        ),
        (
            "RS384 with the right key",
            bearer(dev(&jwt_header(Algorithm::RS384, Some("dev-key-1")), &claims)),
            INVALID,
        ),
        (
            "RS512 with the right key",
            bearer(dev(&jwt_header(Algorithm::RS512, Some("dev-key-1")), &claims)),
            INVALID,
        ),
        (
            "PS256 with the right key",
            bearer(dev(&jwt_header(Algorithm::PS256, Some("dev-key-1")), &claims)),
            INVALID,
        ),
        (
            "ES256 header, RSA signature",
            bearer(with_part(
                &valid,
                0,
                &base64url(br#"{"alg":"ES256","kid":"dev-key-1"}"#),
            )),
            INVALID,
        ),
        // Keys.
        (
            "foreign key, published kid",
            bearer(
                env.emulator
                    .sign_with(&rs256_dev, &claims, TestKey::Foreign),
            ),
            INVALID,
        ),
        (
            "foreign key, its own kid",
            bearer(env.emulator.sign_with(
                &jwt_header(Algorithm::RS256, Some("foreign-key")),
                &claims,
                TestKey::Foreign,
            )),
            INVALID,
        ),
        (
            "unknown kid",
            bearer(dev(&jwt_header(Algorithm::RS256, Some("no-such-key")), &claims)),
            INVALID,
        ),
        (
            "missing kid",
            bearer(dev(&jwt_header(Algorithm::RS256, None), &claims)),
            INVALID,
        ),
        (
            "empty kid",
            bearer(dev(&jwt_header(Algorithm::RS256, Some("")), &claims)),
            INVALID,
        ),
        (
            "absurdly long kid",
            bearer(dev(
                &jwt_header(Algorithm::RS256, Some(&"k".repeat(2000))),
                &claims,
            )),
            INVALID,
        ),
        (
            "path traversal kid",
            bearer(dev(
                &jwt_header(Algorithm::RS256, Some("../../../../etc/passwd")),
                &claims,
            )),
            INVALID,
        ),
        (
            "numeric kid",
            bearer(raw_token(
                &json!({"alg": "RS256", "kid": 1}),
                &claims,
                &valid_parts[2],
            )),
            INVALID,
        ),
        (
            "embedded jwk header",
            bearer(raw_token(
                &json!({"alg": "RS256", "kid": "attacker", "jwk": auth0_emulator::public_jwk(TestKey::Foreign)}),
                &claims,
                &valid_parts[2],
            )),
            INVALID,
        ),
        (
            "jku pointing elsewhere",
            bearer(env.emulator.sign_with(
                &{
                    let mut h = jwt_header(Algorithm::RS256, Some("foreign-key"));
                    h.jku = Some("http://127.0.0.1:1/jwks".into());
                    h
                },
                &claims,
                TestKey::Foreign,
            )),
            INVALID,
        ),
        // Tampering.
        (
            "tampered header",
            bearer(with_part(
                &valid,
                0,
                &base64url(br#"{"alg":"RS256","kid":"dev-key-1","typ":"at+jwt"}"#),
            )),
            INVALID,
        ),
        (
            "tampered payload",
            bearer(with_part(
                &valid,
                1,
                &base64url(with(json!({"client_id": "owner-b"})).to_string().as_bytes()),
            )),
            INVALID,
        ),
        (
            "tampered signature",
            bearer(with_part(
                &valid,
                2,
                &valid_parts[2].chars().rev().collect::<String>(),
            )),
            INVALID,
        ),
        (
            "signature stripped",
            bearer(with_part(&valid, 2, "")),
            INVALID,
        ),
        (
            "signature of another token",
            bearer(with_part(
                &valid,
                2,
                env.token("owner-b").split('.').nth(2).unwrap(),
            )),
            INVALID,
        ),
        (
            "header not JSON",
            bearer(with_part(&valid, 0, &base64url(b"not json"))),
            INVALID,
        ),
        (
            "header a JSON array",
            bearer(with_part(&valid, 0, &base64url(b"[\"RS256\"]"))),
            INVALID,
        ),
        (
            "payload not base64",
            bearer(with_part(&valid, 1, "!!!!")),
            INVALID,
        ),
        (
            "payload a JSON array",
            bearer(dev(&rs256_dev, &json!(["client_id", "owner-a"]))),
            INVALID,
        ),
    ]
    .into_iter()
    // Owner-a's token with these claims.
    .chain(
        [
            // Time.
            ("expired", json!({"exp": now - 3600})),
            ("expired beyond leeway", json!({"exp": now - 31})),
            ("not yet valid", json!({"nbf": now + 3600})),
            ("missing exp", json!({"exp": null})),
            ("exp as a string", json!({"exp": "tomorrow"})),
            // Issuer and audience.
            ("wrong issuer", json!({"iss": "https://evil.example/"})),
            (
                "issuer without trailing slash",
                json!({"iss": env.emulator.base_url()}),
            ),
            ("missing issuer", json!({"iss": null})),
            ("issuer as an array", json!({"iss": [env.emulator.issuer()]})),
            ("wrong audience", json!({"aud": "https://other-api/"})),
            ("missing audience", json!({"aud": null})),
            ("empty audience list", json!({"aud": []})),
            (
                "audience list without ours",
                json!({"aud": ["https://a/", "https://b/"]}),
            ),
        ]
        .map(|(case, extra)| (case, bearer(env.token_of("owner-a", extra)), INVALID)),
    )
    // Identity: tokens with exactly these identity claims, each with a
    // `sub` that would name the client, so that only the defect named
    // makes it no caller.
    .chain(
        [
            ("no identity claims", json!({})),
            ("empty client_id", json!({"client_id": "", "sub": "@clients"})),
            ("blank client_id", json!({"client_id": "   ", "sub": "   "})),
            ("numeric client_id", json!({"client_id": 42, "sub": "42"})),
            (
                "object client_id",
                json!({"client_id": {"id": "owner-a"}, "sub": "owner-a@clients"}),
            ),
            (
                "array client_id",
                json!({"client_id": ["owner-a"], "sub": "owner-a@clients"}),
            ),
            (
                "client_id with control characters",
                json!({"client_id": "owner\u{0}a", "sub": "owner\u{0}a"}),
            ),
            (
                "client_id over 255 characters",
                json!({"client_id": "o".repeat(256), "sub": "o".repeat(256)}),
            ),
            (
                "azp without gty",
                json!({"azp": "owner-a", "sub": "owner-a@clients"}),
            ),
            (
                "azp with a password gty",
                json!({"azp": "owner-a", "gty": "password", "sub": "owner-a@clients"}),
            ),
            (
                "azp with gty in an array",
                json!({"azp": "owner-a", "gty": ["client-credentials"], "sub": "owner-a@clients"}),
            ),
            (
                "gty without azp",
                json!({"gty": "client-credentials", "sub": "owner-a@clients"}),
            ),
            (
                "empty azp",
                json!({"azp": "", "gty": "client-credentials", "sub": "@clients"}),
            ),
            (
                "numeric azp",
                json!({"azp": 7, "gty": "client-credentials", "sub": "7@clients"}),
            ),
        ]
        .map(|(case, claims)| (case, bearer(env.token_with(claims)), NO_OWNER)),
    )
    .collect()
}

/// Sends `route` these raw authorization header values (bytes an API
/// Gateway event's JSON could not carry).
async fn send(env: &TestEnv, route: Route, authorizations: &[&[u8]]) -> Reply {
    let mut request = sample_event(route).request();
    for value in authorizations {
        request
            .headers_mut()
            .append("authorization", HeaderValue::from_bytes(value).unwrap());
    }
    env.dispatch_request(route, request).await
}

#[tokio::test]
async fn every_hostile_credential_is_a_documented_401_on_every_route() {
    let env = TestEnv::new().await;
    // The baseline passes, so every refusal below is the mutation's doing.
    let valid = format!("Bearer {}", env.token("owner-a"));
    let reply = send(&env, Route::ListClients, &[valid.as_bytes()]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    let management_calls = || {
        [
            Auth0Route::CreateClient,
            Auth0Route::ListClients,
            Auth0Route::GetClient,
            Auth0Route::DeleteClient,
            Auth0Route::Token,
        ]
        .map(|route| env.emulator.count(route))
    };
    let before = management_calls();

    let cases = cases(&env);
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    for (case, value, message) in &cases {
        for route in Route::ALL {
            let values: Vec<&[u8]> = if value.is_empty() {
                vec![]
            } else {
                vec![value]
            };
            let reply = send(&env, route, &values).await;
            reply.assert_unauthorized(message, case);
        }
    }
    // Nothing got as far as Auth0.
    assert_eq!(management_calls(), before);
}

#[tokio::test]
async fn duplicated_authorization_headers_are_malformed_even_if_each_is_valid() {
    let env = TestEnv::new().await;
    let token = format!("Bearer {}", env.token("owner-a"));
    for route in Route::ALL {
        let reply = send(&env, route, &[token.as_bytes(), token.as_bytes()]).await;
        reply.assert_unauthorized(MALFORMED, "two headers");
    }
    // One of them alone is fine.
    let reply = send(&env, Route::ListClients, &[token.as_bytes()]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}
