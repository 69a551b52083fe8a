//! Key credentials (docs/behaviour.md, "Key credentials"): clients that
//! authenticate with Private Key JWT instead of a secret, created with
//! `public_key`, their keys listed, added and removed through the
//! credentials routes; every 400, 404 and 409 of the contract; a tenant
//! without Private Key JWT; Auth0 failing on the credential calls, and the
//! state the reconciler leaves. Auth0's side is checked in the emulator
//! (what each client holds and enables, and whom its `/oauth/token` takes).

use auth0_emulator::{ClientKey, Fault, Route as Auth0Route};
use m2m_shared::domain::OwnerIndex;
use serde_json::{Value, json};

use crate::support::keys::public_key;
use crate::support::{Event, RATE_LIMITED, Route, TestEnv, UNKNOWN_ID, logs, not_found};

/// The keys of a key create's 201 body, sorted.
const KEY_CREATED_KEYS: [&str; 6] = [
    "auth_method",
    "client_id",
    "credentials",
    "description",
    "name",
    "scopes",
];

/// A test environment with a key client of owner-a's made with key A:
/// the environment, the client's id and its 201 body.
async fn key_client() -> (TestEnv, String, Value) {
    let env = TestEnv::new().await;
    let created = env.create_with_key("owner-a", "Keyed", ClientKey::A).await;
    let id = created["client_id"].as_str().unwrap().to_owned();
    (env, id, created)
}

