//! Request validation: what a caller may send, checked before anything
//! reaches Auth0. Messages name the problem in the documentation's style
//! (`client name is required`) and never echo the input back.

use serde_json::{Map, Value};

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

use crate::domain::{ClientUpdate, IdempotencyClaim, KEY_ALGORITHMS, NewClient, NewKey};
use crate::error::ServiceError;
use crate::public_key::parse_spki_pem;

/// Bodies larger than this are refused before parsing.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Our own limit on names; Auth0 only requires one character and no `<` or `>`.
pub const MAX_NAME_CHARS: usize = 255;
/// Auth0's limit on `description`.
pub const MAX_DESCRIPTION_CHARS: usize = 140;

/// `Idempotency-Key` values are 1 to this many printable ASCII characters.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;
/// A list page holds at most this many clients.
pub const MAX_PAGE_SIZE: usize = 100;

/// The `Idempotency-Key` of a create (`None` without one) and the hash of
/// the request it came with: the body as parsed JSON, so that spacing and
/// the order of its fields do not make it another request. Call it after
/// [`parse_new_client`] accepted the body.
pub fn idempotency_claim(
    key: Option<&str>,
    body: &[u8],
) -> Result<Option<IdempotencyClaim>, ServiceError> {
    let Some(key) = key else {
        return Ok(None);
    };
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY_CHARS
        || !key.bytes().all(|b| (0x20..=0x7e).contains(&b))
    {
        return Err(ServiceError::invalid(format!(
            "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} printable ASCII characters"
        )));
    }
    let parsed: Value = serde_json::from_slice(body)
        .map_err(|_| ServiceError::invalid("request body must be valid JSON"))?;
    // serde_json's objects keep their keys sorted: this text is canonical.
    let canonical = parsed.to_string();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
    let request_hash = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    Ok(Some(IdempotencyClaim {
        key: key.to_owned(),
        request_hash,
    }))
}

/// The `limit` of a list: a whole number from 1 to [`MAX_PAGE_SIZE`], or
/// none (the whole list).
pub fn page_limit(limit: Option<&str>) -> Result<Option<usize>, ServiceError> {
    limit
        .map(|limit| {
            limit
                .parse::<usize>()
                .ok()
                .filter(|limit| (1..=MAX_PAGE_SIZE).contains(limit))
                .ok_or_else(|| {
                    ServiceError::invalid(format!(
                        "limit must be a whole number from 1 to {MAX_PAGE_SIZE}"
                    ))
                })
        })
        .transpose()
}

/// Parses and validates the body of `POST /api/v1/client`.
pub fn parse_new_client(body: &[u8]) -> Result<NewClient, ServiceError> {
    let mut fields = json_object(body)?;
    let name = take_string(&mut fields, "name", "client name")?
        .ok_or_else(|| ServiceError::invalid("client name is required"))?;
    let description = take_string(&mut fields, "description", "client description")?;
    let scopes = take_scopes(&mut fields)?;
    let public_key = fields.remove("public_key").map(public_key).transpose()?;
    refuse_unknown(&fields, "name, description, scopes and public_key")?;
    Ok(NewClient {
        name: valid_name(&name)?,
        description: valid_description(description.unwrap_or_default())?,
        scopes,
        public_key,
    })
}

/// Parses and validates the body of `POST /api/v1/client/{id}/credentials`:
/// a `public_key` object, as create takes it.
pub fn parse_new_key(body: &[u8]) -> Result<NewKey, ServiceError> {
    public_key(Value::Object(json_object(body)?))
}

/// A `public_key`: `{pem, alg, expires_at?}`, the PEM an SPKI RSA public
/// key of 2048 to 4096 bits, `alg` one of [`KEY_ALGORITHMS`], `expires_at`
/// an RFC 3339 time in the future. The PEM is never echoed: it may be a
/// private key sent by mistake.
fn public_key(value: Value) -> Result<NewKey, ServiceError> {
    let Value::Object(mut fields) = value else {
        return Err(ServiceError::invalid(
            "public_key must be an object with pem, alg and optionally expires_at",
        ));
    };
    let pem = take_string(&mut fields, "pem", "public_key.pem")?
        .ok_or_else(|| ServiceError::invalid("public_key.pem is required"))?;
    let key = parse_spki_pem(&pem).map_err(ServiceError::InvalidRequest)?;
    let alg = take_string(&mut fields, "alg", "public_key.alg")?
        .ok_or_else(|| ServiceError::invalid("public_key.alg is required"))?;
    if !KEY_ALGORITHMS.contains(&alg.as_str()) {
        return Err(ServiceError::invalid(format!(
            "public_key.alg must be one of {}",
            KEY_ALGORITHMS.join(", ")
        )));
    }
    let expires_at = take_string(&mut fields, "expires_at", "public_key.expires_at")?
        .map(|expiry| future_time(&expiry))
        .transpose()?;
    refuse_unknown(&fields, "pem, alg and expires_at (in public_key)")?;
    Ok(NewKey {
        pem,
        alg,
        expires_at,
        thumbprint_sha256: key.thumbprint_sha256,
    })
}

