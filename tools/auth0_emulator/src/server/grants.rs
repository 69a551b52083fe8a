//! `/api/v2/client-grants`: create and list.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::query::{FROM, INCLUDE_TOTALS, Kind, PAGE, Param, TAKE, param};
use super::{
    AppState, auth0_error, authorized_body, authorized_query, json_response, list_page, violation,
};
use crate::schema::Schema;
use crate::state::ALPHANUMERIC;

const CREATE: &str = "POST /api/v2/client-grants";

/// `GET /api/v2/client-grants`'s parameters, as published.
const LIST_PARAMS: &[Param] = &[
    param(
        "per_page",
        Kind::Int {
            min: 1,
            max: Some(100),
        },
        "Number of results per page.",
    ),
    PAGE,
    INCLUDE_TOTALS,
    FROM,
    TAKE,
    param(
        "audience",
        Kind::Str {
            min_len: 0,
            max_len: usize::MAX,
        },
        "Optional filter on audience.",
    ),
    param(
        "client_id",
        Kind::Str {
            min_len: 0,
            max_len: usize::MAX,
        },
        "Optional filter on client_id.",
    ),
    param(
        "allow_any_organization",
        Kind::Enum(&["true"]),
        "Optional filter on allow_any_organization.",
    ),
    param(
        "subject_type",
        Kind::Enum(&["client", "user"]),
        "The type of application access the client grant allows.",
    ),
    param(
        "default_for",
        Kind::Enum(&["third_party_clients"]),
        "Applies this client grant as the default for all clients in the specified group.",
    ),
];

/// Properties of a create request that the stored grant keeps as sent.
const ECHOED: &[&str] = &[
    "organization_usage",
    "default_for",
    "authorization_details_types",
    "allow_all_scopes",
];

pub async fn create_grant(
    State(shared): AppState,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let request = authorized_body(&shared, &headers, CREATE, &body)?;
    if let Err(problem) = Schema::CreateClientGrantRequest.check(&request) {
        return Err(violation(&shared, CREATE, &problem));
    }
    let client_id = request["client_id"].as_str().unwrap_or_default().to_owned();
    let audience = request["audience"].as_str().unwrap_or_default().to_owned();

    let mut tenant = shared.tenant();
    if tenant.client(&client_id).is_none() {
        return Err(auth0_error(
            StatusCode::NOT_FOUND,
            "Client not found",
            "inexistent_client",
        ));
    }
    if !tenant.config.resource_servers.contains(&audience) {
        return Err(auth0_error(
            StatusCode::NOT_FOUND,
            "No resource server found by specified identifier",
            "inexistent_resource_server",
        ));
    }
    if tenant
        .grants
        .iter()
        .any(|g| g["client_id"] == client_id.as_str() && g["audience"] == audience.as_str())
    {
        return Err(auth0_error(
            StatusCode::CONFLICT,
            "A client grant for this client and audience already exists",
            "client_grant_conflict",
        ));
    }
    let mut grant = Map::new();
    grant.insert(
        "id".into(),
        Value::from(format!("cgr_{}", tenant.random_string(ALPHANUMERIC, 16))),
    );
    grant.insert("client_id".into(), Value::from(client_id));
    grant.insert("audience".into(), Value::from(audience));
    grant.insert(
        "scope".into(),
        request.get("scope").cloned().unwrap_or_else(|| json!([])),
    );
    grant.insert(
        "allow_any_organization".into(),
        request
            .get("allow_any_organization")
            .cloned()
            .unwrap_or(Value::Bool(false)),
    );
    grant.insert("is_system".into(), Value::Bool(false));
    grant.insert(
        "subject_type".into(),
        request
            .get("subject_type")
            .cloned()
            .unwrap_or_else(|| Value::from("client")),
    );
    for name in ECHOED {
        if let Some(value) = request.get(*name) {
            grant.insert((*name).into(), value.clone());
        }
    }
    let grant = Value::Object(grant);
    tenant.grants.push(grant.clone());
    Ok(json_response(StatusCode::CREATED, &grant))
}

pub async fn list_grants(
    State(shared): AppState,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, Response> {
    let query = authorized_query(&shared, &headers, raw.as_deref(), LIST_PARAMS)?;
    let tenant = shared.tenant();
    let matching: Vec<&Value> = tenant
        .grants
        .iter()
        .filter(|g| query.str("client_id").is_none_or(|id| g["client_id"] == id))
        .filter(|g| query.str("audience").is_none_or(|aud| g["audience"] == aud))
        .filter(|g| {
            query
                .str("allow_any_organization")
                .is_none_or(|_| g["allow_any_organization"] == true)
        })
        .filter(|g| {
            query
                .str("subject_type")
                .is_none_or(|t| g["subject_type"] == t)
        })
        .collect();
    Ok(list_page(&query, "client_grants", &matching, Value::clone))
}
