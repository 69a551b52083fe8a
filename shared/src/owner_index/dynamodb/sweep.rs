//! The reconciler's sweep of Auth0 against the table (docs/owner-index.md,
//! "The reconciler"): each client item it sees in Auth0 marked with the
//! sweep's generation (`swept`), those it did not see found by a scan and,
//! once Auth0 says they are gone, marked for removal; clients only Auth0
//! has imported; where the sweep stands and who holds its lease
//! (`SERVICE`, `SWEEP`).

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, ReturnValue, TransactWriteItem};

use super::clients::{ACTIVE, DELETING, client_item, indexed_client, set_number};
use super::codec::{
    Item, Table, Transaction, applied, built, condition_failed, failed, n, number, s, text,
};
use super::keys::{CLIENT_PREFIX, PENDING, client_key, creation_key, sweep_key};
use super::quota::count_up;
use crate::domain::{IndexedClient, Owner, SweepLease, SweepRemoval, SweepState, now_micros};
use crate::error::IndexError;

/// The client seen in Auth0 by the sweep `generation`; `false` if the
/// table has no such client.
pub(super) async fn mark_swept(
    table: &Table,
    owner: &Owner,
    client_id: &str,
    generation: u64,
) -> Result<bool, IndexError> {
    let key = client_key(owner, client_id);
    set_number(table, key, ("swept", generation), None, "mark swept").await
}

/// A client only Auth0 has, recorded (a backfill): counted, never refused;
/// not one a creation under way made, by its id or its `creation_id`.
pub(super) async fn import(
    table: &Table,
    client: &IndexedClient,
    creation_id: Option<&str>,
    generation: u64,
) -> Result<(), IndexError> {
    let mut item = client_item(client);
    item.insert("swept".into(), n(generation));
    let not_creating = |chosen_id: &str| -> Result<TransactWriteItem, IndexError> {
        let check = ConditionCheck::builder()
            .table_name(table.name())
            .set_key(Some(creation_key(&client.owner, chosen_id)))
            .condition_expression("attribute_not_exists(pk)")
            .build();
        Ok(TransactWriteItem::builder()
            .condition_check(built("condition check", check)?)
            .build())
    };
    let mut items = vec![
        table.put(item, "attribute_not_exists(pk)", &[])?,
        // Counted, never refused: the client exists already.
        count_up(table, &client.owner, None)?,
        // Not a client being created right now: its creation records it.
        not_creating(&client.client_id)?,
    ];
    // A tenant without custom ids named it: its creation, under way, is
    // recorded under the id it chose (one item per transaction: once).
    if let Some(chosen_id) = creation_id.filter(|chosen| *chosen != client.client_id) {
        items.push(not_creating(chosen_id)?);
    }
    match table.transact(items, "import client").await? {
        Transaction::Committed => Ok(()),
        outcome if outcome.failed_at(0) || outcome.failed_at(2) || outcome.failed_at(3) => Ok(()),
        Transaction::Canceled(codes) => {
            Err(IndexError::Failed(format!("import canceled: {codes:?}")))
        }
    }
}

/// Listed clients created before `created_before` that the sweep
/// `generation` did not see in Auth0: every owner's, by a scan.
pub(super) async fn unswept(
    table: &Table,
    generation: u64,
    created_before: u64,
) -> Result<Vec<IndexedClient>, IndexError> {
    let items = table
        .scan(
            "begins_with(sk, :client) AND #status = :active AND created_at < :before \
             AND (attribute_not_exists(swept) OR swept <> :generation)",
            &[("#status", "status")],
            &[
                (":client", s(CLIENT_PREFIX)),
                (":active", s(ACTIVE)),
                (":before", n(created_before)),
                (":generation", n(generation)),
            ],
            "find unswept clients",
        )
        .await?;
    Ok(items.iter().filter_map(indexed_client).collect())
}

pub(super) async fn state(table: &Table) -> Result<SweepState, IndexError> {
    let item = table.get_item(sweep_key(), "read sweep state").await?;
    Ok(item.as_ref().map(sweep_state).unwrap_or_default())
}

fn flag(item: &Item, name: &str) -> bool {
    item.get(name)
        .and_then(|value| value.as_bool().ok())
        .copied()
        .unwrap_or(false)
}

