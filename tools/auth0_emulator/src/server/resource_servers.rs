//! `/api/v2/resource-servers` (the tenant's APIs): list, create, update and
//! delete, as Auth0's Deploy CLI (`a0deploy import`) uses them.
//!
//! The tenant starts with the APIs of `EmulatorConfig::resource_servers`
//! and Auth0's own system API, the Management API (`is_system: true`,
//! identifier `<base URL>/api/v2/`), which every tenant has and which
//! applications can be granted. An API created here becomes an audience
//! that grants and tokens accept (`EmulatorConfig::resource_servers` is the
//! list those checks read); a deleted one stops being one.
//!
//! Not emulated: Auth0's guard on the system API's fields (it is stored
//! like any other), and what becomes of an API's client grants when the API
//! is deleted (they are left as they were; Auth0 does not document it).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use super::paging::list_page;
use super::query::{INCLUDE_FIELDS, INCLUDE_TOTALS, PAGE, PER_PAGE, Param, Query};
use super::{
    AppState, ErrorMessage, auth0_error, authorize, by_id, checked_body, insufficient_scope,
    json_response,
};
use crate::schema::Schema;
use crate::state::Tenant;
use crate::{Route, Shared};

const CREATE: &str = "POST /api/v2/resource-servers";
const UPDATE: &str = "PATCH /api/v2/resource-servers/{id}";

const RESOURCE_SERVER_NOT_FOUND: ErrorMessage = (
    "The resource server does not exist",
    "inexistent_resource_server",
);

/// The Management API's name in every tenant (the Deploy CLI leaves the API
/// of this name alone, and refuses to configure it).
pub const MANAGEMENT_API_NAME: &str = "Auth0 Management API";

/// `GET /api/v2/resource-servers`'s parameters, with the descriptions Auth0
/// publishes (node-auth0 6.4.0, `ListResourceServerRequestParameters`,
/// generated from the published document). `identifiers` may be repeated
/// (at most 10) and is read apart from these.
const LIST_PARAMS: &[Param] = &[PAGE, PER_PAGE, INCLUDE_TOTALS, INCLUDE_FIELDS];

const IDENTIFIERS: &str = "identifiers";
const MAX_IDENTIFIERS: usize = 10;

/// Stores the APIs the tenant starts with: the configured ones and the
/// Management API, which grants may then name as their audience.
pub(crate) fn seed(shared: &Shared) {
    let management_api = format!("{}/api/v2/", shared.base_url);
    let mut tenant = shared.tenant();
    let configured = tenant.config.resource_servers.clone();
    for identifier in configured {
        let record = new_record(&mut tenant, &json!({"identifier": identifier}));
        tenant.apis.push(record);
    }
    let mut system = new_record(
        &mut tenant,
        &json!({"identifier": management_api, "name": MANAGEMENT_API_NAME}),
    );
    system["is_system"] = Value::Bool(true);
    // Auth0 signs Management API tokens with its RS256 keys.
    system["signing_alg"] = Value::from("RS256");
    tenant.apis.push(system);
    tenant.config.resource_servers.push(management_api);
}

/// A stored API: the request's fields over Auth0's defaults for a new API
/// (the published schema's `signing_alg` default, HS256, among them).
fn new_record(tenant: &mut Tenant, fields: &Value) -> Value {
    let id = tenant.random_string(b"0123456789abcdef", 24);
    let identifier = fields["identifier"].as_str().unwrap_or_default();
    let mut record = json!({
        "id": id,
        "name": identifier,
        "identifier": identifier,
        "is_system": false,
        "scopes": [],
        "signing_alg": "HS256",
        "allow_offline_access": false,
        "skip_consent_for_verifiable_first_party_clients": false,
        "token_lifetime": 86400,
        "token_lifetime_for_web": 7200,
        "enforce_policies": false,
        "token_dialect": "access_token",
    });
    if let (Some(record), Some(fields)) = (record.as_object_mut(), fields.as_object()) {
        for (key, value) in fields {
            record.insert(key.clone(), value.clone());
        }
    }
    record
}

/// The bearer check, then Auth0's scope check for `route`.
fn authorized(shared: &Shared, headers: &HeaderMap, route: Route) -> Result<(), Response> {
    authorize(shared, headers)?;
    if !shared.tenant().granted_any(super::scopes(route)) {
        return Err(insufficient_scope(route));
    }
    Ok(())
}

pub async fn list(
    State(shared): AppState,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, Response> {
    authorized(&shared, &headers, Route::ListResourceServers)?;
    // `identifiers` repeats; the other parameters are checked as published.
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or_default()).unwrap_or_default();
    let (identifiers, rest): (Vec<_>, Vec<_>) =
        pairs.into_iter().partition(|(name, _)| name == IDENTIFIERS);
    if identifiers.len() > MAX_IDENTIFIERS {
        return Err(auth0_error(
            StatusCode::BAD_REQUEST,
            &format!(
                "Query validation error: 'Array is too long ({}), maximum {MAX_IDENTIFIERS}' on property identifiers.",
                identifiers.len()
            ),
            "invalid_query_string",
        ));
    }
    let rest = serde_urlencoded::to_string(rest).unwrap_or_default();
    let query = Query::parse(Some(&rest), LIST_PARAMS)?;
    let tenant = shared.tenant();
    let matching: Vec<&Value> = tenant
        .apis
        .iter()
        .filter(|api| {
            identifiers.is_empty()
                || identifiers
                    .iter()
                    .any(|(_, identifier)| api["identifier"] == identifier.as_str())
        })
        .collect();
    list_page(&query, "resource_servers", &matching, Value::clone)
}

pub async fn create(
    State(shared): AppState,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    authorized(&shared, &headers, Route::CreateResourceServer)?;
    let request = checked_body(&shared, CREATE, Schema::CreateResourceServerRequest, &body)?;
    let identifier = request["identifier"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut tenant = shared.tenant();
    if tenant
        .apis
        .iter()
        .any(|api| api["identifier"] == identifier)
    {
        return Err(auth0_error(
            StatusCode::CONFLICT,
            "A resource server with the same identifier already exists",
            "conflict",
        ));
    }
    let record = new_record(&mut tenant, &request);
    tenant.apis.push(record.clone());
    tenant.config.resource_servers.push(identifier);
    Ok(json_response(StatusCode::CREATED, &record))
}

/// Sets the fields the body names; the identifier cannot change (the
/// update schema has none).
pub async fn update(
    State(shared): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    authorized(&shared, &headers, Route::UpdateResourceServer)?;
    let request = checked_body(&shared, UPDATE, Schema::UpdateResourceServerRequest, &body)?;
    let mut tenant = shared.tenant();
    let api = by_id(&mut tenant.apis, &id, RESOURCE_SERVER_NOT_FOUND)?;
    if let (Some(stored), Value::Object(fields)) = (api.as_object_mut(), request) {
        stored.extend(fields);
    }
    Ok(json_response(StatusCode::OK, api))
}

/// Deletes the API: from then on no grant or token can name it. 204
/// whether or not it existed (the published schema lists no 404 here).
pub async fn delete(
    State(shared): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    authorized(&shared, &headers, Route::DeleteResourceServer)?;
    let mut tenant = shared.tenant();
    let removed: Vec<Value> = tenant
        .apis
        .extract_if(.., |api| api["id"] == id.as_str())
        .collect();
    for api in removed {
        tenant
            .config
            .resource_servers
            .retain(|identifier| api["identifier"] != identifier.as_str());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
