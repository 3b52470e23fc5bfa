//! Feedscope's engine: everything a feed does, with no window attached.
//!
//! Bytes from a subscription pass through one path: [`sse::Parser`] turns them into items, the
//! connection task in [`feed`] turns items and connection events into [`Record`]s, and the
//! [`Hub`] keeps each feed's bounded [`History`] and fans records out to subscribers (the app's
//! IPC bridge, the CLI printer, an export writer). Every face speaks the same [`Record`] type.

pub mod activity;
pub mod alerts;
pub mod assemble;
pub mod collection;
pub mod compare;
pub mod curl;
pub mod diagnose;
pub mod export;
pub mod feed;
pub mod history;
pub mod hub;
pub mod json_path;
pub mod jsonrpc;
pub mod query;
pub mod raw;
pub mod record;
pub mod sse;
pub mod text;

pub use assemble::{Assembled, Assembler, Preset, PresetError, ToolCall, Update};
pub use collection::{Collection, FeedForm};
pub use curl::{parse_curl, CurlError, CurlFeed};
pub use diagnose::{Code, DiagnoseOptions, Diagnoser, Finding, Severity};
pub use export::{ExportFormat, Exporter};
pub use feed::{ConfigError, Ending, FeedConfig, Header, Mode, Transport};
pub use history::{ConnState, FeedStats, History, HistoryLimits, Matcher, Page, Query};
pub use hub::{FeedInfo, Hub, HubError, MergedPage, Subscription, Watch};
pub use json_path::{JsonPath, PathError};
pub use jsonrpc::{RpcColumns, RpcKind, SentRequests};
pub use query::{Field, FieldValue, Filter, QueryError};
pub use raw::{RawLog, RawStats};
pub use record::{Body, Cause, Kind, Record, Timestamp};