/// An RFC 3339 time (with its offset) after now, as UTC (`…Z`).
fn future_time(text: &str) -> Result<String, ServiceError> {
    let time = DateTime::from_str(text, Format::DateTimeWithOffset).map_err(|_| {
        ServiceError::invalid(
            "public_key.expires_at must be an RFC 3339 date-time with its offset (2030-01-31T00:00:00Z)",
        )
    })?;
    if time <= DateTime::from(std::time::SystemTime::now()) {
        return Err(ServiceError::invalid(
            "public_key.expires_at must be in the future",
        ));
    }
    time.fmt(Format::DateTime)
        .map_err(|_| ServiceError::invalid("public_key.expires_at is out of range"))
}

/// Parses and validates the body of `PATCH /api/v1/client/{id}`: the same
/// rules as create's for each field, and at least one of them.
pub fn parse_client_update(body: &[u8]) -> Result<ClientUpdate, ServiceError> {
    let mut fields = json_object(body)?;
    let name = take_string(&mut fields, "name", "client name")?;
    let description = take_string(&mut fields, "description", "client description")?;
    let scopes = take_scopes(&mut fields)?;
    refuse_unknown(&fields, "name, description and scopes")?;
    if name.is_none() && description.is_none() && scopes.is_none() {
        return Err(ServiceError::invalid(
            "name, description or scopes is required: nothing to update",
        ));
    }
    Ok(ClientUpdate {
        name: name.as_deref().map(valid_name).transpose()?,
        description: description.map(valid_description).transpose()?,
        scopes,
    })
}

/// The scopes a new client gets: all that `allowed` holds (`GRANT_SCOPES`)
/// unless the caller chose some of them. In `allowed`'s order.
pub fn choose_scopes(
    requested: Option<&[String]>,
    allowed: &[String],
) -> Result<Vec<String>, ServiceError> {
    let Some(requested) = requested else {
        return Ok(allowed.to_vec());
    };
    if let Some(unknown) = requested.iter().find(|scope| !allowed.contains(scope)) {
        return Err(ServiceError::invalid(format!(
            "scope `{}` is not one this service grants",
            shown(unknown)
        )));
    }
    Ok(allowed
        .iter()
        .filter(|scope| requested.contains(scope))
        .cloned()
        .collect())
}

/// The body as a JSON object: at most [`MAX_BODY_BYTES`], not blank.
fn json_object(body: &[u8]) -> Result<Map<String, Value>, ServiceError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ServiceError::invalid(format!(
            "request body must be at most {MAX_BODY_BYTES} bytes"
        )));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ServiceError::invalid("request body is required"));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| ServiceError::invalid("request body must be valid JSON"))?;
    match value {
        Value::Object(fields) => Ok(fields),
        _ => Err(ServiceError::invalid("request body must be a JSON object")),
    }
}

/// Refuses a field the route does not take (`accepted` lists those it does).
fn refuse_unknown(fields: &Map<String, Value>, accepted: &str) -> Result<(), ServiceError> {
    match fields.keys().next() {
        None => Ok(()),
        Some(unknown) => Err(ServiceError::invalid(format!(
            "unknown field `{}`: only {accepted} are accepted",
            shown(unknown)
        ))),
    }
}

/// Caller text named in a message: short, and without control characters.
fn shown(text: &str) -> String {
    text.chars().take(40).filter(|c| !c.is_control()).collect()
}

/// A name: trimmed, 1 to [`MAX_NAME_CHARS`], no `<`, `>` or control characters.
fn valid_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ServiceError::invalid("client name is required"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ServiceError::invalid(format!(
            "client name must be at most {MAX_NAME_CHARS} characters"
        )));
    }
    if name.chars().any(|c| c == '<' || c == '>' || c.is_control()) {
        return Err(ServiceError::invalid(
            "client name must not contain '<', '>' or control characters",
        ));
    }
    Ok(name.to_owned())
}

/// A description: at most [`MAX_DESCRIPTION_CHARS`] (Auth0's limit).
fn valid_description(description: String) -> Result<String, ServiceError> {
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ServiceError::invalid(format!(
            "client description must be at most {MAX_DESCRIPTION_CHARS} characters"
        )));
    }
    Ok(description)
}

