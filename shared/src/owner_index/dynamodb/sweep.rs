//! The reconciler's sweep of Auth0 against the table (docs/owner-index.md,
//! "The reconciler"): each client item it sees in Auth0 marked with the
//! sweep's generation (`swept`), those it did not see found by a scan,
//! clients only Auth0 has imported, and where the sweep stands (`SERVICE`,
//! `SWEEP`).

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem};

use super::clients::{ACTIVE, client_item, indexed_client};
use super::codec::{Item, Table, Transaction, applied, built, failed, n, number, s, text};
use super::keys::{CLIENT_PREFIX, client_key, creation_key, sweep_key};
use super::quota::count_up;
use crate::domain::{IndexedClient, Owner, SweepState};
use crate::error::IndexError;

/// The client seen in Auth0 by the sweep `generation`; `false` if the
/// table has no such client.
pub(super) async fn mark_swept(
    table: &Table,
    owner: &Owner,
    client_id: &str,
    generation: u64,
) -> Result<bool, IndexError> {
    let sent = table
        .update_item(client_key(owner, client_id))
        .update_expression("SET swept = :generation")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":generation", n(generation))
        .send()
        .await;
    applied(sent, "mark swept")
}

/// A client only Auth0 has, recorded (a backfill): counted, never refused.
pub(super) async fn import(
    table: &Table,
    client: &IndexedClient,
    generation: u64,
) -> Result<(), IndexError> {
    let mut item = client_item(client);
    item.insert("swept".into(), n(generation));
    let creating = ConditionCheck::builder()
        .table_name(table.name())
        .set_key(Some(creation_key(&client.owner, &client.client_id)))
        .condition_expression("attribute_not_exists(pk)")
        .build();
    let items = vec![
        table.put(item, "attribute_not_exists(pk)", &[])?,
        // Counted, never refused: the client exists already.
        count_up(table, &client.owner, None)?,
        // Not a client being created right now: its creation records it.
        TransactWriteItem::builder()
            .condition_check(built("condition check", creating)?)
            .build(),
    ];
    match table.transact(items, "import client").await? {
        Transaction::Committed => Ok(()),
        outcome if outcome.failed_at(0) || outcome.failed_at(2) => Ok(()),
        Transaction::Canceled(codes) => Err(IndexError(format!("import canceled: {codes:?}"))),
    }
}

/// Listed clients created before `created_before` that the sweep
/// `generation` did not see in Auth0: every owner's, by a scan.
pub(super) async fn unswept(
    table: &Table,
    generation: u64,
    created_before: u64,
) -> Result<Vec<IndexedClient>, IndexError> {
    let mut clients = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let output = table
            .scan()
            .filter_expression(
                "begins_with(sk, :client) AND #status = :active AND created_at < :before \
                 AND (attribute_not_exists(swept) OR swept <> :generation)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":client", s(CLIENT_PREFIX))
            .expression_attribute_values(":active", s(ACTIVE))
            .expression_attribute_values(":before", n(created_before))
            .expression_attribute_values(":generation", n(generation))
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(failed("find unswept clients"))?;
        clients.extend(output.items().iter().filter_map(indexed_client));
        start = output.last_evaluated_key;
        if start.is_none() {
            return Ok(clients);
        }
    }
}

pub(super) async fn state(table: &Table) -> Result<SweepState, IndexError> {
    let item = table.get_item(sweep_key(), "read sweep state").await?;
    Ok(item
        .map(|item| SweepState {
            generation: number(&item, "generation"),
            from: text(&item, "from"),
            backfill: item
                .get("backfill")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false),
            finished_at: number(&item, "finished_at"),
        })
        .unwrap_or_default())
}

pub(super) async fn save_state(table: &Table, state: &SweepState) -> Result<(), IndexError> {
    let mut item = sweep_key();
    if let Some(generation) = state.generation {
        item.insert("generation".into(), n(generation));
    }
    if let Some(from) = &state.from {
        item.insert("from".into(), s(from));
    }
    item.insert("backfill".into(), AttributeValue::Bool(state.backfill));
    if let Some(finished_at) = state.finished_at {
        item.insert("finished_at".into(), n(finished_at));
    }
    table
        .put_item(item)
        .send()
        .await
        .map_err(failed("save sweep state"))?;
    Ok(())
}
