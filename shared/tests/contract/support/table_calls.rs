//! The DynamoDB calls a test environment's owner index makes, by operation
//! (`GetItem`, `TransactWriteItems`, ...), read off each request as the SDK
//! sends it.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;

#[derive(Clone, Debug, Default)]
pub struct TableCalls(Arc<Mutex<Vec<String>>>);

impl TableCalls {
    /// Every call so far.
    pub fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// The calls made since `before` calls had been made.
    pub fn since(&self, before: usize) -> Vec<String> {
        self.all().split_off(before)
    }
}

impl Intercept for TableCalls {
    fn name(&self) -> &'static str {
        "TableCalls"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // `x-amz-target: DynamoDB_20120810.GetItem`
        if let Some(target) = context.request().headers().get("x-amz-target") {
            let operation = target.rsplit('.').next().unwrap_or(target);
            self.0.lock().unwrap().push(operation.to_owned());
        }
        Ok(())
    }
}