fn sweep_state(item: &Item) -> SweepState {
    SweepState {
        generation: number(item, "generation"),
        from: text(item, "from"),
        backfill: flag(item, "backfill"),
        listed: flag(item, "listed"),
        finished_at: number(item, "finished_at"),
    }
}

/// The lease taken (or taken again: a retry of a write that was applied
/// finds its own holder), unless another holder's runs beyond now.
pub(super) async fn take_lease(
    table: &Table,
    lease: &SweepLease,
) -> Result<Option<SweepState>, IndexError> {
    let taken = table
        .update_item(sweep_key())
        .update_expression("SET holder = :holder, lease_until = :until")
        .condition_expression(
            "attribute_not_exists(lease_until) OR lease_until < :now OR holder = :holder",
        )
        .expression_attribute_values(":holder", s(&lease.holder))
        .expression_attribute_values(":until", n(lease.until))
        .expression_attribute_values(":now", n(now_micros()))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    match taken {
        Ok(output) => Ok(Some(
            output
                .attributes
                .as_ref()
                .map(sweep_state)
                .unwrap_or_default(),
        )),
        Err(error) if condition_failed(&error) => Ok(None),
        Err(error) => Err(failed("take the sweep lease")(error)),
    }
}

/// The state saved whole and the lease renewed, by its holder only.
pub(super) async fn save_state(
    table: &Table,
    state: &SweepState,
    lease: &SweepLease,
) -> Result<bool, IndexError> {
    let mut item = sweep_key();
    if let Some(generation) = state.generation {
        item.insert("generation".into(), n(generation));
    }
    if let Some(from) = &state.from {
        item.insert("from".into(), s(from));
    }
    item.insert("backfill".into(), AttributeValue::Bool(state.backfill));
    item.insert("listed".into(), AttributeValue::Bool(state.listed));
    if let Some(finished_at) = state.finished_at {
        item.insert("finished_at".into(), n(finished_at));
    }
    item.insert("holder".into(), s(&lease.holder));
    item.insert("lease_until".into(), n(lease.until));
    let sent = table
        .put_item(item)
        .condition_expression("holder = :holder")
        .expression_attribute_values(":holder", s(&lease.holder))
        .send()
        .await;
    applied(sent, "save sweep state")
}

/// The item of a client the sweep found gone from Auth0 marked as being
/// deleted (as delete's first step marks it), in one transaction with a
/// check that the sweep's lease is still this run's.
pub(super) async fn begin_removal(
    table: &Table,
    client: &IndexedClient,
    generation: u64,
    lease: &SweepLease,
) -> Result<SweepRemoval, IndexError> {
    let now = now_micros();
    let held = ConditionCheck::builder()
        .table_name(table.name())
        .set_key(Some(sweep_key()))
        .condition_expression("holder = :holder AND lease_until > :now")
        .expression_attribute_values(":holder", s(&lease.holder))
        .expression_attribute_values(":now", n(now))
        .build();
    let items = vec![
        TransactWriteItem::builder()
            .condition_check(built("condition check", held)?)
            .build(),
        table.update(
            client_key(&client.owner, &client.client_id),
            "SET #status = :deleting, repair = :pending, repair_at = :now REMOVE listed",
            // Not written since the sweep began: the item it read, created
            // before it, unmarked by it (or by a later one), unchanged.
            Some(
                "#status = :active AND created_at = :created AND created_at < :began \
                 AND attribute_not_exists(change) \
                 AND (attribute_not_exists(swept) OR swept < :began)",
            ),
            &[("#status", "status")],
            &[
                (":deleting", s(DELETING)),
                (":active", s(ACTIVE)),
                (":pending", s(PENDING)),
                (":now", n(now)),
                (":created", n(client.created_at)),
                (":began", n(generation)),
            ],
        )?,
    ];
    let outcome = table.transact(items, "begin sweep removal").await?;
    Ok(match outcome {
        Transaction::Committed => SweepRemoval::Marked(client.clone()),
        _ if outcome.failed_at(0) => SweepRemoval::LeaseLost,
        _ if outcome.failed_at(1) => SweepRemoval::Kept,
        Transaction::Canceled(codes) => {
            return Err(IndexError::Failed(format!(
                "sweep removal canceled: {codes:?}"
            )));
        }
    })
}
