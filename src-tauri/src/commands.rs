//! The window's commands: a page of thin adapters over [`AppState`] and the engine's [`Hub`].

use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use feedscope_core::{Exporter, Format, Query, Record};
use serde::Serialize;
use serde_json::Value;
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};

use crate::bridge::Batch;
use crate::rows::Row;
use crate::state::{AppError, AppState, FeedInput, FeedView};

/// Where the live batches go: the channel of the window's latest `init` (a reload replaces it).
#[derive(Default)]
pub struct Live(pub Arc<Mutex<Option<Channel<Batch>>>>);

/// Feeds to select first: those named on the command line.
#[derive(Default)]
pub struct Opened(pub Vec<String>);

/// Largest page the table may ask for.
const MAX_PAGE: usize = 2000;

#[derive(Serialize)]
pub struct InitInfo {
    feeds: Vec<FeedView>,
    settings: Value,
    notices: Vec<String>,
    select: Option<String>,
    version: &'static str,
}

#[tauri::command]
pub fn init(
    state: State<'_, AppState>,
    live: State<'_, Live>,
    opened: State<'_, Opened>,
    on_batch: Channel<Batch>,
) -> InitInfo {
    *live.0.lock().expect("live lock") = Some(on_batch);
    InitInfo {
        feeds: state.list(),
        settings: state.settings(),
        notices: std::mem::take(&mut *state.notices.lock().expect("lock")),
        select: opened.0.first().cloned(),
        version: env!("CARGO_PKG_VERSION"),
    }
}

#[tauri::command]
pub fn list_feeds(state: State<'_, AppState>) -> Vec<FeedView> {
    state.list()
}

#[tauri::command]
pub fn add_feed(state: State<'_, AppState>, input: FeedInput, connect: bool) -> Result<FeedView, AppError> {
    state.add(input, connect)
}

#[tauri::command]
pub fn update_feed(state: State<'_, AppState>, id: String, input: FeedInput) -> Result<FeedView, AppError> {
    state.update(&id, input)
}

#[tauri::command]
pub fn duplicate_feed(state: State<'_, AppState>, id: String) -> Result<FeedView, AppError> {
    state.duplicate(&id)
}

#[tauri::command]
pub fn delete_feed(state: State<'_, AppState>, id: String) -> Result<(), AppError> {
    state.delete(&id)
}

#[tauri::command]
pub fn connect_feed(state: State<'_, AppState>, id: String) -> Result<FeedView, AppError> {
    state.set_connected(&id, true)
}

#[tauri::command]
pub fn disconnect_feed(state: State<'_, AppState>, id: String) -> Result<FeedView, AppError> {
    state.set_connected(&id, false)
}

/// Reconnects at once (cuts a pending reconnection delay short).
#[tauri::command]
pub fn reconnect_feed(state: State<'_, AppState>, id: String) -> Result<(), AppError> {
    Ok(state.hub.restart(&id)?)
}

#[tauri::command]
pub fn clear_feed(state: State<'_, AppState>, id: String) -> Result<(), AppError> {
    Ok(state.hub.clear(&id)?)
}

#[derive(Serialize, Debug)]
pub struct PageView {
    pub total: usize,
    pub offset: usize,
    pub rows: Vec<Row>,
}

fn compile(filter: &Query) -> Result<Option<feedscope_core::Matcher>, AppError> {
    if *filter == Query::default() {
        return Ok(None);
    }
    filter.compile().map(Some).map_err(|m| AppError { field: Some("search".into()), message: m })
}

/// A page of the feed's records that match `filter`; filtering runs here, not in the window.
/// `offset: None` asks for the newest `limit` matches (a followed table), found in one pass.
// Async so it runs on the runtime's threads: synchronous commands run on the main (GTK) thread,
// and a filtered scan of a large history there would stall every window event.
#[tauri::command]
pub async fn query_events(
    state: State<'_, AppState>,
    feed: String,
    filter: Query,
    offset: Option<usize>,
    limit: usize,
) -> Result<PageView, AppError> {
    query_page(&state, &feed, &filter, offset, limit)
}

