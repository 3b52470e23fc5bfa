//! The built `feedscope tail` against real SSE servers from PyPI, started here on 127.0.0.1:
//! sse-starlette on uvicorn, aiohttp-sse, and an MCP server of the official Python SDK over
//! Streamable HTTP. The servers are tests/interop/*.py, run from the venv that
//! scripts/setup-python.sh makes (scripts/test-rust.sh runs it first).
//!
//! Each `tail` also gets `--duration 120`: only a guard against a hang, so that a feed that
//! never delivers what is expected ends the run and fails the assertions instead of blocking.

use std::process::{Command, Output};

use feedscope_core::{Body, Record};
use feedscope_testkit::python::PyServer;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_feedscope");
const GUARD_SECS: &str = "120";

/// What one `feedscope tail` run printed and how it exited.
struct Tail {
    code: Option<i32>,
    stderr: String,
    records: Vec<Record>,
}

impl Tail {
    fn kinds(&self) -> Vec<&'static str> {
        self.records.iter().map(|r| r.body.kind().as_str()).collect()
    }

    /// The records up to the last event. After the `-n`th event the CLI prints no more events,
    /// but what else the engine did before the stop took effect (say, a `disconnected` when the
    /// server ended the stream in the same read) is still printed before `closed`; so for a
    /// stream that ends, only this prefix is the same on every run.
    fn through_last_event(&self) -> &[Record] {
        let end = self.records.iter().rposition(|r| r.body.kind().as_str() == "event").map_or(0, |i| i + 1);
        &self.records[..end]
    }

    fn kinds_through_last_event(&self) -> Vec<&'static str> {
        self.through_last_event().iter().map(|r| r.body.kind().as_str()).collect()
    }

    /// (type, id, data) of each event, in order.
    fn events(&self) -> Vec<(String, String, String)> {
        self.records
            .iter()
            .filter_map(|r| match &r.body {
                Body::Event { event_type, id, data, .. } => {
                    Some((event_type.to_string(), id.to_string(), data.clone()))
                }
                _ => None,
            })
            .collect()
    }

    fn data(&self) -> Vec<String> {
        self.events().into_iter().map(|(_, _, d)| d).collect()
    }

    /// (attempt, last_event_id) of each `connecting` record before the last event.
    fn connects(&self) -> Vec<(u32, String)> {
        self.through_last_event()
            .iter()
            .filter_map(|r| match &r.body {
                Body::Connecting { attempt, last_event_id, .. } => Some((*attempt, last_event_id.clone())),
                _ => None,
            })
            .collect()
    }

    fn open_headers(&self) -> &std::collections::BTreeMap<String, String> {
        self.records
            .iter()
            .find_map(|r| match &r.body {
                Body::Open { status, headers, .. } => {
                    assert_eq!(*status, 200);
                    Some(headers)
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no open record: {}", self.dump()))
    }

    fn closed(&self) -> (String, bool) {
        match self.records.last().map(|r| &r.body) {
            Some(Body::Closed { reason, fatal, .. }) => (reason.clone(), *fatal),
            _ => panic!("the last record is not `closed`: {}", self.dump()),
        }
    }

    /// Asserts exit 0 after a stop by `-n`.
    fn assert_stopped_by_n(&self) {
        assert_eq!(self.code, Some(0), "{}", self.dump());
        assert_eq!(self.closed(), ("stopped by the user".to_owned(), false), "{}", self.dump());
    }

    fn dump(&self) -> String {
        let lines: Vec<String> = self.records.iter().map(Record::to_json).collect();
        format!("exit {:?}\nstderr: {}\nrecords:\n{}", self.code, self.stderr, lines.join("\n"))
    }
}

async fn tail(url: &str, extra: &[&str]) -> Tail {
    let mut argv: Vec<String> = vec!["tail".into(), url.into(), "--format".into(), "ndjson".into()];
    argv.extend(["--duration".into(), GUARD_SECS.into()]);
    argv.extend(extra.iter().map(|s| s.to_string()));
    let out: Output =
        tokio::task::spawn_blocking(move || Command::new(BIN).args(argv).output().expect("run feedscope"))
            .await
            .expect("join");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let records = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| Record::from_json(l).unwrap_or_else(|e| panic!("not a record: {l:?}: {e}\nstderr: {stderr}")))
        .collect();
    Tail { code: out.status.code(), stderr, records }
}

/// Event `i` of the interop feed, as tests/interop/_common.py `feed_event` makes it:
/// (type, id, data) as an `EventSource` must dispatch it.
fn feed_event(i: u32) -> (String, String, String) {
    let (event_type, data) = match i % 5 {
        1 => ("tick", i.to_string()),
        2 => ("chat", format!("line {i}\nsecond line\n  indented")),
        3 => ("message", format!("{{\"i\":{i},\"text\":\"héllo ✓ 🎉\"}}")),
        4 => ("blank", String::new()),
        _ => ("gap", format!("{i}\n\n{i}\n")),
    };
    (event_type.to_owned(), i.to_string(), data)
}

fn feed(ids: std::ops::RangeInclusive<u32>) -> Vec<(String, String, String)> {
    ids.map(feed_event).collect()
}

fn comment_texts(t: &Tail) -> Vec<String> {
    t.records
        .iter()
        .filter_map(|r| if let Body::Comment { text } = &r.body { Some(text.clone()) } else { None })
        .collect()
}

fn retries(t: &Tail) -> Vec<u64> {
    t.records.iter().filter_map(|r| if let Body::Retry { ms } = &r.body { Some(*ms) } else { None }).collect()
}

/// The delays of the reconnections that happened before the last event.
fn disconnect_delays(t: &Tail) -> Vec<u64> {
    t.through_last_event()
        .iter()
        .filter_map(|r| {
            if let Body::Disconnected { reconnect_in_ms, .. } = &r.body {
                Some(*reconnect_in_ms)
            } else {
                None
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// sse-starlette (uvicorn)

/// The record kinds of a test server's stream stopped by `-n`: it greets with a comment and a
/// `retry:`, then `n` events, then the stop.
fn greeting_then_events(n: usize) -> Vec<&'static str> {
    let mut want = vec!["connecting", "open", "comment", "retry"];
    want.extend(std::iter::repeat_n("event", n));
    want.push("closed");
    want
}

#[tokio::test]
async fn sse_starlette_feed_arrives_exactly() {
    let mut srv = PyServer::start("sse_starlette_server.py", &[]);
    let t = tail(&srv.url("/events?n=10&retry=1500&hold=1"), &["-n", "10"]).await;
    srv.assert_healthy();
    t.assert_stopped_by_n();
    assert_eq!(t.events(), feed(1..=10), "{}", t.dump());
    assert_eq!(t.kinds(), greeting_then_events(10), "{}", t.dump());
    assert_eq!(comment_texts(&t), [" welcome"]);
    assert_eq!(retries(&t), [1500]);
    let ct = &t.open_headers()["content-type"];
    assert!(ct.starts_with("text/event-stream"), "{ct}");
}

#[tokio::test]
async fn sse_starlette_stream_end_reconnects_with_last_event_id_in_both_modes() {
    let mut srv = PyServer::start("sse_starlette_server.py", &[]);
    for mode in ["persistent", "browser"] {
        // Three events a connection; the server resumes after the Last-Event-ID it is sent.
        let t = tail(&srv.url("/events?n=3&retry=40"), &["-n", "7", "--mode", mode]).await;
        t.assert_stopped_by_n();
        assert_eq!(t.events(), feed(1..=7), "{mode}: {}", t.dump());
        let want: Vec<(u32, String)> = vec![(1, "".into()), (2, "3".into()), (3, "6".into())];
        assert_eq!(t.connects(), want, "{mode}: {}", t.dump());
        assert_eq!(disconnect_delays(&t).len(), 2, "{mode}: {}", t.dump());
        if mode == "browser" {
            // Exactly EventSource: reconnect after the server's retry: time.
            assert_eq!(disconnect_delays(&t), [40, 40], "{}", t.dump());
        }
    }
    srv.assert_healthy();
}

const PROMPT: &str = "Feedscope tails real servers";
const CHAT_HEADERS: [&str; 4] = ["-H", "Content-Type: application/json", "-H", "Authorization: Bearer test"];

fn chat_body() -> String {
    json!({ "model": "interop", "stream": true, "prompt": PROMPT }).to_string()
}

/// The text that an OpenAI-style chunk stream spells, and whether it ended with `[DONE]`.
fn spelled(data: &[String]) -> (String, bool) {
    let mut text = String::new();
    for (k, d) in data.iter().enumerate() {
        if d == "[DONE]" {
            assert_eq!(k, data.len() - 1, "[DONE] is the last chunk: {data:?}");
            return (text, true);
        }
        let chunk: Value = serde_json::from_str(d).unwrap_or_else(|e| panic!("{d:?}: {e}"));
        assert_eq!(chunk["object"], "chat.completion.chunk");
        text.push_str(chunk["choices"][0]["delta"]["content"].as_str().unwrap());
    }
    (text, false)
}

#[tokio::test]
async fn sse_starlette_post_streams_llm_tokens() {
    let mut srv = PyServer::start("sse_starlette_server.py", &[]);
    let body = chat_body();
    let mut args = vec!["-X", "POST", "-d", &body, "-n", "5"];
    args.extend(CHAT_HEADERS);
    let t = tail(&srv.url("/chat"), &args).await;
    srv.assert_healthy();
    t.assert_stopped_by_n();
    assert_eq!(
        t.kinds_through_last_event(),
        ["connecting", "open", "event", "event", "event", "event", "event"],
        "{}",
        t.dump()
    );
    assert!(t.events().iter().all(|(ty, id, _)| ty == "message" && id.is_empty()), "{}", t.dump());
    assert_eq!(spelled(&t.data()), (PROMPT.to_owned(), true));
}

#[tokio::test]
async fn sse_starlette_post_stream_is_posted_again_after_it_ends() {
    let mut srv = PyServer::start("sse_starlette_server.py", &[]);
    let body = chat_body();
    for mode in ["persistent", "browser"] {
        // The server ends the response after [DONE]; like EventSource, both modes reconnect
        // and send the same POST again, so a second identical answer follows.
        let mut args = vec!["-X", "POST", "-d", &body, "-n", "10", "--retry-ms", "40", "--mode", mode];
        args.extend(CHAT_HEADERS);
        let t = tail(&srv.url("/chat"), &args).await;
        t.assert_stopped_by_n();
        let data = t.data();
        assert_eq!(data.len(), 10, "{mode}: {}", t.dump());
        assert_eq!(spelled(&data[..5]), (PROMPT.to_owned(), true), "{mode}");
        assert_eq!(spelled(&data[5..]), (PROMPT.to_owned(), true), "{mode}");
        assert_eq!(t.connects(), [(1, String::new()), (2, String::new())], "{mode}: {}", t.dump());
        assert_eq!(disconnect_delays(&t).len(), 1, "{mode}: {}", t.dump());
    }
    srv.assert_healthy();
}

// ---------------------------------------------------------------------------------------------
// aiohttp-sse

#[tokio::test]
async fn aiohttp_sse_feed_arrives_exactly_with_crlf_lf_and_cr_line_ends() {
    let mut srv = PyServer::start("aiohttp_sse_server.py", &[]);
    for sep in ["crlf", "lf", "cr"] {
        // hold=1 leaves the stream open after the last event: with `cr` that event ends in
        // "\r\r" and must be dispatched without waiting for a byte that never comes.
        let t = tail(&srv.url(&format!("/events?n=10&retry=2500&hold=1&sep={sep}")), &["-n", "10"]).await;
        t.assert_stopped_by_n();
        assert_eq!(t.events(), feed(1..=10), "{sep}: {}", t.dump());
        assert_eq!(t.kinds(), greeting_then_events(10), "{sep}: {}", t.dump());
        assert_eq!(comment_texts(&t), [" welcome"], "{sep}");
        assert_eq!(retries(&t), [2500], "{sep}");
        assert_eq!(t.open_headers()["content-type"], "text/event-stream", "{sep}");
    }
    srv.assert_healthy();
}

#[tokio::test]
async fn aiohttp_sse_resumes_after_last_event_id() {
    let mut srv = PyServer::start("aiohttp_sse_server.py", &[]);
    // --last-event-id for the first request, then the ids the stream gave.
    let t = tail(&srv.url("/events?n=4&retry=40&sep=lf"), &["-n", "6", "--last-event-id", "20"]).await;
    srv.assert_healthy();
    t.assert_stopped_by_n();
    assert_eq!(t.events(), feed(21..=26), "{}", t.dump());
    assert_eq!(t.connects(), [(1, "20".to_owned()), (2, "24".to_owned())], "{}", t.dump());
}

// ---------------------------------------------------------------------------------------------
// MCP (the official Python SDK) over Streamable HTTP

const MCP_ACCEPT: [&str; 2] = ["-H", "Accept: application/json, text/event-stream"];

fn initialize(id: u64) -> String {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": { "name": "feedscope-interop", "version": "0" }
        }
    })
    .to_string()
}

fn tools_call(id: u64, name: &str, arguments: Value) -> String {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "tools/call",
        "params": { "name": name, "arguments": arguments, "_meta": { "progressToken": "tok" } }
    })
    .to_string()
}

