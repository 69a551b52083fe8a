//! What each answer of a create, a delete and a change says happened
//! (CONTRACT.md, "Writes whose outcome is unknown"), checked against what
//! the caller, the owner index and Auth0 hold: at once, and after one run
//! of the reconciler for which the operation is stale.
//!
//! - 201/200/204: done in Auth0 and in the table, and it stays done;
//! - 502: not shown as done, and within one run of the reconciler the
//!   operation's rule holds (a create leaves no client, a delete ends
//!   deleted, a change leaves the client as it was);
//! - anything else: nothing changed that anyone can see.

use m2m_shared::domain::OwnerIndex;
use serde_json::{Value, json};

use crate::support::{Reply, TestEnv};

/// The owner whose clients the tests make.
pub const OWNER: &str = "owner-a";

/// One client as the caller, the index and Auth0 hold it.
#[derive(Clone, Debug, PartialEq)]
pub struct Client {
    pub id: String,
    /// What get shows of it: `{name, description, status}` (`None`: 404).
    pub shown: Option<Value>,
    /// Whether list shows it.
    pub listed: bool,
    /// Its `{name, description}` in Auth0 (`None`: Auth0 has no such client).
    pub in_auth0: Option<Value>,
    /// Whether Auth0 holds its grant.
    pub granted: bool,
}

impl Client {
    pub async fn of(env: &TestEnv, id: &str) -> Client {
        let token = env.token(OWNER);
        let got = env.get(&token, id).await;
        let shown = (got.status == 200).then(|| {
            json!({
                "name": got.json["name"],
                "description": got.json["description"],
                "status": got.json["status"],
            })
        });
        let listed = env
            .list(&token)
            .await
            .json
            .as_array()
            .is_some_and(|clients| clients.iter().any(|client| client["id"] == id));
        let in_auth0 = env
            .auth0_client(id)
            .map(|client| json!({"name": client["name"], "description": client["description"]}));
        Client {
            id: id.to_owned(),
            shown,
            listed,
            in_auth0,
            granted: env.granted(id).is_some(),
        }
    }

    /// This client renamed `name`, in what is shown and in Auth0.
    pub fn renamed(&self, name: &str) -> Client {
        let mut renamed = self.clone();
        for held in [&mut renamed.shown, &mut renamed.in_auth0]
            .into_iter()
            .flatten()
        {
            held["name"] = Value::from(name);
        }
        renamed
    }

    /// This client disabled: so shown, and without its grant.
    pub fn disabled(&self) -> Client {
        let mut disabled = self.clone();
        if let Some(shown) = &mut disabled.shown {
            shown["status"] = Value::from("disabled");
        }
        disabled.granted = false;
        disabled
    }

    /// This client gone: Auth0 and the index no longer have it.
    fn gone(&self) -> Client {
        Client {
            id: self.id.clone(),
            shown: None,
            listed: false,
            in_auth0: None,
            granted: false,
        }
    }
}

/// The owner's clients, as list shows them and as Auth0 holds them, with
/// the quota and the operations under way: the scene a failure shows.
#[derive(Debug, PartialEq)]
pub struct Scene {
    pub listed: Vec<String>,
    pub in_auth0: Vec<String>,
    pub quota: u64,
    pub under_way: usize,
}