/// The credentials the emulator holds for `id`: `(kid, enabled)`, sorted.
fn held(env: &TestEnv, id: &str) -> Vec<(String, bool)> {
    let enabled: Vec<Value> = env
        .auth0_client(id)
        .map(|client| {
            client["client_authentication_methods"]["private_key_jwt"]["credentials"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .unwrap_or_default();
    let mut held: Vec<(String, bool)> = env
        .emulator
        .credentials(id)
        .iter()
        .map(|credential| {
            let on = enabled.iter().any(|e| e["id"] == credential["id"]);
            (credential["kid"].as_str().unwrap().to_owned(), on)
        })
        .collect();
    held.sort();
    held
}

fn enabled(keys: &[ClientKey]) -> Vec<(String, bool)> {
    let mut expected: Vec<(String, bool)> = keys.iter().map(|k| (k.thumbprint(), true)).collect();
    expected.sort();
    expected
}

/// The thumbprints the service lists for `id`.
async fn listed(env: &TestEnv, id: &str) -> Vec<Value> {
    let reply = env.list_credentials(&env.token("owner-a"), id).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["thumbprint_sha256"].clone())
        .collect()
}

/// No change of a client is left recorded (the reconciler finished them).
async fn assert_nothing_half_done(env: &TestEnv) {
    let stale = env.index().stale_operations(u64::MAX).await.unwrap();
    assert!(stale.is_empty(), "{stale:?}");
}

fn coded(code: &str, message: &str) -> Value {
    json!({"code": code, "message": message})
}

#[tokio::test]
async fn a_key_client_has_no_secret_and_gets_tokens_with_assertions_of_its_key() {
    let (env, id, created) = key_client().await;
    let keys: Vec<&str> = created
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, KEY_CREATED_KEYS, "{created}");
    assert_eq!(created["auth_method"], "private_key_jwt");
    let credential = &created["credentials"][0];
    assert_eq!(created["credentials"].as_array().unwrap().len(), 1);
    assert_eq!(credential["thumbprint_sha256"], ClientKey::A.thumbprint());
    assert_eq!(credential["alg"], "RS256");
    assert_eq!(credential["expires_at"], Value::Null);
    assert!(credential["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(
        credential["credential_id"]
            .as_str()
            .unwrap()
            .starts_with("cred_")
    );

    // Auth0's client is as the contract says: RS256 for its JWTs, the key
    // enabled, no token_endpoint_auth_method.
    let client = env.auth0_client(&id).unwrap();
    assert_eq!(client["jwt_configuration"]["alg"], "RS256");
    assert!(
        client.get("token_endpoint_auth_method").is_none(),
        "{client}"
    );
    assert_eq!(held(&env, &id), enabled(&[ClientKey::A]));
    assert!(env.emulator.schema_violations().is_empty());

    // Get and list say how it authenticates; a secret client says so too.
    let token = env.token("owner-a");
    let got = env.get(&token, &id).await;
    assert_eq!(got.json["auth_method"], "private_key_jwt", "{}", got.text);
    let secret = env.create_id("owner-a", "Secret").await;
    let list = env.list(&token).await;
    let methods: Vec<&Value> = list
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["auth_method"])
        .collect();
    assert_eq!(
        methods,
        [&json!("private_key_jwt"), &json!("client_secret_post")]
    );
    assert_eq!(
        env.get(&token, &secret).await.json["auth_method"],
        "client_secret_post"
    );

    // Its key mints; another key does not.
    assert_eq!(env.mint_with_key(&id, ClientKey::A).await, 200);
    assert_eq!(env.mint_with_key(&id, ClientKey::B).await, 401);
    assert_eq!(listed(&env, &id).await, [json!(ClientKey::A.thumbprint())]);
}

#[tokio::test]
async fn every_bad_key_is_refused_naming_the_problem_and_a_private_key_is_never_logged() {
    let (env, id, _) = key_client().await;
    let token = env.token("owner-a");
    let clients_before = env.client_ids();
    for (key, message) in test_support::bodies::invalid_public_keys() {
        let created = env
            .create(&token, json!({"name": "Bad key", "public_key": key}))
            .await;
        created.assert(400, coded("INVALID_REQUEST", message));
        let added = env.add_credential(&token, &id, &key).await;
        let expected = if key.is_object() {
            message
        } else {
            "request body must be a JSON object"
        };
        added.assert(400, coded("INVALID_REQUEST", expected));
    }
    // Nothing reached Auth0, and the client still has its one key.
    assert_eq!(env.client_ids(), clients_before);
    assert_eq!(env.emulator.count(Auth0Route::CreateCredential), 0);
    assert_eq!(held(&env, &id), enabled(&[ClientKey::A]));

    // The private key sent by mistake is in no log line, nor any part of it.
    let logged = logs::text();
    let private = ClientKey::A.private_pem();
    for line in private.lines().filter(|line| !line.starts_with("-----")) {
        assert!(!logged.contains(line), "a private key line was logged");
    }
    assert!(!logged.contains(&private.replace('\n', "\\n")[40..100]));
}

#[tokio::test]
async fn the_credentials_routes_refuse_as_documented() {
    let (env, id, created) = key_client().await;
    let token = env.token("owner-a");
    let first = created["credentials"][0]["credential_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A client that uses a secret has no keys, and a key client no secret.
    let secret = env.create_id("owner-a", "Secret").await;
    let uses_secret = coded(
        "CLIENT_USES_SECRET",
        "this client authenticates with a secret, not keys",
    );
    env.list_credentials(&token, &secret)
        .await
        .assert(409, uses_secret.clone());
    env.add_credential(&token, &secret, &public_key(ClientKey::B))
        .await
        .assert(409, uses_secret.clone());
    env.remove_credential(&token, &secret, "cred_x")
        .await
        .assert(409, uses_secret);
    env.lifecycle(Route::RotateClientSecret, &token, &id, None).await.assert(
        409,
        coded("CLIENT_USES_KEYS", "this client authenticates with keys and has no secret: rotate by adding a key, then removing the old one"),
    );

    // Unknown: the credential (checked before the last-key rule), the
    // client, someone else's client.
    let not_found_credential = coded("CREDENTIAL_NOT_FOUND", "credential not found");
    for unknown in ["cred_unknown", "../x", "a%2Fb"] {
        env.remove_credential(&token, &id, unknown)
            .await
            .assert(404, not_found_credential.clone());
    }
    let other = env.token("owner-b");
    env.list_credentials(&other, &id).await.assert_not_found();
    env.add_credential(&other, &id, &public_key(ClientKey::B))
        .await
        .assert_not_found();
    env.remove_credential(&other, &id, &first)
        .await
        .assert(404, not_found());
    env.list_credentials(&token, UNKNOWN_ID)
        .await
        .assert_not_found();

    // The last key stays.
    env.remove_credential(&token, &id, &first).await.assert(
        409,
        coded(
            "LAST_CREDENTIAL",
            "this is the client's last credential: add its successor before removing it",
        ),
    );
    // Two at most: a third is refused, before Auth0 is asked.
    let added = env
        .add_credential(&token, &id, &public_key(ClientKey::B))
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    let posts = env.emulator.count(Auth0Route::CreateCredential);
    env.add_credential(&token, &id, &public_key(ClientKey::C)).await.assert(
        409,
        coded("CREDENTIAL_LIMIT_REACHED", "credential limit reached: a client may hold at most 2 credentials; remove one first"),
    );
    assert_eq!(env.emulator.count(Auth0Route::CreateCredential), posts);
    assert_eq!(held(&env, &id), enabled(&[ClientKey::A, ClientKey::B]));
    // The same key again is the credential it already is.
    let again = env
        .add_credential(&token, &id, &public_key(ClientKey::B))
        .await;
    assert_eq!((again.status, &again.json), (201, &added.json));
    assert!(env.emulator.schema_violations().is_empty());
}

#[tokio::test]
async fn key_credentials_turned_off_are_refused_without_calling_auth0() {
    let env = TestEnv::with_env(vec![("KEY_CREDENTIALS", "false".into())]).await;
    let token = env.token("owner-a");
    let unavailable = coded(
        "KEY_CREDENTIALS_UNAVAILABLE",
        "key credentials (Private Key JWT) are not available in this deployment; create the client without public_key to get a secret",
    );
    let before = env.emulator.requests().len();
    env.create(
        &token,
        json!({"name": "Keyed", "public_key": public_key(ClientKey::A)}),
    )
    .await
    .assert(400, unavailable);
    assert_eq!(env.emulator.requests().len(), before);
    assert_eq!(env.quota_count("owner-a").await, 0);
    // Secrets still work.
    env.create_ok("owner-a", "Secret").await;
}

#[tokio::test]
async fn a_tenant_without_private_key_jwt_creates_nothing() {
    let env = TestEnv::new().await;
    env.emulator.set_private_key_jwt(false);
    let token = env.token("owner-a");
    let body = json!({"name": "Keyed", "public_key": public_key(ClientKey::A)});
    let refused = env.create_keyed(&token, "key-1", body.clone()).await;
    refused.assert(
        400,
        coded(
            "KEY_CREDENTIALS_UNAVAILABLE",
            "key credentials (Private Key JWT) are not available in this deployment; create the client without public_key to get a secret",
        ),
    );
    // Nothing anywhere: no client, no item, no quota, the key released.
    assert!(env.client_ids().is_empty());
    assert_eq!(env.list(&token).await.json, json!([]));
    env.assert_owner_has_clients("owner-a", 0, "refused by the plan")
        .await;
    env.emulator.set_private_key_jwt(true);
    let anew = env.create_keyed(&token, "key-1", body).await;
    assert_eq!(anew.status, 201, "{}", anew.text);
}

#[tokio::test]
async fn a_replay_of_a_key_create_answers_the_same_201() {
    let env = TestEnv::new().await;
    let token = env.token("owner-a");
    let body = json!({"name": "Once", "public_key": public_key(ClientKey::A)});
    let first = env.create_keyed(&token, "key-1", body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = env.create_keyed(&token, "key-1", body).await;
    assert_eq!((again.status, &again.json), (201, &first.json));
    assert_eq!(env.client_ids().len(), 1);
}

/// Auth0's answer to a new credential lost after it was made: the service
/// finds it by its kid and enables it; the add succeeds.
#[tokio::test]
async fn a_credential_whose_answer_is_lost_is_found_and_enabled() {
    let (env, id, _) = key_client().await;
    env.emulator
        .inject(Auth0Route::CreateCredential, Fault::HandledThenStatus(503));
    let added = env
        .add_credential(&env.token("owner-a"), &id, &public_key(ClientKey::B))
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    assert_eq!(added.json["thumbprint_sha256"], ClientKey::B.thumbprint());
    assert_eq!(env.emulator.count(Auth0Route::ListCredentials), 1);
    assert_eq!(held(&env, &id), enabled(&[ClientKey::A, ClientKey::B]));
    assert_eq!(env.mint_with_key(&id, ClientKey::B).await, 200);
}

/// Auth0 failing on the credential calls: each answer is the documented
/// one, and once the reconciler has run, Auth0 holds and enables exactly
/// what the service lists (the contract's unknown-outcome rule: a change
/// that answered 502 leaves the client as it was).
#[tokio::test]
async fn auth0_failing_on_credential_calls_leaves_the_client_as_it_was_after_the_reconciler() {
    let (env, id, created) = key_client().await;
    let token = env.token("owner-a");
    let create_failed = coded("CREDENTIAL_CREATE_FAILED", "failed to add the credential");
    let delete_failed = coded(
        "CREDENTIAL_DELETE_FAILED",
        "failed to remove the credential",
    );

    // The POST refused outright (a 500 before Auth0 stored anything): the
    // listing finds nothing; 502, nothing left.
    let first = created["credentials"][0]["credential_id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.emulator
        .inject(Auth0Route::CreateCredential, Fault::Status(500));
    env.add_credential(&token, &id, &public_key(ClientKey::B))
        .await
        .assert(502, create_failed.clone());
    env.reconcile(false).await;
    assert_eq!(held(&env, &id), enabled(&[ClientKey::A]));

    // Rate limited throughout: nothing was done, 503, and not busy after.
    env.inject_times(Auth0Route::CreateCredential, RATE_LIMITED, 3);
    let busy = env
        .add_credential(&token, &id, &public_key(ClientKey::B))
        .await;
    assert_eq!(busy.status, 503, "{}", busy.text);
    assert_eq!(busy.json["code"], "CREDENTIAL_CREATE_FAILED");
    assert_eq!(held(&env, &id), enabled(&[ClientKey::A]));

    // The enabling PATCH processed but its answer lost: Auth0 enables a key
    // the service does not list, until the reconciler disables and
    // deletes it.
    env.inject_times(Auth0Route::UpdateClient, Fault::HandledThenStatus(500), 3);
    env.add_credential(&token, &id, &public_key(ClientKey::B))
        .await
        .assert(502, create_failed);
    assert_eq!(listed(&env, &id).await, [json!(ClientKey::A.thumbprint())]);
    env.reconcile(false).await;
    assert_eq!(held(&env, &id), enabled(&[ClientKey::A]));
    assert_eq!(env.mint_with_key(&id, ClientKey::B).await, 401);
    assert_nothing_half_done(&env).await;

    // A removal whose DELETE fails after the key was disabled: the
    // reconciler gives the key back, as it was.
    let added = env
        .add_credential(&token, &id, &public_key(ClientKey::B))
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    env.inject_times(Auth0Route::DeleteCredential, Fault::Status(500), 3);
    env.remove_credential(&token, &id, &first)
        .await
        .assert(502, delete_failed);
    assert_eq!(listed(&env, &id).await.len(), 2);
    env.reconcile(false).await;
    assert_eq!(held(&env, &id), enabled(&[ClientKey::A, ClientKey::B]));
    assert_eq!(env.mint_with_key(&id, ClientKey::A).await, 200);
    assert_nothing_half_done(&env).await;
    assert!(env.emulator.schema_violations().is_empty());
}

/// The POST's outcome unknown and the credential not found yet (it landed
/// after the listing): the change stays recorded, and the reconciler finds
/// the key and deletes it.
#[tokio::test]
async fn a_credential_that_lands_unseen_is_deleted_by_the_reconciler() {
    let (env, id, _) = key_client().await;
    // The POST is stored, its answer lost; the listing that looks for it
    // fails too, so the outcome stays unknown.
    env.emulator
        .inject(Auth0Route::CreateCredential, Fault::HandledThenStatus(500));
    env.inject_times(Auth0Route::ListCredentials, Fault::Status(500), 3);
    let failed = env
        .add_credential(&env.token("owner-a"), &id, &public_key(ClientKey::B))
        .await;
    failed.assert(
        502,
        coded("CREDENTIAL_CREATE_FAILED", "failed to add the credential"),
    );
    // Stored but not enabled, and not listed: it takes a slot until found.
    assert_eq!(
        held(&env, &id),
        [
            (ClientKey::A.thumbprint(), true),
            (ClientKey::B.thumbprint(), false)
        ]
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
    );
    env.reconcile(false).await;
    assert_eq!(held(&env, &id), enabled(&[ClientKey::A]));
    assert_eq!(listed(&env, &id).await, [json!(ClientKey::A.thumbprint())]);
    // Free again: the next key is added.
    let added = env
        .add_credential(&env.token("owner-a"), &id, &public_key(ClientKey::B))
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
}

/// The credential id of a removal comes from the path, also without API
/// Gateway's path parameters (`cargo lambda watch`), and a client named
/// like the route's segment is still found.
#[tokio::test]
async fn the_credential_id_is_read_from_the_path() {
    let (env, id, created) = key_client().await;
    let token = env.token("owner-a");
    let added = env
        .add_credential(&token, &id, &public_key(ClientKey::B))
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    let first = created["credentials"][0]["credential_id"].as_str().unwrap();
    let mut event: Value = serde_json::from_str(
        &Event::new(Route::DeleteCredential)
            .bearer(&token)
            .id(&id)
            .credential(first)
            .text(),
    )
    .unwrap();
    event.as_object_mut().unwrap().remove("pathParameters");
    let reply = env
        .dispatch(Route::DeleteCredential, &event.to_string())
        .await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    assert_eq!(held(&env, &id), enabled(&[ClientKey::B]));
}

/// Auth0's calls, in the contract's order: a key create is one client
/// creation (the key in it) and the grant; an add is the credential's POST,
/// then the client's PATCH enabling both; a removal that PATCH without the
/// key, then the key's DELETE. Listing asks Auth0 nothing.
#[tokio::test]
async fn auth0_is_called_in_the_contracts_order() {
    let (env, id, created) = key_client().await;
    assert_eq!(
        env.management_calls(),
        [Auth0Route::CreateClient, Auth0Route::CreateGrant]
    );
    let token = env.token("owner-a");
    let added = env
        .add_credential(&token, &id, &public_key(ClientKey::B))
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    listed(&env, &id).await;
    let first = created["credentials"][0]["credential_id"].as_str().unwrap();
    let removed = env.remove_credential(&token, &id, first).await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    assert_eq!(
        env.management_calls()[2..],
        [
            Auth0Route::CreateCredential,
            Auth0Route::UpdateClient,
            Auth0Route::UpdateClient,
            Auth0Route::DeleteCredential,
        ]
    );
    assert_eq!(held(&env, &id), enabled(&[ClientKey::B]));
}