async fn mcp_post(srv: &PyServer, body: &str, extra: &[&str]) -> Tail {
    let mut args = vec!["-X", "POST", "-H", "Content-Type: application/json", "-d", body];
    args.extend(extra);
    tail(&srv.url("/mcp"), &args).await
}

/// The event's data as JSON-RPC.
fn rpc(data: &str) -> Value {
    let v: Value = serde_json::from_str(data).unwrap_or_else(|e| panic!("not JSON: {data:?}: {e}"));
    assert_eq!(v["jsonrpc"], "2.0", "{v}");
    v
}

#[tokio::test]
async fn mcp_initialize_is_answered_as_an_sse_event() {
    let mut srv = PyServer::start("mcp_server.py", &[]);
    let mut args = vec!["-n", "1"];
    args.extend(MCP_ACCEPT);
    let t = mcp_post(&srv, &initialize(1), &args).await;
    srv.assert_healthy();
    t.assert_stopped_by_n();
    assert_eq!(t.kinds_through_last_event(), ["connecting", "open", "event"], "{}", t.dump());
    assert!(t.open_headers()["content-type"].starts_with("text/event-stream"));
    let (event_type, id, data) = &t.events()[0];
    assert_eq!((event_type.as_str(), id.as_str()), ("message", ""));
    let v = rpc(data);
    assert_eq!(v["id"], 1, "{v}");
    assert_eq!(v["result"]["serverInfo"]["name"], "feedscope-interop", "{v}");
    assert_eq!(v["result"]["protocolVersion"], "2025-06-18", "{v}");
    assert!(v["result"]["capabilities"]["tools"].is_object(), "{v}");
}

