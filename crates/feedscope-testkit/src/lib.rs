//! The fixtures every Feedscope test shares, written once: a scripted HTTP/1.1 server on
//! loopback (scripted or steered connection by connection), helpers that collect a hub's records
//! or fetch a server's event stream, and the server the WebDriver specs run (`feedscope-fixture`).
//!
//! Dev-only (`publish = false`): feedscope-core, -server and -cli take it as a dev-dependency.

use std::time::Duration;

pub mod diag_servers;
pub mod e2e;
pub mod fetch;
pub mod python;
pub mod records;
pub mod script;
pub mod strategies;

pub use fetch::{fetch_all, fetch_events, fetch_until, serve_loopback, Fetched};
pub use records::{
    cfg, collect_until, collect_until_within, count_kind, events, is_closed, start_feed, ws_cfg, AsEvent, WS_SUBSCRIBE,
};
pub use script::{drip, Conn, Fixture, Reply, Req, Step};
pub use strategies::sse_bytes;

/// How long a helper waits for what should happen before it fails the test: a guard against a
/// hang, never a measure of speed.
pub const HANG_GUARD: Duration = Duration::from_secs(20);
