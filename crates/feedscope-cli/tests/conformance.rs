//! The `sse-test-service` binary driven the way a contract-test harness drives it: a scripted SSE
//! server and a callback receiver on loopback, and the real binary in between.

use std::collections::HashMap;
use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use feedscope_testkit::{Fixture, Reply, Req, HANG_GUARD};
use serde_json::{json, Value};

/// How long to watch for something that must not happen.
const QUIET: Duration = Duration::from_millis(300);

/// The service under test, killed if a test fails before asking it to exit.
struct Service {
    child: Child,
    base: String,
    _stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl Service {
    async fn start() -> Service {
        let stderr = if std::env::var_os("FEEDSCOPE_TEST_LOG").is_some() { Stdio::inherit() } else { Stdio::null() };
        let mut child = Command::new(env!("CARGO_BIN_EXE_sse-test-service"))
            .args(["--port", "0"])
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start sse-test-service");
        let stdout = child.stdout.take().expect("piped stdout");
        let read = tokio::task::spawn_blocking(move || {
            let mut reader = std::io::BufReader::new(stdout);
            let mut line = String::new();
            reader.read_line(&mut line).map(|_| (line, reader))
        });
        let (line, reader) = tokio::time::timeout(HANG_GUARD, read)
            .await
            .expect("the service printed its address in time")
            .expect("reader task")
            .expect("read the service's stdout");
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        assert!(base.starts_with("http://127.0.0.1:"), "binds loopback by default: {base}");
        Service { child, base, _stdout: reader }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `DELETE /`, then waits for the process to end.
    async fn quit(mut self) {
        let resp = http().delete(self.url("/")).send().await.expect("DELETE /");
        assert!(resp.status().is_success(), "DELETE / answered {}", resp.status());
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the service") {
                assert!(status.success(), "the service exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "the service did not exit after DELETE /");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("HTTP client")
}

async fn post_json(url: &str, body: &Value) -> reqwest::Response {
    let req = http().post(url).header("content-type", "application/json").body(body.to_string());
    req.send().await.unwrap_or_else(|e| panic!("POST {url}: {e}"))
}

/// Creates a stream and returns its resource URL.
async fn create(service: &Service, params: Value) -> String {
    let resp = post_json(&service.url("/"), &params).await;
    let status = resp.status();
    let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(status, StatusCode::CREATED, "POST / answered {status}: {:?}", resp.text().await);
    let location = location.expect("a Location header");
    if location.starts_with("http") {
        location
    } else {
        service.url(&location)
    }
}

// ---------------------------------------------------------------------------------------------
// The SSE server: an interactive fixture, each request a `Conn` the test writes to.

/// 200 `text/event-stream` with a close-delimited body (204 on `/nocontent`); what follows the
/// head is up to the test.
fn sse_head(_: usize, req: &Req) -> Reply {
    if req.path == "/nocontent" {
        return Reply::status(204);
    }
    Reply::sse_steps(Vec::new()).header("Cache-Control", "no-cache").until_close()
}

// ---------------------------------------------------------------------------------------------
// The callback receiver: what the service reported, by stream name and callback number.

struct Callbacks {
    fixture: Fixture,
}

impl Callbacks {
    async fn start() -> Callbacks {
        let fixture = Fixture::start(|_, req| {
            if serde_json::from_slice::<Value>(&req.body).is_err() {
                return Reply::status(400);
            }
            Reply { status: 202, headers: Vec::new(), steps: Vec::new() }
        })
        .await;
        Callbacks { fixture }
    }

    fn url(&self, stream: &str) -> String {
        self.fixture.url(&format!("/{stream}"))
    }

    /// The callbacks of `stream` so far, by number (a number sent twice fails the test).
    fn received(&self, stream: &str) -> HashMap<u64, Value> {
        let prefix = format!("/{stream}/");
        let mut messages = HashMap::new();
        for req in self.fixture.requests() {
            let Some(n) = req.path.strip_prefix(&prefix).and_then(|n| n.parse().ok()) else { continue };
            assert_eq!(req.method, "POST", "callback {stream}/{n}");
            let Ok(message) = serde_json::from_slice::<Value>(&req.body) else { continue };
            let previous = messages.insert(n, message);
            assert!(previous.is_none(), "callback {stream}/{n} sent twice");
        }
        messages
    }

    fn count(&self, stream: &str) -> usize {
        self.received(stream).len()
    }

    /// Waits for callback `n` of `stream`; all earlier ones must be there too (the service posts in order).
    async fn get(&self, stream: &str, n: u64) -> Value {
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            let messages = self.received(stream);
            if let Some(m) = messages.get(&n) {
                for earlier in 1..n {
                    assert!(messages.contains_key(&earlier), "callback {n} before {earlier}");
                }
                return m.clone();
            }
            if Instant::now() > deadline {
                panic!("no callback {stream}/{n}; received: {messages:?}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn event(event_type: &str, data: &str, id: &str) -> Value {
    json!({"kind": "event", "event": {"type": event_type, "data": data, "id": id}})
}

fn assert_error(message: &Value) {
    assert_eq!(message["kind"], "error", "expected an error callback, got {message}");
    assert!(message["error"].as_str().is_some_and(|e| !e.is_empty()), "an error names its reason: {message}");
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn status_lists_capabilities_and_bad_requests_are_refused() {
    let service = Service::start().await;
    let client = http();

    let text = client.get(service.url("/")).send().await.expect("GET /").text().await.expect("status body");
    let status: Value = serde_json::from_str(&text).expect("JSON status");
    assert_eq!(status["name"], "feedscope");
    let caps: Vec<&str> =
        status["capabilities"].as_array().expect("capabilities").iter().filter_map(Value::as_str).collect();
    for cap in ["comments", "headers", "last-event-id", "post", "report", "read-timeout", "restart", "bom"] {
        assert!(caps.contains(&cap), "capability {cap} missing from {caps:?}");
    }
    assert!(!caps.contains(&"event-type-listeners"), "every event type is reported without a listen command");

    let refused = |body: &'static str| {
        let req = client.post(service.url("/")).header("content-type", "application/json").body(body);
        async move {
            let resp = req.send().await.expect("POST /");
            let status = resp.status();
            let text = resp.text().await.expect("body");
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body} gave {status}");
            assert!(!text.is_empty(), "a 400 says why");
            text
        }
    };
    refused("{not json").await;
    refused(r#"{"streamUrl": "http://127.0.0.1:1/"}"#).await;
    refused(r#"{"streamUrl": "http://127.0.0.1:1/", "callbackUrl": "http://127.0.0.1:1/", "initialDelayMs": -5}"#)
        .await;
    let why = refused(r#"{"streamUrl": "ftp://127.0.0.1/", "callbackUrl": "http://127.0.0.1:1/"}"#).await;
    assert!(why.contains("scheme"), "names the problem: {why}");
    refused(r#"{"streamUrl": "http://127.0.0.1:1/", "callbackUrl": "http://127.0.0.1:1/", "headers": {"a b": "x"}}"#)
        .await;

    let restart = json!({"command": "restart"});
    let resp = post_json(&service.url("/streams/42"), &restart).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = client.delete(service.url("/streams/42")).send().await.expect("delete");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    service.quit().await;
}

#[tokio::test]
async fn stream_reports_in_order_reconnects_restarts_and_stops() {
    let service = Service::start().await;
    let sse = Fixture::interactive(sse_head).await;
    let callbacks = Callbacks::start().await;
    let client = http();

    let a = create(
        &service,
        json!({
            "tag": "a", "streamUrl": sse.url("/a"), "callbackUrl": callbacks.url("a"),
            "initialDelayMs": 50, "readTimeoutMs": null, "lastEventId": null,
            "headers": {"x-feedscope-test": "yes"},
        }),
    )
    .await;

    // First connection: a comment, an event with type and id, then the server ends the body.
    let conn = sse.next().await;
    assert_eq!((conn.req.method.as_str(), conn.req.path.as_str()), ("GET", "/a"));
    assert_eq!(conn.req.header("accept"), Some("text/event-stream"));
    assert_eq!(conn.req.header("x-feedscope-test"), Some("yes"));
    assert_eq!(conn.req.header("last-event-id"), None, "no Last-Event-ID before any id");
    conn.send(":hello\n");
    conn.send("event: greet\nid: 7\ndata: hi\n\n");
    assert_eq!(callbacks.get("a", 1).await, json!({"kind": "comment", "comment": "hello"}));
    assert_eq!(callbacks.get("a", 2).await, event("greet", "hi", "7"));
    conn.close();
    assert_error(&callbacks.get("a", 3).await);

    // The reconnection resumes from the last event ID, which later events keep.
    let conn = sse.next().await;
    assert_eq!(conn.req.path, "/a");
    assert_eq!(conn.req.header("last-event-id"), Some("7"));
    conn.send("data: again\n\n");
    assert_eq!(callbacks.get("a", 4).await, event("message", "again", "7"));

    // `restart` drops the open connection and connects again at once; a restart the harness
    // asked for is no error: the next callback is the next event.
    let resp = post_json(&a, &json!({"command": "restart"})).await;
    assert!(resp.status().is_success(), "restart answered {}", resp.status());
    let next = sse.next().await;
    conn.closed_by_client().await;
    assert_eq!(next.req.header("last-event-id"), Some("7"));
    next.send("id: 9\ndata: fresh\n\n");
    assert_eq!(callbacks.get("a", 5).await, event("message", "fresh", "9"));

    let resp = post_json(&a, &json!({"command": "fly"})).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.text().await.expect("body").contains("fly"));

    // A second client: POST with a body, and an initial last event ID.
    let b = create(
        &service,
        json!({
            "tag": "b", "streamUrl": sse.url("/b"), "callbackUrl": callbacks.url("b"),
            "initialDelayMs": 50, "lastEventId": "start", "method": "POST", "body": "{\"hello\": \"world\"}",
            "headers": {"content-type": "application/json"},
        }),
    )
    .await;
    assert_ne!(a, b);
    let conn_b = sse.next().await;
    assert_eq!((conn_b.req.method.as_str(), conn_b.req.path.as_str()), ("POST", "/b"));
    assert_eq!(conn_b.req.header("last-event-id"), Some("start"));
    assert_eq!(conn_b.req.header("content-type"), Some("application/json"));
    assert_eq!(conn_b.req.body, b"{\"hello\": \"world\"}");
    conn_b.send("data: b1\n\n");
    assert_eq!(callbacks.get("b", 1).await, event("message", "b1", "start"));

    // Deleting A stops A (its connection closes, nothing more is reported) and not B.
    let resp = client.delete(&a).send().await.expect("DELETE a");
    assert_eq!(resp.status(), StatusCode::OK);
    next.closed_by_client().await;
    conn_b.send("data: b2\n\n");
    assert_eq!(callbacks.get("b", 2).await, event("message", "b2", "start"));
    sse.assert_no_new_request(QUIET).await;
    assert_eq!(callbacks.count("a"), 5, "no callback after DELETE");
    let resp = post_json(&a, &json!({"command": "restart"})).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    let resp = client.delete(&b).send().await.expect("DELETE b");
    assert_eq!(resp.status(), StatusCode::OK);
    conn_b.closed_by_client().await;
    assert_eq!(callbacks.count("b"), 2);

    service.quit().await;
}

#[tokio::test]
async fn read_timeout_drops_a_silent_connection() {
    let service = Service::start().await;
    let sse = Fixture::interactive(sse_head).await;
    let callbacks = Callbacks::start().await;

    create(
        &service,
        json!({
            "streamUrl": sse.url("/quiet"), "callbackUrl": callbacks.url("q"),
            "initialDelayMs": 50, "readTimeoutMs": 200,
        }),
    )
    .await;
    let first = sse.next().await;
    first.send("data: only\n\n");
    assert_eq!(callbacks.get("q", 1).await, event("message", "only", ""));
    assert_error(&callbacks.get("q", 2).await);
    first.closed_by_client().await;
    let _second = sse.next().await;

    service.quit().await;
}

#[tokio::test]
async fn http_204_is_reported_and_not_retried() {
    let service = Service::start().await;
    let sse = Fixture::interactive(sse_head).await;
    let callbacks = Callbacks::start().await;

    create(
        &service,
        json!({"streamUrl": sse.url("/nocontent"), "callbackUrl": callbacks.url("n"), "initialDelayMs": 50}),
    )
    .await;
    assert_eq!(sse.next().await.req.path, "/nocontent");
    assert_error(&callbacks.get("n", 1).await);
    sse.assert_no_new_request(QUIET).await;
    assert_eq!(callbacks.count("n"), 1);

    service.quit().await;
}
