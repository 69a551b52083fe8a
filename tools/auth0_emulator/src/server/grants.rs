//! `/api/v2/client-grants`: create, list and delete.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::paging::list_page;
use super::query::{ANY_STRING, FROM, INCLUDE_TOTALS, Kind, PAGE, PER_PAGE, Param, TAKE, param};
use super::{
    AppState, Authorized, CheckedBody, CheckedQuery, GRANT_CLIENT_NOT_FOUND, GRANT_CONFLICT,
    ScopedId, auth0_error, error_answer, json_response,
};
use crate::state::ALPHANUMERIC;

/// `GET /api/v2/client-grants`'s parameters, as published.
pub(super) const LIST_PARAMS: &[Param] = &[
    PER_PAGE,
    PAGE,
    INCLUDE_TOTALS,
    FROM,
    TAKE,
    param("audience", ANY_STRING, "Optional filter on audience."),
    param("client_id", ANY_STRING, "Optional filter on client_id."),
    param(
        "allow_any_organization",
        Kind::True,
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
    _: Authorized,
    CheckedBody(request): CheckedBody,
) -> Result<Response, Response> {
    let client_id = request["client_id"].as_str().unwrap_or_default().to_owned();
    let audience = request["audience"].as_str().unwrap_or_default().to_owned();

    let mut tenant = shared.tenant();
    if tenant.client(&client_id).is_none() {
        return Err(error_answer(StatusCode::NOT_FOUND, GRANT_CLIENT_NOT_FOUND));
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
        return Err(error_answer(StatusCode::CONFLICT, GRANT_CONFLICT));
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

/// The grants every given filter matches (each an exact match on the
/// grant's property of that name; `allow_any_organization` can only be
/// `true`), in creation order, paged like the clients list.
pub async fn list_grants(
    State(shared): AppState,
    CheckedQuery(query): CheckedQuery,
) -> Result<Response, Response> {
    let filters: Vec<(&str, Value)> = ["client_id", "audience", "subject_type", "default_for"]
        .into_iter()
        .filter_map(|name| query.str(name).map(|value| (name, Value::from(value))))
        .chain(
            query
                .str("allow_any_organization")
                .map(|_| ("allow_any_organization", Value::Bool(true))),
        )
        .collect();
    let tenant = shared.tenant();
    let matching: Vec<&Value> = tenant
        .grants
        .iter()
        .filter(|grant| filters.iter().all(|(name, value)| grant[*name] == *value))
        .collect();
    list_page(&query, "client_grants", &matching, Value::clone)
}

/// Deletes the grant: from now on `/oauth/token` refuses its client a token
/// for its audience. Auth0 answers 204 whether or not the grant existed:
/// the published schema lists no 404 for this route (it does for reading or
/// updating a grant), and a real tenant recorded by Auth0's Go SDK
/// (`auth0/go-auth0`, `test/data/recordings/TestClientGrantManager_Delete.yaml`)
/// answers a second delete of the same grant with 204.
pub async fn delete_grant(State(shared): AppState, ScopedId(id): ScopedId) -> Response {
    shared.tenant().grants.retain(|g| g["id"] != id.as_str());
    StatusCode::NO_CONTENT.into_response()
}
