//! The engine's WebSocket transport against a real server from PyPI: the `websockets` package
//! (tests/interop/ws_server.py), started here on 127.0.0.1 from the venv that
//! scripts/setup-python.sh makes (scripts/test-rust.sh runs it first). Subscriptions sent again
//! after a reconnection, close codes and reasons, binary messages, pings and pongs, the type path,
//! a refused handshake.

use feedscope_core::{Body, Cause, FeedConfig, Mode, Record, Transport};
use feedscope_testkit::python::PyServer;
use feedscope_testkit::{cfg, collect_until, is_closed, start_feed};
use serde_json::Value;

use feedscope_testkit::{ws_cfg as ws, WS_SUBSCRIBE as SUBSCRIBE};

/// (type, data as JSON) of each event; `Value::Null` for data that is not JSON.
fn typed(rs: &[Record]) -> Vec<(String, Value)> {
    rs.iter()
        .filter_map(|r| match &r.body {
            Body::Event { event_type, data, .. } => {
                Some((event_type.to_string(), serde_json::from_str(data).unwrap_or(Value::Null)))
            }
            _ => None,
        })
        .collect()
}

fn ending(r: &Record) -> (String, Cause) {
    match &r.body {
        Body::Disconnected { reason, cause, .. } | Body::Closed { reason, cause, .. } => (reason.clone(), *cause),
        other => panic!("not an ending: {other:?}"),
    }
}

fn echoed(rs: &[Record], text: &str) -> bool {
    typed(rs).iter().any(|(t, v)| t == "echo" && v["text"] == text)
}

