//! A container whose configuration is unusable still answers every route,
//! with the documented 500, and never asks anyone for anything.

use m2m_shared::App;
use serde_json::json;

use crate::support::{Reply, Route, sample_event};

#[tokio::test]
async fn a_misconfigured_container_answers_500_on_every_route() {
    // AUTH0_DOMAIN (like every other setting) is missing.
    let app = App::from_lookup(|_| None).await;
    for route in Route::ALL {
        let request = sample_event(route).bearer("a.b.c").request();
        let reply = Reply::from_response(m2m_shared::api::handle(&app, route, request).await);
        reply.assert(500, json!({"message": "Internal server error"}));
    }
}

/// template.yaml's bounds are the service's: `MaxClientsPerOwner` stops
/// where the configuration check does with the default scopes (a larger
/// value would deploy a stack whose every request answers 500), and
/// `OwnerWritesPerMinute` reaches every function.
#[test]
fn the_templates_bounds_are_the_configuration_checks() {
    let template = crate::support::workspace_yaml("template.yaml");
    let parameters = &template["Parameters"];
    let default_scopes: Vec<String> = m2m_shared::config::DEFAULT_GRANT_SCOPES
        .map(str::to_owned)
        .to_vec();
    assert_eq!(
        parameters["MaxClientsPerOwner"]["MaxValue"].as_u64(),
        Some(u64::from(m2m_shared::config::max_listable_clients(
            &default_scopes
        )))
    );
    let writes = &parameters["OwnerWritesPerMinute"];
    assert_eq!(writes["Default"].as_u64(), Some(60));
    assert_eq!(writes["MinValue"].as_u64(), Some(1));
    assert_eq!(writes["MaxValue"].as_u64(), Some(60_000));
    let variables = &template["Globals"]["Function"]["Environment"]["Variables"];
    let wired = format!("{:?}", variables["OWNER_WRITES_PER_MINUTE"]);
    assert!(
        wired.contains("Ref") && wired.contains("OwnerWritesPerMinute"),
        "{wired}"
    );
}