impl Scene {
    pub async fn of(env: &TestEnv) -> Scene {
        let listed = env
            .list(&env.token(OWNER))
            .await
            .json
            .as_array()
            .map(|clients| {
                clients
                    .iter()
                    .filter_map(|client| client["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let in_auth0 = env
            .emulator
            .clients()
            .iter()
            .filter(|client| client["client_metadata"]["owner_client_id"] == OWNER)
            .filter_map(|client| client["client_id"].as_str().map(str::to_owned))
            .collect();
        Scene {
            listed,
            in_auth0,
            quota: env.quota_count(OWNER).await,
            under_way: env.index().stale_operations(u64::MAX).await.unwrap().len(),
        }
    }

    /// Whether list shows the client `id`, and whether Auth0 holds it.
    fn has(&self, id: &str) -> (bool, bool) {
        let among = |ids: &[String]| ids.iter().any(|other| other == id);
        (among(&self.listed), among(&self.in_auth0))
    }
}

fn said(reply: &Reply) -> String {
    format!("{} {}", reply.status, reply.text)
}

/// Asserts that a create's `reply` says what happened; `before` is the
/// scene before it.
pub async fn assert_create_answer_holds(env: &TestEnv, reply: &Reply, before: &Scene, case: &str) {
    let now = Scene::of(env).await;
    let made = reply.json["client_id"].as_str().unwrap_or_default();
    let context = format!(
        "{case}: answered {}; before {before:?}; now {now:?}",
        said(reply)
    );
    match reply.status {
        201 => {
            assert_eq!(
                now.has(made),
                (true, true),
                "201, yet not (listed, in Auth0). {context}"
            );
            assert!(
                env.granted(made).is_some(),
                "201, yet not granted. {context}"
            );
            let secret = reply.json["client_secret"].as_str().unwrap_or_default();
            assert_eq!(env.client_token(made, secret).await.0, 200, "{context}");
        }
        502 => assert_eq!(now.listed, before.listed, "502: shown as made. {context}"),
        _ => assert_eq!(
            (&now.listed, &now.in_auth0, now.quota),
            (&before.listed, &before.in_auth0, before.quota),
            "{} says nothing changed. {context}",
            reply.status
        ),
    }
    env.reconcile(false).await;
    let reconciled = Scene::of(env).await;
    let context = format!("{context}; after the reconciler {reconciled:?}");
    if reply.status == 201 {
        assert_eq!(
            reconciled.has(made),
            (true, true),
            "201 undone (listed, in Auth0). {context}"
        );
    } else {
        assert_eq!(
            (&reconciled.listed, &reconciled.in_auth0),
            (&before.listed, &before.in_auth0),
            "a failed create left a client. {context}"
        );
    }
    env.assert_index_names_the_tenants_clients(OWNER, &context)
        .await;
}

/// What an operation on an existing client must leave, by its answer.
struct Rule<'a> {
    /// The client before the operation.
    before: &'a Client,
    /// Its success status, and the client it leaves.
    done: (u16, &'a Client),
    /// What a 502 leaves: shown at once, and everywhere after the reconciler.
    unknown: &'a Client,
}

/// Asserts that `reply` to an operation on the client `rule.before` says
/// what happened, by `rule`.
async fn assert_answer_holds(env: &TestEnv, reply: &Reply, rule: Rule<'_>, case: &str) {
    let Rule {
        before,
        done: (success, done),
        unknown,
    } = rule;
    let id = &before.id;
    let now = Client::of(env, id).await;
    let context = format!(
        "{case}: answered {}; before {before:?}; asked {done:?}; now {now:?}",
        said(reply)
    );
    let stays = match reply.status {
        status if status == success => {
            assert_eq!(&now, done, "{success}, yet not done. {context}");
            done
        }
        502 => {
            let shown = (&now.shown, now.listed);
            assert_eq!(
                shown,
                (&unknown.shown, unknown.listed),
                "502 shows {context}"
            );
            unknown
        }
        _ => {
            let status = reply.status;
            assert_eq!(&now, before, "{status} says nothing changed. {context}");
            before
        }
    };
    env.reconcile(false).await;
    let reconciled = Client::of(env, id).await;
    let context = format!("{context}; after the reconciler {reconciled:?}");
    assert_eq!(
        &reconciled, stays,
        "the answer did not stay true. {context}"
    );
    env.assert_index_names_the_tenants_clients(OWNER, &context)
        .await;
}

/// Asserts that a delete's `reply` says what happened (a 502 ends
/// deleted); `before` is the client before it.
pub async fn assert_delete_answer_holds(env: &TestEnv, reply: &Reply, before: &Client, case: &str) {
    let gone = before.gone();
    let rule = Rule {
        before,
        done: (204, &gone),
        unknown: &gone,
    };
    assert_answer_holds(env, reply, rule, case).await;
}

/// Asserts that a change's `reply` says what happened (a 502 leaves the
/// client as it was): `before` is the client before it, `after` what it
/// becomes.
pub async fn assert_change_answer_holds(
    env: &TestEnv,
    reply: &Reply,
    (before, after): (&Client, &Client),
    case: &str,
) {
    let rule = Rule {
        before,
        done: (200, after),
        unknown: before,
    };
    assert_answer_holds(env, reply, rule, case).await;
}
