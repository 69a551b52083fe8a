//! Who is a caller, and what it may do: only an application calling for
//! itself is a caller (never a user, whichever application their token was
//! issued to), and each route needs its permission, granted in the token's
//! `scope` or `permissions`. 401 comes before 403, and 403 before anything
//! the request itself could earn.

use serde_json::{Value, json};

use auth0_emulator::ClientKey;

use crate::support::keys::public_key;
use crate::support::{Reply, Route, TestEnv, bearer, logs, sample_event};
use m2m_shared::routes::Permission;

const NO_OWNER: &str = "token is valid but missing client_id";
const OWNER: &str = "owner-a";

/// A request to `route` as `owner` would make it successfully: an id of
/// one of its clients for the routes that take one.
async fn send_as(env: &TestEnv, route: Route, token: &str, id: &str) -> Reply {
    let mut event = match route.takes_id() {
        true => sample_event(route).id(id),
        false => sample_event(route),
    };
    // A removal names the client's first key.
    if route == Route::DeleteCredential {
        let listed = env.list_credentials(&env.token(OWNER), id).await;
        if let Some(first) = listed.json[0]["credential_id"].as_str() {
            event = event.credential(first);
        }
    }
    env.dispatch(route, &event.bearer(token).text()).await
}

#[track_caller]
fn assert_insufficient_scope(reply: &Reply, needed: Permission, case: &str) {
    reply.assert(403, json!({"message": "insufficient scope"}));
    assert_eq!(
        reply.header("www-authenticate"),
        Some(
            format!(
                r#"Bearer error="insufficient_scope", scope="{}""#,
                needed.as_str()
            )
            .as_str()
        ),
        "{case}"
    );
}

#[tokio::test]
async fn users_and_other_clients_are_never_callers() {
    let env = TestEnv::new().await;
    let id = env.create_id(OWNER, "Owned").await;
    let cc = "client-credentials";
    for (case, claims) in [
        // RFC 9068 profile: a user signed in to application owner-a.
        (
            "user token, client_id dialect",
            json!({"client_id": OWNER, "sub": "auth0|5f7c8ec7c33c6c004bbafe82"}),
        ),
        // Auth0's default dialect: a user's token issued to owner-a.
        (
            "user token, azp dialect",
            json!({"azp": OWNER, "sub": "auth0|5f7c8ec7c33c6c004bbafe82", "gty": "password"}),
        ),
        (
            "user token, azp without gty",
            json!({"azp": OWNER, "sub": "google-oauth2|1234"}),
        ),
        (
            "user token of owner-a that also says client-credentials",
            json!({"azp": OWNER, "sub": "auth0|1234", "gty": cc}),
        ),
        (
            "sub of another client, client_id dialect",
            json!({"client_id": OWNER, "sub": "owner-b@clients"}),
        ),
        (
            "sub of another client, azp dialect",
            json!({"azp": OWNER, "sub": "owner-b@clients", "gty": cc}),
        ),
        ("no sub, client_id dialect", json!({"client_id": OWNER})),
        ("no sub, azp dialect", json!({"azp": OWNER, "gty": cc})),
        (
            "a gty other than client-credentials",
            json!({"client_id": OWNER, "sub": "owner-a@clients", "gty": "refresh_token"}),
        ),
    ] {
        // Whatever permissions it holds.
        let token = env.token_with(with_identity(claims));
        for route in Route::ALL {
            let reply = send_as(&env, route, &token, &id).await;
            reply.assert_unauthorized(NO_OWNER, case);
        }
    }
    // The owner's client is untouched and still its own.
    assert_eq!(env.get(&env.token(OWNER), &id).await.status, 200);
}

/// `claims` with `sub` removed unless they name one: `TestEnv::claims`
/// adds a client `sub` of its own otherwise.
fn with_identity(mut claims: Value) -> Value {
    if claims.get("sub").is_none() {
        claims["sub"] = Value::Null;
    }
    claims
}

#[tokio::test]
async fn applications_calling_for_themselves_are_callers_in_both_dialects() {
    let env = TestEnv::new().await;
    for claims in [
        json!({"client_id": OWNER, "sub": OWNER}),
        json!({"client_id": OWNER, "sub": "owner-a@clients"}),
        json!({"client_id": OWNER, "sub": "owner-a@clients", "gty": "client-credentials"}),
        json!({"azp": OWNER, "sub": "owner-a@clients", "gty": "client-credentials"}),
    ] {
        let reply = env.list(&env.token_with(claims.clone())).await;
        assert_eq!(reply.status, 200, "{claims}: {}", reply.text);
    }
}

/// What a token grants, and how.
#[derive(Clone, Copy, Debug)]
enum Grant {
    Nothing,
    /// The permission of another route only (in `scope`).
    AnotherRoutes,
    InScope,
    InPermissions,
}

