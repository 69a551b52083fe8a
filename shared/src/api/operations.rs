//! One type per route, each with its route's operation: parse the request,
//! call the service, build the success response. A deployed function names
//! its type (`m2m_shared::run::<GetClient>()`), so its binary links only
//! that route's operation, and its request future is only as large as that
//! operation's (issue 20: choosing the route at run time put every route's
//! code in every function, and every route's future in every request's).

use std::future::Future;

use lambda_http::http::header::{HeaderValue, LINK};
use lambda_http::http::{HeaderName, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use tokio::time::Instant;

use super::response::{
    ClientBody, CreatedClientBody, RotatedSecretBody, empty_response, json_response,
};
use crate::app::Service;
use crate::auth0::CredentialsSource;
use crate::domain::{ClientStatus, Owner, OwnerIndex};
use crate::error::ServiceError;
use crate::routes::{CLIENTS_PATH, Route};
use crate::validation::{
    idempotency_claim, page_limit, parse_client_update, parse_new_client, parse_new_key,
};

/// What an operation gets: the service, the authenticated caller, the
/// request, when it must have given up, and the route's success status.
pub struct Call<'a, S: CredentialsSource, I: OwnerIndex> {
    pub service: &'a Service<S, I>,
    pub owner: Owner,
    pub request: &'a Request,
    pub deadline: Instant,
    pub status: StatusCode,
}

/// A route known at compile time: its row of the table and what it does
/// for an authenticated caller.
pub trait Operation {
    /// The route's row of the table (permission, path, success status).
    const ROUTE: Route;

    /// The route's work; an error becomes a response in `api` alone.
    fn operate<'a, S: CredentialsSource, I: OwnerIndex>(
        call: Call<'a, S, I>,
    ) -> impl Future<Output = Result<Response<Body>, ServiceError>> + Send + 'a;
}

/// Declares a route's type, its row and its operation (`call` the
/// operation's [`Call`]).
macro_rules! operation {
    ($(#[$doc:meta])* $name:ident, |$call:ident| $body:block) => {
        $(#[$doc])*
        pub struct $name;

        impl Operation for $name {
            const ROUTE: Route = Route::$name;

            fn operate<'a, S: CredentialsSource, I: OwnerIndex>(
                $call: Call<'a, S, I>,
            ) -> impl Future<Output = Result<Response<Body>, ServiceError>> + Send + 'a {
                async move $body
            }
        }
    };
}

operation!(
    /// `POST /api/v1/client`.
    CreateClient,
    |call| {
        let request = call.request;
        let new_client = parse_new_client(request.body().as_ref())?;
        let claim = idempotency_claim(
            single_header(request, &IDEMPOTENCY_KEY)?,
            request.body().as_ref(),
        )?;
        let created = call
            .service
            .clients
            .create(&call.owner, new_client, claim, call.deadline)
            .await?;
        Ok(json_response(call.status, &CreatedClientBody::from(&created)))
    }
);

operation!(
    /// `GET /api/v1/client`: a page of the caller's clients, with a `Link`
    /// to the next.
    ListClients,
    |call| {
        let query = call.request.query_string_parameters_ref();
        let limit = page_limit(query.and_then(|query| query.first("limit")))?;
        let cursor = query.and_then(|query| query.first("cursor"));
        let page = call.service.clients.list(&call.owner, cursor, limit).await?;
        let body: Vec<ClientBody<'_>> = page.clients.iter().map(ClientBody::from).collect();
        let mut response = json_response(call.status, &body);
        if let (Some(next), Some(limit)) = (&page.next, limit) {
            // Path-absolute, so it works behind any host or stage.
            let link = format!(
                "<{}?limit={limit}&cursor={next}>; rel=\"next\"",
                Route::ListClients.path()
            );
            if let Ok(value) = HeaderValue::from_str(&link) {
                response.headers_mut().insert(LINK, value);
            }
        }
        Ok(response)
    }
);

operation!(
    /// `GET /api/v1/client/{id}`.
    GetClient,
    |call| {
        let id = client_id_parameter(call.request);
        let client = call.service.clients.get(&call.owner, &id).await?;
        Ok(json_response(call.status, &ClientBody::from(&client)))
    }
);

operation!(
    /// `DELETE /api/v1/client/{id}`.
    DeleteClient,
    |call| {
        let id = client_id_parameter(call.request);
        call.service
            .clients
            .delete(&call.owner, &id, call.deadline)
            .await?;
        Ok(empty_response(call.status))
    }
);

operation!(
    /// `PATCH /api/v1/client/{id}`.
    UpdateClient,
    |call| {
        let id = client_id_parameter(call.request);
        let update = parse_client_update(call.request.body().as_ref())?;
        let client = call
            .service
            .clients
            .update(&call.owner, &id, update, call.deadline)
            .await?;
        Ok(json_response(call.status, &ClientBody::from(&client)))
    }
);

operation!(
    /// `POST /api/v1/client/{id}/rotate-secret`.
    RotateClientSecret,
    |call| {
        let id = client_id_parameter(call.request);
        let rotated = call
            .service
            .clients
            .rotate_secret(&call.owner, &id, call.deadline)
            .await?;
        Ok(json_response(call.status, &RotatedSecretBody::from(&rotated)))
    }
);

