//! The window's commands: one-line adapters over feedscope-desktop (the state and its answers).
//! Only the export's save dialog is Tauri's own work.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use feedscope_core::{ExportFormat, FeedInfo, Query};
use feedscope_desktop::api::{self, ExportDone, InitInfo, RowPage};
use feedscope_desktop::assembled::AssembledView;
use feedscope_desktop::bridge::LiveUpdate;
use feedscope_desktop::collection::{self, CollectionExportDone, CollectionImportDone};
use feedscope_desktop::raw::{RawExportDone, RawPage, RawRange};
use feedscope_desktop::rows::RecordDetail;
use feedscope_desktop::sorted::Sort;
use feedscope_desktop::state::{AppError, AppState, FeedForm};
use serde_json::Value;
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};

/// The app's state, shared with the settings test loop.
pub type Shared<'a> = State<'a, Arc<AppState>>;

/// Where the live updates go: the channel of the window's latest `init` (a reload replaces it).
#[derive(Default)]
pub struct Live(pub Arc<Mutex<Option<Channel<LiveUpdate>>>>);

/// Feeds to select first: those named on the command line.
#[derive(Default)]
pub struct Opened(pub Vec<String>);

#[tauri::command]
pub fn init(
    state: Shared<'_>,
    live: State<'_, Live>,
    opened: State<'_, Opened>,
    on_update: Channel<LiveUpdate>,
) -> InitInfo {
    *live.0.lock().expect("live lock") = Some(on_update);
    api::init_info(&state, opened.0.first().cloned())
}

#[tauri::command]
pub fn add_feed(state: Shared<'_>, form: FeedForm, connect: bool) -> Result<FeedInfo, AppError> {
    state.add(form, connect)
}

#[tauri::command]
pub fn update_feed(state: Shared<'_>, id: String, form: FeedForm) -> Result<FeedInfo, AppError> {
    state.update(&id, form)
}

#[tauri::command]
pub fn duplicate_feed(state: Shared<'_>, id: String) -> Result<FeedInfo, AppError> {
    state.duplicate(&id)
}

#[tauri::command]
pub fn delete_feed(state: Shared<'_>, id: String) -> Result<(), AppError> {
    state.delete(&id)
}

#[tauri::command]
pub fn connect_feed(state: Shared<'_>, id: String) -> Result<FeedInfo, AppError> {
    state.set_connected(&id, true)
}

#[tauri::command]
pub fn disconnect_feed(state: Shared<'_>, id: String) -> Result<FeedInfo, AppError> {
    state.set_connected(&id, false)
}

/// Reconnects at once (cuts a pending reconnection delay short).
#[tauri::command]
pub fn reconnect_feed(state: Shared<'_>, id: String) -> Result<(), AppError> {
    Ok(state.hub.restart(&id)?)
}

#[tauri::command]
pub fn clear_feed(state: Shared<'_>, id: String) -> Result<(), AppError> {
    Ok(state.hub.clear(&id)?)
}

// The heavy commands are async so they run on the runtime's threads: synchronous commands run on
// the main (GTK) thread, and a filtered scan of a large history there would stall the window.
#[tauri::command]
pub async fn query_events(
    state: Shared<'_>,
    feed: String,
    filter: Query,
    offset: Option<usize>,
    limit: usize,
    sort: Option<Sort>,
) -> Result<RowPage, AppError> {
    api::query_page(&state, &feed, &filter, offset, limit, sort.as_ref())
}

/// The assembled answer of an LLM token stream (`preset`: openai-chat, openai-responses,
/// anthropic or json:PATH).
#[tauri::command]
pub async fn assembled(state: Shared<'_>, feed: String, preset: String) -> Result<AssembledView, AppError> {
    feedscope_desktop::assembled::assembled(&state, &feed, &preset)
}

/// Sends a text message on the feed's open WebSocket.
#[tauri::command]
pub fn send_message(state: Shared<'_>, feed: String, text: String) -> Result<(), AppError> {
    api::send_message(&state, &feed, text)
}

/// Runs the demo feed over the four transports side by side (the Compare view).
#[tauri::command]
pub async fn compare_transports(
    state: Shared<'_>,
    duration_secs: f64,
    poll_secs: f64,
) -> Result<feedscope_core::compare::CompareReport, AppError> {
    api::compare_transports(&state, duration_secs, poll_secs).await
}

#[tauri::command]
pub async fn get_record(state: Shared<'_>, feed: String, index: u64) -> Result<Option<RecordDetail>, AppError> {
    api::record_detail(&state, &feed, index)
}

#[tauri::command]
pub async fn raw_page(
    state: Shared<'_>,
    feed: String,
    offset: Option<usize>,
    limit: usize,
) -> Result<RawPage, AppError> {
    api::raw_page(&state, &feed, offset, limit)
}

#[tauri::command]
pub async fn raw_locate(state: Shared<'_>, feed: String, index: u64) -> Result<Option<RawRange>, AppError> {
    api::raw_locate(&state, &feed, index)
}

