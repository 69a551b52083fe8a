//! The proxy's HTTP side: one connection per caller, each request carried
//! out in a task of its own, and an answer lost on purpose as a connection
//! closed without one.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::Shared;

/// The answer a connection's service fails with when its answer is lost:
/// hyper then closes the connection without answering.
#[derive(Debug)]
struct AnswerLost;

impl std::fmt::Display for AnswerLost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("answer lost on purpose")
    }
}

impl std::error::Error for AnswerLost {}

/// One request: carried out in a task of its own, so that a caller that
/// gives up (and closes its connection) cannot cut it short.
async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, AnswerLost> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(|_| AnswerLost)?.to_bytes();
    let path = parts.uri.path().to_owned();
    let carried = tokio::spawn(shared.carry_out(path, parts.headers, body));
    let reply = carried.await.ok().flatten().ok_or(AnswerLost)?;
    let mut response = Response::new(Full::new(reply.body));
    *response.status_mut() = hyper::StatusCode::from_u16(reply.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    *response.headers_mut() = reply.headers;
    Ok(response)
}

/// Accepts connections until `stopped` fires (or the runtime ends).
pub(super) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopped: oneshot::Receiver<()>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut stopped => return,
        };
        let Ok((stream, _)) = accepted else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(shared.clone(), request));
            // Ends with an error when an answer is lost on purpose, or the
            // caller went away: nothing to report either way.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
