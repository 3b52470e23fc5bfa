//! An `mcp` feed against scripted MCP servers on 127.0.0.1 (Streamable HTTP, docs/mcp.md): the
//! handshake's order and headers, the session kept across reconnections and initialized again
//! after a 404, JSON responses, the GET stream, and each failure's typed ending.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use feedscope_core::jsonrpc::{self, RpcKind};
use feedscope_core::raw::Row;
use feedscope_core::{Body, Cause, FeedConfig, Header, Hub, Mode, Record, Subscription};
use feedscope_testkit::{cfg, collect_until, count_kind, events, is_closed, start_feed, Fixture, Reply, Req, Step};
use serde_json::{json, Value};

const ACCEPT_BOTH: &str = "application/json, text/event-stream";
const INIT_ID: &str = "feedscope-initialize";

/// The request's JSON-RPC method, or its HTTP method when it is not a POST.
fn rpc_method(req: &Req) -> String {
    if req.method != "POST" {
        return req.method.clone();
    }
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    body["method"].as_str().unwrap_or("?").to_owned()
}

fn methods(fx: &Fixture) -> Vec<String> {
    fx.requests().iter().map(rpc_method).collect()
}

/// Each request's (JSON-RPC method, Mcp-Session-Id, MCP-Protocol-Version).
fn sessions(fx: &Fixture) -> Vec<(String, Option<String>, Option<String>)> {
    fx.requests()
        .iter()
        .map(|r| {
            let h = |n: &str| r.header(n).map(str::to_owned);
            (rpc_method(r), h("mcp-session-id"), h("mcp-protocol-version"))
        })
        .collect()
}

fn id_of(req: &Req) -> Value {
    serde_json::from_slice::<Value>(&req.body).map(|b| b["id"].clone()).unwrap_or(Value::Null)
}

fn init_result(version: &str) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": INIT_ID,
        "result": {
            "protocolVersion": version,
            "capabilities": { "tools": { "listChanged": false } },
            "serverInfo": { "name": "scripted", "version": "1.0" }
        }
    })
}

/// Messages as an SSE body, each one `message` event.
fn sse(messages: &[Value]) -> String {
    messages.iter().map(|m| format!("event: message\ndata: {m}\n\n")).collect()
}

/// The answer to `initialize`: an SSE stream with the result, and the session id if any.
fn init_reply(session: Option<&str>, version: &str) -> Reply {
    let reply = Reply::sse(&sse(&[init_result(version)]));
    match session {
        Some(id) => reply.header("Mcp-Session-Id", id),
        None => reply,
    }
}

fn accepted() -> Reply {
    Reply { status: 202, headers: Vec::new(), steps: Vec::new() }
}

fn json_reply(status: u16, body: &str) -> Reply {
    Reply {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        steps: vec![Step::Send(body.as_bytes().to_vec())],
    }
}

fn progress(k: u64) -> Value {
    json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": "t", "progress": k}})
}

fn call_result(id: &Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": {"content": [{"type": "text", "text": "42"}], "isError": false}})
}

/// A `tools/call` answered as a stream: one progress notification, then the result; the stream
/// then ends, as a Streamable HTTP server ends it.
fn call_reply(req: &Req) -> Reply {
    Reply::sse(&sse(&[progress(1), call_result(&id_of(req))])).header("X-Answer", "tools/call")
}

fn tools_call() -> String {
    json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 2, "b": 40}}})
        .to_string()
}

/// An `mcp` feed: POST with `body`, or GET without one; quick, deterministic reconnections.
fn mcp_feed(url: String, body: Option<String>) -> FeedConfig {
    let method = if body.is_some() { "POST" } else { "GET" };
    FeedConfig { mcp: true, method: method.into(), body, ..cfg(url, Mode::Persistent) }
}

fn kinds(rs: &[Record]) -> Vec<&'static str> {
    rs.iter().map(|r| r.body.kind().as_str()).collect()
}

fn closed(rs: &[Record]) -> (String, Cause, bool) {
    rs.iter()
        .find_map(|r| match &r.body {
            Body::Closed { reason, cause, fatal, .. } => Some((reason.clone(), *cause, *fatal)),
            _ => None,
        })
        .expect("a closed record")
}

