//! Callers: who they are (authentication: a Bearer JWT, RS256-signed by a
//! key of the issuer's JWKS, with the issuer and audience we expect, issued
//! to an application for itself) and what they may do (authorization: the
//! route's permission, in the token's `scope` or `permissions`). The
//! caller's identity, the owner of what it creates, comes from the token and
//! nowhere else (docs/behaviour.md, "Authentication" and "Authorization").

mod jwks;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::Value;

pub use jwks::{JWKS_FETCH_TIMEOUT, JWKS_REFETCH_INTERVAL, JwksCache};

use crate::config::Config;
use crate::domain::Owner;
use crate::error::{AuthError, ServiceError};
use crate::routes::Permission;

/// Tokens longer than this are refused without being decoded.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 30;
/// Longer `kid`s are not looked up (nor allowed to trigger a JWKS fetch).
const MAX_KID_BYTES: usize = 256;

/// The `gty` of Auth0's client-credentials tokens.
const CLIENT_CREDENTIALS: &str = "client-credentials";

/// Verifies callers' tokens. Built once per container.
pub struct Authenticator {
    jwks: JwksCache,
    validation: Validation,
    /// `REQUIRE_CALLER_SCOPES`: whether a route's permission is checked.
    require_permissions: bool,
}

/// A verified caller: the application the token was issued to, and the
/// permissions it was granted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub owner: Owner,
    pub permissions: Vec<Permission>,
}

/// The claims that name the caller and its permissions. They are read as
/// loose JSON values so that a token whose `client_id` is, say, a number is
/// "valid but missing client_id" rather than undecodable.
#[derive(Deserialize)]
struct CallerClaims {
    /// Checked by jsonwebtoken too, which also accepts an array containing
    /// the issuer; RFC 7519 says a string, and so do we.
    iss: Option<Value>,
    sub: Option<Value>,
    client_id: Option<Value>,
    azp: Option<Value>,
    gty: Option<Value>,
    scope: Option<Value>,
    permissions: Option<Value>,
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
            require_permissions: config.require_caller_scopes,
        }
    }

    /// The owner behind the `Authorization` header value (`None` when
    /// absent), if its token grants `needed`: 401 before 403.
    pub async fn authorize(
        &self,
        authorization: Option<&str>,
        needed: Permission,
    ) -> Result<Owner, ServiceError> {
        let caller = self.authenticate(authorization).await?;
        if self.require_permissions && !caller.permissions.contains(&needed) {
            return Err(ServiceError::InsufficientScope {
                needed: needed.as_str(),
            });
        }
        Ok(caller.owner)
    }

    pub fn jwks(&self) -> &JwksCache {
        &self.jwks
    }

    /// Checks the `Authorization` header value (`None` when absent) and
    /// returns the caller it proves.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Caller, AuthError> {
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
        let claims = jsonwebtoken::decode::<CallerClaims>(token, &key, &self.validation)
            .map_err(|error| AuthError::Invalid(rejection_reason(error.kind())))?
            .claims;
        if !matches!(claims.iss, Some(Value::String(_))) {
            return Err(AuthError::Invalid("issuer is not a string"));
        }
        Ok(Caller {
            permissions: permissions_of(&claims),
            owner: owner_of(claims)?,
        })
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

/// The owner: only an application calling for itself, never a user, even
/// in a token issued to an application on the user's behalf.
///
/// - RFC 9068's `client_id`, when `sub` is that same client (`sub` equal to
///   it, RFC 9068 §2.2, or to it plus `@clients`, Auth0's form). A user's
///   token under that profile carries the application's `client_id` too,
///   with the user as `sub`.
/// - Else Auth0's default dialect: `azp` when `gty` is `client-credentials`
///   and `sub` is `azp` plus `@clients`.
/// - A `gty` other than `client-credentials` is never a caller, whatever
///   else the token holds.
fn owner_of(claims: CallerClaims) -> Result<Owner, AuthError> {
    let sub = match &claims.sub {
        Some(Value::String(sub)) => sub.as_str(),
        _ => return Err(AuthError::MissingOwner),
    };
    let client_credentials = match &claims.gty {
        None | Some(Value::Null) => false,
        Some(Value::String(gty)) if gty == CLIENT_CREDENTIALS => true,
        Some(_) => return Err(AuthError::MissingOwner),
    };
    let names_itself = |id: &str| sub == id || sub.strip_suffix("@clients") == Some(id);
    let id = match (claims.client_id, claims.azp) {
        (Some(Value::String(id)), _) if names_itself(&id) => id,
        // A `client_id` that is not `sub`'s is someone else's: no fallback.
        (Some(Value::String(_)), _) => return Err(AuthError::MissingOwner),
        (None | Some(Value::Null), Some(Value::String(azp)))
            if client_credentials && sub.strip_suffix("@clients") == Some(azp.as_str()) =>
        {
            azp
        }
        _ => return Err(AuthError::MissingOwner),
    };
    Owner::parse(&id).ok_or(AuthError::MissingOwner)
}

