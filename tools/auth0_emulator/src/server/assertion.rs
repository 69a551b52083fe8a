//! Private Key JWT at `/oauth/token`: the client assertion (RFC 7523)
//! checked as Auth0 documents it
//! (<https://auth0.com/docs/get-started/authentication-and-authorization-flow/authenticate-with-private-key-jwt>):
//! `iss` and `sub` the client id; `aud` the tenant's URL with its trailing
//! slash (Auth0's support articles also use the token endpoint's URL); `exp`
//! not past and at most 5 minutes after `iat` (or now); `iat` and `nbf`, if
//! given, at most 10 seconds ahead; a `jti` used once; the header's `alg`
//! the credential's; signed by one of the credentials the client has
//! enabled and not expired (the one its `kid` names, or each in turn); at
//! most 2048 bytes, `iss`, `sub` and `jti` at most 64 characters.
//!
//! Auth0 answers a failed client authentication with OAuth's
//! `invalid_client` (its logs say "Failed client authentication" with the
//! reason); the reasons below are the emulator's words.

use axum::http::StatusCode;
use axum::response::Response;
use jsonwebtoken::{Algorithm, Validation, decode, decode_header};
use serde_json::Value;

use super::{oauth_error, unix_now};
use crate::clock::now_millis;
use crate::state::{Credential, Tenant, private_key_jwt};

/// The clock skew Auth0 allows on `iat` and `nbf`.
const SKEW_SECS: u64 = 10;
/// The longest life Auth0 gives an assertion.
const MAX_LIFETIME_SECS: u64 = 300;
const MAX_ASSERTION_BYTES: usize = 2048;
const MAX_CLAIM_CHARS: usize = 64;

/// What a credential must meet to verify an assertion, and the refusal
/// when none of the client's does.
type Rule<'a> = (&'a dyn Fn(&Credential) -> bool, &'static str);

/// The 401 of a client assertion Auth0 does not accept.
pub(crate) fn invalid_client(reason: &str) -> Response {
    oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", reason)
}

/// The client `assertion` authenticates, its `jti` now used. `client_id`
/// is the request's parameter (optional with an assertion; if given, the
/// assertion's). `base_url` is the tenant's, without a trailing slash.
pub(crate) fn authenticate(
    tenant: &mut Tenant,
    base_url: &str,
    assertion: &str,
    client_id: Option<&str>,
) -> Result<String, Response> {
    if assertion.len() > MAX_ASSERTION_BYTES {
        return Err(invalid_client("client_assertion is longer than 2048 bytes"));
    }
    let header =
        decode_header(assertion).map_err(|_| invalid_client("client_assertion is not a JWT"))?;
    let claims: Value = jsonwebtoken::dangerous::insecure_decode_claims(assertion)
        .map_err(|_| invalid_client("client_assertion is not a JWT"))?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let issuer = text("iss")
        .filter(|iss| (1..=MAX_CLAIM_CHARS).contains(&iss.len()))
        .ok_or_else(|| invalid_client("iss must be the client id"))?;
    if text("sub") != Some(issuer) {
        return Err(invalid_client("sub must be the client id, as iss"));
    }
    if client_id.is_some_and(|id| id != issuer) {
        return Err(invalid_client("client_id and the assertion's iss differ"));
    }
    let enabled = tenant
        .client(issuer)
        .and_then(private_key_jwt)
        .unwrap_or_default();
    if enabled.is_empty() {
        return Err(invalid_client(
            "the client has no credentials enabled for private_key_jwt",
        ));
    }
    let alg = algorithm_name(header.alg);
    let now = now_millis();
    let mut candidates: Vec<&Credential> = tenant
        .credentials_of(issuer)
        .filter(|credential| enabled.contains(&credential.id))
        .collect();
    // Narrowed step by step, so that a refusal says which rule no key met.
    let rules: [Rule<'_>; 3] = [
        (
            &|credential| header.kid.as_ref().is_none_or(|kid| *kid == credential.kid),
            "no enabled credential has the assertion's kid",
        ),
        (
            &|credential| Some(credential.alg.as_str()) == alg,
            "the assertion's alg is not the alg of an enabled credential",
        ),
        (
            &|credential| !credential.expired(now),
            "the credential has expired",
        ),
    ];
    for (keep, refusal) in rules {
        candidates.retain(|credential| keep(credential));
        if candidates.is_empty() {
            return Err(invalid_client(refusal));
        }
    }
    // The signature only: the claims are checked below, in Auth0's terms.
    let mut signature_only = Validation::new(header.alg);
    signature_only.required_spec_claims.clear();
    signature_only.validate_exp = false;
    signature_only.validate_aud = false;
    let signed = candidates
        .iter()
        .any(|credential| decode::<Value>(assertion, &credential.key.key, &signature_only).is_ok());
    if !signed {
        return Err(invalid_client(
            "the assertion's signature matches no enabled credential",
        ));
    }
    let exp = check_claims(&claims, base_url)?;
    let jti = text("jti")
        .filter(|jti| (1..=MAX_CLAIM_CHARS).contains(&jti.len()))
        .ok_or_else(|| invalid_client("jti must be a string of 1 to 64 characters"))?;
    let key = (issuer.to_owned(), jti.to_owned());
    let now_secs = unix_now();
    tenant
        .used_assertions
        .retain(|_, expiry| *expiry >= now_secs);
    if tenant.used_assertions.contains_key(&key) {
        return Err(invalid_client("jti has been used before"));
    }
    tenant.used_assertions.insert(key, exp);
    Ok(issuer.to_owned())
}

/// `aud`, `exp`, `iat` and `nbf`; returns `exp`.
fn check_claims(claims: &Value, base_url: &str) -> Result<u64, Response> {
    let accepted = [format!("{base_url}/"), format!("{base_url}/oauth/token")];
    let audience_ok = match &claims["aud"] {
        Value::String(aud) => accepted.contains(aud),
        Value::Array(auds) => auds.iter().any(|aud| {
            aud.as_str()
                .is_some_and(|aud| accepted.iter().any(|a| a == aud))
        }),
        _ => false,
    };
    if !audience_ok {
        return Err(invalid_client(&format!(
            "aud must be the tenant's URL, {}",
            accepted.first().map_or("", String::as_str)
        )));
    }
    let now = unix_now();
    let exp = claims["exp"]
        .as_u64()
        .ok_or_else(|| invalid_client("exp is required"))?;
    if exp <= now {
        return Err(invalid_client("the assertion has expired"));
    }
    let iat = claims.get("iat").map(Value::as_u64);
    let issued = match iat {
        None => now,
        Some(Some(iat)) if iat <= now + SKEW_SECS => iat,
        Some(_) => return Err(invalid_client("iat must be a time not in the future")),
    };
    if exp.saturating_sub(issued) > MAX_LIFETIME_SECS {
        return Err(invalid_client(
            "'exp' claim must specify a time that is no more than 5 minutes after 'iat'",
        ));
    }
    match claims.get("nbf").map(Value::as_u64) {
        None => Ok(exp),
        Some(Some(nbf)) if nbf <= now + SKEW_SECS => Ok(exp),
        Some(_) => Err(invalid_client("the assertion is not valid yet (nbf)")),
    }
}

/// The credential `alg` an assertion's header names, if one credentials
/// can have.
fn algorithm_name(alg: Algorithm) -> Option<&'static str> {
    match alg {
        Algorithm::RS256 => Some("RS256"),
        Algorithm::RS384 => Some("RS384"),
        Algorithm::PS256 => Some("PS256"),
        _ => None,
    }
}
