//! How a client authenticates, on create and PATCH: Private Key JWT
//! (`client_authentication_methods.private_key_jwt`) or a secret
//! (`token_endpoint_auth_method`), with the rules Auth0 documents for them
//! (<https://auth0.com/docs/get-started/applications/configure-private-key-jwt>):
//! the two are exclusive; `jwt_configuration.alg` must be RS256 for
//! `client_authentication_methods` to be set; on create the credentials are
//! given whole (and created, enabled at once), on PATCH by the ids of
//! credentials created before. A client on Private Key JWT keeps its secret
//! hidden: no answer shows it and `/oauth/token` refuses it, until the
//! client goes back to `token_endpoint_auth_method`.

use std::collections::HashSet;

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::credentials::{beyond_the_emulator, new_credential, no_entitlement};
use super::{Refusal, auth0_error, client_not_found, insufficient_scopes};
use crate::state::{Tenant, private_key_jwt};

/// The scope a create with `client_authentication_methods` needs, besides
/// `create:clients`.
const CREDENTIALS_ON_CREATE: &[&str] = &["create:client_credentials"];
/// The scope a PATCH of `client_authentication_methods` needs, besides the
/// route's.
const CREDENTIALS_ON_UPDATE: &[&str] = &["update:client_credentials"];

/// A create's `client_authentication_methods`: its credentials are checked
/// and stored for `client_id`, and replaced in `request` by their ids, as
/// the client shows them. Returns whether the client uses Private Key JWT.
/// Nothing is stored when a refusal is returned.
pub(crate) fn on_create(
    tenant: &mut Tenant,
    client_id: &str,
    request: &mut Value,
) -> Result<bool, Refusal> {
    let Some(methods) = request.get("client_authentication_methods") else {
        return Ok(false);
    };
    if !tenant.granted_any(CREDENTIALS_ON_CREATE) {
        return Err(Refusal::Answer(insufficient_scopes(CREDENTIALS_ON_CREATE)));
    }
    if !tenant.config.private_key_jwt {
        return Err(Refusal::Answer(no_entitlement()));
    }
    let Some(given) = methods["private_key_jwt"]["credentials"]
        .as_array()
        .cloned()
    else {
        return Err(Refusal::Answer(beyond_the_emulator(
            "An authentication method other than private_key_jwt",
        )));
    };
    if request.get("token_endpoint_auth_method").is_some() {
        return Err(exclusive());
    }
    if request["jwt_configuration"]["alg"] != "RS256" {
        return Err(alg_not_rs256());
    }
    let mut created = Vec::new();
    for body in &given {
        match new_credential(tenant, client_id, body) {
            Ok(credential) => {
                created.push(json!({"id": credential.id}));
                tenant.credentials.push(credential);
            }
            Err(refusal) => {
                tenant
                    .credentials
                    .retain(|credential| credential.client_id != client_id);
                return Err(refusal);
            }
        }
    }
    request["client_authentication_methods"] = json!({"private_key_jwt": {"credentials": created}});
    Ok(true)
}

/// The client `client_id` as a PATCH `request` (checked against its
/// schema) leaves it, not stored yet. Fields are replaced whole but for
/// `jwt_configuration`, whose members are merged into the stored ones (as
/// a recorded PATCH of `{"jwt_configuration": {"alg": "RS256"}}` kept
/// `lifetime_in_seconds`); `null` removes `client_authentication_methods`
/// and `token_endpoint_auth_method`.
pub(crate) fn on_update(
    tenant: &Tenant,
    client_id: &str,
    request: Map<String, Value>,
) -> Result<Value, Refusal> {
    let stored = tenant
        .client(client_id)
        .ok_or_else(|| Refusal::Answer(client_not_found()))?;
    if let Some(methods) = request.get("client_authentication_methods") {
        if !tenant.granted_any(CREDENTIALS_ON_UPDATE) {
            return Err(Refusal::Answer(insufficient_scopes(CREDENTIALS_ON_UPDATE)));
        }
        if !methods.is_null() {
            enabling(tenant, client_id, methods)?;
        }
    }
    let mut client = stored.clone();
    for (field, value) in request {
        match (field.as_str(), value) {
            ("client_authentication_methods" | "token_endpoint_auth_method", Value::Null) => {
                if let Some(map) = client.as_object_mut() {
                    map.remove(&field);
                }
            }
            ("jwt_configuration", Value::Object(members)) if client[&field].is_object() => {
                if let Some(stored) = client[&field].as_object_mut() {
                    stored.extend(members);
                }
            }
            (_, value) => client[&field] = value,
        }
    }
    if private_key_jwt(&client).is_some() {
        if client.get("token_endpoint_auth_method").is_some() {
            return Err(exclusive());
        }
        if client["jwt_configuration"]["alg"] != "RS256" {
            return Err(alg_not_rs256());
        }
    }
    Ok(client)
}

/// Checks the `client_authentication_methods` a PATCH sets: Private Key
/// JWT on a tenant that has it, listing credentials of this client, each
/// once.
fn enabling(tenant: &Tenant, client_id: &str, methods: &Value) -> Result<(), Refusal> {
    if !tenant.config.private_key_jwt {
        return Err(Refusal::Answer(no_entitlement()));
    }
    let Some(listed) = methods["private_key_jwt"]["credentials"].as_array() else {
        return Err(Refusal::Answer(beyond_the_emulator(
            "An authentication method other than private_key_jwt",
        )));
    };
    let ids: Vec<&str> = listed.iter().filter_map(|c| c["id"].as_str()).collect();
    let mut seen = HashSet::new();
    if !ids.iter().all(|id| seen.insert(*id)) {
        return Err(Refusal::Violation(
            "client_authentication_methods.private_key_jwt.credentials lists a credential twice"
                .into(),
        ));
    }
    match ids
        .iter()
        .find(|id| !tenant.credentials_of(client_id).any(|c| c.id == **id))
    {
        // The client's credentials change under the service's feet only in
        // a race: an answer to handle, not a malformed body.
        Some(unknown) => Err(Refusal::Answer(auth0_error(
            StatusCode::BAD_REQUEST,
            &format!("Credential {unknown} does not exist for this client"),
            "invalid_body",
        ))),
        None => Ok(()),
    }
}

fn exclusive() -> Refusal {
    Refusal::Violation(
        "client_authentication_methods and token_endpoint_auth_method are mutually exclusive"
            .into(),
    )
}

fn alg_not_rs256() -> Refusal {
    Refusal::Violation(
        "jwt_configuration.alg must be RS256 for client_authentication_methods to be set".into(),
    )
}
