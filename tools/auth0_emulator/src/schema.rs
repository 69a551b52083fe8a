//! Auth0's published OpenAPI schemas (vendored in `tools/auth0_emulator/schemas/`),
//! compiled once: every request body the emulator receives is checked
//! against them, and its own answers can be.

use std::sync::OnceLock;

use jsonschema::{Draft, Validator};
use serde_json::Value;

const MANAGEMENT_API: &str = include_str!("../schemas/management-api-clients.openapi.json");
const AUTHENTICATION_API: &str = include_str!("../schemas/authentication-api-token.openapi.json");
/// The resource servers' (APIs') schemas, from the same Management API
/// document (schemas/README.md says which version).
const RESOURCE_SERVERS: &str =
    include_str!("../schemas/management-api-resource-servers.openapi.json");
/// Auth0's tenant log events (the `data` of a log stream's event), for the
/// service's sample events of Auth0's log stream.
const TENANT_LOGS: &str = include_str!("../schemas/tenant-logs.schema.json");

/// A component schema of one of the vendored documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schema {
    CreateClientRequest,
    CreateClientResponse,
    GetClientResponse,
    /// `PATCH /api/v2/clients/{id}`'s body.
    UpdateClientRequest,
    UpdateClientResponse,
    /// `POST /api/v2/clients/{id}/rotate-secret`'s answer (the client, new
    /// secret included).
    RotateClientSecretResponse,
    Client,
    ListClientsOffsetPaginated,
    ListClientsCheckpointPaginated,
    /// `POST /api/v2/clients/{id}/credentials`'s body and answer.
    PostClientCredentialRequest,
    PostClientCredentialResponse,
    /// An item of `GET /api/v2/clients/{id}/credentials`.
    ClientCredential,
    GetClientCredentialResponse,
    /// `PATCH /api/v2/clients/{id}/credentials/{credential_id}`'s body and answer.
    PatchClientCredentialRequest,
    PatchClientCredentialResponse,
    CreateClientGrantRequest,
    CreateClientGrantResponse,
    /// Any of the three shapes of `GET /api/v2/client-grants`. A last
    /// checkpoint page (no `next`) fits two of them, which `oneOf` refuses:
    /// check it against `ListClientGrantsCheckpointPaginated`.
    ListClientGrants,
    ListClientGrantsOffsetPaginated,
    ListClientGrantsCheckpointPaginated,
    /// `PATCH /api/v2/client-grants/{id}`'s body and answer.
    UpdateClientGrantRequest,
    UpdateClientGrantResponse,
    CreateResourceServerRequest,
    CreateResourceServerResponse,
    /// `PATCH /api/v2/resource-servers/{id}`'s body and answer.
    UpdateResourceServerRequest,
    UpdateResourceServerResponse,
    /// Either shape of `GET /api/v2/resource-servers` (array, or with totals).
    ListResourceServers,
    ResourceServer,
    ClientCredentialsGrant,
    TokenResponse,
    /// The Authentication API's OAuth 2.0 error body.
    TokenError,
    /// A tenant log event of type `seccft` (a client credentials exchange).
    LogSeccft,
    /// A tenant log event of type `sapi` (a Management API operation).
    LogSapi,
}

const ALL: [Schema; 33] = [
    Schema::CreateClientRequest,
    Schema::CreateClientResponse,
    Schema::GetClientResponse,
    Schema::UpdateClientRequest,
    Schema::UpdateClientResponse,
    Schema::RotateClientSecretResponse,
    Schema::Client,
    Schema::ListClientsOffsetPaginated,
    Schema::ListClientsCheckpointPaginated,
    Schema::PostClientCredentialRequest,
    Schema::PostClientCredentialResponse,
    Schema::ClientCredential,
    Schema::GetClientCredentialResponse,
    Schema::PatchClientCredentialRequest,
    Schema::PatchClientCredentialResponse,
    Schema::CreateClientGrantRequest,
    Schema::CreateClientGrantResponse,
    Schema::ListClientGrants,
    Schema::ListClientGrantsOffsetPaginated,
    Schema::ListClientGrantsCheckpointPaginated,
    Schema::UpdateClientGrantRequest,
    Schema::UpdateClientGrantResponse,
    Schema::CreateResourceServerRequest,
    Schema::CreateResourceServerResponse,
    Schema::UpdateResourceServerRequest,
    Schema::UpdateResourceServerResponse,
    Schema::ListResourceServers,
    Schema::ResourceServer,
    Schema::ClientCredentialsGrant,
    Schema::TokenResponse,
    Schema::TokenError,
    Schema::LogSeccft,
    Schema::LogSapi,
];

