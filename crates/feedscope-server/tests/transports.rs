//! The demo's live feed over its four transports on 127.0.0.1: `/live` (SSE), `/ws`,
//! `/long-poll` and `/poll` carry the same events, each a JSON object with `n` and `sent_at`.

use std::collections::BTreeMap;
use std::time::Duration;

use feedscope_server::demo::{router, DemoOptions, CURSOR_HEADER};
use feedscope_server::Server;
use feedscope_testkit::{fetch_events, serve_loopback, HANG_GUARD};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

type Ws = WebSocketStream<tokio::net::TcpStream>;

async fn demo(rate: f64) -> Server {
    serve_loopback(router(DemoOptions { rate, ..DemoOptions::default() })).await
}

async fn connect_ws(server: &Server, path: &str) -> Ws {
    let tcp = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
    let url = format!("ws://{}{path}", server.addr);
    let (ws, response) = tokio_tungstenite::client_async(url, tcp).await.expect("WebSocket handshake");
    assert_eq!(response.status().as_u16(), 101);
    ws
}

/// The next text message, skipping pings.
async fn next_text(ws: &mut Ws) -> String {
    loop {
        match tokio::time::timeout(HANG_GUARD, ws.next()).await.expect("a message in time") {
            Some(Ok(Message::Text(text))) => return text.to_string(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON: {text:?}: {e}"))
}

/// Checks a live event's shape and returns its n.
fn check_event(v: &Value) -> u64 {
    let keys: Vec<&str> = v.as_object().expect("an object").keys().map(String::as_str).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["data", "n", "sent_at", "type"], "{v}");
    let n = v["n"].as_u64().expect("n is a whole number");
    let sent_at = v["sent_at"].as_i64().expect("sent_at is ms since the epoch");
    let now = feedscope_core::Timestamp::now().millis();
    assert!(sent_at <= now && sent_at > now - 60_000, "{sent_at} vs {now}");
    let want_type = ["message", "tick", "price", "chat"][(n % 4) as usize];
    assert_eq!(v["type"], want_type, "{v}");
    assert!(v["data"].is_string(), "{v}");
    n
}

async fn get(url: &str) -> reqwest::Response {
    tokio::time::timeout(HANG_GUARD, reqwest::get(url)).await.expect("an answer in time").expect("request")
}

fn cursor_of(response: &reqwest::Response) -> u64 {
    response.headers()[CURSOR_HEADER].to_str().expect("ascii").parse().expect("a numeric cursor")
}

#[tokio::test]
async fn every_transport_carries_the_same_numbered_events() {
    let server = demo(200.0).await;
    // Each transport's events by n, as JSON text.
    let mut seen: Vec<BTreeMap<u64, String>> = Vec::new();

    let got = fetch_events(&server.url("/live"), None, 20).await;
    assert_eq!((got.status, got.content_type()), (200, "text/event-stream"));
    let mut sse = BTreeMap::new();
    for (event_type, id, data) in got.events() {
        let v = json(&data);
        let n = check_event(&v);
        assert_eq!((event_type.as_str(), id), (v["type"].as_str().unwrap(), n.to_string()));
        sse.insert(n, data);
    }
    seen.push(sse);

    let mut ws = connect_ws(&server, "/ws").await;
    let mut by_ws = BTreeMap::new();
    while by_ws.len() < 20 {
        let text = next_text(&mut ws).await;
        by_ws.insert(check_event(&json(&text)), text);
    }
    seen.push(by_ws);

    // Long polls from cursor 0: the server's buffer from the first event on, batch by batch.
    let mut by_long_poll = BTreeMap::new();
    let mut cursor = 0;
    while by_long_poll.len() < 40 {
        let response = get(&server.url(&format!("/long-poll?cursor={cursor}"))).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        let next = cursor_of(&response);
        let batch = json(&response.text().await.unwrap());
        let batch = batch.as_array().expect("an array");
        assert!(!batch.is_empty());
        for v in batch {
            let n = check_event(v);
            assert_eq!(n, cursor + 1, "the events after the cursor, in order");
            cursor = n;
            by_long_poll.insert(n, v.to_string());
        }
        assert_eq!(next, cursor, "the X-Cursor header is the last element's n");
    }
    seen.push(by_long_poll);

    let response = get(&server.url("/poll")).await;
    assert_eq!(response.status(), 200);
    let state = json(&response.text().await.unwrap());
    let by_poll: BTreeMap<u64, String> =
        state.as_array().expect("an array").iter().map(|v| (check_event(v), v.to_string())).collect();
    assert!(by_poll.len() >= 20, "{}", by_poll.len());
    seen.push(by_poll);

    for events in &seen {
        let ns: Vec<u64> = events.keys().copied().collect();
        assert_eq!(ns, (ns[0]..ns[0] + ns.len() as u64).collect::<Vec<_>>(), "consecutive numbers");
    }
    // One source: wherever two transports saw the same n, they saw the same event (the long
    // polls saw everything from n = 1, so each of the others overlaps them).
    let all = &seen[2];
    for (i, events) in seen.iter().enumerate() {
        let mut shared = 0;
        for (n, text) in events {
            if let Some(other) = all.get(n) {
                assert_eq!(json(text), json(other), "transport {i}, event {n}");
                shared += 1;
            }
        }
        assert!(shared > 0, "transport {i} shares events with the long polls");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn sse_resumes_after_a_last_event_id_from_the_buffer() {
    let server = demo(500.0).await;
    // Let the source run, then ask for what followed event 5.
    let first = fetch_events(&server.url("/live"), None, 30).await;
    assert!(first.events().len() >= 30);
    let got = fetch_events(&server.url("/live"), Some("5"), 5).await;
    let ids: Vec<String> = got.events().iter().map(|(_, id, _)| id.clone()).collect();
    assert_eq!(ids[..5], ["6", "7", "8", "9", "10"]);
    server.shutdown().await;
}

#[tokio::test]
async fn a_long_poll_waits_for_the_next_event_or_answers_204() {
    // One event at the start, the next in 1000 s.
    let server = demo(0.001).await;
    let first = get(&server.url("/long-poll?cursor=0&timeout=5")).await;
    assert_eq!(first.status(), 200);
    let events = json(&first.text().await.unwrap());
    assert_eq!(events.as_array().map(Vec::len), Some(1));
    assert_eq!(events[0]["n"], 1);

    // Nothing after 1: the poll waits for its timeout, then says there was nothing.
    for request in [
        reqwest::Client::new().get(server.url("/long-poll?cursor=1&timeout=0.3")),
        reqwest::Client::new().get(server.url("/long-poll?timeout=0.3")),
        reqwest::Client::new().get(server.url("/long-poll?timeout=0.3")).header("X-Cursor", "1"),
    ] {
        let started = std::time::Instant::now();
        let response = tokio::time::timeout(HANG_GUARD, request.send()).await.unwrap().unwrap();
        assert_eq!(response.status(), 204);
        assert!(started.elapsed() >= Duration::from_millis(290), "{:?}", started.elapsed());
        assert_eq!(cursor_of(&response), 1);
        assert!(response.bytes().await.unwrap().is_empty());
    }

    for (query, word) in [
        ("cursor=abc", "cursor"),
        ("cursor=-1", "cursor"),
        ("timeout=-1", "timeout"),
        ("timeout=x", "timeout"),
        ("timeout=121", "timeout"),
    ] {
        let response = get(&server.url(&format!("/long-poll?{query}"))).await;
        assert_eq!(response.status(), 400, "{query}");
        assert!(response.text().await.unwrap().contains(word), "{query}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn an_unchanged_poll_is_not_modified() {
    // One event at the start, the next in 1000 s: the state stays.
    let server = demo(0.001).await;
    // The first request starts the source; its first event follows at once.
    let etag = loop {
        let response = get(&server.url("/poll")).await;
        let etag = response.headers()["etag"].to_str().unwrap().to_owned();
        if json(&response.text().await.unwrap()).as_array().is_some_and(|a| a.len() == 1) {
            break etag;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(etag, "\"1-1\"");
    let client = reqwest::Client::new();
    let same = client.get(server.url("/poll")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(same.status(), 304);
    assert_eq!(same.headers()["etag"].to_str().unwrap(), etag);
    assert!(same.bytes().await.unwrap().is_empty());
    let other = client.get(server.url("/poll")).header("if-none-match", "\"0-0\"").send().await.unwrap();
    assert_eq!(other.status(), 200);
    server.shutdown().await;
}

#[tokio::test]
async fn a_long_poll_answers_as_soon_as_an_event_is_published() {
    let server = demo(5.0).await;
    // Start the source, then wait for the event after the newest.
    let now = get(&server.url("/poll")).await;
    let newest = cursor_of(&now);
    let started = std::time::Instant::now();
    let response = get(&server.url(&format!("/long-poll?cursor={newest}"))).await;
    assert_eq!(response.status(), 200);
    // The next event comes within 200 ms at 5 per second.
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    let events = json(&response.text().await.unwrap());
    assert_eq!(events[0]["n"].as_u64(), Some(newest + 1));
    server.shutdown().await;
}

#[tokio::test]
async fn a_poll_answers_the_newest_events_of_its_window() {
    let server = demo(100.0).await;
    let _ = get(&server.url("/poll")).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let response = get(&server.url("/poll?seconds=0.1")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let newest = cursor_of(&response);
    let state = json(&response.text().await.unwrap());
    let ns: Vec<u64> = state.as_array().unwrap().iter().map(check_event).collect();
    // ⌈100 × 0.1⌉ = 10 events, the newest last.
    assert_eq!(ns.len(), 10, "{ns:?}");
    assert_eq!(ns, (newest - 9..=newest).collect::<Vec<_>>());

    // Revalidation: the same state is a 304 without a body, a newer one the new array.
    let response = get(&server.url("/poll?seconds=0.1")).await;
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let client = reqwest::Client::new();
    let again = client.get(server.url("/poll?seconds=0.1")).header("if-none-match", &etag).send().await.unwrap();
    // At 100 events per second the state may have moved on in between: then it is a 200.
    if again.status() == 304 {
        assert!(again.bytes().await.unwrap().is_empty());
    } else {
        assert_eq!(again.status(), 200);
        assert_ne!(again.headers()["etag"].to_str().unwrap(), etag);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let moved = client.get(server.url("/poll?seconds=0.1")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(moved.status(), 200, "new events since");

    // The default window (10 s) holds everything published so far.
    let all = json(&get(&server.url("/poll")).await.text().await.unwrap());
    assert_eq!(all[0]["n"], 1);

    for query in ["seconds=0", "seconds=abc", "seconds=-3"] {
        let response = get(&server.url(&format!("/poll?{query}"))).await;
        assert_eq!(response.status(), 400, "{query}");
        assert!(response.text().await.unwrap().contains("seconds"), "{query}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn the_websocket_acknowledges_messages_and_closes_when_the_server_stops() {
    let server = demo(2.0).await;
    let mut ws = connect_ws(&server, "/ws").await;
    ws.send(Message::text(r#"{"op":"subscribe"}"#)).await.unwrap();
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    let mut acks = Vec::new();
    while acks.len() < 2 {
        let v = json(&next_text(&mut ws).await);
        if v["type"] == "ack" {
            acks.push(v);
        } else {
            check_event(&v);
        }
    }
    assert_eq!(acks[0]["received"], r#"{"op":"subscribe"}"#);
    assert_eq!(acks[1]["received_bytes"], 3);

    server.shutdown().await;
    // The session outlives the HTTP connection; it says goodbye once the server is gone.
    let close = loop {
        match tokio::time::timeout(HANG_GUARD, ws.next()).await.expect("the close in time") {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    let frame = close.expect("a close frame with a code");
    assert_eq!(u16::from(frame.code), 1001);
    assert!(frame.reason.contains("shutting down"), "{}", frame.reason);
}

#[tokio::test]
async fn a_plain_get_of_the_websocket_path_is_refused_and_the_index_lists_the_live_paths() {
    let server = demo(4.0).await;
    let response = get(&server.url("/ws")).await;
    assert!(response.status().is_client_error(), "{}", response.status());

    let tcp = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
    let url = format!("ws://{}/ws?cursor=x", server.addr);
    match tokio_tungstenite::client_async(url, tcp).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status().as_u16(), 400),
        other => panic!("expected a 400 to the handshake, got {other:?}"),
    }

    let index = get(&server.url("/")).await.text().await.unwrap();
    for path in ["/live", "/ws", "/long-poll", "/poll", "sent_at"] {
        assert!(index.contains(path), "{index}");
    }
    server.shutdown().await;
}
