//! The baseline of the cold-start benchmark: a `lambda_runtime` function that
//! answers every event with itself. Built with the same release profile and
//! runtime flavour as the four functions, it is what a Rust Lambda costs
//! before it does anything of its own.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