#[tokio::test]
async fn mcp_tools_call_returns_the_tool_result() {
    let mut srv = PyServer::start("mcp_server.py", &[]);
    let mut args = vec!["-n", "1"];
    args.extend(MCP_ACCEPT);
    let t = mcp_post(&srv, &tools_call(7, "add", json!({ "a": 2, "b": 40 })), &args).await;
    srv.assert_healthy();
    t.assert_stopped_by_n();
    let data = t.data();
    assert_eq!(data.len(), 1, "{}", t.dump());
    let v = rpc(&data[0]);
    assert_eq!(v["id"], 7, "{v}");
    assert_eq!(v["result"]["isError"], false, "{v}");
    assert_eq!(v["result"]["content"][0], json!({ "type": "text", "text": "42" }), "{v}");
    assert_eq!(v["result"]["structuredContent"]["result"], 42, "{v}");
}

#[tokio::test]
async fn mcp_progress_notifications_stream_before_the_result() {
    let mut srv = PyServer::start("mcp_server.py", &[]);
    let mut args = vec!["-n", "4"];
    args.extend(MCP_ACCEPT);
    let t = mcp_post(&srv, &tools_call(8, "countdown", json!({ "n": 3 })), &args).await;
    srv.assert_healthy();
    t.assert_stopped_by_n();
    let data = t.data();
    assert_eq!(data.len(), 4, "{}", t.dump());
    for (k, d) in data[..3].iter().enumerate() {
        let v = rpc(d);
        assert_eq!(v["method"], "notifications/progress", "{v}");
        assert_eq!(v["params"]["progressToken"], "tok", "{v}");
        assert_eq!(v["params"]["progress"], k as u64 + 1, "{v}");
        assert_eq!(v["params"]["total"], 3, "{v}");
    }
    let v = rpc(&data[3]);
    assert_eq!(v["id"], 8, "{v}");
    assert_eq!(v["result"]["content"][0]["text"], "liftoff", "{v}");
}

