//! A server's router on a loopback port, and its event stream read with reqwest and the core's
//! parser, the way a reconnecting client reads it.

use std::net::SocketAddr;

use axum::Router;
use feedscope_core::sse::{Item, Limits, Parser};
use feedscope_server::{serve, Server};
use futures_util::StreamExt;

use crate::{events, HANG_GUARD};

/// Serves `router` on a free port of 127.0.0.1.
pub async fn serve_loopback(router: Router) -> Server {
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("loopback address");
    serve(addr, router).await.expect("bind a loopback port")
}

/// What one request gave back.
pub struct Fetched {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub items: Vec<Item>,
    /// The body ended (cleanly or not) before `done` was satisfied.
    pub ended: bool,
}

impl Fetched {
    /// The events as (type, id, data).
    pub fn events(&self) -> Vec<(String, String, String)> {
        events(&self.items)
    }

    pub fn content_type(&self) -> &str {
        self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

/// GETs `url` and parses the body until `done(items)` holds or the body ends.
pub async fn fetch_until(url: &str, last_event_id: Option<&str>, done: impl Fn(&[Item]) -> bool) -> Fetched {
    let mut request = reqwest::Client::new().get(url).header("accept", "text/event-stream");
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let response = tokio::time::timeout(HANG_GUARD, request.send()).await.expect("server answers").expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = response.bytes_stream();
    // Like a reconnecting client, the parser starts from the id it sent.
    let mut parser = Parser::with_last_event_id(Limits::default(), last_event_id.unwrap_or(""));
    let mut items = Vec::new();
    let mut ended = false;
    while !done(&items) {
        match tokio::time::timeout(HANG_GUARD, body.next()).await.expect("server keeps sending") {
            Some(Ok(chunk)) => parser.push(&chunk, &mut |item| items.push(item)),
            Some(Err(_)) | None => {
                ended = true;
                break;
            }
        }
    }
    Fetched { status, headers, items, ended }
}

/// GETs `url` until `count` events have arrived or the body ends.
pub async fn fetch_events(url: &str, last_event_id: Option<&str>, count: usize) -> Fetched {
    fetch_until(url, last_event_id, |items| items.iter().filter(|i| matches!(i, Item::Event { .. })).count() >= count)
        .await
}

/// GETs `url` and reads the whole body.
pub async fn fetch_all(url: &str, last_event_id: Option<&str>) -> Fetched {
    fetch_until(url, last_event_id, |_| false).await
}
