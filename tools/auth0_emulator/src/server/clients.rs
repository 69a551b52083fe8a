//! `/api/v2/clients`: create, list, get, update, rotate the secret, and delete.
//! Their Private Key JWT settings are `auth_methods`'.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

use super::auth_methods;
use super::paging::list_page;
use super::query::{
    ANY_STRING, FIELDS, FROM, INCLUDE_FIELDS, INCLUDE_TOTALS, Kind, PAGE, Param, TAKE, param,
};
use super::{
    AppState, Authorized, CLIENT_CONFLICT, CheckedBody, CheckedQuery, ScopedId, auth0_error, check,
    client_not_found, error_answer, json_body, json_response, violation,
};
use crate::schema::Schema;
use crate::state::private_key_jwt;

const CREATE: &str = "POST /api/v2/clients";
const UPDATE: &str = "PATCH /api/v2/clients/{id}";

/// `GET /api/v2/clients`'s parameters, as published.
pub(super) const LIST_PARAMS: &[Param] = &[
    FIELDS,
    INCLUDE_FIELDS,
    PAGE,
    // Auth0's message quotes this description, not the schema's.
    param(
        "per_page",
        Kind::Int {
            min: 0,
            max: Some(100),
        },
        "Number of results per page. Defaults to 50.",
    ),
    INCLUDE_TOTALS,
    FROM,
    TAKE,
    param(
        "is_global",
        Kind::Bool,
        "Optional filter on the global client parameter.",
    ),
    param(
        "is_first_party",
        Kind::Bool,
        "Optional filter on whether or not a client is a first-party client.",
    ),
    param(
        "app_type",
        ANY_STRING,
        "Optional filter by a comma-separated list of application types.",
    ),
    param(
        "external_client_id",
        Kind::Str {
            min_len: 1,
            max_len: 120,
        },
        "Optional filter by the Client ID Metadata Document URI for CIMD-registered clients.",
    ),
    param("q", ANY_STRING, "Advanced Query in Lucene syntax."),
];

pub(super) const GET_PARAMS: &[Param] = &[FIELDS, INCLUDE_FIELDS];

/// Ids a tenant with custom client ids accepts (the service's
/// `client_{ksuid}` among them).
fn is_custom_client_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub async fn create_client(
    State(shared): AppState,
    _: Authorized,
    body: Bytes,
) -> Result<Response, Response> {
    let mut request = json_body(&shared, CREATE, &body)?;
    // `client_id` is the one property allowed beyond the published schema:
    // tenants with custom client ids accept it (docs/behaviour.md, "Auth0
    // calls"). It is checked here, the rest by the schema.
    let custom_id = request.as_object_mut().and_then(|o| o.remove("client_id"));
    check(&shared, CREATE, Schema::CreateClientRequest, &request)?;
    let custom_id = match custom_id {
        None => None,
        Some(Value::String(id)) if !id.is_empty() => Some(id),
        Some(other) => {
            return Err(violation(
                &shared,
                CREATE,
                &format!("'Expected a non-empty string but found {other}' on property client_id."),
            ));
        }
    };

    let mut tenant = shared.tenant();
    if let Some(id) = custom_id {
        // Tenants without the feature refuse any custom id: an expected
        // answer the service handles, not a violation.
        if !tenant.config.custom_client_ids {
            return Err(auth0_error(
                StatusCode::FORBIDDEN,
                "Custom client_id is not supported for this tenant",
                "operation_not_supported",
            ));
        }
        if !is_custom_client_id(&id) {
            drop(tenant);
            return Err(violation(
                &shared,
                CREATE,
                &format!(
                    "'String does not match pattern ^[A-Za-z0-9_-]{{1,64}}$: {id}' on property client_id."
                ),
            ));
        }
        if tenant.client(&id).is_some() {
            return Err(error_answer(StatusCode::CONFLICT, CLIENT_CONFLICT));
        }
        request["client_id"] = Value::from(id);
    }
    let client_id = match request["client_id"].as_str() {
        Some(id) => id.to_owned(),
        None => tenant.new_client_id(),
    };
    request["client_id"] = Value::from(client_id.as_str());
    let uses_keys = match auth_methods::on_create(&mut tenant, &client_id, &mut request) {
        Ok(uses_keys) => uses_keys,
        Err(refusal) => {
            drop(tenant);
            return Err(refusal.answer(&shared, CREATE));
        }
    };
    let mut record = tenant.client_record(request);
    if uses_keys && let Some(map) = record.as_object_mut() {
        map.remove("token_endpoint_auth_method");
    }
    tenant.clients.push(record.clone());
    // The secret is in this answer and in no read; a client on Private Key
    // JWT has it hidden from the start.
    Ok(json_response(
        StatusCode::CREATED,
        &project(&record, None, true, true),
    ))
}

/// What a read shows of a client: its secret only to a management
/// application granted `read:client_keys`, and never while the client uses
/// Private Key JWT, then `fields` kept (`include_fields=true`) or dropped.
fn project(client: &Value, fields: Option<&[String]>, include: bool, keys: bool) -> Value {
    let uses_keys = private_key_jwt(client).is_some();
    let mut client = client.clone();
    if let Some(map) = client.as_object_mut() {
        if !keys || uses_keys {
            map.remove("client_secret");
        }
        if let Some(fields) = fields {
            map.retain(|key, _| fields.contains(key) == include);
        }
    }
    client
}

