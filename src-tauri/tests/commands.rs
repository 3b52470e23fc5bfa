//! The app's commands through Tauri's mock runtime (real IPC parsing, no window), against the
//! demo server the app starts itself.

use std::time::{Duration, Instant};

use std::sync::Arc;

use feedscope_core::{ExportFormat, Query, Record};
use feedscope_desktop::api::export_to;
use feedscope_desktop::bridge;
use feedscope_desktop::cli::LaunchOptions;
use feedscope_desktop::state::AppState;
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{Manager, WebviewWindow, WebviewWindowBuilder};

fn invoke(w: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        w,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().unwrap())
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

// One test: the app state lives in a process-wide data dir (XDG_DATA_HOME).
#[test]
fn commands_drive_the_engine() {
    let home = tempfile::tempdir().unwrap();
    std::env::set_var("XDG_DATA_HOME", home.path());
    let app = feedscope_app::builder(mock_builder()).build(mock_context(noop_assets())).expect("mock app builds");
    feedscope_app::setup(app.handle(), &LaunchOptions { urls: vec![], demo: true }).expect("setup");
    let w = WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
    let state = app.state::<Arc<AppState>>().inner().clone();
    let list = || serde_json::to_value(state.list()).unwrap();

    // The demo feed is there and connected on first launch.
    let feeds = list();
    assert_eq!(feeds[0]["id"], "demo");
    assert_eq!(feeds[0]["running"], true);
    let demo_url = feeds[0]["config"]["url"].as_str().unwrap().to_owned();
    assert!(demo_url.starts_with("http://127.0.0.1:") && demo_url.ends_with("/events"), "{demo_url}");

    // Editor refusals name their field.
    let bad = |config: Value, cap: u64| {
        invoke(&w, "add_feed", json!({"form": {"name": "x", "config": config, "history_cap": cap}, "connect": false}))
            .unwrap_err()
    };
    assert_eq!(bad(json!({"url": "ftp://127.0.0.1/"}), 1000)["field"], "url");
    assert_eq!(bad(json!({"url": "http://127.0.0.1/", "method": "G T"}), 1000)["field"], "method");
    assert_eq!(
        bad(json!({"url": "http://127.0.0.1/", "headers": [{"name": "a b", "value": "x"}]}), 1000)["field"],
        "headers"
    );
    assert_eq!(bad(json!({"url": "http://127.0.0.1/"}), 1)["field"], "history_cap");

    // A feed added from the editor: partial config, engine defaults for the rest.
    let added = invoke(
        &w,
        "add_feed",
        json!({"form": {"name": "Ticks only", "config": {"url": demo_url, "mode": "browser"}, "history_cap": 500}, "connect": true}),
    )
    .unwrap();
    assert_eq!(added["id"], "ticks-only");
    assert_eq!(added["config"]["retry_ms"], 3000);

    let page = |feed: &str, filter: Value, offset: Value| -> PageRows {
        let v =
            invoke(&w, "query_events", json!({"feed": feed, "filter": filter, "offset": offset, "limit": 50})).unwrap();
        PageRows {
            total: v["total"].as_u64().unwrap() as usize,
            offset: v["offset"].as_u64().unwrap() as usize,
            rows: v["rows"].as_array().unwrap().clone(),
        }
    };
    wait_until("ticks in the new feed", || page("ticks-only", json!({"types": ["tick"]}), Value::Null).rows.len() >= 2);
    let ticks = page("ticks-only", json!({"types": ["tick"]}), Value::Null);
    assert!(ticks.rows.iter().all(|r| r["event_type"] == "tick"));
    // The newest page ends at the total.
    assert_eq!(ticks.offset + ticks.rows.len(), ticks.total);
    let all = page("ticks-only", json!({}), json!(0));
    assert_eq!(all.rows[0]["kind"], "connecting");
    assert!(all.total > ticks.total);

    // A bad regex is the search field's error.
    let err = invoke(
        &w,
        "query_events",
        json!({"feed": "demo", "filter": {"text": "(", "regex": true}, "offset": 0, "limit": 5}),
    )
    .unwrap_err();
    assert_eq!(err["field"], "search");

    // The full record behind a row.
    let first_event = all.rows.iter().find(|r| r["kind"] == "event").unwrap();
    let detail = invoke(&w, "get_record", json!({"feed": "ticks-only", "index": first_event["index"]})).unwrap();
    assert_eq!(detail["record"]["kind"], "event");
    assert_eq!(detail["record"]["seq"], 1);
    assert_eq!(detail["shown"]["event_type"], "tick");

    // Duplicate, disconnect, delete.
    let dup = invoke(&w, "duplicate_feed", json!({"id": "ticks-only"})).unwrap();
    assert_eq!((dup["name"].as_str(), dup["running"].as_bool()), (Some("Ticks only copy"), Some(false)));
    let off = invoke(&w, "disconnect_feed", json!({"id": "ticks-only"})).unwrap();
    assert_eq!(off["running"], false);
    invoke(&w, "delete_feed", json!({"id": dup["id"]})).unwrap();
    let ids: Vec<String> = list().as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, ["demo", "ticks-only"]);

    // URLs from the command line: a URL that is already a feed is reused, a new one is added.
    assert_eq!(state.open_urls(std::slice::from_ref(&demo_url)), ["demo"]);
    let fresh = format!("{}?rate=2", demo_url);
    let opened = state.open_urls(std::slice::from_ref(&fresh));
    assert_eq!(opened.len(), 1);
    assert!(state.hub.is_running(&opened[0]));
    invoke(&w, "delete_feed", json!({"id": opened[0]})).unwrap();

    // Export streams the retained records to a file that parses back as the log format.
    let out = home.path().join("out.ndjson");
    let q = Query { types: vec!["tick".into()], ..Query::default() };
    let done = export_to(&state, "ticks-only", Some(&q), ExportFormat::Ndjson, out.clone()).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    let back: Vec<Record> = text.lines().map(|l| Record::from_json(l).unwrap()).collect();
    assert_eq!(back.len() as u64, done.count);
    assert!(back
        .iter()
        .all(|r| matches!(&r.body, feedscope_core::Body::Event { event_type, .. } if &**event_type == "tick")));

    // Settings were saved through the store, with a last-good copy beside them.
    let dir = app.path().app_data_dir().unwrap();
    let saved: Value = serde_json::from_slice(&std::fs::read(dir.join("feedscope.json")).unwrap()).unwrap();
    assert_eq!(saved["feeds"].as_array().unwrap().len(), 2);
    assert!(dir.join("feedscope.json.last-good").exists());

    // The bridge coalesces: batches at most every ~50 ms, each with the feeds that changed.
    let hub = state.hub.clone();
    let batches = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = batches.clone();
    let started = Instant::now();
    tauri::async_runtime::spawn(bridge::run(std::sync::Arc::downgrade(&hub), move |b| {
        sink.lock().unwrap().push((started.elapsed(), b));
        started.elapsed() < Duration::from_millis(1500)
    }));
    std::thread::sleep(Duration::from_millis(1700));
    let batches = batches.lock().unwrap();
    assert!(batches.len() >= 3, "{} batches", batches.len());
    assert!(batches.len() <= 1500 / 50 + 2, "{} batches", batches.len());
    assert!(batches[0].1.feeds.iter().any(|f| f.id == "demo"), "the first update carries every feed");
    let listing = batches[0].1.listing.as_ref().expect("the first update carries the list");
    assert_eq!(listing.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), ["demo", "ticks-only"]);
    assert!(batches.iter().skip(1).all(|(_, b)| b.listing.is_none()), "the list is sent again only when it changes");
    assert!(batches.iter().any(|(_, b)| b.feeds.iter().any(|f| f.id == "demo" && !f.tail.is_empty())));
}

/// A `query_events` answer as the window sees it.
struct PageRows {
    total: usize,
    offset: usize,
    rows: Vec<Value>,
}
