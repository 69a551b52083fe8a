//! The management secret in Secrets Manager (moto), read through the real
//! AWS SDK: once per container, and recovered from without a restart.

use serde_json::json;

use crate::support::{Reply, SecretSetup, TestEnv, closed_url, logs, moto, stdout_of};
use auth0_emulator::Route as Auth0Route;
use test_support::setup::management_secret_json;

#[tokio::test]
async fn a_missing_secret_fails_only_what_needs_auth0_until_it_exists() {
    let env = TestEnv::with_secret(SecretSetup::Missing).await;
    let token = env.token("owner-a");
    let legacy = env.legacy_client("owner-a", "Imported").await;
    env.create(&token, json!({"name": "Too early"}))
        .await
        .assert_internal_error();
    env.delete(&token, &legacy).await.assert_internal_error();
    assert_eq!(env.emulator.count(Auth0Route::CreateClient), 0);
    // List and get are the owner index's alone: they keep working.
    assert_eq!(env.list(&token).await.status, 200);
    assert_eq!(env.get(&token, &legacy).await.status, 200);

    moto::create_secret(&env.secret_id, &management_secret_json()).await;
    env.create_ok("owner-a", "Recovered").await;
}

#[tokio::test]
async fn malformed_secrets_and_credentials_auth0_rejects_answer_500() {
    let rejected =
        json!({"client_id": test_support::setup::MANAGEMENT_CLIENT_ID, "client_secret": "wrong"});
    for raw in [
        "not json at all".to_owned(),
        r#"{"client_id": "only-the-id"}"#.to_owned(),
        r#"{"client_id": 1, "client_secret": 2}"#.to_owned(),
        // Well-formed, but not the management application's secret.
        rejected.to_string(),
    ] {
        let env = TestEnv::with_secret(SecretSetup::Raw(raw)).await;
        env.create(&env.token("owner-a"), json!({"name": "Refused"}))
            .await
            .assert_internal_error();
    }
}

#[tokio::test]
async fn the_secret_is_read_once_per_container() {
    let env = TestEnv::new().await;
    env.create_ok("owner-a", "One").await;
    // Remove the secret, then make the service need a new management token:
    // it still has the credentials it read at start-up.
    env.secrets
        .delete_secret()
        .secret_id(&env.secret_id)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    env.emulator.inject(
        Auth0Route::CreateClient,
        auth0_emulator::Fault::ExpireManagementTokens,
    );
    env.create_ok("owner-a", "Two").await;
    assert_eq!(env.emulator.count(Auth0Route::Token), 2);
}

#[tokio::test]
async fn an_unreachable_secrets_manager_answers_500_and_is_named_in_the_log() {
    let env = TestEnv::new().await;
    let client = moto::client_at(&closed_url(), "testing", "testing");
    create_reading_the_secret_through(&env, client, "m2m/unreachable-secret")
        .await
        .assert_internal_error();
    assert!(
        logs::text()
            .contains("cannot read secret m2m/unreachable-secret: Secrets Manager is unreachable"),
        "the log names the problem"
    );
}

#[tokio::test]
async fn access_denied_answers_500_and_is_named_in_the_log() {
    // A moto that enforces IAM after three unauthenticated set-up calls: a
    // user without permissions, its access key, and the secret.
    let url = moto::start_server(&[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]);
    let script = "import boto3, sys\n\
         kw = dict(endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='x', aws_secret_access_key='x')\n\
         iam = boto3.client('iam', **kw)\n\
         iam.create_user(UserName='function-role')\n\
         key = iam.create_access_key(UserName='function-role')['AccessKey']\n\
         boto3.client('secretsmanager', **kw).create_secret(Name='m2m/denied', SecretString='{}')\n\
         print(key['AccessKeyId'], key['SecretAccessKey'])\n";
    let stdout = stdout_of(
        std::process::Command::new(moto::python()).args(["-c", script, &url]),
        "the virtualenv's python (boto3 comes with moto)",
    );
    let keys = String::from_utf8(stdout).unwrap();
    let (key_id, secret_key) = keys.trim().split_once(' ').unwrap();

    let env = TestEnv::new().await;
    env.remember_sensitive(secret_key);
    let client = moto::client_at(&url, key_id, secret_key);
    create_reading_the_secret_through(&env, client, "m2m/denied")
        .await
        .assert_internal_error();
    assert!(
        logs::text().contains("cannot read secret m2m/denied: access denied"),
        "the log names the problem"
    );
}

/// A create (which needs Auth0, and so the management secret) to a fresh
/// container whose management secret is read through `client`.
async fn create_reading_the_secret_through(
    env: &TestEnv,
    client: aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Reply {
    // A container that must mint a token: the shared one is gone (a
    // container start with a valid shared token reads no secret at all).
    env.forget_shared_token().await;
    let app = env.container_reading_the_secret_through(client, secret_id);
    app.warm_up().await;
    env.create_through(&app).await
}
