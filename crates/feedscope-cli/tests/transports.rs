//! `feedscope tail` over the transports other than SSE, against the demo's live feed on a
//! loopback port: a WebSocket (`ws://`, `--type-path`, `--send`), long polling (`--transport
//! long-poll` with a cursor), polling (`--transport poll --interval`); and the combinations of
//! flags that are refused as usage errors.

use feedscope_core::{Body, Record};
use feedscope_server::demo::{router, DemoOptions};
use feedscope_server::Server;
use feedscope_testkit::serve_loopback;
use serde_json::Value;

mod common;
use common::{args, records, run, stderr};

async fn demo(rate: f64) -> Server {
    serve_loopback(router(DemoOptions { rate, ..DemoOptions::default() })).await
}

fn tail(url: &str, extra: &[&str]) -> Vec<String> {
    let mut a = args(&["tail", url, "--format", "ndjson"]);
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// The events as (type, data JSON).
fn events(rs: &[Record]) -> Vec<(String, Value)> {
    rs.iter()
        .filter_map(|r| match &r.body {
            Body::Event { event_type, data, .. } => Some((
                event_type.to_string(),
                serde_json::from_str(data).unwrap_or_else(|e| panic!("not JSON: {data:?}: {e}")),
            )),
            _ => None,
        })
        .collect()
}

/// The live feed's numbers in events, in order (each event one live event).
fn numbers(events: &[(String, Value)]) -> Vec<u64> {
    events.iter().filter_map(|(_, v)| v["n"].as_u64()).collect()
}

fn consecutive(ns: &[u64]) -> bool {
    ns.windows(2).all(|w| w[1] == w[0] + 1)
}

#[tokio::test]
async fn a_websocket_feed_types_its_events_by_path_and_records_what_it_sends() {
    let server = demo(4.0).await;
    let url = format!("ws://{}/ws", server.addr);
    let out = run(tail(&url, &["--type-path", "type", "--send", r#"{"op":"subscribe"}"#, "-n", "3"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let rs = records(&out);
    let kinds: Vec<&str> = rs.iter().map(|r| r.body.kind().as_str()).collect();
    assert_eq!(kinds[..2], ["connecting", "open"], "{kinds:?}");
    assert!(matches!(&rs[1].body, Body::Open { status: 101, .. }), "{:?}", rs[1]);
    let sent: Vec<&str> =
        rs.iter().filter_map(|r| if let Body::Sent { text } = &r.body { Some(text.as_str()) } else { None }).collect();
    assert_eq!(sent, [r#"{"op":"subscribe"}"#]);
    assert!(kinds.iter().position(|k| *k == "sent") > kinds.iter().position(|k| *k == "open"));
    assert_eq!(kinds.last(), Some(&"closed"));

    let evs = events(&rs);
    assert_eq!(evs.len(), 3);
    for (event_type, v) in &evs {
        assert_eq!(v["type"].as_str(), Some(event_type.as_str()), "the type comes from the JSON's `type`");
    }
    // The demo acknowledges the message (before its next event, 250 ms on).
    let acks: Vec<&Value> = evs.iter().filter(|(t, _)| t == "ack").map(|(_, v)| v).collect();
    assert_eq!(acks.len(), 1, "{evs:?}");
    assert_eq!(acks[0]["received"], r#"{"op":"subscribe"}"#);
    assert!(consecutive(&numbers(&evs)));

    // Pretty output shows the sent message too.
    let out = run(args(&["tail", &url, "--send", "hello", "-n", "2", "--format", "pretty"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = common::stdout(&out);
    assert!(text.contains("→ sent hello"), "{text}");
    assert!(text.contains("● open HTTP 101"), "{text}");
    assert!(text.contains("message #"), "without --type-path every event is a message: {text}");
    server.shutdown().await;
}

#[tokio::test]
async fn long_polling_with_a_cursor_gets_every_event_once() {
    let server = demo(50.0).await;
    let url = server.url("/long-poll");
    for cursor in [["--cursor-param", "cursor"], ["--cursor-header", "X-Cursor"]] {
        let mut extra = vec!["--transport", "long-poll", "--cursor-from", "n", "--split-array", "--type-path", "type"];
        extra.extend(cursor);
        extra.extend(["-n", "40"]);
        let out = run(tail(&url, &extra)).await;
        assert!(out.status.success(), "{cursor:?}: {}", stderr(&out));
        let rs = records(&out);
        let evs = events(&rs);
        assert_eq!(evs.len(), 40, "{cursor:?}");
        // At 50 events a second, a poll that forgot where it was would skip some.
        let ns = numbers(&evs);
        assert_eq!(ns.len(), 40);
        assert!(consecutive(&ns), "{cursor:?}: {ns:?}");
        for (event_type, v) in &evs {
            assert_eq!(v["type"].as_str(), Some(event_type.as_str()));
        }
        // Each request is one of many: only the first is announced.
        assert_eq!(rs.iter().filter(|r| r.body.kind().as_str() == "connecting").count(), 1, "{cursor:?}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn polling_every_interval_gives_each_changed_state_as_an_event() {
    let server = demo(20.0).await;
    let url = server.url("/poll?seconds=5");
    let out = run(tail(&url, &["--transport", "poll", "--interval", "0.3", "-n", "3"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let evs = events(&records(&out));
    assert_eq!(evs.len(), 3);
    let mut newest = Vec::new();
    for (event_type, state) in &evs {
        assert_eq!(event_type, "message");
        let list = state.as_array().expect("the state is an array of events");
        let ns: Vec<u64> = list.iter().filter_map(|v| v["n"].as_u64()).collect();
        assert!(consecutive(&ns), "{ns:?}");
        newest.push(*ns.last().expect("events in the state"));
    }
    // Each state is newer than the one before, about 0.3 s × 20 events later.
    assert!(newest.windows(2).all(|w| w[1] > w[0]), "{newest:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn flags_that_do_not_fit_the_transport_are_usage_errors() {
    let http = "http://127.0.0.1:9/x";
    let ws = "ws://127.0.0.1:9/ws";
    let cases: &[(&[&str], &str)] = &[
        (&[ws, "--transport", "poll"], "a ws:// or wss:// URL is a WebSocket"),
        (&[http, "--send", "x"], "--send is for a WebSocket"),
        (&[http, "--type-path", "type"], "--type-path is for WebSocket, long-poll and poll feeds"),
        (&[ws, "--cursor-from", "n", "--cursor-param", "c"], "--cursor-from is for long polling"),
        (&[http, "--transport", "poll", "--split-array"], "--split-array is for long polling"),
        (&[http, "--interval", "2"], "--interval is for polling"),
        (&[http, "--transport", "long-poll", "--interval", "2"], "--interval is for polling"),
        (&[ws, "--last-event-id", "4"], "--last-event-id is for Server-Sent Events"),
        (&[ws, "--mcp"], "--mcp is for Server-Sent Events"),
        (&[ws, "-d", "{}"], "a WebSocket has no request body"),
        (&[ws, "-X", "POST"], "a WebSocket opens with a GET"),
        (
            &[http, "--transport", "long-poll", "--cursor-from", "n"],
            "--cursor-from needs --cursor-param NAME or --cursor-header NAME",
        ),
        (&[http, "--transport", "long-poll", "--cursor-param", "c"], "--cursor-param needs --cursor-from PATH"),
        (&[http, "--transport", "long-poll", "--cursor-header", "X-C"], "--cursor-header needs --cursor-from PATH"),
        (&[http, "--transport", "long-poll", "--cursor-from", "n", "--cursor-header", "bad name"], "cursor"),
        (&[http, "--transport", "long-poll", "--type-path", "a["], "--type-path \"a[\""),
        (&[http, "--transport", "poll", "--interval", "0"], "invalid --interval 0"),
        (&[http, "--transport", "poll", "--interval", "0.1"], "invalid --interval 0.1"),
        (&[http, "--transport", "smoke"], "smoke"),
        (
            &[http, "--transport", "long-poll", "--cursor-from", "n", "--cursor-param", "c", "--cursor-header", "X"],
            "cannot be used with",
        ),
    ];
    for (extra, want) in cases {
        let mut a = args(&["tail"]);
        a.extend(extra.iter().map(|s| s.to_string()));
        let out = run(a).await;
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{extra:?}: {}", stderr(&out));
    }
    // With a collection, the file says how to connect.
    let out = run(args(&["tail", "--collection", "feeds.json", "--transport", "poll"])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot be used with"), "{}", stderr(&out));
}
