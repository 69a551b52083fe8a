//! Caller authentication: a Bearer JWT, RS256-signed by a key of the issuer's
//! JWKS, with the issuer and audience we expect. The caller's identity (the
//! owner of what it creates) comes from the token and nowhere else.

mod jwks;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::Value;

pub use jwks::{JWKS_FETCH_TIMEOUT, JWKS_REFETCH_INTERVAL, JwksCache};

use crate::config::Config;
use crate::domain::Owner;
use crate::error::AuthError;

/// Tokens longer than this are refused without being decoded.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 30;
/// Owners are stored in Auth0 client metadata, whose values hold 255 characters.
const MAX_OWNER_CHARS: usize = 255;
/// Longer `kid`s are not looked up (nor allowed to trigger a JWKS fetch).
const MAX_KID_BYTES: usize = 256;

/// Verifies callers' tokens. Built once per container.
pub struct Authenticator {
    jwks: JwksCache,
    validation: Validation,
}

/// The claims that name the caller. They are read as loose JSON values so
/// that a token whose `client_id` is, say, a number is "valid but missing
/// client_id" rather than undecodable.
#[derive(Deserialize)]
struct IdentityClaims {
    /// Checked by jsonwebtoken too, which also accepts an array containing
    /// the issuer; RFC 7519 says a string, and so do we.
    iss: Option<Value>,
    client_id: Option<Value>,
    azp: Option<Value>,
    gty: Option<Value>,
}

impl Authenticator {
    pub fn new(config: &Config, http: reqwest::Client) -> Self {
        let mut validation = Validation::new(Algorithm::RS256);
        // jsonwebtoken only checks `iss` and `aud` when present unless they
        // are required, does not check `nbf` by default and allows 60 s of
        // leeway: set every one of these explicitly.
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&[&config.jwt_issuer]);
        validation.set_audience(&[&config.jwt_audience]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.leeway = LEEWAY_SECONDS;
        Authenticator {
            jwks: JwksCache::new(http, config.jwks_url.clone()),
            validation,
        }
    }

    pub fn jwks(&self) -> &JwksCache {
        &self.jwks
    }

    /// Checks the `Authorization` header value (`None` when absent) and
    /// returns the caller it proves.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Owner, AuthError> {
        let token = bearer_token(authorization)?;
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| AuthError::Invalid("undecodable header"))?;
        if header.alg != Algorithm::RS256 {
            return Err(AuthError::Invalid("algorithm not allowed"));
        }
        let kid = header.kid.ok_or(AuthError::Invalid("no kid"))?;
        if kid.is_empty() || kid.len() > MAX_KID_BYTES {
            return Err(AuthError::Invalid("unusable kid"));
        }
        let key = self
            .jwks
            .key(&kid)
            .await
            .ok_or(AuthError::Invalid("unknown signing key"))?;
        let claims = jsonwebtoken::decode::<IdentityClaims>(token, &key, &self.validation)
            .map_err(|error| AuthError::Invalid(rejection_reason(error.kind())))?
            .claims;
        if !matches!(claims.iss, Some(Value::String(_))) {
            return Err(AuthError::Invalid("issuer is not a string"));
        }
        owner_of(claims)
    }
}

/// Extracts the token from `Bearer <token>` (scheme case-insensitive).
fn bearer_token(authorization: Option<&str>) -> Result<&str, AuthError> {
    let header = authorization.ok_or(AuthError::Malformed("no authorization header"))?;
    let (scheme, token) = header
        .trim()
        .split_once([' ', '\t'])
        .ok_or(AuthError::Malformed("not a bearer token"))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Malformed("not a bearer token"));
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthError::Malformed("empty token"));
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::Malformed("token too large"));
    }
    if token.split('.').count() != 3 {
        return Err(AuthError::Malformed("not three dot-separated parts"));
    }
    Ok(token)
}

