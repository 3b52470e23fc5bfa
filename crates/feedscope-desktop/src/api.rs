//! The answers of the window's commands, built from [`AppState`] and the engine: one function per
//! command that does more than call the state, so the Tauri commands stay one-line adapters.

use std::path::PathBuf;

use feedscope_core::{ExportFormat, FeedConfig, FeedInfo, Query};
use serde::Serialize;
use serde_json::Value;
use ts_rs::TS;

use crate::raw::{RawExportDone, RawPage, RawRange};
use crate::rows::{Columns, RecordDetail, Row};
use crate::sorted::{Sort, SortedView};
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
    /// Alert rules applied to every feed.
    pub global_alerts: Vec<feedscope_core::alerts::AlertRule>,
}

pub fn init_info(state: &AppState, select: Option<String>) -> InitInfo {
    InitInfo {
        feeds: state.list(),
        settings: state.settings(),
        notices: std::mem::take(&mut *state.notices.lock().expect("lock")),
        select,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        defaults: FeedForm::new(FeedConfig::default()),
        global_alerts: state.global_alerts(),
    }
}

/// The editor's form for a pasted `curl` command (see [`feedscope_core::curl`]): the name is left
/// empty (the URL names the feed, as for any feed) and the caps are the defaults. A refusal has
/// the field `curl`, so the window shows it under the box the command was pasted in.
pub fn import_curl(command: &str) -> Result<FeedForm, AppError> {
    let feed = feedscope_core::parse_curl(command).map_err(|e| AppError::field("curl", e.to_string()))?;
    Ok(FeedForm::new(feed.config))
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

/// The feed id that names the merged timeline of every feed (no feed has it: the app makes ids of
/// lowercase letters, digits and `-`).
pub const ALL_FEEDS: &str = "*";

/// The merged timeline's page: every feed's records in arrival order, each row naming its feed.
fn merged_page(
    state: &AppState,
    matcher: Option<&feedscope_core::Matcher>,
    offset: Option<usize>,
    limit: usize,
) -> RowPage {
    let page = match offset {
        Some(offset) => state.hub.query_merged(matcher, offset, limit),
        None => state.hub.query_merged_tail(matcher, limit),
    };
    let none = Columns::default();
    let rows =
        page.rows.iter().map(|(feed, i, r)| Row { feed: Some(feed.to_string()), ..Row::new(*i, r, &none) }).collect();
    RowPage { total: page.total, offset: page.offset, rows }
}

/// The columns the feed's table shows (its added columns).
fn columns(state: &AppState, feed: &str) -> Result<Columns, AppError> {
    Ok(Columns::of(&state.hub.info(feed)?.config))
}

/// A page of the feed's records that match `filter`; filtering runs here, not in the window.
/// `offset: None` asks for the newest `limit` matches (a followed table), found in one pass.
/// With `sort`, the rows are in the column's order (ties in arrival order) and `offset: None`
/// gives the last page.
pub fn query_page(
    state: &AppState,
    feed: &str,
    filter: &Query,
    offset: Option<usize>,
    limit: usize,
    sort: Option<&Sort>,
) -> Result<RowPage, AppError> {
    let matcher = compile(filter)?;
    let limit = limit.min(MAX_PAGE);
    if feed == ALL_FEEDS {
        return Ok(merged_page(state, matcher.as_ref(), offset, limit));
    }
    let columns = columns(state, feed)?;
    if let Some(sort) = sort {
        return sorted_page(state, feed, filter, matcher.as_ref(), sort, offset, limit, &columns);
    }
    let page = match offset {
        Some(offset) => state.hub.query(feed, matcher.as_ref(), offset, limit)?,
        None => state.hub.query_tail(feed, matcher.as_ref(), limit)?,
    };
    Ok(RowPage {
        total: page.total,
        offset: page.offset,
        rows: page.rows.iter().map(|(i, r)| Row::new(*i, r, &columns)).collect(),
    })
}

/// Runs `f` on the feed's sorted view for `filter` and `sort`, brought up to date with the
/// feed's history (made anew when the window asks for another feed, filter or sort).
fn with_sorted<R>(
    state: &AppState,
    feed: &str,
    filter: &Query,
    matcher: Option<&feedscope_core::Matcher>,
    sort: &Sort,
    f: impl FnOnce(&SortedView, &feedscope_core::History) -> R,
) -> Result<R, AppError> {
    let mut cached = state.sorted.lock().expect("sorted lock");
    if !cached.as_ref().is_some_and(|v| v.is_for(feed, filter, sort)) {
        *cached = Some(SortedView::new(feed, filter, sort).map_err(|m| AppError::field("sort", m))?);
    }
    let view = cached.as_mut().expect("just set");
    Ok(state.hub.with_history(feed, |h| {
        let first = h.stats(feedscope_core::Timestamp::now()).first_index;
        view.refresh(first, h.iter().enumerate().map(|(i, r)| (first + i as u64, r)), matcher);
        f(view, h)
    })?)
}

#[allow(clippy::too_many_arguments)]
fn sorted_page(
    state: &AppState,
    feed: &str,
    filter: &Query,
    matcher: Option<&feedscope_core::Matcher>,
    sort: &Sort,
    offset: Option<usize>,
    limit: usize,
    columns: &Columns,
) -> Result<RowPage, AppError> {
    with_sorted(state, feed, filter, matcher, sort, |view, h| {
        let total = view.len();
        let offset = offset.unwrap_or(total.saturating_sub(limit)).min(total);
        let rows = view.page(offset, limit).into_iter().filter_map(|i| Some(Row::new(i, h.get(i)?, columns))).collect();
        RowPage { total, offset, rows }
    })
}

/// The record at `index` in the feed's timeline, if still retained.
/// A polled feed's event also gets what changed since the feed's previous event.
pub fn record_detail(state: &AppState, feed: &str, index: u64) -> Result<Option<RecordDetail>, AppError> {
    let polled = state.hub.info(feed)?.config.transport == feedscope_core::Transport::Poll;
    let (rec, previous) = state.hub.with_history(feed, |h| {
        let rec = h.get(index).cloned();
        let previous = (polled && rec.as_ref().is_some_and(|r| r.body.kind() == feedscope_core::Kind::Event))
            .then(|| (0..index).rev().map_while(|i| h.get(i)).find(|r| r.body.kind() == feedscope_core::Kind::Event))
            .flatten()
            .cloned();
        (rec, previous)
    })?;
    Ok(rec.map(|r| {
        let mut detail = RecordDetail::new(index, &r);
        if let (feedscope_core::Body::Event { data: new, .. }, Some(prev)) = (&r.body, &previous) {
            if let feedscope_core::Body::Event { data: old, .. } = &prev.body {
                detail.diff = Some(crate::diff::line_diff(old, new));
            }
        }
        detail
    }))
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
    let (columns, records) = if feed == ALL_FEEDS {
        (Columns::default(), state.hub.merged_snapshot())
    } else {
        (columns(state, feed)?, state.hub.snapshot(feed)?)
    };
    let written = feedscope_core::export::write_file(
        &path,
        format,
        records.iter().map(|r| &**r),
        matcher.as_ref(),
        columns.fields(),
    )
    .map_err(|e| AppError::msg(format!("could not write {}: {e}", path.display())))?;
    Ok(ExportDone { path: path.display().to_string(), count: written.records, bytes: written.bytes })
}

/// Rows of the feed's raw view from `offset`, or its newest `limit` rows when `offset` is `None`
/// (a view that follows the feed).
pub fn raw_page(state: &AppState, feed: &str, offset: Option<usize>, limit: usize) -> Result<RawPage, AppError> {
    Ok(RawPage::new(state.hub.raw_page(feed, offset, limit.min(MAX_PAGE))?))
}

/// The raw view's rows of the lines the record at `index` was parsed from, if still kept.
pub fn raw_locate(state: &AppState, feed: &str, index: u64) -> Result<Option<RawRange>, AppError> {
    let rows = state.hub.raw_locate(feed, index)?;
    Ok(rows.map(|r| RawRange { first: r.start, count: r.len() }))
}

/// Where the record at `index` is among the rows `filter` shows (what the table scrolls to when
/// the raw view selects it); `None` when it is not retained or not shown.
pub fn record_position(
    state: &AppState,
    feed: &str,
    filter: &Query,
    index: u64,
    sort: Option<&Sort>,
) -> Result<Option<usize>, AppError> {
    let matcher = compile(filter)?;
    if feed == ALL_FEEDS {
        // The merged timeline is not shown beside a raw view, which is what asks.
        return Ok(None);
    }
    if let Some(sort) = sort {
        return with_sorted(state, feed, filter, matcher.as_ref(), sort, |view, _| view.position(index));
    }
    let now = feedscope_core::Timestamp::now();
    Ok(state.hub.with_history(feed, |h| {
        let record = h.get(index)?;
        let before = (index - h.stats(now).first_index) as usize;
        match &matcher {
            None => Some(before),
            Some(m) if m.matches(record) => Some(h.iter().take(before).filter(|r| m.matches(r)).count()),
            Some(_) => None,
        }
    })?)
}

/// Writes the feed's kept raw bytes to `path` as one `text/event-stream` body, which
/// `feedscope replay` serves (see `feedscope_core::RawLog::to_sse`).
pub fn export_raw_to(state: &AppState, feed: &str, path: PathBuf) -> Result<RawExportDone, AppError> {
    // Copied under the lock, written without it: ingestion is not held up by the disk.
    let (bytes, connections) = state.hub.with_raw(feed, |raw| raw.to_sse())?;
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&path)?;
        std::io::Write::write_all(&mut file, &bytes)?;
        file.sync_all()
    };
    write().map_err(|e| AppError::msg(format!("could not write {}: {e}", path.display())))?;
    Ok(RawExportDone { path: path.display().to_string(), connections, bytes: bytes.len() as u64 })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Compare view on this run's demo server (a real loopback server): four rows, in the
    /// order SSE, WebSocket, long polling, polling, each with events; the user's hub untouched.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_compare_view_measures_the_demo_over_four_transports() {
        let server =
            feedscope_testkit::serve_loopback(feedscope_server::demo::router(feedscope_server::demo::DemoOptions {
                rate: 20.0,
                ..Default::default()
            }))
            .await;
        let hub = Hub::with_runtime(tokio::runtime::Handle::current());
        let state =
            AppState::open(hub, SavedDoc::default(), Some(format!("http://{}", server.addr)), Box::new(|_| Ok(())));
        let feeds_before = state.list().len();
        let report = compare_transports(&state, 2.0, 0.5).await.unwrap();
        let rows: Vec<(feedscope_core::Transport, bool)> =
            report.transports.iter().map(|t| (t.transport, t.events > 0)).collect();
        use feedscope_core::Transport::*;
        assert_eq!(rows, [(Sse, true), (WebSocket, true), (LongPoll, true), (Poll, true)], "{report:?}");
        assert_eq!(state.list().len(), feeds_before);
        assert_eq!(compare_transports(&state, 0.0, 1.0).await.unwrap_err().field.as_deref(), Some("duration"));
        state.hub.stop_all();
    }

    #[test]
    fn a_curl_command_fills_the_form_and_a_refusal_is_for_the_curl_box() {
        let form = import_curl("curl -N -H 'Authorization: Bearer t' --json '{}' https://api.test/s").unwrap();
        assert_eq!(form.name, "");
        assert_eq!((form.config.method.as_str(), form.config.body.as_deref()), ("POST", Some("{}")));
        assert_eq!(form.history_cap, crate::saved::default_cap());
        let e = import_curl("curl --http2 https://api.test/s").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("curl"));
        assert!(e.message.contains("--http2"), "{}", e.message);
    }
    use crate::raw::{LineClass, RawRow};
    use crate::saved::SavedDoc;
    use feedscope_core::Hub;

    /// The demo feed of an app state on a demo server: raw rows, lines to records and back, the
    /// table's position of a record, and the raw export.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_raw_view_pages_locates_and_exports_a_feeds_bytes() {
        let server =
            feedscope_testkit::serve_loopback(feedscope_server::demo::router(feedscope_server::demo::DemoOptions {
                rate: 50.0,
                ..Default::default()
            }))
            .await;
        let hub = Hub::with_runtime(tokio::runtime::Handle::current());
        let state =
            AppState::open(hub, SavedDoc::default(), Some(format!("http://{}", server.addr)), Box::new(|_| Ok(())));
        assert_eq!(state.list()[0].raw_cap_mib, crate::saved::default_raw_cap());
        let page = loop {
            let page = raw_page(&state, "demo", Some(0), 200).unwrap();
            let events: std::collections::BTreeSet<u64> =
                page.rows.iter().filter_map(|r| if let RawRow::Line { seq, .. } = r { *seq } else { None }).collect();
            if events.len() >= 3 {
                break page;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        assert!(matches!(&page.rows[0], RawRow::Connection { conn: 1, attempt: Some(1), .. }));
        assert!(
            matches!(&page.rows[1], RawRow::Request { method, url, .. } if method == "GET" && url.ends_with("/events"))
        );
        let comment = page
            .rows
            .iter()
            .position(
                |r| matches!(r, RawRow::Line { class: LineClass::Comment, text, .. } if text == ": feedscope demo"),
            )
            .expect("the demo's comment line");
        let RawRow::Line { record: Some(index), .. } = page.rows[comment] else { panic!("{:?}", page.rows[comment]) };
        let detail = record_detail(&state, "demo", index).unwrap().unwrap();
        assert_eq!(detail.record["kind"], "comment");
        assert_eq!(raw_locate(&state, "demo", index).unwrap(), Some(RawRange { first: comment, count: 1 }));

        // An event: its rows are its block, and the table finds it with and without a filter.
        let (row, index, seq) = page
            .rows
            .iter()
            .enumerate()
            .find_map(|(k, r)| match r {
                RawRow::Line { class: LineClass::Data, record: Some(i), seq: Some(s), .. } => Some((k, *i, *s)),
                _ => None,
            })
            .unwrap();
        let range = raw_locate(&state, "demo", index).unwrap().unwrap();
        assert!(range.first <= row && row < range.first + range.count && range.count >= 3, "{range:?}");
        assert_eq!(record_detail(&state, "demo", index).unwrap().unwrap().record["seq"], seq);
        let all = Query::default();
        let pos = record_position(&state, "demo", &all, index, None).unwrap().unwrap();
        assert_eq!(query_page(&state, "demo", &all, Some(pos), 1, None).unwrap().rows[0].index, index);
        let events = Query { events_only: true, ..Query::default() };
        let pos = record_position(&state, "demo", &events, index, None).unwrap().unwrap();
        assert_eq!(query_page(&state, "demo", &events, Some(pos), 1, None).unwrap().rows[0].index, index);
        assert_eq!(record_position(&state, "demo", &events, 0, None).unwrap(), None, "a connection record is hidden");

        // The export is the body, which parses into the events the feed got.
        let dir = tempfile::tempdir().unwrap();
        let done = export_raw_to(&state, "demo", dir.path().join("demo.sse")).unwrap();
        assert_eq!(done.connections, 1);
        let bytes = std::fs::read(dir.path().join("demo.sse")).unwrap();
        assert_eq!(bytes.len() as u64, done.bytes);
        assert!(bytes.starts_with(b"retry: 2000\n: feedscope demo\n"));
        let (items, _) = feedscope_core::sse::parse_all(&bytes, Default::default());
        assert!(items.iter().filter(|i| matches!(i, feedscope_core::sse::Item::Event { .. })).count() >= 3);
        state.hub.stop_all();
    }
}

