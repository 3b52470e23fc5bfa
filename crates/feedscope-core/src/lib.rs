//! Feedscope's engine: everything a feed does, with no window attached.
//!
//! Bytes from a subscription pass through one path: [`sse::Parser`] turns them into items, the
//! connection task in [`feed`] turns items and connection events into [`Record`]s, and the
//! [`Hub`] keeps each feed's bounded [`History`] and fans records out to subscribers (the app's
//! IPC bridge, the CLI printer, an export writer). Every face speaks the same [`Record`] type.

pub mod export;
pub mod feed;
pub mod history;
pub mod hub;
pub mod record;
pub mod sse;

pub use export::{Exporter, Format};
pub use feed::{FeedConfig, FeedError, Header, Mode};
pub use history::{ConnState, FeedStats, History, HistoryLimits, Matcher, Page, Query};
pub use hub::{Hub, HubError, Subscription, Watch};
pub use record::{Body, Cause, Record, Timestamp};
