//! Every transport against real servers on 127.0.0.1 started here: long polling and polling
//! against the scripted HTTP fixture (and an axum server that keeps connections alive), the
//! WebSocket against a tokio-tungstenite server driven message by message. Each maps onto the
//! same records, history, filters and export as Server-Sent Events.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use feedscope_core::raw::Row;
use feedscope_core::{
    Body, Cause, ExportFormat, Exporter, FeedConfig, FeedStats, Header, History, HistoryLimits, Hub, HubError, Mode,
    Query, Record, Timestamp, Transport,
};
use feedscope_testkit::{
    cfg, collect_until, count_kind, events, is_closed, start_feed, Fixture, Reply, Step, HANG_GUARD,
};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderMap;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

fn kinds(rs: &[Record]) -> Vec<&'static str> {
    rs.iter().map(|r| r.body.kind().as_str()).collect()
}

fn json(body: &str) -> Reply {
    Reply {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        steps: vec![Step::Send(body.as_bytes().to_vec())],
    }
}

fn text(body: &str) -> Reply {
    Reply {
        status: 200,
        headers: vec![("Content-Type".into(), "text/plain".into())],
        steps: vec![Step::Send(body.into())],
    }
}

fn stats(hub: &Hub) -> FeedStats {
    hub.stats("f").expect("feed f")
}

/// Collects more records into `all` until `done` holds for all of them.
async fn more(sub: &feedscope_core::Subscription, all: &mut Vec<Record>, mut done: impl FnMut(&[Record]) -> bool) {
    let before = all.len();
    if done(all) {
        return;
    }
    let prefix = all.clone();
    let got = collect_until(sub, |rs| {
        let mut seen = prefix.clone();
        seen.extend_from_slice(rs);
        done(&seen)
    })
    .await;
    all.extend(got);
    assert!(all.len() > before);
}

fn reason_and_cause(r: &Record) -> (String, Cause) {
    match &r.body {
        Body::Disconnected { reason, cause, .. } | Body::Closed { reason, cause, .. } => (reason.clone(), *cause),
        other => panic!("not an ending: {other:?}"),
    }
}

// ---------------------------------------------------------------- long polling