pub async fn list_clients(
    State(shared): AppState,
    CheckedQuery(query): CheckedQuery,
) -> Result<Response, Response> {
    if query.str("q").is_some() {
        // Lucene queries over client grants are beyond this emulator; say
        // so rather than answer wrongly.
        return Err(auth0_error(
            StatusCode::BAD_REQUEST,
            "Query validation error: 'q is not supported by the Auth0 emulator'.",
            "invalid_query_string",
        ));
    }
    let app_types: Option<Vec<&str>> = query
        .str("app_type")
        .map(|types| types.split(',').map(str::trim).collect());
    let is_global = query.str("is_global").map(|v| v == "true");
    let is_first_party = query.str("is_first_party").map(|v| v == "true");
    let external_client_id = query.str("external_client_id");
    let fields = query.fields();
    let include_fields = query.bool("include_fields", true);

    let tenant = shared.tenant();
    let matching: Vec<&Value> = tenant
        .clients
        .iter()
        .filter(|client| {
            app_types.as_ref().is_none_or(|types| {
                client["app_type"]
                    .as_str()
                    .is_some_and(|t| types.contains(&t))
            })
        })
        .filter(|client| is_global.is_none_or(|g| client["global"] == g))
        .filter(|client| is_first_party.is_none_or(|f| client["is_first_party"] == f))
        .filter(|client| external_client_id.is_none_or(|e| client["external_client_id"] == e))
        .collect();
    let keys = tenant.reads_client_keys();
    list_page(&query, "clients", &matching, |client| {
        project(client, fields.as_deref(), include_fields, keys)
    })
}

pub async fn get_client(
    State(shared): AppState,
    Path(id): Path<String>,
    CheckedQuery(query): CheckedQuery,
) -> Result<Response, Response> {
    let fields = query.fields();
    let include_fields = query.bool("include_fields", true);
    let tenant = shared.tenant();
    let client = tenant.client(&id).ok_or_else(client_not_found)?;
    Ok(json_response(
        StatusCode::OK,
        &project(
            client,
            fields.as_deref(),
            include_fields,
            tenant.reads_client_keys(),
        ),
    ))
}

/// Sets the fields the body names (each replaced whole, as sent, but for
/// `auth_methods::on_update`'s) and answers the client as a read shows it:
/// its secret only to a management application granted `read:client_keys`.
/// The body is checked against `UpdateClientRequestContent`, which has no
/// `client_id`: an id cannot be changed.
pub async fn update_client(
    State(shared): AppState,
    ScopedId(id): ScopedId,
    CheckedBody(request): CheckedBody,
) -> Result<Response, Response> {
    let Value::Object(fields) = request else {
        return Err(violation(&shared, UPDATE, "'Expected an object'."));
    };
    let mut tenant = shared.tenant();
    let updated = match auth_methods::on_update(&tenant, &id, fields) {
        Ok(updated) => updated,
        Err(refusal) => {
            drop(tenant);
            return Err(refusal.answer(&shared, UPDATE));
        }
    };
    let keys = tenant.reads_client_keys();
    let client = tenant.client_mut(&id).ok_or_else(client_not_found)?;
    *client = updated;
    Ok(json_response(
        StatusCode::OK,
        &project(client, None, true, keys),
    ))
}

/// Gives the client a new secret (the alphabet and length of a created
/// client's) and answers the client with it: with the create's answer, the
/// one answer that shows a secret whatever the read scopes.
///
/// Auth0 warns that a new secret may take up to 30 seconds to be accepted
/// everywhere (<https://auth0.com/docs/get-started/applications/rotate-client-secret>).
/// The emulator has no such window: from this answer on, `/oauth/token`
/// refuses the old secret and accepts the new one, the state Auth0 settles
/// in. A caller that must ride out the window is not tested here.
///
/// The route has no request body in the schema; whatever is sent is
/// ignored, as Auth0 ignores the `null` some SDKs send.
///
/// Auth0 documents that a client on Private Key JWT cannot have its secret
/// rotated, not with which answer: here 400 `operation_not_supported`.
pub async fn rotate_secret(
    State(shared): AppState,
    ScopedId(id): ScopedId,
) -> Result<Response, Response> {
    let mut tenant = shared.tenant();
    let secret = tenant.new_client_secret();
    let client = tenant.client_mut(&id).ok_or_else(client_not_found)?;
    if private_key_jwt(client).is_some() {
        return Err(auth0_error(
            StatusCode::BAD_REQUEST,
            "The secret of a client that uses private_key_jwt cannot be rotated",
            "operation_not_supported",
        ));
    }
    client["client_secret"] = Value::from(secret);
    Ok(json_response(StatusCode::OK, client))
}

pub async fn delete_client(
    State(shared): AppState,
    _: Authorized,
    Path(id): Path<String>,
) -> Response {
    let mut tenant = shared.tenant();
    // Auth0 answers 204 whether or not the client existed, and its grants
    // and credentials go with it.
    tenant.clients.retain(|c| c["client_id"] != id.as_str());
    tenant.grants.retain(|g| g["client_id"] != id.as_str());
    tenant.credentials.retain(|c| c.client_id != id);
    StatusCode::NO_CONTENT.into_response()
}