#[tokio::test]
async fn subscriptions_go_out_again_after_the_server_closes_and_messages_keep_their_types() {
    let mut server = PyServer::start("ws_server.py", &[]);
    let (hub, sub) = start_feed(ws(server.url("/feed"), Mode::Persistent));
    // Connection 2 answered its subscription and sent the rest; then the user sends.
    let mut rs = collect_until(&sub, |rs| typed(rs).iter().filter(|(t, _)| t == "message").count() == 2).await;
    hub.send("f", "ping me".into()).expect("the WebSocket is open");
    rs.extend(collect_until(&sub, |rs| echoed(rs, "ping me")).await);
    let s = hub.stats("f").unwrap();
    hub.stop_all();
    server.assert_healthy();

    let subscribed: Vec<(u64, String)> = typed(&rs)
        .into_iter()
        .filter(|(t, _)| t == "subscribed")
        .map(|(_, v)| (v["conn"].as_u64().unwrap(), v["request"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        subscribed,
        [(1, SUBSCRIBE.to_owned()), (2, SUBSCRIBE.to_owned())],
        "each connection got the subscription, exactly as configured"
    );
    let types: Vec<String> = typed(&rs).into_iter().map(|(t, _)| t).collect();
    assert_eq!(types, ["subscribed", "trade", "message", "subscribed", "trade", "message", "echo"]);
    let trades: Vec<Value> =
        typed(&rs).into_iter().filter(|(t, _)| t == "trade").map(|(_, v)| v["price"].clone()).collect();
    assert_eq!(trades, [101, 102]);

    let binary: Vec<Vec<u8>> = rs.iter().filter_map(|r| r.body.binary_bytes()).collect();
    assert_eq!(binary, [vec![0, 1, 2, 3, 0xfe, 0xff], vec![0, 1, 2, 3, 0xfe, 0xff]]);
    let sent: Vec<&str> =
        rs.iter().filter_map(|r| if let Body::Sent { text } = &r.body { Some(text.as_str()) } else { None }).collect();
    assert_eq!(sent, [SUBSCRIBE, SUBSCRIBE, "ping me"]);

    let disconnected: Vec<(String, Cause)> =
        rs.iter().filter(|r| matches!(r.body, Body::Disconnected { .. })).map(ending).collect();
    assert_eq!(
        disconnected,
        [("the server closed the WebSocket: 1001 going away: maintenance".into(), Cause::WsClose)]
    );
    let opens = rs.iter().filter(|r| matches!(r.body, Body::Open { status: 101, .. })).count();
    assert_eq!(opens, 2);
    assert_eq!((s.counts.pings, s.counts.pongs), (2, 2), "one ping (answered) and one unsolicited pong per connection");
    assert_eq!((s.counts.requests, s.counts.connections, s.sent), (2, 2, 3));
}

#[tokio::test]
async fn the_servers_close_code_and_reason_end_the_feed_or_the_connection() {
    let mut server = PyServer::start("ws_server.py", &[]);
    // browser: the first close ends the feed.
    let (_hub, sub) = start_feed(ws(server.url("/close?code=4000&reason=bye"), Mode::Browser));
    let rs = collect_until(&sub, is_closed).await;
    let closed = rs.last().unwrap();
    assert_eq!(
        ending(closed),
        (
            "the server closed the WebSocket: 4000: bye; a browser's WebSocket does not reconnect by itself".into(),
            Cause::WsClose
        )
    );
    assert!(matches!(closed.body, Body::Closed { fatal: true, .. }));
    assert_eq!(rs.iter().filter(|r| matches!(r.body, Body::Connecting { .. })).count(), 1);

    // persistent: each close is a reconnection.
    let (hub, sub) = start_feed(ws(server.url("/close?code=1011&reason=oops"), Mode::Persistent));
    let rs =
        collect_until(&sub, |rs| rs.iter().filter(|r| matches!(r.body, Body::Disconnected { .. })).count() == 2).await;
    hub.stop_all();
    for r in rs.iter().filter(|r| matches!(r.body, Body::Disconnected { .. })) {
        assert_eq!(ending(r), ("the server closed the WebSocket: 1011 internal error: oops".into(), Cause::WsClose));
    }
    server.assert_healthy();
}

#[tokio::test]
async fn a_handshake_the_server_refuses_closes_the_feed_with_its_status_and_body() {
    let mut server = PyServer::start("ws_server.py", &[]);
    let (_hub, sub) = start_feed(ws(server.url("/reject"), Mode::Persistent));
    let rs = collect_until(&sub, is_closed).await;
    let closed = rs.last().unwrap();
    assert_eq!(
        ending(closed),
        ("the WebSocket handshake was refused: HTTP 403 Forbidden: no token".into(), Cause::HttpStatus)
    );
    assert!(matches!(closed.body, Body::Closed { fatal: true, .. }));
    server.assert_healthy();
}

#[tokio::test]
async fn wss_checks_the_certificate_unless_the_feed_is_insecure() {
    let mut server = PyServer::start("ws_server.py", &["--tls"]);
    let url = server.url("/feed");
    assert!(url.starts_with("https://"), "{url}");
    let port = url::Url::parse(&url).unwrap().port().unwrap();

    // No CA signed the server's certificate: the TLS handshake fails, and persistent mode retries.
    let (hub, sub) = start_feed(ws(url.clone(), Mode::Persistent));
    let rs = collect_until(&sub, |rs| rs.iter().any(|r| matches!(r.body, Body::Disconnected { .. }))).await;
    hub.stop_all();
    let (reason, cause) = ending(rs.last().unwrap());
    assert_eq!((reason, cause), (format!("TLS handshake with 127.0.0.1:{port} failed"), Cause::Network));
    assert!(matches!(&rs[0].body, Body::Connecting { url, .. } if url.starts_with("wss://")), "{:?}", rs[0]);

    // insecure takes any certificate, as for an SSE feed.
    let (hub, sub) = start_feed(FeedConfig { insecure: true, ..ws(url, Mode::Persistent) });
    let rs = collect_until(&sub, |rs| typed(rs).iter().any(|(t, _)| t == "trade")).await;
    let s = hub.stats("f").unwrap();
    hub.stop_all();
    let types: Vec<String> = typed(&rs).into_iter().map(|(t, _)| t).collect();
    assert_eq!(types, ["subscribed", "trade"]);
    assert!(s.counts.wire_bytes > 0, "the handshake and frames, above TLS: {s:?}");

    // A polling feed's keep-alive client has the same TLS settings: through TLS, the WebSocket
    // server refuses a plain GET with a status, which closes the feed.
    let poll =
        |insecure| FeedConfig { transport: Transport::Poll, insecure, ..cfg(server.url("/feed"), Mode::Persistent) };
    let (hub, sub) = start_feed(poll(true));
    let rs = collect_until(&sub, is_closed).await;
    drop(hub);
    let (reason, cause) = ending(rs.last().unwrap());
    assert!(reason.starts_with("HTTP 426 Upgrade Required"), "{reason}");
    assert_eq!(cause, Cause::HttpStatus);
    let (hub, sub) = start_feed(poll(false));
    let rs = collect_until(&sub, |rs| rs.iter().any(|r| matches!(r.body, Body::Disconnected { .. }))).await;
    drop(hub);
    assert_eq!(ending(rs.last().unwrap()), (format!("TLS handshake with 127.0.0.1:{port} failed"), Cause::Network));
    server.assert_healthy();
}