impl Schema {
    fn location(self) -> (&'static str, &'static str) {
        match self {
            Schema::CreateClientRequest => (MANAGEMENT_API, "CreateClientRequestContent"),
            Schema::CreateClientResponse => (MANAGEMENT_API, "CreateClientResponseContent"),
            Schema::GetClientResponse => (MANAGEMENT_API, "GetClientResponseContent"),
            Schema::UpdateClientRequest => (MANAGEMENT_API, "UpdateClientRequestContent"),
            Schema::UpdateClientResponse => (MANAGEMENT_API, "UpdateClientResponseContent"),
            Schema::RotateClientSecretResponse => {
                (MANAGEMENT_API, "RotateClientSecretResponseContent")
            }
            Schema::Client => (MANAGEMENT_API, "Client"),
            Schema::ListClientsOffsetPaginated => {
                (MANAGEMENT_API, "ListClientsOffsetPaginatedResponseContent")
            }
            Schema::ListClientsCheckpointPaginated => {
                (MANAGEMENT_API, "ListClientsPaginatedResponseContent")
            }
            Schema::PostClientCredentialRequest => {
                (MANAGEMENT_API, "PostClientCredentialRequestContent")
            }
            Schema::PostClientCredentialResponse => {
                (MANAGEMENT_API, "PostClientCredentialResponseContent")
            }
            Schema::ClientCredential => (MANAGEMENT_API, "ClientCredential"),
            Schema::GetClientCredentialResponse => {
                (MANAGEMENT_API, "GetClientCredentialResponseContent")
            }
            Schema::PatchClientCredentialRequest => {
                (MANAGEMENT_API, "PatchClientCredentialRequestContent")
            }
            Schema::PatchClientCredentialResponse => {
                (MANAGEMENT_API, "PatchClientCredentialResponseContent")
            }
            Schema::CreateClientGrantRequest => (MANAGEMENT_API, "CreateClientGrantRequestContent"),
            Schema::CreateClientGrantResponse => {
                (MANAGEMENT_API, "CreateClientGrantResponseContent")
            }
            Schema::ListClientGrants => (MANAGEMENT_API, "ListClientGrantResponseContent"),
            Schema::ListClientGrantsOffsetPaginated => (
                MANAGEMENT_API,
                "ListClientGrantOffsetPaginatedResponseContent",
            ),
            Schema::ListClientGrantsCheckpointPaginated => {
                (MANAGEMENT_API, "ListClientGrantPaginatedResponseContent")
            }
            Schema::UpdateClientGrantRequest => (MANAGEMENT_API, "UpdateClientGrantRequestContent"),
            Schema::UpdateClientGrantResponse => {
                (MANAGEMENT_API, "UpdateClientGrantResponseContent")
            }
            Schema::CreateResourceServerRequest => {
                (RESOURCE_SERVERS, "CreateResourceServerRequestContent")
            }
            Schema::CreateResourceServerResponse => {
                (RESOURCE_SERVERS, "CreateResourceServerResponseContent")
            }
            Schema::UpdateResourceServerRequest => {
                (RESOURCE_SERVERS, "UpdateResourceServerRequestContent")
            }
            Schema::UpdateResourceServerResponse => {
                (RESOURCE_SERVERS, "UpdateResourceServerResponseContent")
            }
            Schema::ListResourceServers => (RESOURCE_SERVERS, "ListResourceServerResponseContent"),
            Schema::ResourceServer => (RESOURCE_SERVERS, "ResourceServer"),
            Schema::ClientCredentialsGrant => (AUTHENTICATION_API, "ClientCredentialsGrant"),
            Schema::TokenResponse => (AUTHENTICATION_API, "TokenResponse"),
            Schema::TokenError => (AUTHENTICATION_API, "ErrorResponse"),
            Schema::LogSeccft => (TENANT_LOGS, "seccft"),
            Schema::LogSapi => (TENANT_LOGS, "sapi"),
        }
    }

    /// Checks `instance`; the error lists every violation found, each as
    /// `'<problem>' on property <JSON pointer>` (Auth0's wording, roughly).
    pub fn check(self, instance: &Value) -> Result<(), String> {
        let validator = validator(self)?;
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|error| {
                let path = error.instance_path().to_string();
                let property = if path.is_empty() { "(root)" } else { &path };
                format!("'{error}' on property {property}")
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("{}.", errors.join("; ")))
        }
    }
}

/// Each schema is compiled on first use, once per process.
fn validator(schema: Schema) -> Result<&'static Validator, String> {
    static VALIDATORS: [OnceLock<Result<Validator, String>>; ALL.len()] =
        [const { OnceLock::new() }; ALL.len()];
    let index = ALL
        .iter()
        .position(|candidate| *candidate == schema)
        .ok_or_else(|| format!("{schema:?} is not a known schema"))?;
    let slot = VALIDATORS
        .get(index)
        .ok_or_else(|| format!("{schema:?} has no slot"))?;
    slot.get_or_init(|| compile(schema))
        .as_ref()
        .map_err(Clone::clone)
}

/// OpenAPI 3.1 schemas are JSON Schema 2020-12. The whole document is the
/// root (so `#/components/schemas/...` references resolve) with a `$ref` to
/// the component we want; the document's other members are unknown
/// keywords and ignored.
fn compile(schema: Schema) -> Result<Validator, String> {
    let (document, name) = schema.location();
    let mut root: Value =
        serde_json::from_str(document).map_err(|error| format!("{name}: {error}"))?;
    if let Some(members) = root.as_object_mut() {
        members.remove("paths");
        members.remove("$schema");
        members.insert(
            "$ref".into(),
            Value::from(format!("#/components/schemas/{name}")),
        );
    }
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .build(&root)
        .map_err(|error| format!("{name}: {error}"))
}
