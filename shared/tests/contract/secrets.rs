//! The management secret in Secrets Manager (moto), read through the real
//! AWS SDK: once per container, and recovered from without a restart.

use std::time::{Duration, Instant};

use serde_json::json;

use m2m_shared::App;
use m2m_shared::secrets_manager::SecretsManagerSource;

use crate::support::{
    ANSWER_WITHIN, Event, Reply, Route, SecretSetup, TestEnv, closed_url, logs, moto, silent_url,
    stdout_of,
};
use auth0_emulator::Route as Auth0Route;
use test_support::setup::{config_from, management_secret_json, service_env};

#[tokio::test]
async fn a_missing_secret_answers_500_until_it_exists() {
    let env = TestEnv::with_secret(SecretSetup::Missing).await;
    let token = env.token("owner-a");
    env.create(&token, json!({"name": "Too early"}))
        .await
        .assert_internal_error();
    env.list(&token).await.assert_internal_error();
    assert_eq!(env.emulator.count(Auth0Route::CreateClient), 0);

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
        env.list(&env.token("owner-a"))
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
    list_reading_the_secret_through(&env, client, "m2m/unreachable-secret")
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
    list_reading_the_secret_through(&env, client, "m2m/denied")
        .await
        .assert_internal_error();
    assert!(
        logs::text().contains("cannot read secret m2m/denied: access denied"),
        "the log names the problem"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_secrets_manager_answers_500_in_time_at_start_up_and_on_requests() {
    let env = TestEnv::new().await;
    // Takes connections and never answers.
    let hung = silent_url().await;
    let secret_id = "m2m/hung-secret";
    let client = || moto::client_at(&hung, "testing", "testing");
    let checks = async {
        tokio::join!(
            // A container that warms up before its first request
            // (provisioned concurrency): neither may wait for ever.
            async {
                let started = Instant::now();
                let app =
                    App::start(&config_for(&env, secret_id), source(client(), secret_id)).await;
                let warmed_up = started.elapsed();
                assert!(warmed_up < ANSWER_WITHIN, "start-up took {warmed_up:?}");
                let started = Instant::now();
                list(&env, &app).await.assert_internal_error();
                let answered = started.elapsed();
                assert!(answered < ANSWER_WITHIN, "answered after {answered:?}");
            },
            // A request that arrives while its container warms up (on
            // demand): it waits for the warm-up's read, then makes its own.
            async {
                let http = m2m_shared::http::client().expect("the HTTP client");
                let app = App::new(
                    &config_for(&env, secret_id),
                    source(client(), secret_id),
                    http,
                );
                let started = Instant::now();
                app.serve(list(&env, &app)).await.assert_internal_error();
                let answered = started.elapsed();
                assert!(answered < ANSWER_WITHIN, "answered after {answered:?}");
            },
        )
    };
    // Without a bound of its own the read would hang: fail instead.
    tokio::time::timeout(Duration::from_secs(30), checks)
        .await
        .expect("a hung Secrets Manager hung the service");
    assert!(
        logs::text()
            .contains("cannot read secret m2m/hung-secret: Secrets Manager did not answer in time"),
        "the log names the problem"
    );
}

/// A list request to a fresh container whose management secret is read
/// through `client`.
async fn list_reading_the_secret_through(
    env: &TestEnv,
    client: aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Reply {
    let app = App::start(&config_for(env, secret_id), source(client, secret_id)).await;
    list(env, &app).await
}

/// The service's configuration with the management secret `secret_id`.
fn config_for(env: &TestEnv, secret_id: &str) -> m2m_shared::config::Config {
    config_from(&service_env(&env.emulator, secret_id))
}

fn source(client: aws_sdk_secretsmanager::Client, secret_id: &str) -> SecretsManagerSource {
    SecretsManagerSource::new(client, secret_id)
}

/// owner-a's list request, through `app`.
async fn list(env: &TestEnv, app: &App) -> Reply {
    let request = Event::new(Route::ListClients)
        .bearer(&env.token("owner-a"))
        .request();
    Reply::from_response(m2m_shared::api::handle(app, Route::ListClients, request).await)
}
