//! The Authentication API: `/oauth/token` (client credentials, with a
//! secret or a Private Key JWT client assertion) and the JWKS.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use jsonwebtoken::{Algorithm, Header};
use serde_json::{Map, Value, json};

use super::assertion::{authenticate, invalid_client};
use super::{AppState, json_response, oauth_error, unix_now};
use crate::keys::public_jwk;
use crate::schema::Schema;
use crate::state::{Tenant, private_key_jwt};
use crate::{Shared, sign};

const ROUTE: &str = "POST /oauth/token";

/// Lifetime of the tokens issued to the tenant's applications (Auth0's
/// default for an API).
const APPLICATION_TOKEN_LIFETIME: u64 = 86400;

/// Records a request Auth0 would refuse as malformed, and refuses it.
fn invalid_request(shared: &Shared, problem: &str) -> Response {
    shared
        .tenant()
        .violations
        .push(format!("{ROUTE}: {problem}"));
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", problem)
}

/// The request's parameters, from either of the two encodings Auth0 takes.
fn parameters(shared: &Shared, headers: &HeaderMap, body: &Bytes) -> Result<Value, Response> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if is_form {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|_| invalid_request(shared, "Malformed form body"))?;
        let mut fields = Map::new();
        for (name, value) in pairs {
            if fields.insert(name.clone(), Value::from(value)).is_some() {
                return Err(invalid_request(
                    shared,
                    &format!("Parameter {name} given more than once"),
                ));
            }
        }
        Ok(Value::Object(fields))
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(value) if value.is_object() => Ok(value),
            _ => Err(invalid_request(shared, "Invalid JSON body")),
        }
    }
}

/// The 403 for an API the application has no grant for (no grant ever, or
/// its grant deleted). Auth0 has reworded the description over the years:
/// `Client is not authorized to access "<audience>". You might probably
/// want to create a "client-grant" …` in reports from 2018, `… You need to
/// create a "client-grant" associated to this API. See: <link>` in 2024, and
/// the wording below, naming the client, in reports from 2025 and 2026.
/// Only `error` and the status have stayed; a caller should not parse the
/// description.
fn not_authorized(client_id: &str, audience: &str) -> Response {
    oauth_error(
        StatusCode::FORBIDDEN,
        "access_denied",
        &format!(
            "Client \"{client_id}\" is not authorized to access resource server \"{audience}\". You need to create a \"client-grant\" associated to this API."
        ),
    )
}

fn unknown_audience(audience: &str) -> Response {
    oauth_error(
        StatusCode::FORBIDDEN,
        "access_denied",
        &format!("Service not enabled within domain: {audience}"),
    )
}

/// The request checked against `ClientCredentialsGrant`. That schema
/// requires `client_id` and `client_secret`, yet Auth0 documents the
/// assertion request without either (RFC 7523 puts the client in the
/// assertion): with `client_assertion`, the two may be absent, the one
/// allowance beyond the schema here (schemas/README.md). A secret and an
/// assertion together are two ways to authenticate at once, which OAuth
/// refuses.
fn check_request(shared: &Shared, request: &Value) -> Result<(), Response> {
    let assertion = request.get("client_assertion").is_some();
    let assertion_type = request.get("client_assertion_type").is_some();
    let mut checked = request.clone();
    if assertion {
        if request.get("client_secret").is_some() {
            return Err(invalid_request(
                shared,
                "client_secret and client_assertion are two client authentications; send one",
            ));
        }
        for absent in ["client_id", "client_secret"] {
            if checked.get(absent).is_none() {
                checked[absent] = Value::from("");
            }
        }
    }
    if assertion != assertion_type {
        return Err(invalid_request(
            shared,
            "client_assertion and client_assertion_type go together",
        ));
    }
    Schema::ClientCredentialsGrant
        .check(&checked)
        .map_err(|problem| invalid_request(shared, &problem))
}

