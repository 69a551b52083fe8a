//! A function's environment, as Lambda gives it: Lambda's own variables,
//! credentials (or none), and README's configuration pointing at the stubs.

use m2m_shared::config::{DEFAULT_GRANT_SCOPES, max_listable_clients};
use test_support::setup;

use super::{SECRET_ID, Subject, TOKEN_CACHE_VARIABLE, Upstream};

/// How a function's environment is set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// As in Lambda: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
    /// `AWS_SESSION_TOKEN` in the environment.
    InEnvironment,
    /// None in the environment: the SDK walks its whole credential chain
    /// (profile files, web identity, ECS, then IMDS, pointed here at a
    /// closed port on 127.0.0.1 so that nothing leaves the machine).
    Discovered,
}

impl Upstream {
    /// The function's environment: Lambda's own variables, then README's
    /// configuration table pointing at the stubs.
    pub fn environment(
        &self,
        function: Subject,
        runtime_api: &str,
        credentials: Credentials,
    ) -> Vec<(String, String)> {
        let mut env: Vec<(&str, String)> = vec![
            ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_owned()),
            ("AWS_LAMBDA_FUNCTION_NAME", function.binary().to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON".into()),
            ("AWS_LAMBDA_LOG_LEVEL", "INFO".into()),
            ("LAMBDA_TASK_ROOT", "/var/task".into()),
            ("TZ", ":UTC".into()),
            ("PATH", "/usr/local/bin:/usr/bin:/bin".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_DEFAULT_REGION", "us-east-1".into()),
            (
                "AWS_ENDPOINT_URL",
                match &self.relays {
                    Some(relays) => relays.secrets.url(),
                    None => self.secrets.url(),
                },
            ),
            (
                "AWS_ENDPOINT_URL_DYNAMODB",
                match &self.relays {
                    Some(relays) => relays.table.url(),
                    None => test_support::moto::url().to_owned(),
                },
            ),
        ];
        env.extend(setup::service_env(&self.emulator, SECRET_ID, &self.table));
        // The benchmarks create (and seed) far more than the default quota
        // of 50 clients for their one caller, and far faster than its
        // default 60 writes a minute: coldstart's 30 runs of create and
        // get, soak's 700 creates. The quota and the writes are checked
        // the same way whatever their limits (one conditional write each),
        // so the highest ones allowed cost nothing and never answer 409 or
        // 429.
        let most_clients = max_listable_clients(
            &DEFAULT_GRANT_SCOPES
                .iter()
                .map(|scope| (*scope).to_owned())
                .collect::<Vec<_>>(),
        );
        env.push(("MAX_CLIENTS_PER_OWNER", most_clients.to_string()));
        env.push(("OWNER_WRITES_PER_MINUTE", "60000".into()));
        // The management token's cache (`shared`: one token for all
        // containers, in the table; `container`: one each), passed through
        // from the driver's environment; unset, the function's default.
        if let Ok(cache) = std::env::var(TOKEN_CACHE_VARIABLE) {
            env.push((TOKEN_CACHE_VARIABLE, cache));
        }
        match credentials {
            Credentials::InEnvironment => env.extend([
                ("AWS_ACCESS_KEY_ID", "AKIABENCHMARK000000".into()),
                ("AWS_SECRET_ACCESS_KEY", "bench-secret-access-key".into()),
                ("AWS_SESSION_TOKEN", "bench-session-token".into()),
            ]),
            Credentials::Discovered => env.extend([
                // An empty home: no profile files to find.
                ("HOME", std::env::temp_dir().display().to_string()),
                (
                    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                    format!("http://127.0.0.1:{}", self.closed_port),
                ),
            ]),
        }
        let mut env: Vec<(String, String)> =
            env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        // Experiments: `BENCH_FUNCTION_ENV="NAME=value NAME2=value2"` adds
        // or overrides variables.
        if let Ok(extra) = std::env::var("BENCH_FUNCTION_ENV") {
            for pair in extra.split_whitespace() {
                if let Some((name, value)) = pair.split_once('=') {
                    env.retain(|(k, _)| k != name);
                    env.push((name.to_owned(), value.to_owned()));
                }
            }
        }
        env
    }
}
