//! Query strings checked the way the Management API checks them: documented
//! parameters only, each of its documented type and range, answered with
//! Auth0's `invalid_query_string` 400 otherwise.

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::Response;

use super::{INVALID_QUERY_STRING, auth0_error, error_answer};

/// What a parameter may hold.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Bool,
    /// A boolean whose one accepted value is `true` (the schema's
    /// `{"type": "boolean", "enum": [true]}`): Auth0 reads the value as a
    /// boolean first, so `false` fails the enum and `yes` the type.
    True,
    Int {
        min: i64,
        max: Option<i64>,
    },
    Str {
        min_len: usize,
        max_len: usize,
    },
    Enum(&'static [&'static str]),
}

/// A documented query parameter (name, type, and Auth0's description of it,
/// which Auth0 quotes in its error messages).
#[derive(Clone, Copy, Debug)]
pub struct Param {
    pub name: &'static str,
    pub kind: Kind,
    pub description: &'static str,
}

pub const fn param(name: &'static str, kind: Kind, description: &'static str) -> Param {
    Param {
        name,
        kind,
        description,
    }
}

/// A string of any length, as Auth0 documents `fields` and `from`.
pub const ANY_STRING: Kind = Kind::Str {
    min_len: 0,
    max_len: usize::MAX,
};

pub const FIELDS: Param = param(
    "fields",
    ANY_STRING,
    "Comma-separated list of fields to include or exclude (based on value provided for include_fields) in the result. Leave empty to retrieve all fields.",
);
pub const INCLUDE_FIELDS: Param = param(
    "include_fields",
    Kind::Bool,
    "Whether specified fields are to be included (true) or excluded (false).",
);
pub const PAGE: Param = param(
    "page",
    Kind::Int { min: 0, max: None },
    "Page index of the results to return. First page is 0.",
);
/// `per_page` of the grants and APIs lists (the clients list's differs).
pub const PER_PAGE: Param = param(
    "per_page",
    Kind::Int {
        min: 1,
        max: Some(100),
    },
    "Number of results per page.",
);
pub const INCLUDE_TOTALS: Param = param(
    "include_totals",
    Kind::Bool,
    "Return results inside an object that contains the total result count (true) or as a direct array of results (false, default).",
);
pub const FROM: Param = param(
    "from",
    ANY_STRING,
    "Optional Id from which to start selection.",
);
pub const TAKE: Param = param(
    "take",
    Kind::Int {
        min: 1,
        max: Some(100),
    },
    "Number of results per page. Defaults to 50.",
);

/// A checked query string.
#[derive(Debug, Default)]
pub struct Query {
    values: HashMap<&'static str, String>,
}

impl Query {
    /// Checks `raw` against `params`.
    pub fn parse(raw: Option<&str>, params: &[Param]) -> Result<Query, Response> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default())
            .map_err(|_| error_answer(StatusCode::BAD_REQUEST, INVALID_QUERY_STRING))?;
        let mut query = Query::default();
        for (name, value) in pairs {
            let Some(param) = params.iter().find(|p| p.name == name) else {
                return Err(error(&format!(
                    "Query validation error: 'Additional properties not allowed: {name}'."
                )));
            };
            if query.values.contains_key(param.name) {
                // A repeated parameter arrives as an array.
                return Err(invalid(
                    param,
                    &format!(
                        "Expected type {} but found type array",
                        type_name(param.kind)
                    ),
                ));
            }
            check(param, &value)?;
            query.values.insert(param.name, value);
        }
        Ok(query)
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// A checked boolean (`default` when absent).
    pub fn bool(&self, name: &str, default: bool) -> bool {
        self.str(name).map_or(default, |v| v == "true")
    }

    /// A checked integer (`default` when absent).
    pub fn int(&self, name: &str, default: i64) -> i64 {
        self.str(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    /// `fields` as a list; `None` when absent or empty (all fields).
    pub fn fields(&self) -> Option<Vec<String>> {
        let fields: Vec<String> = self
            .str(FIELDS.name)?
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect();
        (!fields.is_empty()).then_some(fields)
    }
}

fn type_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Bool | Kind::True => "boolean",
        Kind::Int { .. } => "integer",
        Kind::Str { .. } | Kind::Enum(_) => "string",
    }
}

fn check(param: &Param, value: &str) -> Result<(), Response> {
    match param.kind {
        Kind::Bool | Kind::True if value != "true" && value != "false" => Err(invalid(
            param,
            "Expected type boolean but found type string",
        )),
        Kind::True if value == "false" => Err(invalid(param, "No enum match for: false")),
        Kind::Bool | Kind::True => Ok(()),
        Kind::Int { min, max } => {
            let Ok(number) = value.parse::<i64>() else {
                let found = if value.parse::<f64>().is_ok() {
                    "number"
                } else {
                    "string"
                };
                return Err(invalid(
                    param,
                    &format!("Expected type integer but found type {found}"),
                ));
            };
            if number < min {
                return Err(invalid(
                    param,
                    &format!("Must be greater than or equal to {min}"),
                ));
            }
            match max {
                Some(max) if number > max => Err(invalid(
                    param,
                    &format!("Must be less than or equal to {max}"),
                )),
                _ => Ok(()),
            }
        }
        Kind::Str { min_len, max_len } => {
            let length = value.chars().count();
            if length < min_len {
                Err(invalid(
                    param,
                    &format!("String is too short ({length} chars), minimum {min_len}"),
                ))
            } else if length > max_len {
                Err(invalid(
                    param,
                    &format!("String is too long ({length} chars), maximum {max_len}"),
                ))
            } else {
                Ok(())
            }
        }
        Kind::Enum(allowed) if allowed.contains(&value) => Ok(()),
        Kind::Enum(_) => Err(invalid(param, &format!("No enum match for: \"{value}\""))),
    }
}

/// Auth0's wording: `Query validation error: '<problem>' on property <name> (<description>).`
pub fn invalid(param: &Param, problem: &str) -> Response {
    error(&format!(
        "Query validation error: '{problem}' on property {} ({}).",
        param.name, param.description
    ))
}

fn error(message: &str) -> Response {
    auth0_error(StatusCode::BAD_REQUEST, message, "invalid_query_string")
}