impl Grant {
    fn claims(self, needed: Permission) -> Value {
        let other = Permission::ALL
            .into_iter()
            .find(|p| *p != needed)
            .unwrap()
            .as_str();
        match self {
            Grant::Nothing => json!({"scope": null}),
            Grant::AnotherRoutes => json!({"scope": format!("openid {other}")}),
            Grant::InScope => json!({"scope": format!("openid {}", needed.as_str())}),
            Grant::InPermissions => json!({"scope": null, "permissions": [other, needed.as_str()]}),
        }
    }
}

#[tokio::test]
async fn every_route_needs_its_permission_in_scope_or_permissions() {
    // Every route four times for one owner, and the clients and keys they
    // need: more changes than a caller may make in a minute by default.
    let env = TestEnv::with_env(vec![("OWNER_WRITES_PER_MINUTE", "1000".into())]).await;
    for route in Route::ALL {
        for grant in [
            Grant::Nothing,
            Grant::AnotherRoutes,
            Grant::InScope,
            Grant::InPermissions,
        ] {
            let case = format!("{route:?} with {grant:?}");
            let needed = route.permission();
            // The credentials routes are a key client's (a removal's,
            // with a second key: it removes the first).
            let id = if route.path().contains("/credentials") {
                let created = env.create_with_key(OWNER, "Target", ClientKey::A).await;
                let id = created["client_id"].as_str().unwrap().to_owned();
                if route == Route::DeleteCredential {
                    let added = env
                        .add_credential(&env.token(OWNER), &id, &public_key(ClientKey::C))
                        .await;
                    assert_eq!(added.status, 201, "{case}: {}", added.text);
                }
                id
            } else {
                env.create_id(OWNER, "Target").await
            };
            let clients_before = env.emulator.clients().len();
            let token = env.token_of(OWNER, grant.claims(needed));
            let reply = send_as(&env, route, &token, &id).await;
            match grant {
                Grant::Nothing | Grant::AnotherRoutes => {
                    assert_insufficient_scope(&reply, needed, &case);
                    // Refused before anything was done.
                    assert_eq!(env.emulator.clients().len(), clients_before, "{case}");
                }
                Grant::InScope | Grant::InPermissions => {
                    assert_eq!(
                        reply.status,
                        route.success_status(),
                        "{case}: {}",
                        reply.text
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn checks_run_in_order_401_then_403_then_the_request() {
    let env = TestEnv::new().await;
    // A caller that is no caller, without permissions: 401.
    let nobody = env.token_with(json!({"sub": "auth0|user", "client_id": OWNER, "scope": null}));
    let reply = env.list(&nobody).await;
    reply.assert_unauthorized(NO_OWNER, "401 first");
    // A caller without the permission, with a bad body or an unknown id: 403.
    let read_only = env.token_of(OWNER, json!({"scope": "read:m2m_clients"}));
    let reply = env.create(&read_only, json!({"no": "name"})).await;
    assert_insufficient_scope(&reply, Permission::Create, "403 before 400");
    let reply = env
        .send(
            Route::DeleteClient,
            Some(&bearer(&read_only)),
            Some("client_doesNotExist"),
            None,
        )
        .await;
    assert_insufficient_scope(&reply, Permission::Delete, "403 before 404");
    // With the permission, the request's own answer.
    let reply = env.get(&read_only, "client_doesNotExist").await;
    reply.assert_not_found();
}

#[tokio::test]
async fn permissions_can_be_turned_off_for_migrating_callers() {
    let env = TestEnv::with_env(vec![("REQUIRE_CALLER_SCOPES", "false".into())]).await;
    let bare = env.token_of(OWNER, json!({"scope": null}));
    let created = env
        .create(&bare, json!({"name": "Without permissions"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(env.list(&bare).await.status, 200);
    // Identity is still checked.
    let user = env.token_with(json!({"client_id": OWNER, "sub": "auth0|user", "scope": null}));
    env.list(&user).await.assert_unauthorized(NO_OWNER, "user");
    assert!(
        logs::text().contains("REQUIRE_CALLER_SCOPES is false"),
        "the start-up warns about it"
    );
}

#[tokio::test]
async fn a_configuration_that_lets_minted_clients_call_the_service_is_refused() {
    // New clients granted this service's own API with one of its
    // permissions could create clients their owner cannot see.
    let env = TestEnv::with_env(vec![
        ("GRANT_AUDIENCE", crate::support::CALLER_AUDIENCE.into()),
        ("GRANT_SCOPES", "read:spaces create:m2m_clients".into()),
    ])
    .await;
    for route in Route::ALL {
        let reply = send_as(&env, route, &env.token(OWNER), "client_x").await;
        reply.assert_internal_error();
    }
    assert!(env.emulator.clients().is_empty());
    assert!(
        logs::text().contains("environment variable GRANT_SCOPES is invalid"),
        "the log names the setting"
    );
}
