//! The invariant checker: once the faults have stopped and the reconciler
//! has run, the tenant and the table must hold what the answers promised
//! (model.rs) and agree with each other (CONTRACT.md, "Writes whose outcome
//! is unknown"; issue 19).

use std::collections::{BTreeMap, BTreeSet};

use m2m_shared::domain::{ClientStatus, KeyState, Owner, OwnerIndex, TableCensus};
use serde_json::Value;

use crate::model::{Last, Shape, Violation};
use crate::schedule::{OWNERS, OpKind};
use crate::world::World;

/// An Auth0 client of the service's, as the checker compares it.
struct InAuth0 {
    owner: String,
    shape: Shape,
    scopes: Option<BTreeSet<String>>,
    secret: String,
}

/// A request and its answer, as a violation names them.
fn told(last: &Last) -> String {
    let status = last.status.map_or("stopped".into(), |s| s.to_string());
    format!("op {} {} ({status})", last.label, last.kind.name())
}

/// The invariant an unexpected state of a client breaks, after the request
/// that last promised something about it.
fn broken_by(last: &Last) -> &'static str {
    match (last.kind, last.status) {
        (_, Some(200..=299)) => "every 2xx still holds",
        (OpKind::Delete, Some(502)) => "a 502 delete ends deleted",
        (_, Some(502)) => "a 502 change leaves the client as it was",
        (_, None) => "a stopped request is finished or undone",
        _ => "a refused request changed nothing",
    }
}

