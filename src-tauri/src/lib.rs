//! The Feedscope desktop app: the Tauri adapters of `feedscope-desktop`, which holds everything
//! else (see docs/ARCHITECTURE.md). Here: the commands, the Channel, the store file's path and
//! the plugins.

pub mod commands;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use feedscope_core::Hub;
use feedscope_desktop::bridge;
use feedscope_desktop::cli::{self, Launch, LaunchOptions};
use feedscope_desktop::persist::{self, STORE_FILE};
use feedscope_desktop::saved::SavedDoc;
use feedscope_desktop::state::AppState;
use tauri::{Builder, Manager, Runtime};

use crate::commands::{Live, Opened};

/// The app's plugins and commands on any runtime (tests pass the mock runtime); [`setup`] adds
/// the state once the app exists.
pub fn builder<R: Runtime>(b: Builder<R>) -> Builder<R> {
    b.plugin(tauri_plugin_store::Builder::default().build()).invoke_handler(tauri::generate_handler![
        commands::init,
        commands::add_feed,
        commands::update_feed,
        commands::duplicate_feed,
        commands::delete_feed,
        commands::connect_feed,
        commands::disconnect_feed,
        commands::reconnect_feed,
        commands::clear_feed,
        commands::query_events,
        commands::get_record,
        commands::assembled,
        commands::send_message,
        commands::compare_transports,
        commands::export_feed,
        commands::raw_page,
        commands::raw_locate,
        commands::record_position,
        commands::export_raw,
        commands::save_settings,
        commands::inspect_feed,
        commands::set_global_alerts,
        commands::import_curl,
        commands::export_collection,
        commands::import_collection,
    ])
}

/// Starts the demo server, loads the settings (guarded) into the hub, and starts the bridge.
pub fn setup<R: Runtime>(app: &tauri::AppHandle<R>, opts: &LaunchOptions) -> Result<(), Box<dyn std::error::Error>> {
    let tauri::async_runtime::RuntimeHandle::Tokio(rt) = tauri::async_runtime::handle();
    let hub = Hub::with_runtime(rt);
    let demo_base = if opts.demo {
        let server = tauri::async_runtime::block_on(feedscope_server::serve(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            feedscope_server::demo::router(feedscope_server::demo::DemoOptions::default()),
        ));
        match server {
            // The server lives as long as the app's runtime.
            Ok(s) => Some(format!("http://{}", s.addr)),
            Err(e) => {
                eprintln!("feedscope: the demo server could not start: {e}");
                None
            }
        }
    } else {
        None
    };

    // Check the settings file before the store plugin reads (and might silently reset) it.
    let dir = app.path().app_data_dir()?;
    std::fs::create_dir_all(&dir)?;
    // The very file the plugin reads (and, with [`persist::save`], the one saves replace).
    let file = tauri_plugin_store::resolve_store_path(app, STORE_FILE)?;
    let notice = persist::guard(&file);
    let store = tauri_plugin_store::StoreBuilder::new(app, STORE_FILE).disable_auto_save().build()?;
    let doc = SavedDoc::from_map(|k| store.get(k)).unwrap_or_default();
    // From here on the app writes the plugin's file itself, atomically: the plugin's save (also
    // run at exit while the store is open) truncates and rewrites it in place.
    store.close_resource();
    let saver = Box::new(move |doc: &SavedDoc| persist::save(&file, &doc.to_value()));
    let state = Arc::new(AppState::open(hub.clone(), doc, demo_base, saver));
    state.notices.lock().expect("lock").splice(0..0, notice);
    let opened = state.open_urls(&opts.urls);
    app.manage(state.clone());
    app.manage(Opened(opened));
    persist::test_save_loop(state);

    let live = Live::default();
    let slot = live.0.clone();
    app.manage(live);
    let notifier = app.clone();
    let mut alerts_seen: HashMap<String, u64> = HashMap::new();
    tauri::async_runtime::spawn(bridge::run(Arc::downgrade(&hub), move |update| {
        for f in &update.feeds {
            let seen = alerts_seen.entry(f.id.clone()).or_insert(f.stats.alerts);
            if f.stats.alerts > *seen {
                notify_alert(&notifier, &f.id, f.stats.alerts - *seen, f.stats.last_alert.as_deref().unwrap_or(""));
                *seen = f.stats.alerts;
            }
        }
        if let Some(ch) = slot.lock().expect("live lock").as_ref() {
            // A closed window is not an error: the next `init` brings a new channel.
            let _ = ch.send(update);
        }
        true
    }));
    Ok(())
}

/// A desktop notification for alerts that fired on feed `id` (when the notification plugin is
/// there: the app's, not the tests' mock runtime). A desktop without a notification service
/// simply shows none; the window's timeline and connection panel have the alerts anyway.
fn notify_alert<R: Runtime>(app: &tauri::AppHandle<R>, id: &str, new: u64, last: &str) {
    use tauri_plugin_notification::NotificationExt;
    if app.try_state::<tauri_plugin_notification::Notification<R>>().is_none() {
        return;
    }
    let more = if new > 1 { format!(" (and {} more)", new - 1) } else { String::new() };
    let _ = app.notification().builder().title(format!("Feedscope: {id}")).body(format!("{last}{more}")).show();
}

/// Entry point of the `feedscope-app` binary.
pub fn main() {
    let opts = match cli::parse(std::env::args().skip(1)) {
        Ok(Launch::Help) => {
            print!("{}", cli::HELP);
            return;
        }
        Ok(Launch::Version) => {
            println!("feedscope-app {}", env!("CARGO_PKG_VERSION"));
            return;
        }
        Ok(Launch::Run(opts)) => opts,
        Err(e) => {
            eprintln!("feedscope-app: {e}");
            std::process::exit(2);
        }
    };
    // Blank windows were seen with some WebKitGTK versions; these cost nothing here.
    for var in ["WEBKIT_DISABLE_COMPOSITING_MODE", "WEBKIT_DISABLE_DMABUF_RENDERER"] {
        if std::env::var_os(var).is_none() {
            std::env::set_var(var, "1");
        }
    }
    builder(tauri::Builder::default())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .setup(move |app| setup(app.handle(), &opts))
        .run(tauri::generate_context!())
        .expect("error while running the Feedscope window");
}
