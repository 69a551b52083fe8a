//! Issue 20's end-to-end case, through `cargo lambda watch` against the
//! emulator, over HTTP as a caller would: a client created with a key gets
//! a token with a client assertion; a second key is added and both mint;
//! a third is refused; the first is removed and only the second mints; the
//! last cannot be removed.

use auth0_emulator::ClientKey;
use serde_json::{Value, json};

use crate::support::Route;
use crate::support::keys::{mint_with_key, public_key};
use crate::support::local_stack::{Caller, LocalStack};

/// Adds `key` to the client `id`: the status and the answer.
async fn add_key(caller: &Caller, id: &str, key: ClientKey) -> (u16, Value) {
    let body = public_key(key).to_string();
    caller
        .send(Route::CreateCredential, Some(id), Some(&body))
        .await
        .unwrap()
}

/// Removes the client `id`'s credential `credential_id`: the status and
/// the answer.
async fn remove_key(caller: &Caller, id: &str, credential_id: &str) -> (u16, Value) {
    let path = Route::DeleteCredential
        .path()
        .replace("{id}", id)
        .replace("{credential_id}", credential_id);
    caller
        .send_to(Route::DeleteCredential, &path, None)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_is_rotated_without_downtime_through_cargo_lambda_watch() {
    let mut stack = LocalStack::start("keys", &[]).await;
    let caller = Caller::of(&stack, "key-owner");
    let body = json!({"name": "Keyed", "public_key": public_key(ClientKey::A)}).to_string();
    let (status, created) = stack
        .first_answer(async || caller.send(Route::CreateClient, None, Some(&body)).await)
        .await;
    let emulator = &stack.emulator;
    assert_eq!(status, 201, "{created}");
    assert!(created.get("client_secret").is_none(), "{created}");
    let id = created["client_id"].as_str().unwrap().to_owned();
    let first = created["credentials"][0]["credential_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(mint_with_key(emulator, &id, ClientKey::A).await, 200);
    assert_eq!(mint_with_key(emulator, &id, ClientKey::B).await, 401);

    // The next key: both mint while the callers move over.
    let (status, added) = add_key(&caller, &id, ClientKey::B).await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["thumbprint_sha256"], ClientKey::B.thumbprint());
    assert_eq!(mint_with_key(emulator, &id, ClientKey::A).await, 200);
    assert_eq!(mint_with_key(emulator, &id, ClientKey::B).await, 200);

    // A third is refused.
    let (status, refused) = add_key(&caller, &id, ClientKey::C).await;
    assert_eq!(
        (status, &refused["code"]),
        (409, &json!("CREDENTIAL_LIMIT_REACHED"))
    );

    // The old key goes: only the new one mints.
    let (status, _) = remove_key(&caller, &id, &first).await;
    assert_eq!(status, 204);
    assert_eq!(mint_with_key(emulator, &id, ClientKey::A).await, 401);
    assert_eq!(mint_with_key(emulator, &id, ClientKey::B).await, 200);
    let (status, listed) = caller
        .send(Route::ListCredentials, Some(&id), None)
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(listed, json!([added]));

    // The last one cannot be removed.
    let last = added["credential_id"].as_str().unwrap();
    let (status, refused) = remove_key(&caller, &id, last).await;
    assert_eq!((status, &refused["code"]), (409, &json!("LAST_CREDENTIAL")));
    assert_eq!(mint_with_key(emulator, &id, ClientKey::B).await, 200);
    assert!(emulator.schema_violations().is_empty());
}
