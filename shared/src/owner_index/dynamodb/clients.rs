//! Client items (`CLIENT#<client_id>`): how a client is written and read,
//! and what list, get and delete do with them (docs/owner-index.md, "List
//! and get", "Delete"). An item's `status` says whether it is listed
//! (`active`) or being deleted; whether the client may get tokens is its
//! `access`.

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::ReturnValue;

use super::codec::{Item, Table, applied, by_deadline, call_deadline, failed, n, number, s, text};
use super::keys::{BY_CREATION, PENDING, client_key, owner_pk};
use super::quota::give_back;
use super::settle::Written;
use crate::domain::deadline::epoch_micros;
use crate::domain::{
    Aspects, ClientStatus, IndexedClient, Owner, Page, PendingChange, Position, STALE_AFTER,
    micros, now_micros,
};
use crate::error::IndexError;

// An item's `status`: listed, or being deleted. (Whether the client may get
// tokens is its `access`: `active` or `disabled`.)
pub(super) const ACTIVE: &str = "active";
pub(super) const DELETING: &str = "deleting";

/// An update of the client item at `key`, to be finished and sent: its
/// condition reads the item's `#status` (a word DynamoDB reserves), and
/// `:active` names the listed one.
pub(super) fn client_update(table: &Table, key: &Item) -> UpdateItemFluentBuilder {
    table
        .update_item(key.clone())
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":active", s(ACTIVE))
}

/// One number of the client item at `key` set, on condition that the item
/// exists (an update would otherwise make one) and that `also_when` holds,
/// if given (it names the new value `:value`): `false` if either does not.
/// A retry of an attempt that was applied fails its condition, which is
/// what it would have produced.
pub(super) async fn set_number(
    table: &Table,
    key: Item,
    (attribute, value): (&str, u64),
    also_when: Option<&str>,
    what: &str,
) -> Result<bool, IndexError> {
    let condition = match also_when {
        Some(also) => format!("attribute_exists(pk) AND ({also})"),
        None => "attribute_exists(pk)".to_owned(),
    };
    let sent = table
        .update_item(key)
        .update_expression("SET #attribute = :value")
        .condition_expression(condition)
        .expression_attribute_names("#attribute", attribute)
        .expression_attribute_values(":value", n(value))
        .send()
        .await;
    applied(sent, what)
}

/// Scopes as the index writes them: space-separated, in order (scopes
/// hold no spaces: `GRANT_SCOPES` is itself a space-separated list).
pub(super) fn words(scopes: &[String]) -> String {
    scopes.join(" ")
}

pub(super) fn scopes(item: &Item) -> Option<Vec<String>> {
    text(item, "scopes").map(|words| words.split_whitespace().map(str::to_owned).collect())
}

/// The client item's attributes.
pub(super) fn client_item(client: &IndexedClient) -> Item {
    let mut item = client_key(&client.owner, &client.client_id);
    item.insert("client_id".into(), s(&client.client_id));
    item.insert("owner".into(), s(client.owner.as_str()));
    item.insert("name".into(), s(&client.name));
    item.insert("description".into(), s(&client.description));
    item.insert("created_at".into(), n(client.created_at));
    item.insert("status".into(), s(ACTIVE));
    item.insert("access".into(), s(client.status.as_str()));
    item.insert("listed".into(), s(client.position().0));
    if let Some(key) = &client.idempotency_key {
        item.insert("idempotency_key".into(), s(key));
    }
    if let Some(scopes) = &client.scopes {
        item.insert("scopes".into(), s(words(scopes)));
    }
    if let Some(credentials) = credentials_text(client) {
        item.insert("credentials".into(), s(credentials));
    }
    if let Some(at) = client.last_used_at {
        item.insert("last_used_at".into(), n(at));
    }
    if let Some(change) = &client.change {
        item.insert("change".into(), s(&change.id));
        item.insert("change_at".into(), n(change.started_at));
        item.insert("change_aspects".into(), s(change.aspects.to_words()));
        item.insert("change_until".into(), n(change.until));
        item.insert("repair".into(), s(PENDING));
        item.insert("repair_at".into(), n(change.started_at));
    }
    item
}

/// A key client's credentials as the item holds them: a JSON array
/// (`None` for a client that uses a secret).
pub(super) fn credentials_text(client: &IndexedClient) -> Option<String> {
    client
        .credentials
        .as_ref()
        .and_then(|credentials| serde_json::to_string(credentials).ok())
}

fn pending_change(item: &Item) -> Option<PendingChange> {
    let started_at = number(item, "change_at").unwrap_or_default();
    Some(PendingChange {
        id: text(item, "change")?,
        started_at,
        aspects: Aspects::from_words(&text(item, "change_aspects").unwrap_or_default()),
        // Items from before changes carried their deadline: as long as any
        // request.
        until: number(item, "change_until")
            .unwrap_or_else(|| started_at.saturating_add(micros(STALE_AFTER))),
    })
}

pub(super) fn indexed_client(item: &Item) -> Option<IndexedClient> {
    Some(IndexedClient {
        client_id: text(item, "client_id")?,
        owner: Owner::parse(&text(item, "owner")?)?,
        name: text(item, "name").unwrap_or_default(),
        description: text(item, "description").unwrap_or_default(),
        created_at: number(item, "created_at").unwrap_or_default(),
        idempotency_key: text(item, "idempotency_key"),
        scopes: scopes(item),
        // Items from before clients could be disabled are active.
        status: text(item, "access")
            .and_then(|access| ClientStatus::parse(&access))
            .unwrap_or(ClientStatus::Active),
        credentials: text(item, "credentials")
            .and_then(|credentials| serde_json::from_str(&credentials).ok()),
        change: pending_change(item),
        last_used_at: number(item, "last_used_at"),
    })
}

