//! The functions served by `cargo lambda watch` through the workspace
//! router, driven over HTTP like the documentation's curl examples.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::Route;
use crate::support::local_stack::LocalStack;

/// A caller of the API over HTTP, as curl would be.
struct Caller {
    http: reqwest::Client,
    base: String,
    bearer: Option<String>,
    /// The `x-request-id` of every answer so far.
    request_ids: Mutex<Vec<String>>,
}

impl Caller {
    /// Sends `route` (with `id` and `body`); the status and JSON answer.
    async fn send(
        &self,
        route: Route,
        id: Option<&str>,
        body: Option<&str>,
    ) -> Result<(u16, Value), reqwest::Error> {
        let path = match id {
            Some(id) => route.path().replace("{id}", id),
            None => route.path().to_owned(),
        };
        let method = reqwest::Method::from_bytes(route.method().as_bytes()).unwrap();
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            // The first request to each function compiles and starts it.
            .timeout(Duration::from_secs(240));
        if let Some(bearer) = &self.bearer {
            request = request.header("authorization", bearer);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let request_id = response.headers().get("x-request-id");
        let request_id = request_id
            .and_then(|id| id.to_str().ok())
            .unwrap_or_default();
        self.request_ids.lock().unwrap().push(request_id.to_owned());
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cargo_lambda_watch_serves_every_route() {
    let mut stack = LocalStack::start("watch", &[]).await;
    let caller = Caller {
        http: reqwest::Client::new(),
        base: stack.base.clone(),
        bearer: Some(format!("Bearer {}", stack.token("curl-owner"))),
        request_ids: Mutex::default(),
    };

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
            json!([{"id": id, "name": "My API Client", "description": "Client for accessing internal APIs", "client_id": id, "scopes": scopes, "status": "active"}])
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
