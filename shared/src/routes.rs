//! The one route table: every route the service answers, the function (the
//! crate and binary) that answers it, and its success status. Everything
//! that needs the list of routes reads it here: the functions' `main`s, the
//! handlers' dispatch, the contract tests, the benches and lambda_bench; and
//! a test (`shared/tests/contract/routes.rs`) checks that what must restate
//! it elsewhere (Cargo.toml's `cargo lambda watch` router, template.yaml,
//! openapi.yaml, `functions/`, `events/`) says the same.

/// The path of the collection, and of one client in it.
pub const CLIENTS_PATH: &str = "/api/v1/client";
pub const CLIENT_PATH: &str = "/api/v1/client/{id}";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Route {
    CreateClient,
    ListClients,
    GetClient,
    DeleteClient,
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
}

impl Route {
    pub const ALL: [Route; 4] = [
        Route::CreateClient,
        Route::ListClients,
        Route::GetClient,
        Route::DeleteClient,
    ];

    /// The table itself.
    pub const fn spec(self) -> RouteSpec {
        let (function, method, path, success_status) = match self {
            Route::CreateClient => ("create_client", "POST", CLIENTS_PATH, 201),
            Route::ListClients => ("list_clients", "GET", CLIENTS_PATH, 200),
            Route::GetClient => ("get_client", "GET", CLIENT_PATH, 200),
            Route::DeleteClient => ("delete_client", "DELETE", CLIENT_PATH, 204),
        };
        RouteSpec {
            function,
            method,
            path,
            success_status,
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

    /// Whether the path names one client (`{id}`).
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
    fn item_routes_take_an_id() {
        let with_id: Vec<Route> = Route::ALL.into_iter().filter(|r| r.takes_id()).collect();
        assert_eq!(with_id, [Route::GetClient, Route::DeleteClient]);
    }
}