/// Removes `scopes` from `fields`: absent, or a non-empty array of
/// distinct strings.
fn take_scopes(fields: &mut Map<String, Value>) -> Result<Option<Vec<String>>, ServiceError> {
    let Some(value) = fields.remove("scopes") else {
        return Ok(None);
    };
    let not_strings = || ServiceError::invalid("scopes must be an array of strings");
    let Value::Array(items) = value else {
        return Err(not_strings());
    };
    if items.is_empty() {
        return Err(ServiceError::invalid(
            "scopes must not be empty: leave it out for all scopes",
        ));
    }
    let mut scopes: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let Value::String(scope) = item else {
            return Err(not_strings());
        };
        if scopes.contains(&scope) {
            return Err(ServiceError::invalid(format!(
                "scope `{}` is listed twice",
                shown(&scope)
            )));
        }
        scopes.push(scope);
    }
    Ok(Some(scopes))
}

/// Removes `key` from `fields`; present means it must be a string.
fn take_string(
    fields: &mut Map<String, Value>,
    key: &str,
    what: &str,
) -> Result<Option<String>, ServiceError> {
    match fields.remove(key) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(ServiceError::invalid(format!("{what} must be a string"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> String {
        match parse_new_client(body.as_bytes()) {
            Err(ServiceError::InvalidRequest(message)) => message,
            other => panic!("expected INVALID_REQUEST for {body:?}, got {other:?}"),
        }
    }

    #[test]
    fn idempotency_keys_and_the_request_they_stand_for() {
        let claim = |key: &str, body: &str| idempotency_claim(Some(key), body.as_bytes());
        let first = claim("order-42", r#"{"name": "a", "description": "d"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(first.key, "order-42");
        // The same request, written differently, is the same request.
        let again = claim("order-42", "{ \"description\":\"d\",\n  \"name\":\"a\" }")
            .unwrap()
            .unwrap();
        assert_eq!(again.request_hash, first.request_hash);
        let other = claim("order-42", r#"{"name": "b", "description": "d"}"#)
            .unwrap()
            .unwrap();
        assert_ne!(other.request_hash, first.request_hash);
        assert_eq!(idempotency_claim(None, b"{}").unwrap(), None);
        for bad in ["", &"k".repeat(256), "tab\there", "caf\u{e9}", "nul\u{0}"] {
            assert!(
                matches!(claim(bad, "{}"), Err(ServiceError::InvalidRequest(_))),
                "{bad:?}"
            );
        }
        assert!(claim(&"k".repeat(255), "{}").unwrap().is_some());
        assert!(claim(" ~!", "{}").unwrap().is_some());
    }

    #[test]
    fn page_limits() {
        assert_eq!(page_limit(None).unwrap(), None);
        assert_eq!(page_limit(Some("1")).unwrap(), Some(1));
        assert_eq!(page_limit(Some("100")).unwrap(), Some(100));
        for bad in ["0", "101", "-1", "ten", "", "1.5", " 5"] {
            assert!(page_limit(Some(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn accepts_the_documented_example() {
        let client = parse_new_client(
            br#"{"name": "My API Client", "description": "Client for accessing internal APIs"}"#,
        )
        .unwrap();
        assert_eq!(client.name, "My API Client");
        assert_eq!(client.description, "Client for accessing internal APIs");
    }

    #[test]
    fn trims_the_name_and_defaults_the_description() {
        let client = parse_new_client(br#"{"name": "  padded\u00e9  "}"#).unwrap();
        assert_eq!(client.name, "padded\u{e9}");
        assert_eq!(client.description, "");
    }

    #[test]
    fn limits_count_characters_not_bytes() {
        let name = "\u{e9}".repeat(MAX_NAME_CHARS);
        let description = "\u{1F600}".repeat(MAX_DESCRIPTION_CHARS);
        let body = serde_json::json!({"name": name, "description": description}).to_string();
        assert!(parse_new_client(body.as_bytes()).is_ok());
    }

    #[test]
    fn rejects_each_bad_body_with_a_message_naming_the_problem() {
        // The contract test sends the same bodies through the handler.
        let cases = test_support::bodies::invalid_create_bodies();
        for (body, expected) in cases {
            assert_eq!(message(&body), expected, "body: {body:.60}");
        }
    }

    #[test]
    fn a_key_is_an_spki_rsa_key_with_an_alg_and_a_future_expiry() {
        for (key, expected) in test_support::bodies::invalid_public_keys() {
            if !key.is_object() {
                continue;
            }
            match parse_new_key(key.to_string().as_bytes()) {
                Err(ServiceError::InvalidRequest(message)) => assert_eq!(message, expected),
                other => panic!("{expected}: {other:?}"),
            }
        }
        let pem = auth0_emulator::ClientKey::Max.public_pem();
        let body = serde_json::json!({"pem": pem, "alg": "PS256", "expires_at": "2099-01-31T02:00:00+02:00"});
        let key = parse_new_key(body.to_string().as_bytes()).unwrap();
        assert_eq!(key.alg, "PS256");
        // Kept in UTC, as the answers show it.
        assert_eq!(key.expires_at.as_deref(), Some("2099-01-31T00:00:00Z"));
        assert_eq!(
            key.thumbprint_sha256,
            auth0_emulator::ClientKey::Max.thumbprint()
        );
        let created = parse_new_client(
            serde_json::json!({"name": "k", "public_key": {"pem": pem, "alg": "RS384"}})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(created.public_key.unwrap().alg, "RS384");
    }

    #[test]
    fn scopes_are_an_optional_non_empty_array_of_distinct_strings() {
        let scopes = |body: &str| parse_new_client(body.as_bytes()).map(|c| c.scopes);
        assert_eq!(scopes(r#"{"name": "a"}"#).unwrap(), None);
        assert_eq!(
            scopes(r#"{"name": "a", "scopes": ["read:rooms", "read:hives"]}"#).unwrap(),
            Some(vec!["read:rooms".to_owned(), "read:hives".to_owned()])
        );
        for (body, expected) in [
            (
                r#"{"name": "a", "scopes": []}"#,
                "scopes must not be empty: leave it out for all scopes",
            ),
            (
                r#"{"name": "a", "scopes": "read:rooms"}"#,
                "scopes must be an array of strings",
            ),
            (
                r#"{"name": "a", "scopes": null}"#,
                "scopes must be an array of strings",
            ),
            (
                r#"{"name": "a", "scopes": ["read:rooms", 1]}"#,
                "scopes must be an array of strings",
            ),
            (
                r#"{"name": "a", "scopes": ["read:rooms", "read:rooms"]}"#,
                "scope `read:rooms` is listed twice",
            ),
        ] {
            assert_eq!(message(body), expected, "{body}");
        }
    }

    #[test]
    fn chosen_scopes_are_among_the_allowed_in_their_order() {
        let allowed: Vec<String> = ["read:spaces", "read:rooms", "read:hives"]
            .map(str::to_owned)
            .to_vec();
        assert_eq!(choose_scopes(None, &allowed).unwrap(), allowed);
        let asked = ["read:hives".to_owned(), "read:spaces".to_owned()];
        assert_eq!(
            choose_scopes(Some(&asked), &allowed).unwrap(),
            ["read:spaces", "read:hives"]
        );
        let foreign = ["read:hives".to_owned(), "create:m2m_clients".to_owned()];
        assert!(matches!(
            choose_scopes(Some(&foreign), &allowed),
            Err(ServiceError::InvalidRequest(m)) if m == "scope `create:m2m_clients` is not one this service grants"
        ));
    }

    #[test]
    fn updates_take_name_or_description_under_creates_rules() {
        let update = parse_client_update(br#"{"name": "  Renamed "}"#).unwrap();
        assert_eq!(
            update,
            ClientUpdate {
                name: Some("Renamed".into()),
                description: None,
                scopes: None,
            }
        );
        let update = parse_client_update(br#"{"description": ""}"#).unwrap();
        assert_eq!(update.description.as_deref(), Some(""));
        let update = parse_client_update(br#"{"scopes": ["read:rooms"]}"#).unwrap();
        assert_eq!(update.scopes, Some(vec!["read:rooms".to_owned()]));
        assert!(!update.changes_profile());
        let refused = |body: &str| match parse_client_update(body.as_bytes()) {
            Err(ServiceError::InvalidRequest(message)) => message,
            other => panic!("expected INVALID_REQUEST for {body:?}, got {other:?}"),
        };
        let long_description = "d".repeat(MAX_DESCRIPTION_CHARS + 1);
        for (body, expected) in [
            ("".to_owned(), "request body is required"),
            ("[]".to_owned(), "request body must be a JSON object"),
            (
                "{}".to_owned(),
                "name, description or scopes is required: nothing to update",
            ),
            (r#"{"name": " "}"#.to_owned(), "client name is required"),
            (
                r#"{"name": null}"#.to_owned(),
                "client name must be a string",
            ),
            (
                r#"{"name": "a<b"}"#.to_owned(),
                "client name must not contain '<', '>' or control characters",
            ),
            (
                format!(r#"{{"description": "{long_description}"}}"#),
                "client description must be at most 140 characters",
            ),
            (
                r#"{"scopes": []}"#.to_owned(),
                "scopes must not be empty: leave it out for all scopes",
            ),
            (
                r#"{"scopes": ["read:rooms", "read:rooms"]}"#.to_owned(),
                "scope `read:rooms` is listed twice",
            ),
            (
                r#"{"name": "a", "scopes": "read:rooms"}"#.to_owned(),
                "scopes must be an array of strings",
            ),
            (
                r#"{"status": "disabled"}"#.to_owned(),
                "unknown field `status`: only name, description and scopes are accepted",
            ),
        ] {
            assert_eq!(refused(&body), expected, "{body}");
        }
    }
}
