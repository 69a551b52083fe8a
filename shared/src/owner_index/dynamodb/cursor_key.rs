//! The key list cursors are signed with (`SERVICE`, `CURSOR_KEY`): 32
//! random bytes, made once by the first writer (docs/owner-index.md, "List
//! and get").

use super::codec::{Table, condition_failed, failed, s, text};
use super::keys::cursor_key;
use crate::error::IndexError;
use crate::secret_string::SecretString;

/// The key; made if there is none yet and `create`.
pub(super) async fn read_or_make(
    table: &Table,
    create: bool,
) -> Result<Option<SecretString>, IndexError> {
    let item_key = cursor_key();
    if let Some(item) = table.get_item(item_key.clone(), "read cursor key").await? {
        return Ok(text(&item, "key").map(SecretString::new));
    }
    if !create {
        return Ok(None);
    }
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| IndexError::Failed("no random bytes for the cursor key".into()))?;
    let value: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut item = item_key.clone();
    item.insert("key".into(), s(&value));
    let put = table
        .put_item(item)
        // The first writer's key stands; a concurrent one reads it back.
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await;
    match put {
        Ok(_) => Ok(Some(SecretString::new(value))),
        Err(error) if condition_failed(&error) => {
            let item = table.get_item(item_key, "read cursor key").await?;
            Ok(item
                .and_then(|item| text(&item, "key"))
                .map(SecretString::new))
        }
        Err(error) => Err(failed("make cursor key")(error)),
    }
}
