//! Paging shared by the Management API's lists.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::json_response;
use super::query::{self, Query};

/// `per_page` and `take` when the query gives none (Auth0's default).
const DEFAULT_PER_PAGE: i64 = 50;

/// The page of `matching` the query asks for, each item as `show` presents
/// it, under `key` when the answer is an object. Both lists page the same
/// two ways:
///
/// - `from` or `take` given: checkpoint paging, `{key, next}`. `from` is the
///   opaque `next` of the previous page (here, the position of the page's
///   first item), and `next` is there while items remain. Any other `from`
///   gets Auth0's answer for a bad checkpoint (an empty one is the first
///   page).
/// - otherwise offset paging by `page` and `per_page`: the bare array, or
///   with `include_totals=true` an object of these four members, no more
///   (as `List*OffsetPaginatedResponseContent`).
pub(super) fn list_page(
    query: &Query,
    key: &str,
    matching: &[&Value],
    show: impl Fn(&Value) -> Value,
) -> Result<Response, Response> {
    if query
        .str("from")
        .is_some_and(|from| !from.is_empty() && from.parse::<usize>().is_err())
    {
        return Err(query::invalid(&query::FROM, "Invalid checkpoint"));
    }
    let items = |start: usize, count: usize| -> Vec<Value> {
        matching
            .iter()
            .skip(start)
            .take(count)
            .map(|item| show(item))
            .collect()
    };
    if query.str("from").is_some() || query.str("take").is_some() {
        let start = query
            .str("from")
            .and_then(|from| from.parse::<usize>().ok())
            .unwrap_or(0);
        let take = usize::try_from(query.int("take", DEFAULT_PER_PAGE)).unwrap_or_default();
        let mut page = json!({ key: items(start, take) });
        let end = start.saturating_add(take);
        if end < matching.len() {
            page["next"] = Value::from(end.to_string());
        }
        return Ok(json_response(StatusCode::OK, &page));
    }

    let page = usize::try_from(query.int("page", 0)).unwrap_or_default();
    let per_page = usize::try_from(query.int("per_page", DEFAULT_PER_PAGE)).unwrap_or_default();
    let start = page.saturating_mul(per_page);
    let items = items(start, per_page);
    let page = if query.bool("include_totals", false) {
        json!({
            "start": start,
            "limit": per_page,
            "total": matching.len(),
            key: items,
        })
    } else {
        Value::Array(items)
    };
    Ok(json_response(StatusCode::OK, &page))
}