/// The owner is the RFC 9068 `client_id`, or else Auth0's `azp` of a
/// client-credentials token.
fn owner_of(claims: IdentityClaims) -> Result<Owner, AuthError> {
    let identity = match claims.client_id {
        Some(client_id) => client_id,
        None => match (claims.gty, claims.azp) {
            (Some(Value::String(gty)), Some(azp)) if gty == "client-credentials" => azp,
            _ => return Err(AuthError::MissingOwner),
        },
    };
    match identity {
        Value::String(id)
            if !id.trim().is_empty()
                && id.chars().count() <= MAX_OWNER_CHARS
                && !id.chars().any(char::is_control) =>
        {
            Ok(Owner::new(id))
        }
        _ => Err(AuthError::MissingOwner),
    }
}

fn rejection_reason(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "expired",
        ErrorKind::ImmatureSignature => "not yet valid",
        ErrorKind::InvalidIssuer => "wrong issuer",
        ErrorKind::InvalidAudience => "wrong audience",
        ErrorKind::MissingRequiredClaim(_) => "missing required claim",
        ErrorKind::InvalidSignature => "bad signature",
        ErrorKind::InvalidAlgorithm => "algorithm not allowed",
        _ => "undecodable token",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bearer_parsing() {
        let token = "aaa.bbb.ccc";
        for ok in [
            "Bearer aaa.bbb.ccc",
            "bearer aaa.bbb.ccc",
            "BEARER   aaa.bbb.ccc  ",
            "Bearer\taaa.bbb.ccc",
        ] {
            assert_eq!(bearer_token(Some(ok)), Ok(token), "{ok:?}");
        }
        let oversized = format!("Bearer a.b.{}", "c".repeat(MAX_TOKEN_BYTES));
        for bad in [
            "",
            "Bearer",
            "Bearer ",
            "Basic dXNlcjpwYXNz",
            "Token aaa.bbb.ccc",
            "aaa.bbb.ccc",
            "Bearer aaa.bbb",
            "Bearer aaa.bbb.ccc.ddd",
            "Bearer aaa",
            oversized.as_str(),
        ] {
            assert!(
                matches!(bearer_token(Some(bad)), Err(AuthError::Malformed(_))),
                "{bad:.40?}"
            );
        }
        assert_eq!(
            bearer_token(None),
            Err(AuthError::Malformed("no authorization header"))
        );
    }

    fn claims(value: Value) -> IdentityClaims {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn owner_from_client_id_or_azp_with_gty() {
        let owner = |value| owner_of(claims(value)).map(|o| o.as_str().to_owned());
        assert_eq!(owner(json!({"client_id": "abc"})), Ok("abc".into()));
        assert_eq!(
            owner(json!({"client_id": "abc", "azp": "other", "gty": "client-credentials"})),
            Ok("abc".into())
        );
        assert_eq!(
            owner(json!({"azp": "xyz", "gty": "client-credentials"})),
            Ok("xyz".into())
        );
        // A null client_id is no client_id: Auth0's own identity claims decide.
        assert_eq!(
            owner(json!({"client_id": null, "azp": "xyz", "gty": "client-credentials"})),
            Ok("xyz".into())
        );
        for missing in [
            json!({}),
            json!({"azp": "xyz"}),
            json!({"azp": "xyz", "gty": "password"}),
            json!({"azp": "xyz", "gty": ["client-credentials"]}),
            json!({"gty": "client-credentials"}),
            json!({"client_id": ""}),
            json!({"client_id": "   "}),
            json!({"client_id": 42}),
            json!({"client_id": ["abc"]}),
            json!({"client_id": "a\u{0}b"}),
            json!({"client_id": "x".repeat(256)}),
            json!({"azp": "", "gty": "client-credentials"}),
            json!({"azp": 7, "gty": "client-credentials"}),
        ] {
            assert_eq!(
                owner(missing.clone()),
                Err(AuthError::MissingOwner),
                "{missing}"
            );
        }
    }
}
