//! Create bodies the service refuses, each with the message of its 400
//! (docs/behaviour.md): one list for the validation's unit test and for the
//! contract test that sends each through the handler, so that both levels
//! check the same cases.

use auth0_emulator::{
    AUTH0_RECORDED_CERTIFICATE_PEM, ClientKey, EC_PUBLIC_PEM, HUGE_RSA_PUBLIC_PEM,
    SMALL_RSA_PUBLIC_PEM,
};
use serde_json::{Value, json};

/// `(body, message)`: every way a create body can be wrong, by the rule it
/// breaks. The limits are the documented ones (255 and 140 characters,
/// 16 KiB), written out rather than read from the library they test.
pub fn invalid_create_bodies() -> Vec<(String, &'static str)> {
    let long_name = "n".repeat(256);
    let long_description = "d".repeat(141);
    vec![
        ("".into(), "request body is required"),
        ("  \n".into(), "request body is required"),
        ("{".into(), "request body must be valid JSON"),
        ("not json".into(), "request body must be valid JSON"),
        (r#"{"name": "a""#.into(), "request body must be valid JSON"),
        ("[]".into(), "request body must be a JSON object"),
        (r#"["name"]"#.into(), "request body must be a JSON object"),
        ("\"name\"".into(), "request body must be a JSON object"),
        ("42".into(), "request body must be a JSON object"),
        ("null".into(), "request body must be a JSON object"),
        ("{}".into(), "client name is required"),
        (
            r#"{"description": "no name"}"#.into(),
            "client name is required",
        ),
        (r#"{"name": ""}"#.into(), "client name is required"),
        (r#"{"name": "   "}"#.into(), "client name is required"),
        (r#"{"name": null}"#.into(), "client name must be a string"),
        (r#"{"name": 42}"#.into(), "client name must be a string"),
        (r#"{"name": ["a"]}"#.into(), "client name must be a string"),
        (
            r#"{"name": "a", "description": 1}"#.into(),
            "client description must be a string",
        ),
        (
            r#"{"name": "a", "description": false}"#.into(),
            "client description must be a string",
        ),
        (
            r#"{"name": "a", "description": null}"#.into(),
            "client description must be a string",
        ),
        (
            format!(r#"{{"name": "{long_name}"}}"#),
            "client name must be at most 255 characters",
        ),
        (
            format!(r#"{{"name": "a", "description": "{long_description}"}}"#),
            "client description must be at most 140 characters",
        ),
        (
            r#"{"name": "<b>bold</b>"}"#.into(),
            "client name must not contain '<', '>' or control characters",
        ),
        (
            r#"{"name": "<script>"}"#.into(),
            "client name must not contain '<', '>' or control characters",
        ),
        (
            r#"{"name": "line\nbreak"}"#.into(),
            "client name must not contain '<', '>' or control characters",
        ),
        (
            r#"{"name": "a\u0007b"}"#.into(),
            "client name must not contain '<', '>' or control characters",
        ),
        (
            r#"{"name": "a", "client_id": "client_mine"}"#.into(),
            "unknown field `client_id`: only name, description, scopes and public_key are accepted",
        ),
        (
            r#"{"name": "a", "owner_client_id": "someone-else"}"#.into(),
            "unknown field `owner_client_id`: only name, description, scopes and public_key are accepted",
        ),
        (
            r#"{"name": "a", "owner": "someone-else"}"#.into(),
            "unknown field `owner`: only name, description, scopes and public_key are accepted",
        ),
        (
            format!(r#"{{"name": "{}"}}"#, "x".repeat(16 * 1024)),
            "request body must be at most 16384 bytes",
        ),
    ]
    .into_iter()
    .chain(invalid_public_keys().into_iter().map(|(key, message)| {
        (json!({"name": "a", "public_key": key}).to_string(), message)
    }))
    .collect()
}

/// The message of a private key sent by mistake.
pub const PRIVATE_KEY_MESSAGE: &str = "public_key.pem holds a private key: send only the public key, and keep the private key to yourself (consider this one exposed)";

/// `(public_key, message)`: every way a `public_key` (create's, and the
/// body of `POST …/credentials`) can be wrong. The committed test keys are
/// not secrets (tools/auth0_emulator/keys/README.md).
pub fn invalid_public_keys() -> Vec<(Value, &'static str)> {
    let pem = ClientKey::A.public_pem();
    let with = |pem: &str| json!({"pem": pem, "alg": "RS256"});
    vec![
        (
            json!("-----BEGIN PUBLIC KEY-----"),
            "public_key must be an object with pem, alg and optionally expires_at",
        ),
        (json!({"alg": "RS256"}), "public_key.pem is required"),
        (
            json!({"pem": 42, "alg": "RS256"}),
            "public_key.pem must be a string",
        ),
        (with(ClientKey::A.private_pem()), PRIVATE_KEY_MESSAGE),
        (
            with(SMALL_RSA_PUBLIC_PEM),
            "public_key.pem is an RSA key of 1024 bits; it must have 2048 to 4096",
        ),
        (
            with(HUGE_RSA_PUBLIC_PEM),
            "public_key.pem is an RSA key of 8192 bits; it must have 2048 to 4096",
        ),
        (
            with(EC_PUBLIC_PEM),
            "public_key.pem is not an RSA public key",
        ),
        (
            with(AUTH0_RECORDED_CERTIFICATE_PEM),
            "public_key.pem must be an SPKI public key (-----BEGIN PUBLIC KEY-----)",
        ),
        (
            with("MIIBIjANBgkq"),
            "public_key.pem is not a PEM-encoded key",
        ),
        (json!({"pem": pem}), "public_key.alg is required"),
        (
            json!({"pem": pem, "alg": "HS256"}),
            "public_key.alg must be one of RS256, RS384, PS256",
        ),
        (
            json!({"pem": pem, "alg": "RS256", "expires_at": "2020-01-01T00:00:00Z"}),
            "public_key.expires_at must be in the future",
        ),
        (
            json!({"pem": pem, "alg": "RS256", "expires_at": "next year"}),
            "public_key.expires_at must be an RFC 3339 date-time with its offset (2030-01-31T00:00:00Z)",
        ),
        (
            json!({"pem": pem, "alg": "RS256", "kid": "mine"}),
            "unknown field `kid`: only pem, alg and expires_at (in public_key) are accepted",
        ),
    ]
}
