//! Creates the owner index's table (template.yaml's `ClientsTable`) in a
//! local DynamoDB stand-in: scripts/local.sh runs it against the moto it
//! starts.
//!
//!     create-clients-table --endpoint http://127.0.0.1:4566 --table m2m-clients
//!
//! The region and credentials are the AWS SDK's standard variables
//! (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, ...), as the
//! functions read them.

use std::process::ExitCode;

const USAGE: &str = "usage: create-clients-table --endpoint URL --table NAME";

fn arguments() -> Result<(String, String), String> {
    let mut endpoint = None;
    let mut table = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let slot = match arg.as_str() {
            "--endpoint" => &mut endpoint,
            "--table" => &mut table,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        };
        *slot = Some(
            args.next()
                .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))?,
        );
    }
    match (endpoint, table) {
        (Some(endpoint), Some(table)) if !endpoint.is_empty() && !table.is_empty() => {
            Ok((endpoint, table))
        }
        _ => Err(USAGE.into()),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let (endpoint, table) = match arguments() {
        Ok(arguments) => arguments,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let http = match m2m_shared::http::client() {
        Ok(http) => http,
        Err(problem) => {
            eprintln!("{problem}");
            return ExitCode::FAILURE;
        }
    };
    let sdk_config = m2m_shared::aws::sdk_config(http);
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk_config)
        .endpoint_url(&endpoint)
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    test_support::dynamodb::create_clients_table(&client, &table).await;
    println!("created table {table} at {endpoint}");
    ExitCode::SUCCESS
}
