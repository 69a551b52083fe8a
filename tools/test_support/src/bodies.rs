//! Create bodies the service refuses, each with the message of its 400
//! (docs/behaviour.md): one list for the validation's unit test and for the
//! contract test that sends each through the handler, so that both levels
//! check the same cases.

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
            "unknown field `client_id`: only name, description and scopes are accepted",
        ),
        (
            r#"{"name": "a", "owner_client_id": "someone-else"}"#.into(),
            "unknown field `owner_client_id`: only name, description and scopes are accepted",
        ),
        (
            r#"{"name": "a", "owner": "someone-else"}"#.into(),
            "unknown field `owner`: only name, description and scopes are accepted",
        ),
        (
            format!(r#"{{"name": "{}"}}"#, "x".repeat(16 * 1024)),
            "request body must be at most 16384 bytes",
        ),
    ]
}