pub fn query_page(
    state: &AppState,
    feed: &str,
    filter: &Query,
    offset: Option<usize>,
    limit: usize,
) -> Result<PageView, AppError> {
    let matcher = compile(filter)?;
    let limit = limit.min(MAX_PAGE);
    let page = match offset {
        Some(offset) => state.hub.query(feed, matcher.as_ref(), offset, limit)?,
        None => state.hub.query_tail(feed, matcher.as_ref(), limit)?,
    };
    Ok(PageView {
        total: page.total,
        offset: page.offset,
        rows: page.rows.iter().map(|(i, r)| Row::new(*i, r)).collect(),
    })
}

#[derive(Serialize, Debug)]
pub struct RecordDetail {
    pub i: u64,
    #[serde(serialize_with = "crate::rows::serialize_record")]
    pub record: Arc<Record>,
    /// The event data pretty-printed, when it is a JSON object or array.
    pub pretty: Option<String>,
}

#[tauri::command]
pub async fn get_record(
    state: State<'_, AppState>,
    feed: String,
    index: u64,
) -> Result<Option<RecordDetail>, AppError> {
    let rec = state.hub.with_history(&feed, |h| h.get(index).cloned())?;
    Ok(rec.map(|record| {
        let pretty = match &record.body {
            feedscope_core::Body::Event { data, .. } if data.trim_start().starts_with(['{', '[']) => {
                serde_json::from_str::<Value>(data).ok().and_then(|v| serde_json::to_string_pretty(&v).ok())
            }
            _ => None,
        };
        RecordDetail { i: index, record, pretty }
    }))
}

#[tauri::command]
pub fn save_settings(state: State<'_, AppState>, settings: Value) {
    state.set_settings(settings);
}

#[derive(Serialize, Debug, PartialEq)]
pub struct ExportDone {
    pub path: String,
    pub count: u64,
    pub bytes: u64,
}

/// Writes the feed's retained records (all, or those matching `filter`) to `path`, streaming.
pub fn export_to(
    state: &AppState,
    feed: &str,
    filter: Option<&Query>,
    format: Format,
    path: PathBuf,
) -> Result<ExportDone, AppError> {
    let matcher = match filter {
        Some(q) => compile(q)?,
        None => None,
    };
    // A snapshot shares the records (Arc), so ingestion is not held up while the file is written.
    let records = state.hub.snapshot(feed)?;
    let io = |e: std::io::Error| AppError::msg(format!("could not write {}: {e}", path.display()));
    let file = std::fs::File::create(&path).map_err(io)?;
    let mut x = Exporter::new(format, BufWriter::with_capacity(1 << 20, file)).map_err(io)?;
    for r in records.iter().filter(|r| matcher.as_ref().is_none_or(|m| m.matches(r))) {
        x.write(r).map_err(io)?;
    }
    let (w, count) = x.finish().map_err(io)?;
    let file = w.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    Ok(ExportDone { path: path.display().to_string(), count, bytes })
}

/// Asks where to save (the save dialog), then writes the file off the main thread.
/// `FEEDSCOPE_TEST_SAVE_PATH` answers the dialog in end-to-end tests (a native dialog cannot be
/// driven through WebDriver).
#[tauri::command]
pub async fn export_feed<R: Runtime>(
    app: AppHandle<R>,
    feed: String,
    filter: Option<Query>,
    format: Format,
) -> Result<Option<ExportDone>, AppError> {
    let path = match std::env::var_os("FEEDSCOPE_TEST_SAVE_PATH") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            use tauri_plugin_dialog::DialogExt;
            let (tx, rx) = tokio::sync::oneshot::channel();
            let stamp = feedscope_core::Timestamp::now().to_string().replace([':', '.'], "-");
            app.dialog()
                .file()
                .set_title("Export feed")
                .set_file_name(format!("{feed}-{stamp}.{}", format.extension()))
                .add_filter(format.extension(), &[format.extension()])
                .save_file(move |p| {
                    let _ = tx.send(p);
                });
            rx.await.ok().flatten().and_then(|p| p.into_path().ok())
        }
    };
    let Some(path) = path else { return Ok(None) };
    let task = {
        use tauri::Manager;
        let app = app.clone();
        tauri::async_runtime::spawn_blocking(move || {
            let state = app.state::<AppState>();
            export_to(&state, &feed, filter.as_ref(), format, path)
        })
    };
    task.await.map_err(|e| AppError::msg(e.to_string()))?.map(Some)
}
