//! A change recorded on a client's item while Auth0 is being changed
//! (`change`, `change_at`, `change_aspects`, `change_until`, and the item
//! in the `repairs` index), docs/owner-index.md, "Changes": begun on
//! condition that no other change is under way, ended on condition that it
//! is still the item's. Both are settled by reading the item when their
//! answer does not tell (`settle.rs`): a begun change's mark is its id in
//! `change`, an ended one's its id in `last_change`.

use aws_sdk_dynamodb::types::ReturnValue;

use super::clients::{ACTIVE, client_update, credentials_text, indexed_client, words};
use super::codec::{Table, n, s, text};
use super::keys::{PENDING, client_key};
use super::settle::Written;
use crate::domain::{ChangeBegun, IndexedClient, PendingChange};
use crate::error::IndexError;

/// Changes' step 2: `change` recorded on the client, as it was read.
pub(super) async fn begin(
    table: &Table,
    client: &IndexedClient,
    change: &PendingChange,
    stale_before: u64,
) -> Result<ChangeBegun, IndexError> {
    let taken_over = client.change.clone();
    let mut aspects = change.aspects;
    let key = client_key(&client.owner, &client.client_id);
    let mut update = client_update(table, &key)
        .update_expression(
            "SET change = :id, change_at = :at, change_aspects = :aspects, \
             change_until = :until, repair = :pending, repair_at = :at",
        )
        .expression_attribute_values(":id", s(&change.id))
        .expression_attribute_values(":at", n(change.started_at))
        .expression_attribute_values(":until", n(change.until))
        .expression_attribute_values(":pending", s(PENDING))
        .return_values(ReturnValue::AllNew);
    // On condition that the item is as it was read: a concurrent change
    // (or deletion) that won the race leaves this one busy.
    update = match &taken_over {
        Some(under_way) if under_way.under_way(change.started_at, stale_before) => {
            return Ok(ChangeBegun::Busy);
        }
        // No request runs it any more (it answered, or stopped half-way):
        // taken over, with what it may have left different in Auth0.
        Some(stale) => {
            aspects = aspects.union(stale.aspects);
            update
                .condition_expression("#status = :active AND change = :stale")
                .expression_attribute_values(":stale", s(&stale.id))
        }
        None => update.condition_expression("#status = :active AND attribute_not_exists(change)"),
    };
    let update = update.expression_attribute_values(":aspects", s(aspects.to_words()));
    let written = table
        .settled_update("begin change", &key, update, |item| {
            text(item, "change").as_deref() == Some(change.id.as_str())
        })
        .await?;
    Ok(match written {
        Written::Applied(item) => {
            item.as_ref()
                .and_then(indexed_client)
                .map_or(ChangeBegun::NotFound, |client| ChangeBegun::Started {
                    client,
                    taken_over,
                })
        }
        Written::Refused => ChangeBegun::Busy,
    })
}

/// Changes' step 4: the client's new values written and the change
/// removed (or narrowed to what is left), if it is still the item's.
pub(super) async fn end(
    table: &Table,
    client: &IndexedClient,
    change_id: &str,
) -> Result<bool, IndexError> {
    let key = client_key(&client.owner, &client.client_id);
    let update = client_update(table, &key)
        // Only the change itself ends it, and not once the client is
        // being deleted.
        .condition_expression("#status = :active AND change = :id")
        .expression_attribute_names("#name", "name")
        .expression_attribute_values(":id", s(change_id))
        .expression_attribute_values(":name", s(&client.name))
        .expression_attribute_values(":description", s(&client.description))
        .expression_attribute_values(":access", s(client.status.as_str()));
    let mut values =
        "SET #name = :name, description = :description, access = :access, last_change = :id"
            .to_owned();
    // Items from before scopes could be chosen keep having none recorded
    // (all of GRANT_SCOPES) until a change sets some.
    let update = match &client.scopes {
        Some(scopes) => {
            values.push_str(", scopes = :scopes");
            update.expression_attribute_values(":scopes", s(words(scopes)))
        }
        None => update,
    };
    // A key client's credentials, as the change leaves them.
    let credentials = credentials_text(client);
    let update = match &credentials {
        Some(credentials) => {
            values.push_str(", credentials = :credentials");
            update.expression_attribute_values(":credentials", s(credentials))
        }
        None => update,
    };
    let update = match &client.change {
        // What is left stays for the reconciler to repair.
        Some(left) => update
            .update_expression(format!(
                "{values}, change_aspects = :aspects, change_at = :at, repair_at = :at, \
                 change_until = :until"
            ))
            .expression_attribute_values(":aspects", s(left.aspects.to_words()))
            .expression_attribute_values(":at", n(left.started_at))
            .expression_attribute_values(":until", n(left.until)),
        None => update.update_expression(format!(
            "{values} REMOVE change, change_at, change_aspects, change_until, repair, repair_at"
        )),
    };
    let written = table
        .settled_update(
            "end change",
            &key,
            update,
            // Its mark, and its values (a repeat of an end that asks for
            // other values is not this write).
            |item| {
                text(item, "status").as_deref() == Some(ACTIVE)
                    && text(item, "last_change").as_deref() == Some(change_id)
                    && text(item, "name").as_deref() == Some(client.name.as_str())
                    && text(item, "description").as_deref() == Some(client.description.as_str())
                    && text(item, "access").as_deref() == Some(client.status.as_str())
                    && client.scopes.as_deref().is_none_or(|scopes| {
                        text(item, "scopes").as_deref() == Some(words(scopes).as_str())
                    })
                    && credentials.as_deref().is_none_or(|credentials| {
                        text(item, "credentials").as_deref() == Some(credentials)
                    })
            },
        )
        .await?;
    Ok(matches!(written, Written::Applied(_)))
}