#[tokio::test]
async fn mcp_stateful_initialize_opens_with_a_session_id() {
    let mut srv = PyServer::start("mcp_server.py", &["--stateful"]);
    let mut args = vec!["-n", "1"];
    args.extend(MCP_ACCEPT);
    let t = mcp_post(&srv, &initialize(3), &args).await;
    srv.assert_healthy();
    t.assert_stopped_by_n();
    let session = t.open_headers().get("mcp-session-id").unwrap_or_else(|| panic!("{}", t.dump()));
    assert!(!session.is_empty());
    assert_eq!(rpc(&t.data()[0])["result"]["serverInfo"]["name"], "feedscope-interop");
}

#[tokio::test]
async fn mcp_without_the_user_accept_header_is_refused_with_406() {
    let mut srv = PyServer::start("mcp_server.py", &[]);
    // feedscope's default `Accept: text/event-stream` (what EventSource sends) lacks
    // application/json, which a Streamable HTTP server requires.
    for mode in ["persistent", "browser"] {
        let t = mcp_post(&srv, &initialize(1), &["--mode", mode]).await;
        assert_eq!(t.code, Some(1), "{mode}: {}", t.dump());
        assert!(t.stderr.contains("406"), "{mode}: the reason names HTTP 406: {}", t.dump());
        let (reason, fatal) = t.closed();
        assert!(fatal && reason.contains("406"), "{mode}: {}", t.dump());
        assert_eq!(t.kinds(), ["connecting", "closed"], "{mode}: {}", t.dump());
        assert!(t.events().is_empty());
    }
    srv.assert_healthy();
}