operation!(
    /// `POST /api/v1/client/{id}/disable`.
    DisableClient,
    |call| { set_status(call, ClientStatus::Disabled).await }
);

operation!(
    /// `POST /api/v1/client/{id}/enable`.
    EnableClient,
    |call| { set_status(call, ClientStatus::Active).await }
);

operation!(
    /// `GET /api/v1/client/{id}/credentials`.
    ListCredentials,
    |call| {
        let id = client_id_parameter(call.request);
        let credentials = call.service.clients.credentials(&call.owner, &id).await?;
        Ok(json_response(call.status, &credentials))
    }
);

operation!(
    /// `POST /api/v1/client/{id}/credentials`.
    CreateCredential,
    |call| {
        let key = parse_new_key(call.request.body().as_ref())?;
        let id = client_id_parameter(call.request);
        let added = call
            .service
            .clients
            .add_credential(&call.owner, &id, key, call.deadline)
            .await?;
        Ok(json_response(call.status, &added))
    }
);

operation!(
    /// `DELETE /api/v1/client/{id}/credentials/{credential_id}`.
    DeleteCredential,
    |call| {
        let id = client_id_parameter(call.request);
        let credential_id = path_parameter(call.request, "credential_id", "credentials");
        call.service
            .clients
            .remove_credential(&call.owner, &id, &credential_id, call.deadline)
            .await?;
        Ok(empty_response(call.status))
    }
);

/// Disable and enable: the same operation towards opposite states.
async fn set_status<S: CredentialsSource, I: OwnerIndex>(
    call: Call<'_, S, I>,
    wanted: ClientStatus,
) -> Result<Response<Body>, ServiceError> {
    let id = client_id_parameter(call.request);
    let clients = &call.service.clients;
    let client = clients
        .set_status(&call.owner, &id, wanted, call.deadline)
        .await?;
    Ok(json_response(call.status, &ClientBody::from(&client)))
}

/// `Idempotency-Key` (lower case: `HeaderName`s are).
static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// A header the request may carry once, as text.
fn single_header<'a>(
    request: &'a Request,
    name: &HeaderName,
) -> Result<Option<&'a str>, ServiceError> {
    let mut values = request.headers().get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ServiceError::invalid(format!("{name} must be given once")));
    }
    value
        .to_str()
        .map(Some)
        .map_err(|_| ServiceError::invalid(format!("{name} must be printable ASCII")))
}

/// The `{id}` of the route: API Gateway's path parameter or, when invoked
/// without one (function URLs, `cargo lambda watch`), the path segment
/// after `/api/v1/client/` (the lifecycle routes' paths go on after it).
/// An id that is no client's is answered 404 by the operation.
fn client_id_parameter(request: &Request) -> String {
    path_parameter(request, "id", "client")
}

/// A path parameter (`{name}`): API Gateway's, or, without it, the path
/// segment after `/api/v1/client/` or `…/{after}/` (`after` the segment
/// before the parameter in the route's path).
fn path_parameter(request: &Request, name: &str, after: &str) -> String {
    if let Some(value) = request
        .path_parameters_ref()
        .and_then(|parameters| parameters.first(name))
    {
        return value.to_owned();
    }
    let prefix = match after {
        "client" => format!("{CLIENTS_PATH}/"),
        other => format!("/{other}/"),
    };
    let path = request.uri().path();
    // The client's id is the first such segment; any other parameter is
    // the last (a client may be named `credentials`).
    let at = match after {
        "client" => path.find(&prefix),
        _ => path.rfind(&prefix),
    };
    at.map(|at| &path[at + prefix.len()..])
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::owner_index::DynamoIndex;
    use crate::secrets_manager::SecretsManagerSource;

    /// The size of the future `operate` returns, for the deployed types.
    fn future_size<'a, F, Fut>(_: F) -> usize
    where
        F: FnOnce(Call<'a, SecretsManagerSource, DynamoIndex>) -> Fut,
    {
        std::mem::size_of::<Fut>()
    }

    /// A read's future holds only the read's states: were the routes one
    /// future again (issue 20), get_client's would be the largest write's
    /// (18.6 KB in a debug build at 7498cff, where every route's was).
    #[test]
    fn each_route_future_is_its_own_size() {
        let sizes = [
            ("create_client", future_size(CreateClient::operate)),
            ("list_clients", future_size(ListClients::operate)),
            ("get_client", future_size(GetClient::operate)),
            ("delete_client", future_size(DeleteClient::operate)),
            ("update_client", future_size(UpdateClient::operate)),
            (
                "rotate_client_secret",
                future_size(RotateClientSecret::operate),
            ),
            ("disable_client", future_size(DisableClient::operate)),
            ("enable_client", future_size(EnableClient::operate)),
            ("list_credentials", future_size(ListCredentials::operate)),
            ("create_credential", future_size(CreateCredential::operate)),
            ("delete_credential", future_size(DeleteCredential::operate)),
        ];
        for (route, size) in sizes {
            println!("{route}: {size} bytes");
        }
        let largest = sizes
            .iter()
            .map(|(_, size)| *size)
            .max()
            .unwrap_or_default();
        for (route, size) in &sizes[..] {
            if matches!(*route, "get_client" | "list_credentials") {
                assert!(
                    size * 8 < largest,
                    "{route}'s future is {size} of {largest} bytes"
                );
            }
        }
    }
}