#[tokio::test]
async fn long_polling_splits_arrays_follows_the_cursor_and_takes_empty_answers_as_nothing() {
    let fx = Fixture::start(|n, _| match n {
        0 => json(r#"[{"type":"trade","seq":1}, {"type":"quote","seq":2}]"#),
        // A server whose wait ran out: 204, or an empty 200.
        1 => Reply::status(204),
        2 => json(""),
        3 => json(r#"{"type":"batch","seq":7}"#),
        4 => Reply::status(503),
        5 => json(r#"[{"type":"trade","seq":9}]"#),
        _ => Reply::no_response(),
    })
    .await;
    let config = FeedConfig {
        transport: Transport::LongPoll,
        split_array: true,
        type_path: "type".into(),
        cursor_from: "seq".into(),
        cursor_param: "since".into(),
        ..cfg(fx.url("/lp?topic=a"), Mode::Persistent)
    };
    let (hub, sub) = start_feed(config);
    let rs = collect_until(&sub, |rs| count_kind(rs, "event") == 4).await;
    hub.stop_all();
    assert_eq!(
        kinds(&rs),
        ["connecting", "open", "event", "event", "event", "disconnected", "connecting", "open", "event"],
        "one connecting and open for the first request and after the failure, not for every request"
    );
    assert_eq!(
        events(&rs),
        [
            ("trade".into(), "".into(), r#"{"type":"trade","seq":1}"#.into()),
            ("quote".into(), "".into(), r#"{"type":"quote","seq":2}"#.into()),
            ("batch".into(), "".into(), r#"{"type":"batch","seq":7}"#.into()),
            ("trade".into(), "".into(), r#"{"type":"trade","seq":9}"#.into()),
        ],
        "each element of an array as the server wrote it; no event for the 204 and the empty body"
    );
    let paths: Vec<String> = fx.requests().iter().take(6).map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/lp?topic=a",
            // The array has no `seq`: its last element's.
            "/lp?topic=a&since=2",
            // Nothing came: the cursor stays.
            "/lp?topic=a&since=2",
            "/lp?topic=a&since=2",
            "/lp?topic=a&since=7",
            "/lp?topic=a&since=7",
        ]
    );
    let (reason, cause) = reason_and_cause(&rs[5]);
    assert_eq!((reason.as_str(), cause), ("HTTP 503 Service Unavailable", Cause::HttpStatus));
    assert!(matches!(rs[5].body, Body::Disconnected { reconnect_in_ms: 20, .. }), "{:?}", rs[5]);
    assert!(matches!(&rs[6].body, Body::Connecting { attempt: 2, url, .. } if url.ends_with("since=7")), "{:?}", rs[6]);
    let s = stats(&hub);
    assert_eq!((s.events, s.counts.requests), (4, 6), "every request is counted, answered or not");
    assert_eq!(s.counts.connections, 6, "the fixture closes each connection after its answer");
    assert!(s.counts.wire_bytes > s.bytes && s.bytes > 0, "{s:?}");
    assert_eq!((s.types.get("trade"), s.types.get("quote")), (Some(&2), Some(&1)));
}

#[tokio::test]
async fn a_long_poll_cursor_may_go_in_a_header_and_be_a_number() {
    let fx = Fixture::start(|n, _| match n {
        0 => json(r#"{"next":"abc","items":[1]}"#),
        1 => json(r#"{"next":42}"#),
        _ => Reply::no_response(),
    })
    .await;
    let config = FeedConfig {
        transport: Transport::LongPoll,
        cursor_from: "next".into(),
        cursor_header: "X-Cursor".into(),
        ..cfg(fx.url("/lp"), Mode::Persistent)
    };
    let (hub, sub) = start_feed(config);
    let rs = collect_until(&sub, |rs| count_kind(rs, "event") == 2).await;
    // The third request carries the second answer's cursor.
    tokio::time::timeout(HANG_GUARD, async {
        while fx.requests().len() < 3 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("a third request");
    hub.stop_all();
    let sent: Vec<Option<String>> =
        fx.requests().iter().take(3).map(|r| r.header("x-cursor").map(str::to_owned)).collect();
    assert_eq!(sent, [None, Some("abc".into()), Some("42".into())]);
    assert_eq!(fx.requests()[1].path, "/lp", "no query parameter without cursor_param");
    assert_eq!(
        events(&rs),
        [
            ("message".into(), "".into(), r#"{"next":"abc","items":[1]}"#.into()),
            ("message".into(), "".into(), r#"{"next":42}"#.into())
        ],
        "without type_path every event is a message"
    );
}

#[tokio::test]
async fn a_long_poll_that_waits_past_the_read_timeout_is_asked_again_without_a_failure() {
    let fx = Fixture::start(|n, _| match n {
        0 => Reply::no_response(),
        1 => json(r#"{"x":1}"#),
        _ => Reply::no_response(),
    })
    .await;
    let config =
        FeedConfig { transport: Transport::LongPoll, read_timeout_ms: 200, ..cfg(fx.url("/lp"), Mode::Persistent) };
    let (hub, sub) = start_feed(config);
    let rs = collect_until(&sub, |rs| count_kind(rs, "event") == 1).await;
    let s = stats(&hub);
    hub.stop_all();
    assert_eq!(kinds(&rs), ["connecting", "open", "event"], "the wait ran out: no event, no failure");
    assert!(s.counts.requests >= 2, "the request that timed out is counted: {s:?}");
}

// ---------------------------------------------------------------- polling

#[tokio::test]
async fn polling_reports_changed_bodies_and_counts_unchanged_ones() {
    let fx = Fixture::start(|n, req| match n {
        0 | 1 => text("A"),
        2 => text("B").header("ETag", "\"v2\""),
        // A browser's cache revalidates with the ETag it got.
        3 if req.header("if-none-match") == Some("\"v2\"") => Reply { status: 304, headers: vec![], steps: vec![] },
        3 => text("not revalidated"),
        4 => json(r#"{"type":"price","p":3}"#),
        _ => Reply::status(404),
    })
    .await;
    let config = FeedConfig {
        transport: Transport::Poll,
        poll_interval_ms: 20,
        type_path: "type".into(),
        ..cfg(fx.url("/state"), Mode::Persistent)
    };
    let (hub, sub) = start_feed(config);
    hub.set_raw_cap("f", 1).unwrap();
    let rs = collect_until(&sub, is_closed).await;
    assert_eq!(kinds(&rs), ["connecting", "open", "event", "event", "event", "closed"]);
    // The raw view has each request and its answer.
    let raw = hub.raw_page("f", Some(0), 10_000).unwrap();
    assert!(raw.rows.iter().any(|r| matches!(r, Row::Status { status: 304, .. })), "{:?}", raw.rows);
    assert!(raw
        .rows
        .iter()
        .any(|r| matches!(r, Row::Request { method, url, .. } if method == "GET" && url.ends_with("/state"))));
    assert_eq!(
        events(&rs),
        [
            ("message".into(), "".into(), "A".into()),
            ("message".into(), "".into(), "B".into()),
            ("price".into(), "".into(), r#"{"type":"price","p":3}"#.into()),
        ]
    );
    let (reason, cause) = reason_and_cause(rs.last().unwrap());
    assert_eq!((reason.as_str(), cause), ("HTTP 404 Not Found: nope", Cause::HttpStatus));
    let s = stats(&hub);
    assert_eq!((s.counts.unchanged, s.counts.requests, s.events), (2, 6, 3), "the same A again, and the 304");
    assert!(fx.requests().iter().all(|r| r.method == "GET"));
    assert_eq!(fx.requests()[4].header("if-none-match"), Some("\"v2\""));
}

#[tokio::test]
async fn a_polling_client_keeps_its_connection_alive() {
    // axum keeps connections alive (the scripted fixture closes each).
    let app = axum::Router::new().route("/n", axum::routing::get(|| async { "same" }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let config = FeedConfig {
        transport: Transport::Poll,
        poll_interval_ms: 10,
        ..cfg(format!("http://{addr}/n"), Mode::Persistent)
    };
    let (hub, sub) = start_feed(config);
    collect_until(&sub, |rs| count_kind(rs, "event") == 1).await;
    tokio::time::timeout(HANG_GUARD, async {
        while stats(&hub).counts.unchanged < 4 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("four more polls");
    let s = stats(&hub);
    hub.stop_all();
    assert_eq!(s.events, 1, "one body, never changed");
    assert!(s.counts.requests >= 5, "{s:?}");
    assert_eq!(s.counts.connections, 1, "every request went over the first connection: {s:?}");
    // Each request line and headers, each response head and its 4-byte body.
    assert!(s.counts.wire_bytes > s.counts.requests * 60, "{s:?}");
}

// ---------------------------------------------------------------- WebSocket

/// A WebSocket server on 127.0.0.1 whose connections the test drives one by one.
struct WsServer {
    addr: SocketAddr,
    peers: mpsc::UnboundedReceiver<Peer>,
}

/// One client connection to [`WsServer`], with the handshake request it sent.
struct Peer {
    ws: WebSocketStream<TcpStream>,
    path: String,
    headers: HeaderMap,
}

impl WsServer {
    async fn start() -> WsServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, peers) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let seen = Arc::new(Mutex::new(None));
                    let record = seen.clone();
                    // The signature is tungstenite's (its error is an HTTP response).
                    #[allow(clippy::result_large_err)]
                    let callback = move |req: &Request, resp: Response| {
                        *record.lock().unwrap() = Some((req.uri().to_string(), req.headers().clone()));
                        Ok(resp)
                    };
                    if let Ok(ws) = tokio_tungstenite::accept_hdr_async(sock, callback).await {
                        let (path, headers) = seen.lock().unwrap().take().expect("the handshake was seen");
                        let _ = tx.send(Peer { ws, path, headers });
                    }
                });
            }
        });
        WsServer { addr, peers }
    }

    fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://{}{path}", self.addr)
    }

    async fn next(&mut self) -> Peer {
        tokio::time::timeout(HANG_GUARD, self.peers.recv()).await.expect("a client connected").expect("serving")
    }

    /// Fails if a client connects within `quiet`.
    async fn assert_no_connection(&mut self, quiet: Duration) {
        if let Ok(Some(peer)) = tokio::time::timeout(quiet, self.peers.recv()).await {
            panic!("unexpected connection to {}", peer.path);
        }
    }
}

impl Peer {
    async fn recv(&mut self) -> Message {
        tokio::time::timeout(HANG_GUARD, self.ws.next())
            .await
            .expect("a message from the client")
            .expect("the connection is open")
            .expect("a valid message")
    }

    async fn recv_text(&mut self) -> String {
        match self.recv().await {
            Message::Text(t) => t.to_string(),
            other => panic!("expected a text message, got {other:?}"),
        }
    }

    async fn send(&mut self, m: Message) {
        self.ws.send(m).await.expect("sent to the client");
    }

    /// Closes with `code` and `reason`, and waits for the client's reply.
    async fn close(mut self, code: u16, reason: &str) {
        let frame = CloseFrame { code: CloseCode::from(code), reason: reason.into() };
        self.ws.close(Some(frame)).await.expect("close frame sent");
        let _ = tokio::time::timeout(HANG_GUARD, async { while self.ws.next().await.is_some() {} }).await;
    }
}

use feedscope_testkit::{ws_cfg as ws_config, WS_SUBSCRIBE as SUBSCRIBE};

#[tokio::test]
async fn a_websocket_gives_events_binary_sent_records_and_resubscribes_after_each_reconnection() {
    let mut server = WsServer::start().await;
    let config = FeedConfig {
        headers: vec![Header { name: "Authorization".into(), value: "Bearer t0k3n".into() }],
        ..ws_config(server.url("ws", "/feed?x=1"), Mode::Persistent)
    };
    let (hub, sub) = start_feed(config);
    let mut p1 = server.next().await;
    assert_eq!(p1.path, "/feed?x=1");
    assert_eq!(p1.headers.get("authorization").and_then(|v| v.to_str().ok()), Some("Bearer t0k3n"));
    assert!(p1.headers.get("user-agent").and_then(|v| v.to_str().ok()).is_some_and(|ua| ua.starts_with("feedscope/")));
    assert_eq!(p1.recv_text().await, SUBSCRIBE, "the subscription goes out after the open");
    p1.send(Message::text(r#"{"type":"trade","p":1}"#)).await;
    p1.send(Message::text("plain text")).await;
    p1.send(Message::Ping("p".into())).await;
    p1.send(Message::Pong("unsolicited".into())).await;
    p1.send(Message::binary(vec![0u8, 1, 2, 255])).await;
    let mut all = Vec::new();
    more(&sub, &mut all, |rs| count_kind(rs, "binary") == 1).await;

    // The user sends on the open WebSocket; the ping was answered before.
    hub.send("f", "hello".into()).expect("the WebSocket is open");
    assert_eq!(p1.recv().await, Message::Pong("p".into()), "a ping is answered with its payload");
    assert_eq!(p1.recv_text().await, "hello");
    more(&sub, &mut all, |rs| count_kind(rs, "sent") == 2).await;
    p1.close(1001, "maintenance").await;

    // persistent: reconnect with the SSE policy, and subscribe again.
    let mut p2 = server.next().await;
    assert_eq!(p2.recv_text().await, SUBSCRIBE, "the subscription is sent again after a reconnection");
    p2.send(Message::text(r#"{"type":"trade","p":2}"#)).await;
    more(&sub, &mut all, |rs| count_kind(rs, "event") == 3).await;
    // Gone without a close frame.
    drop(p2);
    let mut p3 = server.next().await;
    assert_eq!(p3.recv_text().await, SUBSCRIBE);
    more(&sub, &mut all, |rs| count_kind(rs, "sent") == 4).await;
    let s = stats(&hub);
    hub.stop("f").unwrap();
    match p3.recv().await {
        Message::Close(Some(frame)) => {
            assert_eq!(frame.code, CloseCode::Normal, "a stop closes as a browser's close() does")
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    more(&sub, &mut all, is_closed).await;

    assert_eq!(
        kinds(&all),
        [
            "connecting",
            "open",
            "sent",
            "event",
            "event",
            "binary",
            "sent",
            "disconnected",
            "connecting",
            "open",
            "sent",
            "event",
            "disconnected",
            "connecting",
            "open",
            "sent",
            "closed"
        ]
    );
    assert!(
        matches!(&all[1].body, Body::Open { status: 101, headers, .. } if headers.get("upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"))),
        "{:?}",
        all[1]
    );
    assert!(matches!(&all[0].body, Body::Connecting { attempt: 1, url, .. } if url == &server.url("ws", "/feed?x=1")));
    assert_eq!(
        events(&all),
        [
            ("trade".into(), "".into(), r#"{"type":"trade","p":1}"#.into()),
            ("message".into(), "".into(), "plain text".into()),
            ("trade".into(), "".into(), r#"{"type":"trade","p":2}"#.into()),
        ]
    );
    let Body::Binary { seq, size, base64 } = &all[5].body else { panic!("{:?}", all[5]) };
    assert_eq!((*seq, *size, base64.as_str()), (3, 4, "AAEC/w=="), "seq from the events' counter");
    assert_eq!(all[5].body.binary_bytes(), Some(vec![0, 1, 2, 255]));
    let sent: Vec<&str> =
        all.iter().filter_map(|r| if let Body::Sent { text } = &r.body { Some(text.as_str()) } else { None }).collect();
    assert_eq!(sent, [SUBSCRIBE, "hello", SUBSCRIBE, SUBSCRIBE]);
    assert_eq!(
        reason_and_cause(&all[7]),
        ("the server closed the WebSocket: 1001 going away: maintenance".into(), Cause::WsClose)
    );
    assert!(matches!(all[7].body, Body::Disconnected { reconnect_in_ms: 20, .. }));
    assert_eq!(
        reason_and_cause(&all[12]),
        ("connection lost: the WebSocket ended without a close frame (1006)".into(), Cause::Network)
    );
    assert_eq!(reason_and_cause(all.last().unwrap()), ("stopped by the user".into(), Cause::UserStop));
    assert_eq!((s.counts.pings, s.counts.pongs), (1, 1));
    assert_eq!((s.counts.requests, s.counts.connections, s.sent), (3, 3, 4));
    assert_eq!((s.events, s.types.get("binary"), s.types.get("trade")), (4, Some(&1), Some(&2)));
    assert!(s.counts.wire_bytes > s.bytes && s.bytes > 0, "{s:?}");
    assert!(!hub.is_running("f"));
    match hub.send("f", "late".into()) {
        Err(HubError::NotOpen(id)) => assert_eq!(id, "f"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_browser_mode_websocket_closes_on_the_first_close_and_never_reconnects() {
    let mut server = WsServer::start().await;
    // An http URL is taken as ws.
    let (hub, sub) = start_feed(ws_config(server.url("http", "/bye"), Mode::Browser));
    let mut p = server.next().await;
    assert_eq!(p.recv_text().await, SUBSCRIBE);
    p.send(Message::text(r#"{"type":"hi"}"#)).await;
    p.close(4000, "bye").await;
    let rs = collect_until(&sub, is_closed).await;
    assert_eq!(kinds(&rs), ["connecting", "open", "sent", "event", "closed"]);
    assert!(matches!(&rs[0].body, Body::Connecting { url, .. } if url == &server.url("ws", "/bye")));
    assert_eq!(
        reason_and_cause(&rs[4]),
        (
            "the server closed the WebSocket: 4000: bye; a browser's WebSocket does not reconnect by itself".into(),
            Cause::WsClose
        )
    );
    assert!(matches!(rs[4].body, Body::Closed { fatal: true, .. }));
    server.assert_no_connection(Duration::from_millis(300)).await;
    drop(hub);

    // A normal closure ends it too, and is no failure.
    let (_hub, sub) = start_feed(ws_config(server.url("ws", "/done"), Mode::Browser));
    let mut p = server.next().await;
    assert_eq!(p.recv_text().await, SUBSCRIBE);
    p.close(1000, "").await;
    let rs = collect_until(&sub, is_closed).await;
    let last = rs.last().unwrap();
    assert!(matches!(last.body, Body::Closed { fatal: false, cause: Cause::WsClose, .. }), "{last:?}");
    server.assert_no_connection(Duration::from_millis(300)).await;
}

/// A server that answers each handshake with the next of `answers`, as raw HTTP.
async fn refusing_server(answers: Vec<&'static str>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        for answer in answers {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let _ = sock.write_all(answer.as_bytes()).await;
            let _ = sock.shutdown().await;
        }
    });
    addr
}

#[tokio::test]
async fn a_refused_handshake_is_retried_or_closes_by_its_status() {
    let addr = refusing_server(vec![
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0\r\nContent-Length: 4\r\n\r\nbusy",
        "HTTP/1.1 403 Forbidden\r\nContent-Length: 8\r\n\r\nno token",
    ])
    .await;
    let (_hub, sub) = start_feed(ws_config(format!("ws://{addr}/feed"), Mode::Persistent));
    let rs = collect_until(&sub, is_closed).await;
    assert_eq!(kinds(&rs), ["connecting", "disconnected", "connecting", "closed"]);
    assert_eq!(
        reason_and_cause(&rs[1]),
        ("the WebSocket handshake was refused: HTTP 503 Service Unavailable: busy".into(), Cause::HttpStatus)
    );
    assert!(matches!(rs[1].body, Body::Disconnected { reconnect_in_ms: 0, .. }), "Retry-After: {:?}", rs[1]);
    assert_eq!(
        reason_and_cause(&rs[3]),
        ("the WebSocket handshake was refused: HTTP 403 Forbidden: no token".into(), Cause::HttpStatus)
    );
    assert!(matches!(rs[3].body, Body::Closed { fatal: true, .. }));
}

#[tokio::test]
async fn a_message_over_the_event_limit_is_an_error_and_the_websocket_goes_on() {
    let mut server = WsServer::start().await;
    let config = FeedConfig {
        max_event_bytes: 1024,
        send_on_open: Vec::new(),
        ..ws_config(server.url("ws", "/"), Mode::Persistent)
    };
    let (hub, sub) = start_feed(config);
    let mut p = server.next().await;
    p.send(Message::text("x".repeat(2000))).await;
    p.send(Message::binary(vec![7u8; 1500])).await;
    p.send(Message::text("ok")).await;
    let rs = collect_until(&sub, |rs| count_kind(rs, "event") == 1).await;
    hub.stop_all();
    assert_eq!(kinds(&rs), ["connecting", "open", "error", "error", "event"]);
    let reasons: Vec<String> = rs
        .iter()
        .filter_map(|r| if let Body::Error { reason } = &r.body { Some(reason.clone()) } else { None })
        .collect();
    assert_eq!(
        reasons,
        [
            "discarded a text message of 2000 bytes: larger than the 1024-byte event limit; the WebSocket goes on",
            "discarded a binary message of 1500 bytes: larger than the 1024-byte event limit; the WebSocket goes on",
        ]
    );
}

#[tokio::test]
async fn hub_send_says_why_a_message_cannot_go_out() {
    let hub = Hub::new();
    hub.add("sse", FeedConfig::new("http://127.0.0.1:9/s"), HistoryLimits::default()).unwrap();
    let ws = FeedConfig { transport: Transport::WebSocket, ..FeedConfig::new("ws://127.0.0.1:9/ws") };
    hub.add("ws", ws, HistoryLimits::default()).unwrap();
    let e = hub.send("sse", "x".into()).unwrap_err();
    assert!(matches!(e, HubError::NotWebSocket { transport: "sse", .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "feed \"sse\" is not a WebSocket (its transport is sse): only a WebSocket can send messages"
    );
    let e = hub.send("ws", "x".into()).unwrap_err();
    assert_eq!(e.to_string(), "the WebSocket of feed \"ws\" is not open: the message was not sent");
    assert!(matches!(hub.send("nope", "x".into()), Err(HubError::NoSuchFeed(_))));
}

#[tokio::test]
async fn a_websocket_that_cannot_connect_reconnects_in_persistent_mode() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (hub, sub) = start_feed(ws_config(format!("ws://127.0.0.1:{port}/"), Mode::Persistent));
    let rs = collect_until(&sub, |rs| count_kind(rs, "disconnected") == 2).await;
    let s = stats(&hub);
    hub.stop_all();
    assert_eq!(kinds(&rs), ["connecting", "disconnected", "connecting", "disconnected"]);
    assert_eq!(reason_and_cause(&rs[1]), (format!("connection refused by 127.0.0.1:{port}"), Cause::Network));
    assert_eq!((s.counts.requests, s.counts.connections), (0, 0), "nothing reached a server");
}

// ---------------------------------------------------------------- records

#[test]
fn binary_and_sent_records_filter_count_and_export_like_the_others() {
    let mut h = History::new(HistoryLimits::default());
    let rec = |b: Body| Arc::new(Record::new(Arc::from("ws"), Timestamp(1_000), b));
    let headers = [("upgrade".to_string(), "websocket".to_string())].into();
    h.push(rec(Body::Open { status: 101, version: "HTTP/1.1".into(), headers }));
    h.push(rec(Body::Sent { text: SUBSCRIBE.into() }));
    h.push(rec(Body::Event { seq: 1, event_type: Arc::from("trade"), id: Arc::from(""), data: "{}".into() }));
    h.push(rec(Body::binary(2, &[0, 1, 2, 255])));
    let total = |q: Query| h.query(Some(&q.compile().unwrap()), 0, 10).total;
    assert_eq!(total(Query { types: vec!["binary".into()], ..Query::default() }), 1);
    assert_eq!(total(Query { events_only: true, ..Query::default() }), 2, "a binary message is a message");
    assert_eq!(total(Query { text: "AAEC".into(), ..Query::default() }), 1, "its base64 is searched");
    assert_eq!(total(Query { text: "subscribe".into(), ..Query::default() }), 1, "a sent text is searched");
    assert_eq!(total(Query { text: "kind == \"binary\"".into(), query: true, ..Query::default() }), 1);
    let s = h.stats(Timestamp(1_000));
    assert_eq!((s.events, s.sent, s.types.get("binary"), s.status), (2, 1, Some(&1), Some(101)));

    let export = |format| {
        let mut out = Vec::new();
        let mut x = Exporter::new(format, &mut out).unwrap();
        for r in h.iter() {
            x.write(r).unwrap();
        }
        x.finish().unwrap();
        String::from_utf8(out).unwrap()
    };
    let ndjson = export(ExportFormat::Ndjson);
    assert!(
        ndjson.contains(
            r#""kind":"binary","feed":"ws","ts":"1970-01-01T00:00:01.000Z","seq":2,"size":4,"base64":"AAEC/w==""#
        ),
        "{ndjson}"
    );
    for line in ndjson.lines() {
        let back = Record::from_json(line).unwrap();
        assert_eq!(back.to_json(), line, "NDJSON round-trips");
    }
    let csv = export(ExportFormat::Csv);
    // The base64 is the data column; the detail column stays empty.
    assert!(csv.lines().any(|l| l.starts_with("binary,ws,") && l.ends_with(",AAEC/w==,")), "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("sent,ws,") && l.contains("subscribe")), "{csv}");
    assert_eq!(export(ExportFormat::Sse), "event: trade\nid: \ndata: {}\n\n", "an event stream holds the events only");
}