// ---------------------------------------------------------------------------------------------
// MCP mode (`mcp: true`): the engine's own MCP client (docs/mcp.md), driven through the hub, as
// the CLI has no flag for it yet.

mod mcp_mode {
    use std::sync::Arc;
    use std::time::Duration;

    use feedscope_core::jsonrpc::{self, RpcKind};
    use feedscope_core::raw::Row;
    use feedscope_core::{Body, FeedConfig, Hub, Mode, Record, Subscription};
    use feedscope_testkit::{collect_until, count_kind};
    use serde_json::{json, Value};

    use super::{rpc, tools_call, PyServer};

    const ACCEPT_BOTH: &str = "application/json, text/event-stream";

    /// An `mcp` feed on the server's endpoint: POST with `body`, or the GET stream without one.
    fn feed(srv: &PyServer, body: Option<String>) -> FeedConfig {
        let method = if body.is_some() { "POST" } else { "GET" };
        FeedConfig {
            mcp: true,
            method: method.into(),
            body,
            mode: Mode::Persistent,
            retry_ms: 100,
            jitter: false,
            ..FeedConfig::new(srv.url("/mcp"))
        }
    }

    /// A hub with feed `f` (its raw view on), subscribed, started.
    fn start(config: FeedConfig) -> (Arc<Hub>, Subscription) {
        let hub = Hub::new();
        hub.add("f", config, Default::default()).expect("a valid config");
        hub.set_raw_cap("f", 8).expect("a valid cap");
        let sub = hub.subscribe(Some("f"), 1 << 16);
        hub.start("f").expect("the feed exists");
        (hub, sub)
    }