pub async fn check(world: &World) -> Vec<Violation> {
    let mut found = world.model.violations.clone();
    let mut violation =
        |invariant: &'static str, detail: String| found.push(Violation { invariant, detail });
    let census: TableCensus = world.index.census().await.expect("the census");
    let tenant = auth0_clients(world);
    let grants = grants(world);
    let table: BTreeMap<&str, _> = census
        .clients
        .iter()
        .map(|c| (c.client_id.as_str(), c))
        .collect();

    // Nothing half-done once the reconciler has run.
    for creation in &census.creations {
        violation(
            "no orphan",
            format!(
                "a creation left: {} of {}",
                creation.client_id(),
                creation.owner.as_str()
            ),
        );
    }
    for client in &census.deleting {
        violation(
            "no orphan",
            format!("a deletion left: {}", client.client_id),
        );
    }
    for client in census.clients.iter().filter(|c| c.change.is_some()) {
        violation(
            "no orphan",
            format!("a change left on {}: {:?}", client.client_id, client.change),
        );
    }
    for grant in grants.keys() {
        if !world
            .emulator
            .clients()
            .iter()
            .any(|c| c["client_id"] == grant.as_str())
        {
            violation(
                "no orphan",
                format!("a grant of {grant}, a client Auth0 lacks"),
            );
        }
    }

    // Auth0 and the table, client by client.
    for (id, auth0) in &tenant {
        let Some(item) = table.get(id.as_str()) else {
            violation(
                "every Auth0 client has its item",
                format!("{id} of {} ({:?})", auth0.owner, auth0.shape),
            );
            continue;
        };
        let item_shape = shape_of(item.name.clone(), item.description.clone(), item.status);
        let item_scopes: BTreeSet<String> = world
            .grant
            .scopes_of(item.scopes.as_deref())
            .into_iter()
            .collect();
        let expected_grant = (item.status == ClientStatus::Active).then_some(item_scopes);
        if item.owner.as_str() != auth0.owner
            || item_shape != auth0.shape
            || expected_grant != auth0.scopes
        {
            violation(
                "Auth0 and the item agree",
                format!(
                    "{id}: Auth0 {} {:?} grant {:?}; item {} {item_shape:?} grant {expected_grant:?}",
                    auth0.owner,
                    auth0.shape,
                    auth0.scopes,
                    item.owner.as_str()
                ),
            );
        }
    }
    for item in &census.clients {
        if !tenant.contains_key(&item.client_id) {
            violation(
                "every item has its Auth0 client",
                format!("{} of {}", item.client_id, item.owner.as_str()),
            );
        }
    }

    // What the answers promised.
    for known in &world.model.known {
        let in_auth0 = tenant
            .get(&known.client_id)
            .map_or(Shape::Gone, |c| c.shape.clone());
        let in_table = table
            .get(known.client_id.as_str())
            .map_or(Shape::Gone, |c| {
                shape_of(c.name.clone(), c.description.clone(), c.status)
            });
        for (place, shape) in [("Auth0", &in_auth0), ("the table", &in_table)] {
            if !known.allowed.contains(shape) {
                violation(
                    broken_by(known.told.likeliest()),
                    format!(
                        "{} (op {}'s) after {}{}: {place} has {shape:?}, the answers allow {:?}",
                        known.client_id,
                        known.made_by,
                        told(&known.told.last),
                        known
                            .told
                            .refused_since
                            .as_ref()
                            .map(|refused| format!(" and {}", told(refused)))
                            .unwrap_or_default(),
                        known.allowed
                    ),
                );
            }
        }
        if let (Some(secret), Some(client)) = (&known.secret, tenant.get(&known.client_id))
            && *secret != client.secret
        {
            violation(
                "every 2xx still holds",
                format!(
                    "{}: its secret is not the one op {} answered",
                    known.client_id, known.told.last.label
                ),
            );
        }
    }
    // Clients nobody was told of: only a create that stopped may have
    // made one (finished before it stopped).
    for (id, auth0) in &tenant {
        if world.model.known(id).is_some() {
            continue;
        }
        let Shape::Live { name, .. } = &auth0.shape else {
            continue;
        };
        let creates: Vec<_> = world
            .model
            .creates
            .iter()
            .filter(|c| c.name == *name)
            .collect();
        if creates.is_empty() {
            // Not the schedule's: "every Auth0 client has its item" says
            // the rest.
            continue;
        }
        if creates.iter().any(|c| c.status.is_none()) {
            continue;
        }
        let statuses: Vec<String> = creates
            .iter()
            .map(|c| {
                format!(
                    "op {} {}",
                    c.label,
                    c.status.map_or("-".into(), |s| s.to_string())
                )
            })
            .collect();
        let invariant = if creates.iter().any(|c| c.status == Some(502)) {
            "a 502 create leaves no client anywhere"
        } else {
            "a refused request changed nothing"
        };
        violation(
            invariant,
            format!("{id} ({name}) of {}, made by {statuses:?}", auth0.owner),
        );
    }

    // The reconciler's audit must find no more than the checker does.
    match world.audit().await {
        Ok(audit) if !audit.complete => violation(
            "the audit finds no difference",
            "it could not read all of Auth0".into(),
        ),
        Ok(audit) => {
            let differences = &audit.audit;
            for named in differences
                .only_in_auth0
                .iter()
                .chain(&differences.only_in_table)
            {
                violation("the audit finds no difference", format!("{named:?}"));
            }
            for differing in &differences.differing {
                violation("the audit finds no difference", format!("{differing:?}"));
            }
            for mismatch in &differences.quota_mismatches {
                violation("the audit finds no difference", format!("{mismatch:?}"));
            }
        }
        Err(problem) => violation(
            "the audit finds no difference",
            format!("it failed: {problem}"),
        ),
    }

    // Quotas and keys.
    for (owner, count) in &census.quotas {
        let of = |o: &Owner| o == owner;
        let expected = census.clients.iter().filter(|c| of(&c.owner)).count()
            + census.deleting.iter().filter(|c| of(&c.owner)).count()
            + census.creations.iter().filter(|c| of(&c.owner)).count();
        if *count != expected as u64 {
            violation(
                "the quota counts clients and creations",
                format!(
                    "{}: {count}, with {expected} clients and creations",
                    owner.as_str()
                ),
            );
        }
    }
    for owner in OWNERS {
        let listed = census
            .clients
            .iter()
            .filter(|c| c.owner.as_str() == *owner)
            .count();
        if listed > 0 && !census.quotas.iter().any(|(o, _)| o.as_str() == *owner) {
            violation(
                "the quota counts clients and creations",
                format!("{owner}: {listed} clients, no quota count"),
            );
        }
    }
    let keys: BTreeSet<(usize, String)> = world
        .model
        .creates
        .iter()
        .filter_map(|c| Some((c.owner, c.key.clone()?)))
        .collect();
    for (owner, key) in keys {
        let who = Owner::parse(OWNERS[owner]).expect("an owner");
        let record = world
            .index
            .idempotency(&who, &key)
            .await
            .expect("a key's record");
        let held_by = match record.map(|r| r.state) {
            None => continue,
            Some(KeyState::Running) => "a creation that is over".to_owned(),
            Some(KeyState::Done { client_id }) => {
                if table
                    .get(client_id.as_str())
                    .is_some_and(|c| c.owner == who)
                {
                    continue;
                }
                format!("{client_id}, which the table lacks")
            }
        };
        violation(
            "no Idempotency-Key is held by nothing",
            format!("{} {key}: held by {held_by}", OWNERS[owner]),
        );
    }
    found
}

fn shape_of(name: String, description: String, status: ClientStatus) -> Shape {
    Shape::Live {
        name,
        description,
        active: status == ClientStatus::Active,
    }
}

/// The tenant's clients with the service's owner metadata, by id.
fn auth0_clients(world: &World) -> BTreeMap<String, InAuth0> {
    let grants = grants(world);
    world
        .emulator
        .clients()
        .iter()
        .filter_map(|client| {
            let owner = client["client_metadata"]["owner_client_id"]
                .as_str()?
                .to_owned();
            let id = client["client_id"].as_str()?.to_owned();
            let scopes = grants.get(&id).cloned();
            let shape = Shape::Live {
                name: text(&client["name"]),
                description: text(&client["description"]),
                active: scopes.is_some(),
            };
            let secret = text(&client["client_secret"]);
            Some((
                id,
                InAuth0 {
                    owner,
                    shape,
                    scopes,
                    secret,
                },
            ))
        })
        .collect()
}

/// Each client's grant for the service's API: its scopes.
fn grants(world: &World) -> BTreeMap<String, BTreeSet<String>> {
    world
        .emulator
        .grants()
        .iter()
        .filter(|grant| grant["audience"] == world.grant.audience.as_str())
        .filter_map(|grant| {
            let scopes = grant["scope"].as_array()?.iter().map(text).collect();
            Some((text(&grant["client_id"]), scopes))
        })
        .collect()
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}
