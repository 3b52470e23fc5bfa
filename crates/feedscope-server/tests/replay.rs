//! Replay of a recorded log over real HTTP on 127.0.0.1.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use feedscope_core::sse::{parse_all, Item, Limits};
use feedscope_core::{Body, FeedConfig, Hub, Mode, Record};
use feedscope_server::replay::{load, router, Replay, ReplayError};
use feedscope_testkit::{collect_until, events, fetch_all, serve_loopback};

/// A recorded session: connection records around events whose ids persist, reset and change.
const LOG: &str = r#"{"kind":"connecting","feed":"demo","ts":"2025-11-26T04:33:09.000Z","attempt":1,"url":"http://127.0.0.1:1/events","last_event_id":""}
{"kind":"open","feed":"demo","ts":"2025-11-26T04:33:09.010Z","status":200,"headers":{"content-type":"text/event-stream"}}
{"kind":"retry","feed":"demo","ts":"2025-11-26T04:33:09.011Z","ms":2000}
{"kind":"comment","feed":"demo","ts":"2025-11-26T04:33:09.012Z","text":" feedscope demo"}

{"kind":"event","feed":"demo","ts":"2025-11-26T04:33:09.020Z","seq":1,"type":"tick","id":"1","data":"1"}
{"kind":"event","feed":"demo","ts":"2025-11-26T04:33:09.030Z","seq":2,"type":"chat","id":"2","data":"ana: hi\nben: hello\nana: bye"}
{"kind":"event","feed":"demo","ts":"2025-11-26T04:33:09.040Z","seq":3,"type":"message","id":"2","data":"same id as before"}
{"kind":"comment","feed":"demo","ts":"2025-11-26T04:33:09.045Z","text":" heartbeat"}
{"kind":"disconnected","feed":"demo","ts":"2025-11-26T04:33:09.050Z","reason":"end of stream","reconnect_in_ms":2000}
   
{"kind":"event","feed":"demo","ts":"2025-11-26T04:33:09.060Z","seq":4,"type":"price","id":"","data":"{\"price\":1}"}
{"kind":"event","feed":"demo","ts":"2025-11-26T04:33:09.070Z","seq":5,"type":"message","id":"5","data":""}
{"kind":"closed","feed":"demo","ts":"2025-11-26T04:33:09.080Z","reason":"stopped","fatal":false}
"#;

fn temp_log(contents: &str) -> PathBuf {
    temp_file("ndjson", contents.as_bytes())
}

fn temp_file(extension: &str, contents: &[u8]) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "feedscope-server-replay-{}-{}.{extension}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let path = std::env::temp_dir().join(name);
    std::fs::write(&path, contents).expect("write temp file");
    path
}

fn load_str(contents: &str) -> Result<Vec<Record>, ReplayError> {
    let path = temp_log(contents);
    let result = load(&path);
    let _ = std::fs::remove_file(&path);
    result
}

