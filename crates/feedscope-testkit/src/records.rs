//! A hub with one feed for connection tests, and the helpers that read what it records: collect
//! until a condition holds, count kinds, list the events.

use std::sync::Arc;
use std::time::Duration;

use feedscope_core::sse::Item;
use feedscope_core::{Body, FeedConfig, Hub, Mode, Record, Subscription};

use crate::HANG_GUARD;

/// Collects records until `done` says so (or fails after [`HANG_GUARD`], which means the engine
/// hung). `done` sees every record as it arrives; what comes after stays in the subscription.
pub async fn collect_until(sub: &Subscription, done: impl FnMut(&[Record]) -> bool) -> Vec<Record> {
    collect_until_within(sub, HANG_GUARD, done).await
}

/// [`collect_until`] with a guard of its own, for runs that are long by design.
pub async fn collect_until_within(
    sub: &Subscription,
    guard: Duration,
    mut done: impl FnMut(&[Record]) -> bool,
) -> Vec<Record> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + guard;
    while !done(&out) {
        if tokio::time::Instant::now() >= deadline {
            timed_out(&out);
        }
        // What is queued already is taken without a timer: a long run stays cheap.
        let record = match sub.drain(1).pop() {
            Some(r) => r,
            None => match tokio::time::timeout_at(deadline, sub.recv()).await {
                Ok(r) => r,
                Err(_) => timed_out(&out),
            },
        };
        out.push(Record::clone(&record));
    }
    out
}

fn timed_out(out: &[Record]) -> ! {
    panic!("timed out; records so far:\n{}", out.iter().map(|r| r.to_json()).collect::<Vec<_>>().join("\n"))
}

/// A hub with one feed `f` on `config`, subscribed, started.
pub fn start_feed(config: FeedConfig) -> (Arc<Hub>, Subscription) {
    let hub = Hub::new();
    hub.add("f", config, Default::default()).expect("valid config");
    let sub = hub.subscribe(Some("f"), 1 << 20);
    hub.start("f").expect("feed exists");
    (hub, sub)
}

pub fn is_closed(rs: &[Record]) -> bool {
    rs.iter().any(|r| r.body.kind().as_str() == "closed")
}

pub fn count_kind(rs: &[Record], kind: &str) -> usize {
    rs.iter().filter(|r| r.body.kind().as_str() == kind).count()
}

/// A feed config for connection tests: quick, deterministic reconnections.
pub fn cfg(url: String, mode: Mode) -> FeedConfig {
    FeedConfig { retry_ms: 20, jitter: false, mode, ..FeedConfig::new(url) }
}

/// The subscription the WebSocket tests' feeds send on every open.
pub const WS_SUBSCRIBE: &str = r#"{"op":"subscribe","channel":"trades"}"#;

/// [`cfg`] for a WebSocket feed whose events are typed by their `type` and which subscribes with
/// [`WS_SUBSCRIBE`] on every open.
pub fn ws_cfg(url: String, mode: Mode) -> FeedConfig {
    FeedConfig {
        transport: feedscope_core::Transport::WebSocket,
        type_path: "type".into(),
        send_on_open: vec![WS_SUBSCRIBE.into()],
        ..cfg(url, mode)
    }
}

/// What may be an event: a hub's record, or an item of the parser.
pub trait AsEvent {
    /// (type, id, data) when it is an event.
    fn as_event(&self) -> Option<(String, String, String)>;
}

impl AsEvent for Record {
    fn as_event(&self) -> Option<(String, String, String)> {
        match &self.body {
            Body::Event { event_type, id, data, .. } => Some((event_type.to_string(), id.to_string(), data.clone())),
            _ => None,
        }
    }
}

impl AsEvent for Item {
    fn as_event(&self) -> Option<(String, String, String)> {
        match self {
            Item::Event { event_type, id, data } => Some((event_type.to_string(), id.to_string(), data.clone())),
            _ => None,
        }
    }
}

/// (type, id, data) of each event, records or parsed items alike.
pub fn events<T: AsEvent>(items: &[T]) -> Vec<(String, String, String)> {
    items.iter().filter_map(AsEvent::as_event).collect()
}
