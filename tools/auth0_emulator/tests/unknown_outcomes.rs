//! Faults that leave a caller not knowing whether its change was made
//! (issue 19): the change applied and its answer lost or spoiled, then the
//! retries rate limited; an error answered for work done; faults that wait
//! for a request about one client.

mod support;

use std::time::Duration;

use auth0_emulator::{Fault, Route};
use reqwest::Method;
use serde_json::{Value, json};
use support::{Tenant, answer_lost, m2m, send};

const RATE_LIMITED: Fault = Fault::RateLimited {
    reset_after_secs: 1,
};

/// The stored client `id`'s `field`.
fn stored(tenant: &Tenant, id: &Value, field: &str) -> Value {
    tenant
        .emulator
        .clients()
        .into_iter()
        .find(|client| client["client_id"] == *id)
        .map(|client| client[field].clone())
        .unwrap_or(Value::Null)
}

/// The ids of the stored grants of client `id`.
fn grants_of(tenant: &Tenant, id: &Value) -> Vec<Value> {
    tenant
        .emulator
        .grants()
        .into_iter()
        .filter(|grant| grant["client_id"] == *id)
        .map(|grant| grant["id"].clone())
        .collect()
}

#[tokio::test]
async fn an_update_applied_whose_answer_is_lost_then_rate_limited_is_expressible() {
    let tenant = Tenant::start().await;
    let (_, client) = tenant.create(m2m("Before")).await;
    let id = client["client_id"].as_str().unwrap();
    let path = format!("/api/v2/clients/{id}");
    // The first attempt is made and its answer lost; its retries meet 429s.
    tenant
        .emulator
        .inject(Route::UpdateClient, Fault::DropConnection);
    tenant.emulator.inject(Route::UpdateClient, RATE_LIMITED);
    tenant.emulator.inject(Route::UpdateClient, RATE_LIMITED);
    assert_eq!(tenant.emulator.queued_faults(Route::UpdateClient), 3);

    // The status line may arrive; the body never does.
    let lost = tenant
        .request(Method::PATCH, &path)
        .json(&json!({"name": "After"}));
    assert!(answer_lost(lost).await, "the answer is lost");
    assert_eq!(stored(&tenant, &client["client_id"], "name"), "After");
    for _ in 0..2 {
        let response = tenant
            .response(Method::PATCH, &path, json!({"name": "After"}))
            .await;
        assert_eq!(response.status(), 429);
        assert!(response.headers().contains_key("x-ratelimit-reset"));
    }
    assert_eq!(tenant.emulator.queued_faults(Route::UpdateClient), 0);
    let (status, _) = tenant.update(id, json!({"name": "After"})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_grant_deletion_applied_whose_answer_is_late_then_rate_limited_is_expressible() {
    let tenant = Tenant::start().await;
    let client = tenant
        .client_with_grant("Granted", "https://butlrauth/", &["read:spaces"])
        .await;
    let grant = grants_of(&tenant, &client["client_id"]).remove(0);
    let path = format!("/api/v2/client-grants/{}", grant.as_str().unwrap());
    tenant
        .emulator
        .inject(Route::DeleteGrant, Fault::Delay(Duration::from_secs(5)));
    tenant.emulator.inject(Route::DeleteGrant, RATE_LIMITED);
    let timed_out = tenant
        .request(Method::DELETE, &path)
        .timeout(Duration::from_millis(500))
        .send()
        .await
        .unwrap_err();
    assert!(timed_out.is_timeout(), "{timed_out:?}");
    // Deleted, though its caller heard nothing.
    assert!(grants_of(&tenant, &client["client_id"]).is_empty());
    let (status, _) = tenant.call(Method::DELETE, &path, None).await;
    assert_eq!(status, 429);
}

#[tokio::test]
async fn handled_then_status_answers_an_error_for_work_done() {
    let tenant = Tenant::start().await;
    tenant
        .emulator
        .inject(Route::CreateClient, Fault::HandledThenStatus(500));
    let (status, answer) = tenant.create(m2m("Made anyway")).await;
    assert_eq!(status, 500);
    assert_eq!(answer["errorCode"], "internal_server_error", "{answer}");
    let made = tenant.emulator.clients();
    assert_eq!(made.len(), 1, "the client was created");
    assert_eq!(made[0]["name"], "Made anyway");

    let id = made[0]["client_id"].as_str().unwrap().to_owned();
    tenant
        .emulator
        .inject(Route::DeleteClient, Fault::HandledThenStatus(503));
    let (status, answer) = tenant
        .call(Method::DELETE, &format!("/api/v2/clients/{id}"), None)
        .await;
    assert_eq!(status, 503);
    assert_eq!(answer["errorCode"], "service_unavailable", "{answer}");
    assert!(
        tenant.emulator.clients().is_empty(),
        "the client was deleted"
    );
}

#[tokio::test]
async fn a_fault_for_one_client_waits_for_a_request_about_it() {
    let tenant = Tenant::start().await;
    let audience = "https://butlrauth/";
    let mine = tenant
        .client_with_grant("Mine", audience, &["read:spaces"])
        .await;
    let other = tenant
        .client_with_grant("Other", audience, &["read:spaces"])
        .await;
    let mine_id = mine["client_id"].as_str().unwrap();
    let other_id = other["client_id"].as_str().unwrap();
    let failing = Fault::Status(500);
    for route in [
        Route::UpdateClient,
        Route::ListGrants,
        Route::DeleteGrant,
        Route::CreateGrant,
    ] {
        tenant.emulator.inject_for(route, mine_id, failing);
    }

    // In the path: the client's, or its grant's.
    let (status, _) = tenant.update(other_id, json!({"name": "Renamed"})).await;
    assert_eq!(status, 200);
    let (status, _) = tenant.update(mine_id, json!({"name": "Renamed"})).await;
    assert_eq!(status, 500);
    let (status, _) = tenant.update(mine_id, json!({"name": "Renamed"})).await;
    assert_eq!(status, 200, "used up");
    // In the query.
    let (status, _) = tenant.list_grants(&[("client_id", other_id)]).await;
    assert_eq!(status, 200);
    let (status, _) = tenant.list_grants(&[("client_id", mine_id)]).await;
    assert_eq!(status, 500);
    // The grant's client.
    let other_grant = grants_of(&tenant, &other["client_id"]).remove(0);
    let mine_grant = grants_of(&tenant, &mine["client_id"]).remove(0);
    let (status, _) = tenant.delete_grant(other_grant.as_str().unwrap()).await;
    assert_eq!(status, 204);
    assert_eq!(tenant.emulator.queued_faults(Route::DeleteGrant), 1);
    let (status, _) = tenant.delete_grant(mine_grant.as_str().unwrap()).await;
    assert_eq!(status, 500);
    assert_eq!(grants_of(&tenant, &mine["client_id"]), [mine_grant]);
    // In the body.
    let grant = |id: &str| json!({"client_id": id, "audience": audience, "scope": ["read:spaces"]});
    let (status, _) = tenant.grant(grant(other_id)).await;
    assert_eq!(status, 201);
    let (status, _) = send(
        tenant
            .request(Method::POST, "/api/v2/client-grants")
            .json(&grant(mine_id)),
    )
    .await;
    assert_eq!(status, 500);
    for route in [
        Route::UpdateClient,
        Route::ListGrants,
        Route::DeleteGrant,
        Route::CreateGrant,
    ] {
        assert_eq!(tenant.emulator.queued_faults(route), 0, "{route:?}");
    }
    // A fault for any request still comes first in line.
    tenant
        .emulator
        .inject_for(Route::GetClient, mine_id, failing);
    tenant.emulator.inject(Route::GetClient, Fault::Status(503));
    let (status, _) = tenant.get(&format!("/api/v2/clients/{other_id}")).await;
    assert_eq!(status, 503);
    let (status, _) = tenant.get(&format!("/api/v2/clients/{mine_id}")).await;
    assert_eq!(status, 500);
}