fn recorded_events(records: &[Record]) -> Vec<(String, String, String)> {
    records
        .iter()
        .filter_map(|r| match &r.body {
            Body::Event { event_type, id, data, .. } => Some((event_type.to_string(), id.to_string(), data.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn load_reads_every_record_and_skips_blank_lines() {
    let records = load_str(LOG).expect("valid log");
    assert_eq!(records.len(), 12);
    assert_eq!(records[0].body.kind().as_str(), "connecting");
    assert_eq!(records[11].body.kind().as_str(), "closed");
}

#[test]
fn load_accepts_crlf_line_ends() {
    let records = load_str(&LOG.replace('\n', "\r\n")).expect("valid log");
    assert_eq!(records.len(), 12);
}

#[test]
fn malformed_line_is_an_error_naming_its_line_number() {
    let log = LOG.replacen(r#"{"kind":"comment""#, r#"{"kind":"comment" oops"#, 1);
    let err = load_str(&log).expect_err("line 4 is broken");
    assert!(matches!(err, ReplayError::BadLine { line_no: 4, .. }), "{err:?}");
    assert!(err.to_string().contains("line 4"), "{err}");

    let err =
        load_str("\n{\"kind\":\"nope\",\"feed\":\"f\",\"ts\":\"1970-01-01T00:00:00Z\"}\n").expect_err("unknown kind");
    assert!(matches!(err, ReplayError::BadLine { line_no: 2, .. }), "{err:?}");
}

#[test]
fn missing_file_is_an_io_error_naming_the_path() {
    let path = std::env::temp_dir().join(format!("feedscope-server-missing-{}.ndjson", std::process::id()));
    let err = load(&path).expect_err("no such file");
    assert!(matches!(err, ReplayError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
}

#[tokio::test]
async fn replay_gives_back_the_recorded_events_comments_and_retry() {
    let records = load_str(LOG).expect("valid log");
    let want = recorded_events(&records);
    let server = serve_loopback(router(records, 0.0)).await;
    let got = fetch_all(&server.url("/"), None).await;
    assert!(got.ended);
    assert_eq!(got.status, 200);
    assert_eq!(got.content_type(), "text/event-stream");
    assert_eq!(got.events(), want);
    assert_eq!(got.items[0], Item::Retry(2000));
    assert_eq!(got.items[1], Item::Comment(" feedscope demo".into()));
    assert!(got.items.contains(&Item::Comment(" heartbeat".into())));
    assert_eq!(got.items.len(), want.len() + 3);

    let any_path = fetch_all(&server.url("/some/other/path"), None).await;
    assert_eq!(any_path.events(), want);
    server.shutdown().await;
}

#[tokio::test]
async fn replay_keeps_pacing_scaled_by_speed_and_the_same_events() {
    let records = load_str(LOG).expect("valid log");
    let want = recorded_events(&records);
    // 70 ms of log at 20x: a few milliseconds of real waiting.
    let server = serve_loopback(router(records, 20.0)).await;
    let got = fetch_all(&server.url("/"), None).await;
    assert_eq!(got.events(), want);
    server.shutdown().await;
}

#[tokio::test]
async fn replay_resumes_after_the_event_with_the_last_event_id() {
    let records = load_str(LOG).expect("valid log");
    let want = recorded_events(&records);
    let server = serve_loopback(router(records, 0.0)).await;

    // Id "2" is first carried by the chat event: resume right after it.
    let got = fetch_all(&server.url("/"), Some("2")).await;
    assert_eq!(got.events(), want[2..]);
    assert!(!got.items.contains(&Item::Retry(2000)));

    // An id the log never had: start from the beginning.
    let got = fetch_all(&server.url("/"), Some("nope")).await;
    assert_eq!(got.events(), want);
    server.shutdown().await;
}

#[tokio::test]
async fn replay_serves_several_feeds_in_timestamp_order() {
    let log = r#"{"kind":"event","feed":"a","ts":"2025-01-01T00:00:00.010Z","seq":1,"type":"message","id":"a1","data":"a1"}
{"kind":"event","feed":"a","ts":"2025-01-01T00:00:00.030Z","seq":2,"type":"message","id":"a2","data":"a2"}
{"kind":"event","feed":"b","ts":"2025-01-01T00:00:00.020Z","seq":1,"type":"message","id":"b1","data":"b1"}
"#;
    let server = serve_loopback(router(load_str(log).expect("valid log"), 0.0)).await;
    let got = fetch_all(&server.url("/"), None).await;
    let order: Vec<String> = got.events().into_iter().map(|(_, _, data)| data).collect();
    assert_eq!(order, ["a1", "b1", "a2"]);
    server.shutdown().await;
}

/// A body with a BOM, CRLF, lone CR, a comment and `retry:`: what a raw export holds.
const RAW: &[u8] =
    b"\xef\xbb\xbfretry: 50\r\n: hi\r\n\r\nid: 1\r\nevent: a\r\ndata: x\r\n\r\ndata: y\rid: 3\rdata: z\r\r";

#[tokio::test]
async fn a_sse_file_is_served_byte_for_byte_and_resumes_after_the_last_event_id() {
    let path = temp_file("sse", RAW);
    let replay = Replay::open(&path).expect("a readable file");
    let _ = std::fs::remove_file(&path);
    assert_eq!(replay.events(), 2);
    let server = serve_loopback(replay.router(1.0)).await;

    let bytes = reqwest::get(server.url("/any")).await.unwrap().bytes().await.unwrap();
    assert_eq!(&bytes[..], RAW);
    let got = fetch_all(&server.url("/"), None).await;
    assert!(got.ended);
    assert_eq!(got.content_type(), "text/event-stream");
    assert_eq!(got.items, parse_all(RAW, Limits::default()).0);

    // Resumed after id 1: only the block after its event.
    let got = fetch_all(&server.url("/"), Some("1")).await;
    assert_eq!(got.events(), [("message".to_string(), "3".to_string(), "y\nz".to_string())]);
    // An id the body never had: from the start.
    assert_eq!(fetch_all(&server.url("/"), Some("nope")).await.events().len(), 2);
    server.shutdown().await;
}

#[tokio::test]
async fn a_feeds_raw_export_replays_its_events() {
    let demo = serve_loopback(feedscope_server::demo::router(Default::default())).await;
    let hub = Hub::new();
    let config = FeedConfig { mode: Mode::Browser, ..FeedConfig::new(demo.url("/burst?n=300")) };
    hub.add("f", config, Default::default()).unwrap();
    hub.set_raw_cap("f", 8).unwrap();
    let sub = hub.subscribe(Some("f"), 1 << 20);
    hub.stop_after("f", 300).unwrap();
    hub.start("f").unwrap();
    let recorded = collect_until(&sub, |rs| rs.iter().any(|r| matches!(r.body, Body::Closed { .. }))).await;
    assert_eq!(events(&recorded).len(), 300);

    let (sse, connections) = hub.with_raw("f", |raw| raw.to_sse()).unwrap();
    assert_eq!(connections, 1);
    let path = temp_file("sse", &sse);
    let replay = Replay::open(&path).expect("a readable file");
    let _ = std::fs::remove_file(&path);
    let server = serve_loopback(replay.router(0.0)).await;
    let got = fetch_all(&server.url("/"), None).await;
    // The burst may have ended its body after the 300th event; its events are all there.
    assert_eq!(got.events()[..300], events(&recorded)[..]);
    server.shutdown().await;
    demo.shutdown().await;
}