    fn kinds(rs: &[Record]) -> Vec<&'static str> {
        rs.iter().map(|r| r.body.kind().as_str()).collect()
    }

    fn data(rs: &[Record]) -> Vec<Value> {
        rs.iter().filter_map(|r| if let Body::Event { data, .. } = &r.body { Some(rpc(data)) } else { None }).collect()
    }

    fn dump(rs: &[Record]) -> String {
        rs.iter().map(Record::to_json).collect::<Vec<_>>().join("\n")
    }

    /// The headers of each `open` record.
    fn opens(rs: &[Record]) -> Vec<std::collections::BTreeMap<String, String>> {
        rs.iter()
            .filter_map(|r| if let Body::Open { headers, .. } = &r.body { Some(headers.clone()) } else { None })
            .collect()
    }

    /// A request of the raw view: its body's JSON-RPC method (or its HTTP method), the
    /// Mcp-Session-Id it sent, the MCP-Protocol-Version it sent, the Mcp-Session-Id it got.
    type RawRequest = (String, Option<String>, Option<String>, Option<String>);

    /// Each request of the raw view, in order.
    fn raw_requests(hub: &Hub) -> Vec<RawRequest> {
        let mut out: Vec<RawRequest> = Vec::new();
        for row in hub.raw_page("f", Some(0), usize::MAX).unwrap().rows {
            match row {
                Row::Request { method, .. } => out.push((method, None, None, None)),
                Row::RequestBody { body, .. } => {
                    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                    out.last_mut().unwrap().0 = v["method"].as_str().unwrap_or("?").to_owned();
                }
                Row::Header { sent, name, value, .. } => {
                    let r = out.last_mut().unwrap();
                    match (sent, name.as_str()) {
                        (true, "mcp-session-id") => r.1 = Some(value),
                        (true, "mcp-protocol-version") => r.2 = Some(value),
                        (false, "mcp-session-id") => r.3 = Some(value),
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// A request of our own in `session`, straight to the server (not through the feed).
    async fn post(srv: &PyServer, session: &str, body: Value) -> reqwest::Response {
        reqwest::Client::new()
            .post(srv.url("/mcp"))
            .header("accept", ACCEPT_BOTH)
            .header("content-type", "application/json")
            .header("mcp-session-id", session)
            .header("mcp-protocol-version", "2025-06-18")
            .body(body.to_string())
            .send()
            .await
            .expect("the server answers")
    }

    /// Asserts that `session` is gone: the server answers 404 to it (within a few seconds).
    async fn assert_session_ended(srv: &PyServer, session: &str) {
        for _ in 0..50 {
            if post(srv, session, json!({"jsonrpc": "2.0", "id": 99, "method": "ping"})).await.status() == 404 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the session {session} is still open");
    }

    fn is_result(v: &Value, text: &str) -> bool {
        v["result"]["content"][0]["text"] == text
    }

    #[tokio::test]
    async fn mcp_feed_initializes_then_streams_the_tool_call_in_its_session() {
        let mut srv = PyServer::start("mcp_server.py", &["--stateful"]);
        let config = feed(&srv, Some(tools_call(8, "countdown", json!({ "n": 3 }))));
        let sent = config.sent_requests();
        let (hub, sub) = start(config);
        // Two answers: the stream ends after the result, and the feed sends the call again.
        let rs = collect_until(&sub, |rs| data(rs).iter().filter(|v| is_result(v, "liftoff")).count() == 2).await;
        srv.assert_healthy();
        let d = dump(&rs);

        // The initialize result first: the server's capabilities and the version it chose.
        assert_eq!(kinds(&rs)[..3], ["connecting", "event", "open"], "{d}");
        let msgs = data(&rs);
        assert_eq!(msgs[0]["id"], "feedscope-initialize", "{d}");
        assert_eq!(msgs[0]["result"]["protocolVersion"], "2025-06-18", "{d}");
        assert_eq!(msgs[0]["result"]["serverInfo"]["name"], "feedscope-interop", "{d}");
        assert!(msgs[0]["result"]["capabilities"]["tools"].is_object(), "{d}");
        // Then the tool: three progress notifications, then its result; twice.
        for answer in [&msgs[1..5], &msgs[5..9]] {
            for (k, v) in answer[..3].iter().enumerate() {
                assert_eq!(
                    (v["method"].as_str(), v["params"]["progress"].as_u64()),
                    (Some("notifications/progress"), Some(k as u64 + 1)),
                    "{d}"
                );
            }
            assert_eq!(answer[3]["id"], 8, "{d}");
        }
        assert_eq!(msgs.len(), 9, "no second initialize: {d}");

        // The JSON-RPC columns link both responses to their requests.
        let cols: Vec<(RpcKind, Option<String>, bool)> =
            rs.iter().filter_map(|r| jsonrpc::columns(r, &sent)).map(|c| (c.kind, c.method, c.linked)).collect();
        assert_eq!(cols[0], (RpcKind::Response, Some("initialize".into()), true));
        assert_eq!(cols[1], (RpcKind::Notification, Some("notifications/progress".into()), false));
        assert_eq!(cols[4], (RpcKind::Response, Some("tools/call".into()), true));

        // One session, from the initialize response, on every request after it.
        let session = opens(&rs)[0].get("mcp-session-id").cloned().unwrap_or_else(|| panic!("{d}"));
        assert!(opens(&rs).iter().all(|h| h.get("mcp-session-id") == Some(&session)), "{d}");
        let s = Some(session.clone());
        let v = Some("2025-06-18".to_owned());
        let reqs = raw_requests(&hub);
        assert_eq!(
            reqs[..4],
            [
                ("initialize".to_owned(), None, None, s.clone()),
                ("notifications/initialized".to_owned(), s.clone(), v.clone(), s.clone()),
                ("tools/call".to_owned(), s.clone(), v.clone(), s.clone()),
                ("tools/call".to_owned(), s.clone(), v.clone(), s.clone()),
            ],
            "{d}"
        );

        // A stop ends the session on the server too (DELETE).
        hub.stop("f").unwrap();
        assert_session_ended(&srv, &session).await;
        srv.assert_healthy();
    }

    #[tokio::test]
    async fn mcp_feed_initializes_again_when_the_server_ends_its_session() {
        let mut srv = PyServer::start("mcp_server.py", &["--stateful"]);
        // A reconnection a second after the answer: time to end the session under the feed.
        let config =
            FeedConfig { retry_ms: 1000, ..feed(&srv, Some(tools_call(3, "add", json!({ "a": 2, "b": 40 })))) };
        let (_hub, sub) = start(config);
        let rs = collect_until(&sub, |rs| count_kind(rs, "disconnected") == 1).await;
        let first = opens(&rs)[0]["mcp-session-id"].clone();
        let ended = reqwest::Client::new()
            .delete(srv.url("/mcp"))
            .header("mcp-session-id", &first)
            .header("mcp-protocol-version", "2025-06-18")
            .send()
            .await
            .unwrap();
        assert_eq!(ended.status(), 200);

        let rs2 = collect_until(&sub, |rs| data(rs).iter().any(|v| is_result(v, "42"))).await;
        srv.assert_healthy();
        let d = dump(&rs2);
        let expired = rs2.iter().find_map(|r| match &r.body {
            Body::Disconnected { reason, .. } => Some(reason.clone()),
            _ => None,
        });
        assert_eq!(
            expired.as_deref(),
            Some("the MCP session expired (HTTP 404 to the request): a new one is initialized"),
            "{d}"
        );
        let second = opens(&rs2)[0]["mcp-session-id"].clone();
        assert_ne!(first, second, "a new session: {d}");
        let msgs = data(&rs2);
        assert_eq!(msgs[0]["id"], "feedscope-initialize", "the new handshake is shown: {d}");
        assert!(is_result(&msgs[1], "42"), "{d}");
    }

    #[tokio::test]
    async fn mcp_feed_takes_json_responses_as_one_event() {
        let mut srv = PyServer::start("mcp_server.py", &["--stateful", "--json"]);
        let (hub, sub) = start(feed(&srv, Some(tools_call(5, "add", json!({ "a": 20, "b": 22 })))));
        let rs = collect_until(&sub, |rs| count_kind(rs, "disconnected") == 1).await;
        hub.stop("f").unwrap();
        srv.assert_healthy();
        let d = dump(&rs);
        assert_eq!(kinds(&rs), ["connecting", "event", "open", "event", "disconnected"], "{d}");
        let open = &opens(&rs)[0];
        assert!(open["content-type"].starts_with("application/json"), "{d}");
        let msgs = data(&rs);
        assert_eq!(msgs[0]["result"]["serverInfo"]["name"], "feedscope-interop", "{d}");
        assert_eq!(
            (msgs[1]["id"].as_u64(), msgs[1]["result"]["structuredContent"]["result"].as_u64()),
            (Some(5), Some(42)),
            "{d}"
        );
        let session = open["mcp-session-id"].clone();
        assert_session_ended(&srv, &session).await;
    }

    #[tokio::test]
    async fn mcp_feed_without_a_body_listens_to_the_servers_own_messages() {
        let mut srv = PyServer::start("mcp_server.py", &["--stateful"]);
        let (hub, sub) = start(feed(&srv, None));
        let rs = collect_until(&sub, |rs| count_kind(rs, "open") == 1).await;
        let session = opens(&rs)[0]["mcp-session-id"].clone();
        // Another client of the session makes the server speak on its GET stream.
        let answer = post(&srv, &session, json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "announce", "arguments": {"uri": "file:///tmp/x"}}})).await;
        assert_eq!(answer.status(), 200);
        let rs = collect_until(&sub, |rs| count_kind(rs, "event") == 1).await;
        srv.assert_healthy();
        let msgs = data(&rs);
        assert_eq!(msgs[0]["method"], "notifications/resources/updated", "{}", dump(&rs));
        assert_eq!(msgs[0]["params"]["uri"], "file:///tmp/x");
        let reqs = raw_requests(&hub);
        let s = Some(session.clone());
        assert_eq!(reqs[2], ("GET".to_owned(), s.clone(), Some("2025-06-18".to_owned()), s), "{reqs:?}");
        hub.stop("f").unwrap();
        assert_session_ended(&srv, &session).await;
    }

    #[tokio::test]
    async fn mcp_feed_against_a_stateless_server_sends_no_session_id() {
        let mut srv = PyServer::start("mcp_server.py", &[]);
        let (hub, sub) = start(feed(&srv, Some(tools_call(4, "add", json!({ "a": 1, "b": 1 })))));
        let rs = collect_until(&sub, |rs| data(rs).iter().filter(|v| is_result(v, "2")).count() == 2).await;
        hub.stop("f").unwrap();
        srv.assert_healthy();
        let d = dump(&rs);
        assert_eq!(data(&rs).len(), 3, "one initialize, two answers: {d}");
        let v = Some("2025-06-18".to_owned());
        assert_eq!(
            raw_requests(&hub)[..4],
            [
                ("initialize".to_owned(), None, None, None),
                ("notifications/initialized".to_owned(), None, v.clone(), None),
                ("tools/call".to_owned(), None, v.clone(), None),
                ("tools/call".to_owned(), None, v.clone(), None),
            ],
            "{d}"
        );
    }
}
