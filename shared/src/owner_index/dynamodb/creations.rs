//! Create (docs/owner-index.md, "Create"): the idempotency key read, then
//! the creation in progress (`CREATING#<chosen id>`) recorded before Auth0
//! is asked, turned into the client's item once Auth0 has made the client
//! and its grant, or undone.

use super::clients::{client_item, scopes, words};
use super::codec::{Item, Table, Transaction, n, number, s, text};
use super::keys::{PENDING, creation_key, idempotency_key};
use super::quota::{count_up, give_back, key_done, take_key};
use super::settle::Written;
use crate::domain::{
    Begun, Creation, IdempotencyClaim, IdempotencyRecord, IndexedClient, KeyState, Owner,
    now_micros,
};
use crate::error::IndexError;

fn creation_item(creation: &Creation) -> Item {
    let mut item = creation_key(&creation.owner, &creation.chosen_id);
    item.insert("chosen_id".into(), s(&creation.chosen_id));
    item.insert("owner".into(), s(creation.owner.as_str()));
    item.insert("name".into(), s(&creation.name));
    item.insert("description".into(), s(&creation.description));
    item.insert("started_at".into(), n(creation.started_at));
    item.insert("repair".into(), s(PENDING));
    item.insert("repair_at".into(), n(creation.started_at));
    item.insert("scopes".into(), s(words(&creation.scopes)));
    if let Some(client_id) = &creation.client_id {
        item.insert("client_id".into(), s(client_id));
    }
    if let Some(claim) = &creation.idempotency {
        item.insert("idempotency_key".into(), s(&claim.key));
        item.insert("request_hash".into(), s(&claim.request_hash));
    }
    item
}

pub(super) fn creation(item: &Item) -> Option<Creation> {
    let idempotency = match (text(item, "idempotency_key"), text(item, "request_hash")) {
        (Some(key), Some(request_hash)) => Some(IdempotencyClaim { key, request_hash }),
        _ => None,
    };
    Some(Creation {
        owner: Owner::parse(&text(item, "owner")?)?,
        chosen_id: text(item, "chosen_id")?,
        client_id: text(item, "client_id"),
        name: text(item, "name").unwrap_or_default(),
        description: text(item, "description").unwrap_or_default(),
        started_at: number(item, "started_at").unwrap_or_default(),
        idempotency,
        scopes: scopes(item).unwrap_or_default(),
    })
}

/// Create's step 1: the record of `key_name`, unless there is none or it
/// expired.
pub(super) async fn idempotency(
    table: &Table,
    owner: &Owner,
    key_name: &str,
) -> Result<Option<IdempotencyRecord>, IndexError> {
    let item = table
        .get_item(idempotency_key(owner, key_name), "read idempotency key")
        .await?;
    // TTL deletes expired items only eventually: expiry is ours to check.
    let now = now_micros() / 1_000_000;
    Ok(item
        .filter(|item| number(item, "expires_at").is_some_and(|at| at > now))
        .map(|item| IdempotencyRecord {
            request_hash: text(&item, "request_hash").unwrap_or_default(),
            state: match (text(&item, "state").as_deref(), text(&item, "client_id")) {
                (Some("done"), Some(client_id)) => KeyState::Done { client_id },
                _ => KeyState::Running,
            },
        }))
}

/// Create's step 2, one transaction: the quota counted, the creation put,
/// the idempotency key taken.
pub(super) async fn begin(
    table: &Table,
    creation: &Creation,
    max_clients: u32,
) -> Result<Begun, IndexError> {
    let owner = &creation.owner;
    let mut items = vec![
        count_up(table, owner, Some(max_clients))?,
        table.put(creation_item(creation), "attribute_not_exists(pk)", &[])?,
    ];
    if let Some(claim) = &creation.idempotency {
        items.push(take_key(table, owner, claim, &creation.chosen_id)?);
    }
    let outcome = table.transact(items, "begin creation").await?;
    Ok(if outcome.failed_at(2) {
        Begun::KeyTaken
    } else if outcome.failed_at(0) {
        Begun::LimitReached
    } else if let Transaction::Canceled(codes) = outcome {
        return Err(IndexError::Failed(format!(
            "begin creation canceled: {codes:?}"
        )));
    } else {
        Begun::Started
    })
}

/// Auth0's id of the client, on tenants without custom ids.
pub(super) async fn record_client_id(table: &Table, creation: &Creation) -> Result<(), IndexError> {
    let Some(client_id) = &creation.client_id else {
        return Ok(());
    };
    let key = creation_key(&creation.owner, &creation.chosen_id);
    let update = table
        .update_item(key.clone())
        .update_expression("SET client_id = :id")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":id", s(client_id));
    let written = table
        .settled_update("record client id", &key, update, |item| {
            text(item, "client_id").as_deref() == Some(client_id.as_str())
        })
        .await?;
    match written {
        Written::Applied(_) => Ok(()),
        // Undone meanwhile (the reconciler): its creator must hear it, to
        // delete the client Auth0 made, which nothing else names.
        Written::Refused => Err(IndexError::Failed(
            "record client id: the creation is no longer recorded".into(),
        )),
    }
}

/// Create's step 5, one transaction: the creation becomes the client's
/// item, listed; its key `done`.
pub(super) async fn finish(
    table: &Table,
    creation: &Creation,
    client: &IndexedClient,
) -> Result<(), IndexError> {
    let owner = &creation.owner;
    let mut items = vec![
        // Still ours: the reconciler has not undone it meanwhile.
        table.delete(
            creation_key(owner, &creation.chosen_id),
            "attribute_exists(pk)",
            &[],
        )?,
        table.put(client_item(client), "attribute_not_exists(pk)", &[])?,
    ];
    if let Some(claim) = &creation.idempotency {
        items.push(key_done(table, owner, &claim.key, &client.client_id)?);
    }
    match table.transact(items, "finish creation").await? {
        Transaction::Committed => Ok(()),
        Transaction::Canceled(codes) => Err(IndexError::Failed(format!(
            "finish creation canceled: {codes:?}"
        ))),
    }
}

/// The creation undone: its item gone, with its quota and its key.
pub(super) async fn abandon(table: &Table, creation: &Creation) -> Result<(), IndexError> {
    give_back(
        table,
        creation_key(&creation.owner, &creation.chosen_id),
        &creation.owner,
        creation
            .idempotency
            .as_ref()
            .map(|claim| claim.key.as_str()),
        &creation.chosen_id,
        "abandon creation",
    )
    .await
    .map(drop)
}
