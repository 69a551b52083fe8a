//! The one route table: every route the service answers, the function (the
//! crate and binary) that answers it, its success status and the permission
//! a caller needs for it. Everything
//! that needs the list of routes reads it here: the functions' `main`s, the
//! handlers' dispatch, the contract tests, the benches and lambda_bench; and
//! a test (`shared/tests/contract/routes.rs`) checks that what must restate
//! it elsewhere (Cargo.toml's `cargo lambda watch` router, template.yaml,
//! openapi.yaml, `functions/`, `events/`) says the same.

/// The path of the collection, and of one client in it.
pub const CLIENTS_PATH: &str = "/api/v1/client";
pub const CLIENT_PATH: &str = "/api/v1/client/{id}";
/// The lifecycle routes' paths: actions on one client.
pub const ROTATE_SECRET_PATH: &str = "/api/v1/client/{id}/rotate-secret";
pub const DISABLE_PATH: &str = "/api/v1/client/{id}/disable";
pub const ENABLE_PATH: &str = "/api/v1/client/{id}/enable";
/// A key client's credentials, and one of them.
pub const CREDENTIALS_PATH: &str = "/api/v1/client/{id}/credentials";
pub const CREDENTIAL_PATH: &str = "/api/v1/client/{id}/credentials/{credential_id}";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Route {
    CreateClient,
    ListClients,
    GetClient,
    DeleteClient,
    UpdateClient,
    RotateClientSecret,
    DisableClient,
    EnableClient,
    ListCredentials,
    CreateCredential,
    DeleteCredential,
}

/// What a caller's token must grant (in its `scope` or `permissions`) to
/// use a route: permissions of the callers' API (`JWT_AUDIENCE`) in Auth0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    Read,
    Create,
    Update,
    Delete,
}

impl Permission {
    pub const ALL: [Permission; 4] = [
        Permission::Read,
        Permission::Create,
        Permission::Update,
        Permission::Delete,
    ];

    /// The permission's name in tokens and in Auth0.
    pub const fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "read:m2m_clients",
            Permission::Create => "create:m2m_clients",
            Permission::Update => "update:m2m_clients",
            Permission::Delete => "delete:m2m_clients",
        }
    }

    pub fn from_name(name: &str) -> Option<Permission> {
        Permission::ALL
            .into_iter()
            .find(|permission| permission.as_str() == name)
    }
}

/// One row of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteSpec {
    /// The function's crate and binary name.
    pub function: &'static str,
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path as API Gateway routes it (`{id}` for the client's id).
    pub path: &'static str,
    /// The status of a successful answer.
    pub success_status: u16,
    /// What the caller must be granted.
    pub permission: Permission,
    /// Whether the operation may call Auth0's Management API. Those that
    /// never do (list and get read the owner index alone) neither fetch a
    /// management token nor read its secret: a container start of theirs
    /// costs the tenant no token, and their role has no access to the secret.
    pub calls_auth0: bool,
}

impl Route {
    pub const ALL: [Route; 11] = [
        Route::CreateClient,
        Route::ListClients,
        Route::GetClient,
        Route::DeleteClient,
        Route::UpdateClient,
        Route::RotateClientSecret,
        Route::DisableClient,
        Route::EnableClient,
        Route::ListCredentials,
        Route::CreateCredential,
        Route::DeleteCredential,
    ];

    /// The table itself.
    pub const fn spec(self) -> RouteSpec {
        use Permission::{Create, Delete, Read, Update};
        let (function, method, path, success_status, permission) = match self {
            Route::CreateClient => ("create_client", "POST", CLIENTS_PATH, 201, Create),
            Route::ListClients => ("list_clients", "GET", CLIENTS_PATH, 200, Read),
            Route::GetClient => ("get_client", "GET", CLIENT_PATH, 200, Read),
            Route::DeleteClient => ("delete_client", "DELETE", CLIENT_PATH, 204, Delete),
            Route::UpdateClient => ("update_client", "PATCH", CLIENT_PATH, 200, Update),
            Route::RotateClientSecret => (
                "rotate_client_secret",
                "POST",
                ROTATE_SECRET_PATH,
                200,
                Update,
            ),
            Route::DisableClient => ("disable_client", "POST", DISABLE_PATH, 200, Update),
            Route::EnableClient => ("enable_client", "POST", ENABLE_PATH, 200, Update),
            Route::ListCredentials => ("list_credentials", "GET", CREDENTIALS_PATH, 200, Read),
            Route::CreateCredential => ("create_credential", "POST", CREDENTIALS_PATH, 201, Update),
            Route::DeleteCredential => {
                ("delete_credential", "DELETE", CREDENTIAL_PATH, 204, Update)
            }
        };
        RouteSpec {
            function,
            method,
            path,
            success_status,
            permission,
            calls_auth0: !matches!(permission, Read),
        }
    }

    pub const fn function(self) -> &'static str {
        self.spec().function
    }

    pub const fn method(self) -> &'static str {
        self.spec().method
    }

    pub const fn path(self) -> &'static str {
        self.spec().path
    }

    pub const fn success_status(self) -> u16 {
        self.spec().success_status
    }

    pub const fn permission(self) -> Permission {
        self.spec().permission
    }

    pub const fn calls_auth0(self) -> bool {
        self.spec().calls_auth0
    }

    /// Whether the path names one client (`{id}`).
    /// Whether its requests need the list cursors' key (list signs and
    /// reads cursors; create makes the key if it is the first writer), so
    /// that a container of it reads the key at start-up.
    pub fn uses_cursor_key(self) -> bool {
        matches!(self, Route::CreateClient | Route::ListClients)
    }

    pub fn takes_id(self) -> bool {
        self.path().contains("{id}")
    }

    /// API Gateway's route key: `"GET /api/v1/client/{id}"`.
    pub fn route_key(self) -> String {
        format!("{} {}", self.method(), self.path())
    }

    /// The route a function answers, by the function's name.
    pub fn from_function(function: &str) -> Option<Route> {
        Route::ALL
            .into_iter()
            .find(|route| route.function() == function)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_listed_once_and_found_by_its_function() {
        for route in Route::ALL {
            assert_eq!(Route::from_function(route.function()), Some(route));
        }
        let mut keys: Vec<String> = Route::ALL.iter().map(|r| r.route_key()).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), Route::ALL.len());
        assert_eq!(Route::from_function("bare-echo"), None);
    }

    #[test]
    fn permissions_are_named_as_in_tokens() {
        for permission in Permission::ALL {
            assert_eq!(Permission::from_name(permission.as_str()), Some(permission));
        }
        assert_eq!(
            Permission::from_name("read:m2m_clients"),
            Some(Permission::Read)
        );
        assert_eq!(Permission::from_name("read:clients"), None);
    }

    #[test]
    fn item_routes_take_an_id() {
        // Every route but the collection's two is about one client.
        let without_id: Vec<Route> = Route::ALL.into_iter().filter(|r| !r.takes_id()).collect();
        assert_eq!(without_id, [Route::CreateClient, Route::ListClients]);
    }
}
