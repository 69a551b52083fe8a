//! The documented texts, checked on every response any test sees. The
//! public documentation (and the contract beside it) fixes the words of
//! these answers; `openapi.yaml` gives messages as strings with examples,
//! so that a client generated from it still reads a reworded one, but the
//! service's own words stay the contract, pinned here.

use serde_json::json;

use super::{Reply, not_found};

/// The three 401 messages: no usable token, a token refused, a token that
/// names no caller.
pub const UNAUTHORIZED_MESSAGES: [&str; 3] = [
    "missing or malformed jwt",
    "invalid or expired jwt",
    "token is valid but missing client_id",
];

/// Panics unless `reply`, if it is an answer whose words are documented,
/// says them.
#[track_caller]
pub fn check(reply: &Reply) {
    let body = &reply.json;
    match reply.status {
        401 => {
            let message = body["message"].as_str().unwrap_or_default();
            assert!(
                UNAUTHORIZED_MESSAGES.contains(&message)
                    && body.as_object().map(|o| o.len()) == Some(1),
                "not a documented 401: {}",
                reply.text
            );
        }
        403 => assert_eq!(*body, json!({"message": "insufficient scope"}), "the 403"),
        404 if body["code"] == "CREDENTIAL_NOT_FOUND" => assert_eq!(
            *body,
            json!({"code": "CREDENTIAL_NOT_FOUND", "message": "credential not found"}),
            "the 404 of a credential"
        ),
        404 => assert_eq!(*body, not_found(), "the 404"),
        409 if body["code"] == "CLIENT_CHANGE_IN_PROGRESS" => assert_eq!(
            body["message"], "another change to this client is in progress; retry shortly",
            "the 409 CLIENT_CHANGE_IN_PROGRESS"
        ),
        500 => assert_eq!(
            *body,
            json!({"message": "Internal server error"}),
            "the 500"
        ),
        _ => {}
    }
}