#[tauri::command]
pub async fn record_position(
    state: Shared<'_>,
    feed: String,
    filter: Query,
    index: u64,
    sort: Option<Sort>,
) -> Result<Option<usize>, AppError> {
    api::record_position(&state, &feed, &filter, index, sort.as_ref())
}

#[tauri::command]
pub fn save_settings(state: Shared<'_>, settings: Value) {
    state.set_settings(settings);
}

/// Asks where to save (the save dialog): the path, or `None` when cancelled.
/// `FEEDSCOPE_TEST_SAVE_PATH` answers the dialog in end-to-end tests (a native dialog cannot be
/// driven through WebDriver), with the file's extension set to the format's.
async fn save_path<R: Runtime>(app: &AppHandle<R>, title: &str, feed: &str, extension: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FEEDSCOPE_TEST_SAVE_PATH") {
        return Some(PathBuf::from(p).with_extension(extension));
    }
    use tauri_plugin_dialog::DialogExt;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let stamp = feedscope_core::Timestamp::now().to_string().replace([':', '.'], "-");
    app.dialog()
        .file()
        .set_title(title)
        .set_file_name(format!("{feed}-{stamp}.{extension}"))
        .add_filter(extension, &[extension])
        .save_file(move |p| {
            let _ = tx.send(p);
        });
    rx.await.ok().flatten().and_then(|p| p.into_path().ok())
}

/// Asks where to save, then writes the file off the main thread.
#[tauri::command]
pub async fn export_feed<R: Runtime>(
    app: AppHandle<R>,
    state: Shared<'_>,
    feed: String,
    filter: Option<Query>,
    format: ExportFormat,
) -> Result<Option<ExportDone>, AppError> {
    let Some(path) = save_path(&app, "Export feed", &feed, format.extension()).await else { return Ok(None) };
    let state = Arc::clone(&state);
    let task =
        tauri::async_runtime::spawn_blocking(move || api::export_to(&state, &feed, filter.as_ref(), format, path));
    task.await.map_err(|e| AppError::msg(e.to_string()))?.map(Some)
}

/// Asks where to save the raw bytes (`.sse`), then writes them off the main thread.
#[tauri::command]
pub async fn export_raw<R: Runtime>(
    app: AppHandle<R>,
    state: Shared<'_>,
    feed: String,
) -> Result<Option<RawExportDone>, AppError> {
    let Some(path) = save_path(&app, "Export raw bytes", &feed, "sse").await else { return Ok(None) };
    let state = Arc::clone(&state);
    let task = tauri::async_runtime::spawn_blocking(move || api::export_raw_to(&state, &feed, path));
    task.await.map_err(|e| AppError::msg(e.to_string()))?.map(Some)
}

/// The connection panel's diagnostics and activity charts for the selected feed.
#[tauri::command]
pub async fn inspect_feed(state: Shared<'_>, feed: String, seconds: usize) -> Result<api::Inspection, AppError> {
    api::inspect(&state, &feed, seconds)
}

/// Asks where to save, then writes the feeds as a collection (secrets left out unless asked).
#[tauri::command]
pub async fn export_collection<R: Runtime>(
    app: AppHandle<R>,
    state: Shared<'_>,
    include_secrets: bool,
) -> Result<Option<CollectionExportDone>, AppError> {
    let Some(path) = save_path(&app, "Export feeds", "feeds", "json").await else { return Ok(None) };
    collection::export_to(&state, include_secrets, &path).map(Some)
}

/// Asks which collection to open (the open dialog), then adds its feeds, not connected.
/// `FEEDSCOPE_TEST_OPEN_PATH` answers the dialog in end-to-end tests, as `FEEDSCOPE_TEST_SAVE_PATH`
/// does for saving.
#[tauri::command]
pub async fn import_collection<R: Runtime>(
    app: AppHandle<R>,
    state: Shared<'_>,
) -> Result<Option<CollectionImportDone>, AppError> {
    let path = match std::env::var_os("FEEDSCOPE_TEST_OPEN_PATH") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            use tauri_plugin_dialog::DialogExt;
            let (tx, rx) = tokio::sync::oneshot::channel();
            app.dialog().file().set_title("Import feeds").add_filter("json", &["json"]).pick_file(move |p| {
                let _ = tx.send(p);
            });
            rx.await.ok().flatten().and_then(|p| p.into_path().ok())
        }
    };
    let Some(path) = path else { return Ok(None) };
    collection::import_from(&state, &path).map(Some)
}

/// The editor's form for a pasted `curl` command.
#[tauri::command]
pub fn import_curl(command: String) -> Result<FeedForm, AppError> {
    api::import_curl(&command)
}

#[tauri::command]
pub fn set_global_alerts(state: Shared<'_>, rules: Vec<feedscope_core::alerts::AlertRule>) -> Result<(), AppError> {
    state.set_global_alerts(rules)
}
