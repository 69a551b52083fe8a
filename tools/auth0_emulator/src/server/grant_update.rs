//! `PATCH /api/v2/client-grants/{id}`: a grant's scopes (and its other
//! changeable settings), as the Deploy CLI sets them on a second import.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::{AppState, CheckedBody, ErrorMessage, ScopedId, by_id, json_response};

const GRANT_NOT_FOUND: ErrorMessage = (
    "The client grant does not exist.",
    "inexistent_client_grant",
);

/// Sets the fields the body names, each replaced whole; `null` clears one
/// (the schema allows it for `scope`, `organization_usage`,
/// `allow_any_organization` and `allow_all_scopes`). The client and the
/// audience cannot change: the schema has neither.
pub async fn update_grant(
    State(shared): AppState,
    ScopedId(id): ScopedId,
    CheckedBody(request): CheckedBody,
) -> Result<Response, Response> {
    let mut tenant = shared.tenant();
    let grant = by_id(&mut tenant.grants, &id, GRANT_NOT_FOUND)?;
    if let (Some(stored), Value::Object(fields)) = (grant.as_object_mut(), request) {
        for (key, value) in fields {
            if value.is_null() {
                stored.remove(&key);
            } else {
                stored.insert(key, value);
            }
        }
    }
    Ok(json_response(StatusCode::OK, grant))
}