pub async fn token(State(shared): AppState, headers: HeaderMap, body: Bytes) -> Response {
    let request = match parameters(&shared, &headers, &body) {
        Ok(request) => request,
        Err(response) => return response,
    };
    // Another grant type is a request Auth0 understands but this tenant's
    // applications may not use; only client credentials are checked
    // against their schema.
    if let Some(other) = request["grant_type"]
        .as_str()
        .filter(|g| *g != "client_credentials")
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("Unsupported grant type: {other}"),
        );
    }
    if let Err(response) = check_request(&shared, &request) {
        return response;
    }
    let client_id = request["client_id"].as_str();
    let client_secret = request["client_secret"].as_str().unwrap_or_default();
    let Some(audience) = request["audience"].as_str() else {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "access_denied",
            "No audience parameter was provided, and no default audience has been configured",
        );
    };
    let management_audience = format!("{}/api/v2/", shared.base_url);

    let mut tenant = shared.tenant();
    let known_audience = audience == management_audience
        || audience == tenant.config.caller_audience
        || tenant.config.resource_servers.iter().any(|r| r == audience);

    if let Some(assertion) = request["client_assertion"].as_str() {
        return match authenticate(&mut tenant, &shared.base_url, assertion, client_id) {
            Ok(client_id) => issue(&shared, tenant, &client_id, audience, known_audience),
            Err(refused) => refused,
        };
    }
    let client_id = client_id.unwrap_or_default();
    if client_id == tenant.config.management_client_id {
        if client_secret != tenant.config.management_client_secret {
            return oauth_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
        }
        if !known_audience {
            return unknown_audience(audience);
        }
        if audience != management_audience {
            return not_authorized(client_id, audience);
        }
        let access_token = tenant.issue_management_token();
        let expires_in = tenant.config.management_token_lifetime.as_secs();
        return json_response(
            StatusCode::OK,
            &json!({
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": expires_in,
                "scope": tenant.config.management_scopes,
            }),
        );
    }

    // An application of the tenant asking for a token to one of its APIs.
    let Some(client) = tenant.client(client_id) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
    };
    // Auth0 hides the secret of a client on Private Key JWT and takes only
    // assertions from it (the wording of its refusal is not documented).
    if private_key_jwt(client).is_some() {
        return invalid_client(
            "the client authenticates with private_key_jwt; client_secret is not accepted",
        );
    }
    if client["client_secret"] != client_secret {
        return oauth_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
    }
    issue(&shared, tenant, client_id, audience, known_audience)
}

/// The access token of the authenticated application `client_id` for
/// `audience`: its grant's scopes, signed with the tenant's key.
fn issue(
    shared: &Shared,
    tenant: std::sync::MutexGuard<'_, Tenant>,
    client_id: &str,
    audience: &str,
    known_audience: bool,
) -> Response {
    let Some(client) = tenant.client(client_id) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
    };
    let may_use_client_credentials = client["grant_types"]
        .as_array()
        .is_some_and(|types| types.iter().any(|t| t == "client_credentials"));
    if !may_use_client_credentials {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            "Grant type 'client_credentials' not allowed for the client.",
        );
    }
    if !known_audience {
        return unknown_audience(audience);
    }
    let grant = tenant
        .grants
        .iter()
        .find(|g| g["client_id"] == client_id && g["audience"] == audience);
    let scope = match grant {
        Some(grant) => grant["scope"]
            .as_array()
            .map(|scopes| {
                scopes
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default(),
        // The service's callers are the tenant's M2M applications: any of
        // them may call it.
        None if audience == tenant.config.caller_audience => String::new(),
        None => return not_authorized(client_id, audience),
    };
    let key = tenant.signing_key;
    drop(tenant);

    let now = unix_now();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid().to_owned());
    let mut claims = json!({
        "iss": format!("{}/", shared.base_url),
        "sub": format!("{client_id}@clients"),
        "aud": audience,
        "iat": now,
        "exp": now + APPLICATION_TOKEN_LIFETIME,
        "azp": client_id,
        "gty": "client-credentials",
    });
    let mut answer = json!({
        "access_token": "",
        "token_type": "Bearer",
        "expires_in": APPLICATION_TOKEN_LIFETIME,
    });
    if !scope.is_empty() {
        claims["scope"] = Value::from(scope.as_str());
        answer["scope"] = Value::from(scope);
    }
    answer["access_token"] = Value::from(sign(&header, &claims, key));
    json_response(StatusCode::OK, &answer)
}

pub async fn jwks(State(shared): AppState) -> Response {
    let keys: Vec<Value> = shared
        .tenant()
        .published_keys
        .iter()
        .map(|key| public_jwk(*key))
        .collect();
    json_response(StatusCode::OK, &json!({ "keys": keys }))
}
