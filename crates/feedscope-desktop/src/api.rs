//! The answers of the window's commands, built from [`AppState`] and the engine: one function per
//! command that does more than call the state, so the Tauri commands stay one-line adapters.

use std::path::PathBuf;

use feedscope_core::{ExportFormat, FeedConfig, FeedInfo, Query};
use serde::Serialize;
use serde_json::Value;
use ts_rs::TS;

use crate::rows::{RecordDetail, Row};
use crate::state::{AppError, AppState, FeedForm};

/// Largest page the table may ask for.
pub const MAX_PAGE: usize = 2000;

/// What the window gets when it opens (or reloads).
#[derive(Serialize, TS)]
pub struct InitInfo {
    pub feeds: Vec<FeedInfo>,
    /// The window's own preferences, as it saved them (`null` at first start).
    #[ts(type = "Record<string, unknown> | null")]
    pub settings: Value,
    /// Messages for the user gathered before the window opened.
    pub notices: Vec<String>,
    /// The feed to show first (the first URL named on the command line).
    pub select: Option<String>,
    pub version: String,
    /// What the editor starts from for a new feed: the engine's defaults.
    pub defaults: FeedForm,
}

pub fn init_info(state: &AppState, select: Option<String>) -> InitInfo {
    InitInfo {
        feeds: state.list(),
        settings: state.settings(),
        notices: std::mem::take(&mut *state.notices.lock().expect("lock")),
        select,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        defaults: FeedForm {
            name: String::new(),
            config: FeedConfig::default(),
            history_cap: crate::saved::default_cap(),
        },
    }
}

/// A page of a feed's records that match a filter.
#[derive(Serialize, Debug, TS)]
pub struct RowPage {
    /// Matching records in the feed's history.
    pub total: usize,
    /// Position of the first row among the matches.
    pub offset: usize,
    pub rows: Vec<Row>,
}

fn compile(filter: &Query) -> Result<Option<feedscope_core::Matcher>, AppError> {
    if *filter == Query::default() {
        return Ok(None);
    }
    filter.compile().map(Some).map_err(|m| AppError::field("search", m))
}

/// A page of the feed's records that match `filter`; filtering runs here, not in the window.
/// `offset: None` asks for the newest `limit` matches (a followed table), found in one pass.
pub fn query_page(
    state: &AppState,
    feed: &str,
    filter: &Query,
    offset: Option<usize>,
    limit: usize,
) -> Result<RowPage, AppError> {
    let matcher = compile(filter)?;
    let limit = limit.min(MAX_PAGE);
    let page = match offset {
        Some(offset) => state.hub.query(feed, matcher.as_ref(), offset, limit)?,
        None => state.hub.query_tail(feed, matcher.as_ref(), limit)?,
    };
    Ok(RowPage {
        total: page.total,
        offset: page.offset,
        rows: page.rows.iter().map(|(i, r)| Row::new(*i, r)).collect(),
    })
}

/// The record at `index` in the feed's timeline, if still retained.
pub fn record_detail(state: &AppState, feed: &str, index: u64) -> Result<Option<RecordDetail>, AppError> {
    let rec = state.hub.with_history(feed, |h| h.get(index).cloned())?;
    Ok(rec.map(|r| RecordDetail::new(index, &r)))
}

/// A finished export.
#[derive(Serialize, Debug, PartialEq, TS)]
pub struct ExportDone {
    pub path: String,
    /// Records written.
    pub count: u64,
    /// Size of the file.
    pub bytes: u64,
}

/// Writes the feed's retained records (all, or those matching `filter`) to `path`.
pub fn export_to(
    state: &AppState,
    feed: &str,
    filter: Option<&Query>,
    format: ExportFormat,
    path: PathBuf,
) -> Result<ExportDone, AppError> {
    let matcher = match filter {
        Some(q) => compile(q)?,
        None => None,
    };
    // A snapshot shares the records (Arc), so ingestion is not held up while the file is written.
    let records = state.hub.snapshot(feed)?;
    let written = feedscope_core::export::write_file(&path, format, records.iter().map(|r| &**r), matcher.as_ref())
        .map_err(|e| AppError::msg(format!("could not write {}: {e}", path.display())))?;
    Ok(ExportDone { path: path.display().to_string(), count: written.records, bytes: written.bytes })
}
