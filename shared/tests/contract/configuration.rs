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
