//! AWS for the tests: one `moto_server` per test process,
//! started on first use and stopped when the process ends.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::config::{
    BehaviorVersion, Credentials, Region, SharedCredentialsProvider,
};

static MOTO_URL: OnceLock<String> = OnceLock::new();

/// The URL of the running moto server (`MOTO_URL` if the caller already runs one).
pub fn url() -> &'static str {
    MOTO_URL.get_or_init(|| std::env::var("MOTO_URL").unwrap_or_else(|_| start_server(&[])))
}

/// A Secrets Manager client of the real AWS SDK, pointed at moto.
pub fn secrets_manager_client() -> aws_sdk_secretsmanager::Client {
    client_at(url(), "testing", "testing")
}

/// Creates the secret `name` holding `value` in moto.
pub async fn create_secret(name: &str, value: &str) {
    secrets_manager_client()
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .unwrap_or_else(|error| panic!("cannot create secret {name} in moto: {error:?}"));
}

/// A Secrets Manager client of the real AWS SDK for any endpoint and keys.
pub fn client_at(endpoint: &str, key_id: &str, secret_key: &str) -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(key_id, secret_key, None, None, "tests"))
        // The service's own HTTP client for the SDK, as in the functions.
        .http_client(m2m_shared::http::AwsHttpClient::new(
            m2m_shared::http::client().expect("the HTTP client"),
        ))
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// The AWS configuration of a client of `endpoint` (moto, or a stand-in
/// that misbehaves): the test credentials and region, sending through the
/// service's HTTP client.
pub fn aws_config_at(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "tests",
        )))
        .http_client(m2m_shared::http::AwsHttpClient::new(
            m2m_shared::http::client().expect("the HTTP client"),
        ))
        .build()
}

fn moto_server_binary() -> PathBuf {
    if let Ok(path) = std::env::var("MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let venv = crate::report::workspace_dir().join(".venv/bin/moto_server");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("moto_server")
}

/// The Python of the virtualenv moto is installed in (it has boto3).
pub fn python() -> PathBuf {
    moto_server_binary().with_file_name("python")
}

/// Starts another moto server with these environment variables (for
/// example `INITIAL_NO_AUTH_ACTION_COUNT`, which makes it enforce IAM).
pub fn start_server(env: &[(&str, &str)]) -> String {
    start(&moto_server_binary(), &[], env)
}

/// Starts a moto server that handles one request at a time. moto applies
/// conditional writes and transactions without a lock of its own: on the
/// threaded server two concurrent requests can both pass a condition, a
/// race of moto's that DynamoDB does not have. Concurrency tests use this
/// one, so that a race they find is ours.
pub fn start_single_threaded_server() -> String {
    start(&python(), &["-c", SINGLE_THREADED], &[])
}

/// [`start_single_threaded_server`], run ahead of every other process of
/// the machine (`nice -n -10`) where the OS allows it (root, or
/// `CAP_SYS_NICE`; elsewhere `nice` runs it as usual): as DynamoDB, which
/// has CPUs of its own, it then answers in milliseconds even while a test's
/// many function processes start on the same few cores.
pub fn start_single_threaded_server_ahead() -> String {
    let python = python();
    let python = python.to_string_lossy();
    start(
        std::path::Path::new("nice"),
        &["-n", "-10", &python, "-c", SINGLE_THREADED],
        &[],
    )
}

/// moto's server, one request at a time (see [`start_single_threaded_server`]).
const SINGLE_THREADED: &str = "import sys\n\
    from werkzeug.serving import run_simple\n\
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app\n\
    run_simple('127.0.0.1', int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), threaded=False)\n";

/// Runs `program` with `args` and the port's number, kept alive exactly as
/// long as this test process, and waits until it listens.
fn start(program: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let with_port: Vec<String> = if args.is_empty() {
        vec![
            "-H".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
        ]
    } else {
        args.iter()
            .map(|arg| (*arg).to_owned())
            .chain([port.to_string()])
            .collect()
    };
    // A watchdog shell keeps moto alive exactly as long as this test
    // process: test binaries have no hook to run at exit.
    let script = format!(
        "\"$0\" \"$@\" >/dev/null 2>&1 & moto=$!; \
         while kill -0 {parent} 2>/dev/null; do sleep 0.5; done; kill $moto",
        parent = std::process::id()
    );
    // Never waited for: the watchdog outlives every test and ends with the
    // process, when init reaps it.
    #[allow(clippy::zombie_processes)]
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(program)
        .args(&with_port)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {}: {error}", program.display()));
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "moto ({}) did not start: install it with `pip install 'moto[server]'` \
             or run the README's test command, which does",
            program.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    format!("http://127.0.0.1:{port}")
}