/// What the connection panel shows beside the stats: the engine's diagnostics and the feed's
/// activity, second by second.
#[derive(Serialize, Debug, TS)]
pub struct Inspection {
    pub findings: Vec<feedscope_core::Finding>,
    pub activity: feedscope_core::activity::ActivityWindow,
    /// The names of `activity.types`, in order, made safe to show (`other` for the rest).
    pub type_names: Vec<String>,
}

/// Seconds of activity the panel may ask for.
pub const MAX_ACTIVITY_SECONDS: usize = feedscope_core::activity::Activity::SECONDS;

pub fn inspect(state: &AppState, feed: &str, seconds: usize) -> Result<Inspection, AppError> {
    let now = feedscope_core::Timestamp::now();
    let transport = state.hub.info(feed)?.config.transport;
    let (mut findings, activity) =
        state.hub.with_history(feed, |h| (h.findings(now), h.activity(now, seconds.min(MAX_ACTIVITY_SECONDS))))?;
    // The EventSource rules that mean nothing for this feed's transport are left out.
    findings.retain(|f| f.code.applies_to(transport));
    let type_names = activity
        .types
        .iter()
        .map(|t| t.name.as_deref().map_or_else(|| "other".to_owned(), |n| feedscope_core::text::one_line(n, 80)))
        .collect();
    Ok(Inspection { findings, activity, type_names })
}

