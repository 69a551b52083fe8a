//! The functions served by `cargo lambda watch` through the workspace
//! router, driven over HTTP like the documentation's curl examples.

use serde_json::{Value, json};

use crate::support::Route;
use crate::support::local_stack::{Caller, LocalStack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cargo_lambda_watch_serves_every_route() {
    let mut stack = LocalStack::start("watch", &[]).await;
    let caller = Caller::of(&stack, "curl-owner");

    let body = r#"{"name": "My API Client", "description": "Client for accessing internal APIs"}"#;
    let (status, created) = stack
        .first_answer(async || caller.send(Route::CreateClient, None, Some(body)).await)
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["name"], "My API Client");
    let id = created["client_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("client_"));

    let scopes = created["scopes"].clone();
    let listed = caller.send(Route::ListClients, None, None).await.unwrap();
    assert_eq!(
        listed,
        (
            200,
            json!([{"id": id, "name": "My API Client", "description": "Client for accessing internal APIs", "client_id": id, "scopes": scopes, "status": "active", "auth_method": "client_secret_post", "last_used_at": null}])
        )
    );
    let (status, got) = caller
        .send(Route::GetClient, Some(&id), None)
        .await
        .unwrap();
    assert_eq!((status, &got["id"]), (200, &json!(id)));

    // The lifecycle routes, each found by the router with its id.
    let (status, updated) = caller
        .send(
            Route::UpdateClient,
            Some(&id),
            Some(r#"{"name": "Renamed"}"#),
        )
        .await
        .unwrap();
    assert_eq!((status, &updated["name"]), (200, &json!("Renamed")));
    let (status, rotated) = caller
        .send(Route::RotateClientSecret, Some(&id), None)
        .await
        .unwrap();
    assert_eq!((status, &rotated["client_id"]), (200, &json!(id)));
    assert_ne!(rotated["client_secret"], created["client_secret"]);
    for (route, status_after) in [
        (Route::DisableClient, "disabled"),
        (Route::EnableClient, "active"),
    ] {
        let (status, client) = caller.send(route, Some(&id), None).await.unwrap();
        assert_eq!(
            (status, &client["status"]),
            (200, &json!(status_after)),
            "{route:?}"
        );
    }
    let deleted = caller
        .send(Route::DeleteClient, Some(&id), None)
        .await
        .unwrap();
    assert_eq!(deleted, (204, Value::Null));
    assert!(stack.emulator.clients().is_empty());

    // Without API Gateway in front, every answer still names its request:
    // one id each (Lambda's request id of the invocation).
    let ids = caller.request_ids.lock().unwrap().clone();
    assert!(ids.iter().all(|id| !id.is_empty()), "{ids:?}");
    let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "{ids:?}");

    let anonymous = Caller {
        bearer: None,
        ..caller
    };
    let response = anonymous
        .http
        .get(format!("{}{}", anonymous.base, Route::ListClients.path()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(
        response.headers().get("www-authenticate").unwrap(),
        "Bearer"
    );
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"message": "missing or malformed jwt"})
    );
}