/// Up to `limit` of the owner's listed clients after `after`, oldest
/// first: a query of [`BY_CREATION`].
pub(super) async fn list(
    table: &Table,
    owner: &Owner,
    after: Option<&Position>,
    limit: Option<usize>,
) -> Result<Page, IndexError> {
    let mut clients = Vec::new();
    let mut start: Option<Item> = None;
    // One more than the page, to know whether there is a next one.
    let wanted = limit.map(|limit| limit + 1);
    loop {
        let mut query = match after {
            Some(after) => table.query(
                BY_CREATION,
                "pk = :pk AND listed > :after",
                &[(":pk", s(owner_pk(owner))), (":after", s(&after.0))],
            ),
            None => table.query(BY_CREATION, "pk = :pk", &[(":pk", s(owner_pk(owner)))]),
        }
        .consistent_read(true)
        .set_exclusive_start_key(start.take());
        if let Some(wanted) = wanted {
            let left = wanted.saturating_sub(clients.len());
            query = query.limit(i32::try_from(left).unwrap_or(i32::MAX));
        }
        let sent = Box::pin(query.send());
        let output = by_deadline("list clients", call_deadline(), async {
            sent.await.map_err(failed("list clients"))
        })
        .await?;
        clients.extend(output.items().iter().filter_map(indexed_client));
        start = output.last_evaluated_key;
        let full = wanted.is_some_and(|wanted| clients.len() >= wanted);
        if start.is_none() || full {
            break;
        }
    }
    let next = match limit {
        Some(limit) if clients.len() > limit => {
            clients.truncate(limit);
            clients.last().map(IndexedClient::position)
        }
        _ => None,
    };
    Ok(Page { clients, next })
}

/// One read of the client's item; one being deleted is not found.
pub(super) async fn get(
    table: &Table,
    owner: &Owner,
    client_id: &str,
) -> Result<Option<IndexedClient>, IndexError> {
    let item = table
        .get_item(client_key(owner, client_id), "get client")
        .await?;
    Ok(item
        .filter(|item| text(item, "status").as_deref() == Some(ACTIVE))
        .as_ref()
        .and_then(indexed_client))
}

/// Delete's step 1: the item marked `deleting`, unless it is missing or
/// marked already. The mark carries its own id (`deletion`), which tells
/// this request's mark from another's when its answer was lost, and the
/// request's deadline (`until`).
pub(super) async fn begin_deletion(
    table: &Table,
    owner: &Owner,
    client_id: &str,
) -> Result<Option<IndexedClient>, IndexError> {
    let now = now_micros();
    let mark = ksuid::Ksuid::generate().to_base62();
    let key = client_key(owner, client_id);
    let update = client_update(table, &key)
        // No longer listed nor got, and found by the reconciler if this
        // deletion stops half-way.
        .update_expression(
            "SET #status = :deleting, repair = :pending, repair_at = :now, \
             deletion = :mark, #until = :until REMOVE listed",
        )
        .condition_expression("attribute_exists(pk) AND #status = :active")
        .expression_attribute_names("#until", "until")
        .expression_attribute_values(":deleting", s(DELETING))
        .expression_attribute_values(":pending", s(PENDING))
        .expression_attribute_values(":now", n(now))
        .expression_attribute_values(":mark", s(&mark))
        .expression_attribute_values(":until", n(epoch_micros(call_deadline())))
        .return_values(ReturnValue::AllNew);
    let written = table
        .settled_update("begin deletion", &key, update, |item| {
            text(item, "status").as_deref() == Some(DELETING)
                && text(item, "deletion").as_deref() == Some(mark.as_str())
        })
        .await?;
    Ok(match written {
        Written::Applied(item) => item.as_ref().and_then(indexed_client),
        Written::Refused => None,
    })
}

/// The mark taken back: Auth0 refused before doing anything.
pub(super) async fn cancel_deletion(
    table: &Table,
    client: &IndexedClient,
) -> Result<(), IndexError> {
    let key = client_key(&client.owner, &client.client_id);
    let update = client_update(table, &key)
        .condition_expression("#status = :deleting")
        .expression_attribute_names("#until", "until")
        .expression_attribute_values(":deleting", s(DELETING))
        .expression_attribute_values(":listed", s(client.position().0));
    // No change can begin or end while the client is being deleted: a
    // change that stopped half-way before is still the reconciler's to
    // repair, from when it began.
    let update = match &client.change {
        None => update.update_expression(
            "SET #status = :active, listed = :listed \
             REMOVE repair, repair_at, deletion, #until",
        ),
        Some(change) => update
            .update_expression(
                "SET #status = :active, listed = :listed, repair_at = :change_at \
                 REMOVE deletion, #until",
            )
            .expression_attribute_values(":change_at", n(change.started_at)),
    };
    // Refused: someone finished it meanwhile (the reconciler), nothing to
    // take back.
    table
        .settled_update("cancel deletion", &key, update, |item| {
            text(item, "status").as_deref() == Some(ACTIVE)
        })
        .await
        .map(drop)
}

/// Delete's step 3: the item gone, with its quota and its key.
pub(super) async fn remove(table: &Table, client: &IndexedClient) -> Result<(), IndexError> {
    give_back(
        table,
        client_key(&client.owner, &client.client_id),
        &client.owner,
        client.idempotency_key.as_deref(),
        &client.client_id,
        "remove client",
    )
    .await
    .map(drop)
}