/// Sends `text` on the feed's open WebSocket (the engine records it as `sent`).
pub fn send_message(state: &AppState, feed: &str, text: String) -> Result<(), AppError> {
    if text.is_empty() {
        return Err(AppError::field("send", "type a message to send"));
    }
    state.hub.send(feed, text).map_err(|e| AppError::field("send", e.to_string()))
}

/// The longest comparison the window may run.
pub const MAX_COMPARE_SECS: f64 = 300.0;

/// The Compare view: this run's demo feed over SSE, WebSocket, long polling and polling, side by
/// side for `duration_secs` (polling every `poll_secs`), in a hub of its own so the user's feeds
/// are untouched (see [`feedscope_core::compare`]).
pub async fn compare_transports(
    state: &AppState,
    duration_secs: f64,
    poll_secs: f64,
) -> Result<feedscope_core::compare::CompareReport, AppError> {
    use feedscope_core::compare;
    if !(1.0..=MAX_COMPARE_SECS).contains(&duration_secs) {
        return Err(AppError::field("duration", format!("between 1 and {MAX_COMPARE_SECS} seconds")));
    }
    if !(0.1..=60.0).contains(&poll_secs) {
        return Err(AppError::field("interval", "between 0.1 and 60 seconds"));
    }
    let base = state.demo_base.as_deref().ok_or_else(|| AppError::msg("the demo server is not running"))?;
    let feeds = compare::demo_feeds(base, std::time::Duration::from_secs_f64(poll_secs))
        .map_err(|e| AppError::msg(e.to_string()))?;
    let options = compare::CompareOptions {
        duration_ms: (duration_secs * 1000.0) as u64,
        shared_source: true,
        ..compare::CompareOptions::default()
    };
    compare::run(feeds, options).await.map_err(|e| AppError::msg(e.to_string()))
}