fn open_headers(rs: &[Record]) -> Vec<std::collections::BTreeMap<String, String>> {
    rs.iter()
        .filter_map(|r| if let Body::Open { headers, .. } = &r.body { Some(headers.clone()) } else { None })
        .collect()
}

/// [`start_feed`] with the raw view's log on.
fn start_with_raw(config: FeedConfig) -> (Arc<Hub>, Subscription) {
    let hub = Hub::new();
    hub.add("f", config, Default::default()).expect("valid config");
    hub.set_raw_cap("f", 8).expect("a valid cap");
    let sub = hub.subscribe(Some("f"), 1 << 20);
    hub.start("f").expect("feed exists");
    (hub, sub)
}

/// Waits until the fixture has seen a request with this HTTP method.
async fn wait_for_method(fx: &Fixture, method: &str) -> Req {
    let deadline = tokio::time::Instant::now() + feedscope_testkit::HANG_GUARD;
    loop {
        if let Some(r) = fx.requests().into_iter().find(|r| r.method == method) {
            return r;
        }
        assert!(tokio::time::Instant::now() < deadline, "no {method} request: {:?}", methods(fx));
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn the_handshake_goes_first_and_the_request_carries_the_session() {
    let fx = Fixture::start(|_, req| match rpc_method(req).as_str() {
        // The server picks an older version than the one offered: that one is sent afterwards.
        "initialize" => init_reply(Some("sess-1"), "2025-03-26").header("X-Answer", "initialize"),
        "notifications/initialized" => accepted(),
        "tools/call" => call_reply(req).header("Mcp-Session-Id", "sess-1"),
        _ => Reply::status(400),
    })
    .await;
    let config = FeedConfig {
        headers: vec![Header { name: "Authorization".into(), value: "Bearer t".into() }],
        ..mcp_feed(fx.url("/mcp"), Some(tools_call()))
    };
    let sent = config.sent_requests();
    let (hub, sub) = start_feed(config);
    let rs = collect_until(&sub, |rs| count_kind(rs, "event") == 3).await;
    hub.stop_all();

    // What the user sees: the initialize result as an event, then the stream of the request.
    assert_eq!(kinds(&rs), ["connecting", "event", "open", "event", "event"]);
    let evs = events(&rs);
    assert_eq!(evs[0], ("message".into(), "".into(), init_result("2025-03-26").to_string()));
    let cols: Vec<_> = rs.iter().filter_map(|r| jsonrpc::columns(r, &sent)).collect();
    let seen: Vec<(RpcKind, Option<&str>, bool)> =
        cols.iter().map(|c| (c.kind, c.method.as_deref(), c.linked)).collect();
    assert_eq!(
        seen,
        [
            (RpcKind::Response, Some("initialize"), true),
            (RpcKind::Notification, Some("notifications/progress"), false),
            (RpcKind::Response, Some("tools/call"), true),
        ]
    );
    // The `open` record is the feed's own request's response, not the handshake's.
    let open = &open_headers(&rs)[0];
    assert_eq!(open.get("x-answer").map(String::as_str), Some("tools/call"));
    assert_eq!(open.get("mcp-session-id").map(String::as_str), Some("sess-1"));

    // On the wire: initialize, initialized, then the feed's request; each with the user's headers.
    let reqs = fx.requests();
    assert_eq!(methods(&fx), ["initialize", "notifications/initialized", "tools/call"]);
    let init: Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(init["id"], INIT_ID);
    assert_eq!(init["params"]["protocolVersion"], "2025-06-18");
    assert_eq!(init["params"]["capabilities"], json!({}));
    assert_eq!(init["params"]["clientInfo"], json!({"name": "feedscope", "version": env!("CARGO_PKG_VERSION")}));
    assert_eq!(reqs[1].body, br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    assert_eq!(reqs[2].body, tools_call().as_bytes());
    for r in &reqs {
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/mcp"));
        assert_eq!(r.header("accept"), Some(ACCEPT_BOTH), "{}", rpc_method(r));
        assert_eq!(r.header("content-type"), Some("application/json"), "{}", rpc_method(r));
        assert_eq!(r.header("authorization"), Some("Bearer t"), "{}", rpc_method(r));
        assert_eq!(r.header("last-event-id"), None);
    }
    let v = |s: &str| Some(s.to_owned());
    assert_eq!(
        sessions(&fx),
        [
            ("initialize".into(), None, None),
            ("notifications/initialized".into(), v("sess-1"), v("2025-03-26")),
            ("tools/call".into(), v("sess-1"), v("2025-03-26")),
        ]
    );
}

#[tokio::test]
async fn the_raw_view_shows_each_request_of_the_handshake() {
    let fx = Fixture::start(|_, req| match rpc_method(req).as_str() {
        "initialize" => init_reply(Some("raw-1"), "2025-06-18"),
        "notifications/initialized" => accepted(),
        "tools/call" => call_reply(req),
        _ => Reply::status(400),
    })
    .await;
    let (hub, sub) = start_with_raw(mcp_feed(fx.url("/mcp"), Some(tools_call())));
    let rs = collect_until(&sub, |rs| count_kind(rs, "event") == 3).await;
    hub.stop_all();
    let rows = hub.raw_page("f", Some(0), usize::MAX).unwrap().rows;
    // Per connection of the raw view: its request body, the session id it sent, and the one it got.
    let mut conns: Vec<(String, Option<String>, Option<String>)> = Vec::new();
    for row in &rows {
        match row {
            Row::Request { .. } => conns.push((String::new(), None, None)),
            Row::RequestBody { body, .. } => conns.last_mut().unwrap().0 = body.clone(),
            Row::Header { sent, name, value, .. } if name == "mcp-session-id" => {
                let c = conns.last_mut().unwrap();
                *(if *sent { &mut c.1 } else { &mut c.2 }) = Some(value.clone());
            }
            _ => {}
        }
    }
    let v = |s: &str| Some(s.to_owned());
    assert_eq!(conns.len(), 3, "{rows:?}");
    assert!(conns[0].0.contains(r#""method":"initialize""#));
    assert_eq!((&conns[0].1, &conns[0].2), (&None, &v("raw-1")));
    assert_eq!(conns[1], (feedscope_core::feed::mcp::INITIALIZED.to_owned(), v("raw-1"), None));
    assert_eq!(conns[2], (tools_call(), v("raw-1"), None));
    // The initialize result's lines lead to its event, and back.
    let index = hub.with_history("f", |h| h.stats(feedscope_core::Timestamp(0)).first_index).unwrap() + 1;
    assert!(matches!(rs[1].body, Body::Event { .. }));
    let lines = hub.raw_locate("f", index).unwrap().expect("the initialize event's lines");
    let Row::Line(line) = &rows[lines.start] else { panic!("{:?}", rows[lines.start]) };
    assert_eq!(line.bytes, b"event: message");
    assert_eq!(line.record.as_ref().map(|r| r.index), Some(index));
}

#[tokio::test]
async fn the_session_is_kept_across_reconnections() {
    let fx = Fixture::start(|_, req| match rpc_method(req).as_str() {
        "initialize" => init_reply(Some("sess-1"), "2025-06-18"),
        "notifications/initialized" => accepted(),
        "tools/call" => call_reply(req),
        _ => Reply::status(400),
    })
    .await;
    let (hub, sub) = start_feed(mcp_feed(fx.url("/mcp"), Some(tools_call())));
    let rs = collect_until(&sub, |rs| count_kind(rs, "event") == 7).await;
    hub.stop_all();
    // The stream ends after the result; each reconnection sends the request again in the same
    // session, without a new handshake.
    let attempt: Vec<&'static str> = vec!["connecting", "open", "event", "event", "disconnected"];
    let mut want = vec!["connecting", "event", "open", "event", "event", "disconnected"];
    want.extend(attempt.iter().chain(&attempt));
    want.truncate(kinds(&rs).len());
    assert_eq!(kinds(&rs), want);
    let s = sessions(&fx);
    assert_eq!(s.iter().filter(|(m, _, _)| m == "initialize").count(), 1, "{s:?}");
    assert!(s[2..]
        .iter()
        .all(|(m, id, v)| m == "tools/call" && id.as_deref() == Some("sess-1") && v.as_deref() == Some("2025-06-18")));
}

#[tokio::test]
async fn a_404_to_the_kept_session_drops_it_and_initializes_a_new_one() {
    let sessions_made = Arc::new(AtomicUsize::new(0));
    let expired: Arc<Mutex<Vec<String>>> = Arc::default();
    let (made, gone) = (sessions_made.clone(), expired.clone());
    let fx = Fixture::start(move |_, req| {
        let session = req.header("mcp-session-id").map(str::to_owned);
        if session.as_ref().is_some_and(|s| gone.lock().unwrap().contains(s)) {
            return Reply::status(404);
        }
        match rpc_method(req).as_str() {
            "initialize" => {
                let n = made.fetch_add(1, Ordering::SeqCst) + 1;
                init_reply(Some(&format!("sess-{n}")), "2025-06-18")
            }
            "notifications/initialized" => accepted(),
            "tools/call" => {
                // The server forgets the first session once it has answered on it.
                if session.as_deref() == Some("sess-1") {
                    gone.lock().unwrap().push("sess-1".into());
                }
                call_reply(req)
            }
            _ => Reply::status(400),
        }
    })
    .await;
    let (hub, sub) = start_feed(mcp_feed(fx.url("/mcp"), Some(tools_call())));
    let rs = collect_until(&sub, |rs| count_kind(rs, "event") == 6).await;
    hub.stop_all();
    let v = |s: &str| Some(s.to_owned());
    let s = sessions(&fx);
    assert_eq!(
        s[..7],
        [
            ("initialize".into(), None, None),
            ("notifications/initialized".into(), v("sess-1"), v("2025-06-18")),
            ("tools/call".into(), v("sess-1"), v("2025-06-18")),
            // Expired: a new initialize, without the old session id.
            ("tools/call".into(), v("sess-1"), v("2025-06-18")),
            ("initialize".into(), None, None),
            ("notifications/initialized".into(), v("sess-2"), v("2025-06-18")),
            ("tools/call".into(), v("sess-2"), v("2025-06-18")),
        ]
    );
    let expiry = rs
        .iter()
        .find_map(|r| match &r.body {
            Body::Disconnected { reason, cause, .. } if reason.contains("expired") => Some((reason.clone(), *cause)),
            _ => None,
        })
        .expect("a disconnection for the expired session");
    assert_eq!(
        expiry,
        ("the MCP session expired (HTTP 404 to the request): a new one is initialized".into(), Cause::HttpStatus)
    );
    assert_eq!(
        kinds(&rs)[6..],
        ["connecting", "disconnected", "connecting", "event", "open", "event", "event"],
        "the new handshake's result is shown again"
    );
}

#[tokio::test]
async fn a_json_response_is_one_message_event() {
    // A server that answers every request with application/json (no SSE at all), initialize too.
    let pretty = "{\n  \"jsonrpc\": \"2.0\",\n  \"id\": 7,\n  \"result\": {\"content\": [], \"isError\": false}\n}";
    let fx = Fixture::start(move |_, req| match rpc_method(req).as_str() {
        "initialize" => json_reply(200, &init_result("2025-06-18").to_string()).header("Mcp-Session-Id", "j"),
        "notifications/initialized" => accepted(),
        "tools/call" => json_reply(200, pretty),
        _ => Reply::status(400),
    })
    .await;
    let config = mcp_feed(fx.url("/mcp"), Some(tools_call()));
    let sent = config.sent_requests();
    let (hub, sub) = start_with_raw(config);
    let rs = collect_until(&sub, |rs| count_kind(rs, "disconnected") == 1).await;
    hub.stop_all();
    assert_eq!(kinds(&rs), ["connecting", "event", "open", "event", "disconnected"]);
    let evs = events(&rs);
    assert_eq!(evs[0], ("message".into(), "".into(), init_result("2025-06-18").to_string()));
    assert_eq!(evs[1], ("message".into(), "".into(), pretty.into()), "the body, as it came");
    assert_eq!(open_headers(&rs)[0]["content-type"], "application/json");
    let c = jsonrpc::columns(&rs[3], &sent).unwrap();
    assert_eq!(
        (c.kind, c.method.as_deref(), c.summary.as_str()),
        (RpcKind::Response, Some("tools/call"), r#"{"content":[],"isError":false}"#)
    );
    assert!(
        matches!(&rs[4].body, Body::Disconnected { cause: Cause::EndOfStream, .. }),
        "a JSON answer ends like a stream that ends: {:?}",
        rs[4]
    );
    assert_eq!(sessions(&fx)[2], ("tools/call".into(), Some("j".into()), Some("2025-06-18".into())));
    // The raw view has each request, and the JSON bodies with the event they made.
    let Body::Event { seq, .. } = &rs[3].body else { panic!("{:?}", rs[3]) };
    let index = hub
        .with_history("f", |h| {
            let at = h.iter().position(|r| matches!(&r.body, Body::Event { seq: s, .. } if s == seq));
            at.map(|i| h.stats(feedscope_core::Timestamp(0)).first_index + i as u64)
        })
        .unwrap()
        .expect("the event is in the history");
    assert!(hub.raw_locate("f", index).unwrap().is_some(), "the raw view locates the JSON event in its body");
}

#[tokio::test]
async fn without_a_body_the_feed_listens_with_get_and_a_stop_deletes_the_session() {
    let fx = Fixture::start(|_, req| match rpc_method(req).as_str() {
        "initialize" => init_reply(Some("listen-1"), "2025-06-18"),
        "notifications/initialized" => accepted(),
        "GET" => {
            let note =
                json!({"jsonrpc": "2.0", "method": "notifications/resources/updated", "params": {"uri": "a://b"}});
            Reply::sse_steps(vec![Step::Send(sse(&[note]).into_bytes()), Step::Hang])
        }
        "DELETE" => Reply { status: 200, headers: Vec::new(), steps: Vec::new() },
        _ => Reply::status(400),
    })
    .await;
    let (hub, sub) = start_feed(mcp_feed(fx.url("/mcp"), None));
    let rs = collect_until(&sub, |rs| count_kind(rs, "event") == 2).await;
    assert_eq!(kinds(&rs), ["connecting", "event", "open", "event"]);
    assert_eq!(
        jsonrpc::parse(&events(&rs)[1].2).unwrap().messages()[0].method.as_deref(),
        Some("notifications/resources/updated")
    );
    let get = &fx.requests()[2];
    assert_eq!((get.method.as_str(), get.header("accept")), ("GET", Some("text/event-stream")));
    assert_eq!(get.header("mcp-session-id"), Some("listen-1"));
    assert_eq!(get.header("mcp-protocol-version"), Some("2025-06-18"));
    assert!(get.body.is_empty());

    hub.stop("f").unwrap();
    let delete = wait_for_method(&fx, "DELETE").await;
    assert_eq!(delete.path, "/mcp");
    assert_eq!(delete.header("mcp-session-id"), Some("listen-1"));
    assert_eq!(delete.header("mcp-protocol-version"), Some("2025-06-18"));
    assert_eq!(fx.requests().iter().filter(|r| r.method == "DELETE").count(), 1);
}

#[tokio::test]
async fn a_405_to_the_get_stream_closes_with_a_clear_reason() {
    let fx = Fixture::start(|_, req| match rpc_method(req).as_str() {
        "initialize" => init_reply(Some("s"), "2025-06-18"),
        "notifications/initialized" => accepted(),
        "GET" => {
            json_reply(405, r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Method Not Allowed"}}"#)
        }
        _ => Reply { status: 200, headers: Vec::new(), steps: Vec::new() },
    })
    .await;
    let (_hub, sub) = start_feed(mcp_feed(fx.url("/mcp"), None));
    let rs = collect_until(&sub, is_closed).await;
    assert_eq!(kinds(&rs), ["connecting", "event", "closed"]);
    assert_eq!(
        closed(&rs),
        (
            "the MCP server offers no stream at GET (HTTP 405 Method Not Allowed): give the feed a body to send".into(),
            Cause::HttpStatus,
            true
        )
    );
    // The feed is done with the session: it deletes it.
    assert_eq!(wait_for_method(&fx, "DELETE").await.header("mcp-session-id"), Some("s"));
}

#[tokio::test]
async fn initialize_refused_by_status_closes_with_the_status_and_its_body() {
    let fx = Fixture::start(|_, _| {
        json_reply(406, r#"{"jsonrpc":"2.0","id":"server-error","error":{"code":-32600,"message":"Not Acceptable"}}"#)
    })
    .await;
    let (_hub, sub) = start_feed(mcp_feed(fx.url("/mcp"), Some(tools_call())));
    let rs = collect_until(&sub, is_closed).await;
    assert_eq!(kinds(&rs), ["connecting", "closed"]);
    let (reason, cause, fatal) = closed(&rs);
    assert_eq!(
        reason,
        r#"MCP initialize failed: HTTP 406 Not Acceptable: {"jsonrpc":"2.0","id":"server-error","error":{"code":-32600,"message":"Not Acceptable"}}"#
    );
    assert_eq!((cause, fatal), (Cause::HttpStatus, true));
    assert_eq!(methods(&fx), ["initialize"]);
}

#[tokio::test]
async fn a_busy_server_is_retried_before_the_handshake_goes_on() {
    let fx = Fixture::start(|n, req| match (n, rpc_method(req).as_str()) {
        (0, _) => Reply::status(503).header("Retry-After", "0"),
        (_, "initialize") => init_reply(Some("s"), "2025-06-18"),
        (_, "notifications/initialized") => accepted(),
        (_, "tools/call") => call_reply(req),
        _ => Reply::status(400),
    })
    .await;
    let (hub, sub) = start_feed(mcp_feed(fx.url("/mcp"), Some(tools_call())));
    let rs = collect_until(&sub, |rs| count_kind(rs, "event") == 3).await;
    hub.stop_all();
    assert_eq!(kinds(&rs), ["connecting", "disconnected", "connecting", "event", "open", "event", "event"]);
    // As for any retried status, the body is not read: Retry-After says when to come back.
    assert!(
        matches!(&rs[1].body, Body::Disconnected { reason, cause: Cause::HttpStatus, reconnect_in_ms: 0, .. }
        if reason == "MCP initialize failed: HTTP 503 Service Unavailable"),
        "{:?}",
        rs[1]
    );
}

#[tokio::test]
async fn a_json_rpc_error_to_initialize_closes_with_the_servers_message() {
    let fx = Fixture::start(|_, _| {
        let error = json!({"jsonrpc": "2.0", "id": INIT_ID, "error": {"code": -32602, "message": "Unsupported protocol version", "data": {"supported": ["2024-11-05"]}}});
        Reply::sse(&sse(&[error]))
    })
    .await;
    let (_hub, sub) = start_feed(mcp_feed(fx.url("/mcp"), Some(tools_call())));
    let rs = collect_until(&sub, is_closed).await;
    // The error is shown as the event it came in, and the feed closes naming it.
    assert_eq!(kinds(&rs), ["connecting", "event", "closed"]);
    assert_eq!(
        closed(&rs),
        ("MCP initialize refused: error -32602: Unsupported protocol version".into(), Cause::HttpStatus, true)
    );
    assert_eq!(methods(&fx), ["initialize"]);
}

#[tokio::test]
async fn an_initialize_response_without_its_result_closes() {
    let fx = Fixture::start(|n, _| match n {
        0 => Reply::sse(&sse(&[progress(1)])),
        _ => json_reply(200, r#"{"hello":"world"}"#),
    })
    .await;
    let (_hub, sub) = start_feed(mcp_feed(fx.url("/mcp"), Some(tools_call())));
    let rs = collect_until(&sub, is_closed).await;
    assert_eq!(kinds(&rs), ["connecting", "event", "closed"], "what came is shown");
    let (reason, cause, fatal) = closed(&rs);
    assert!(reason.starts_with("MCP initialize failed: no result in the response: event: message data: {"), "{reason}");
    assert_eq!((cause, fatal), (Cause::ContentType, true));

    let fx = Fixture::start(|_, _| json_reply(200, "")).await;
    let (_hub, sub) = start_feed(mcp_feed(fx.url("/mcp"), Some(tools_call())));
    let rs = collect_until(&sub, is_closed).await;
    assert_eq!(closed(&rs).0, "MCP initialize failed: the response was empty");

    let fx = Fixture::start(|_, _| Reply::sse("data: x\n\n").header("Content-Type", "text/html")).await;
    let (_hub, sub) = start_feed(mcp_feed(fx.url("/mcp"), Some(tools_call())));
    let rs = collect_until(&sub, is_closed).await;
    assert_eq!(
        closed(&rs).0,
        "MCP initialize failed: content type text/html, not application/json or text/event-stream"
    );
}

#[tokio::test]
async fn a_server_without_session_ids_gets_none_and_is_initialized_once() {
    let fx = Fixture::start(|_, req| match rpc_method(req).as_str() {
        "initialize" => init_reply(None, "2025-06-18"),
        "notifications/initialized" => accepted(),
        "tools/call" => call_reply(req),
        _ => Reply::status(400),
    })
    .await;
    let (hub, sub) = start_feed(mcp_feed(fx.url("/mcp"), Some(tools_call())));
    collect_until(&sub, |rs| count_kind(rs, "event") == 5).await;
    hub.stop_all();
    let v = Some("2025-06-18".to_owned());
    assert_eq!(
        sessions(&fx)[..4],
        [
            ("initialize".into(), None, None),
            ("notifications/initialized".into(), None, v.clone()),
            ("tools/call".into(), None, v.clone()),
            ("tools/call".into(), None, v.clone()),
        ]
    );
    // No session id: nothing to delete.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(fx.requests().iter().all(|r| r.method == "POST"), "{:?}", methods(&fx));
}

#[tokio::test]
async fn a_404_to_the_session_just_made_closes_instead_of_going_round() {
    let fx = Fixture::start(|_, req| match (rpc_method(req).as_str(), req.header("mcp-session-id")) {
        ("initialize", _) => init_reply(Some("lost"), "2025-06-18"),
        (_, Some(_)) => Reply::status(404),
        _ => Reply::status(400),
    })
    .await;
    let (_hub, sub) = start_feed(mcp_feed(fx.url("/mcp"), Some(tools_call())));
    let rs = collect_until(&sub, is_closed).await;
    assert_eq!(
        closed(&rs),
        (
            "the MCP server did not know the session it had just created (HTTP 404 to notifications/initialized)"
                .into(),
            Cause::HttpStatus,
            true
        )
    );
    assert_eq!(methods(&fx)[..2], ["initialize", "notifications/initialized"]);
}

#[tokio::test]
async fn a_session_id_that_cannot_be_sent_back_closes() {
    let fx = Fixture::start(|_, _| init_reply(Some("has space"), "2025-06-18")).await;
    let (_hub, sub) = start_feed(mcp_feed(fx.url("/mcp"), Some(tools_call())));
    let rs = collect_until(&sub, is_closed).await;
    assert_eq!(closed(&rs).0, r#"the MCP server sent an invalid Mcp-Session-Id "has space""#);
    assert_eq!(methods(&fx), ["initialize"]);
}

#[tokio::test]
async fn a_notification_body_accepted_with_202_closes_without_failure() {
    let fx = Fixture::start(|_, req| match rpc_method(req).as_str() {
        "initialize" => init_reply(Some("n"), "2025-06-18"),
        _ => accepted(),
    })
    .await;
    let body = json!({"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}).to_string();
    let (_hub, sub) = start_feed(mcp_feed(fx.url("/mcp"), Some(body)));
    let rs = collect_until(&sub, is_closed).await;
    assert_eq!(kinds(&rs), ["connecting", "event", "closed"]);
    assert_eq!(
        closed(&rs),
        ("the MCP server accepted the message (HTTP 202): no response comes to it".into(), Cause::NoContent, false)
    );
}

#[tokio::test]
async fn user_set_session_headers_are_the_engines_own_in_mcp_mode() {
    let fx = Fixture::start(|_, req| match rpc_method(req).as_str() {
        "initialize" => init_reply(Some("real"), "2025-06-18"),
        "notifications/initialized" => accepted(),
        "tools/call" => call_reply(req),
        _ => Reply::status(400),
    })
    .await;
    let user = |name: &str, value: &str| Header { name: name.into(), value: value.into() };
    let config = FeedConfig {
        headers: vec![
            user("Mcp-Session-Id", "stale"),
            user("MCP-Protocol-Version", "1999-01-01"),
            user("Accept", "application/json, text/event-stream, */*"),
        ],
        ..mcp_feed(fx.url("/mcp"), Some(tools_call()))
    };
    let (hub, sub) = start_feed(config);
    collect_until(&sub, |rs| count_kind(rs, "event") == 3).await;
    hub.stop_all();
    let reqs = fx.requests();
    let all = |r: &Req, n: &str| r.headers.iter().filter(|(k, _)| k == n).map(|(_, v)| v.clone()).collect::<Vec<_>>();
    assert!(all(&reqs[0], "mcp-session-id").is_empty(), "initialize goes without a session id");
    assert_eq!(all(&reqs[2], "mcp-session-id"), ["real"]);
    assert_eq!(all(&reqs[2], "mcp-protocol-version"), ["2025-06-18"]);
    assert_eq!(all(&reqs[0], "accept"), ["application/json, text/event-stream, */*"], "the user's Accept, once");
}