/// The permissions among ours that the token grants, in `scope` (a
/// space-separated string, OAuth's form) or `permissions` (an array of
/// strings, Auth0's RBAC). Anything else there grants nothing.
fn permissions_of(claims: &CallerClaims) -> Vec<Permission> {
    let scope = match &claims.scope {
        Some(Value::String(scope)) => scope.split_whitespace().collect(),
        _ => Vec::new(),
    };
    let listed = match &claims.permissions {
        Some(Value::Array(values)) => values.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let mut permissions: Vec<Permission> = scope
        .into_iter()
        .chain(listed)
        .filter_map(Permission::from_name)
        .collect();
    permissions.sort();
    permissions.dedup();
    permissions
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

    fn claims(value: Value) -> CallerClaims {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn only_an_application_calling_for_itself_is_an_owner() {
        let owner = |value| owner_of(claims(value)).map(|o| o.as_str().to_owned());
        let cc = "client-credentials";
        for (token, expected) in [
            // RFC 9068: `sub` is the client itself, bare or Auth0's way.
            (json!({"client_id": "abc", "sub": "abc"}), "abc"),
            (json!({"client_id": "abc", "sub": "abc@clients"}), "abc"),
            (
                json!({"client_id": "abc", "sub": "abc@clients", "azp": "other", "gty": cc}),
                "abc",
            ),
            // Auth0's default dialect.
            (
                json!({"azp": "xyz", "sub": "xyz@clients", "gty": cc}),
                "xyz",
            ),
            // A null client_id is no client_id: Auth0's own identity claims decide.
            (
                json!({"client_id": null, "azp": "xyz", "sub": "xyz@clients", "gty": cc}),
                "xyz",
            ),
        ] {
            assert_eq!(owner(token.clone()), Ok(expected.to_owned()), "{token}");
        }
        for missing in [
            json!({}),
            // Users, in either dialect, whichever application they used.
            json!({"client_id": "abc", "sub": "auth0|user-1"}),
            json!({"client_id": "abc", "sub": "auth0|user-1", "azp": "abc", "gty": cc}),
            json!({"azp": "xyz", "sub": "auth0|user-1", "gty": cc}),
            json!({"azp": "xyz", "sub": "auth0|user-1"}),
            json!({"client_id": "abc", "sub": "abc", "gty": "password"}),
            json!({"client_id": "abc", "sub": "abc@clients", "gty": "refresh_token"}),
            // Another client's `sub`, or none at all.
            json!({"client_id": "abc", "sub": "other@clients"}),
            json!({"client_id": "abc", "sub": "abc@clients.example"}),
            json!({"azp": "xyz", "sub": "other@clients", "gty": cc}),
            json!({"azp": "xyz", "sub": "xyz", "gty": cc}),
            json!({"client_id": "abc"}),
            json!({"azp": "xyz", "gty": cc}),
            json!({"client_id": "abc", "sub": 7}),
            // `azp` without `gty` is never an owner.
            json!({"azp": "xyz", "sub": "xyz@clients"}),
            json!({"azp": "xyz", "sub": "xyz@clients", "gty": [cc]}),
            json!({"gty": cc, "sub": "@clients"}),
            // Unusable ids.
            json!({"client_id": "", "sub": ""}),
            json!({"client_id": "   ", "sub": "   "}),
            json!({"client_id": 42, "sub": "42"}),
            json!({"client_id": ["abc"], "sub": "abc"}),
            json!({"client_id": "a\u{0}b", "sub": "a\u{0}b"}),
            json!({"client_id": "x".repeat(256), "sub": "x".repeat(256)}),
            json!({"azp": "", "sub": "@clients", "gty": cc}),
            json!({"azp": 7, "sub": "7@clients", "gty": cc}),
        ] {
            assert_eq!(
                owner(missing.clone()),
                Err(AuthError::MissingOwner),
                "{missing}"
            );
        }
    }

    #[test]
    fn permissions_come_from_scope_or_permissions() {
        use Permission::*;
        let granted = |value| permissions_of(&claims(value));
        assert_eq!(granted(json!({})), []);
        assert_eq!(
            granted(json!({"scope": "openid read:m2m_clients  delete:m2m_clients"})),
            [Read, Delete]
        );
        assert_eq!(
            granted(json!({"permissions": ["create:m2m_clients", "read:other"]})),
            [Create]
        );
        assert_eq!(
            granted(
                json!({"scope": "read:m2m_clients", "permissions": ["read:m2m_clients", "update:m2m_clients"]})
            ),
            [Read, Update]
        );
        // Other shapes grant nothing, and names are exact.
        assert_eq!(granted(json!({"scope": ["read:m2m_clients"]})), []);
        assert_eq!(granted(json!({"permissions": "read:m2m_clients"})), []);
        assert_eq!(granted(json!({"permissions": [7, null]})), []);
        assert_eq!(
            granted(json!({"scope": "READ:m2m_clients read:m2m_clients:x"})),
            []
        );
    }
}
