//! The fixtures themselves: an interactive connection, a server that goes down and comes back,
//! and the `feedscope-fixture` binary the WebDriver specs steer through stdin and stdout.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use feedscope_core::sse::Item;
use feedscope_testkit::{e2e, events, fetch_all, fetch_until, Fixture, Reply, Step, HANG_GUARD};
use futures_util::StreamExt;

const QUIET: Duration = Duration::from_millis(200);

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("HTTP client")
}

#[tokio::test]
async fn an_interactive_conn_writes_after_the_script_and_learns_when_the_client_leaves() {
    let fx = Fixture::interactive(|_, _| Reply::sse("data: scripted\n\n")).await;
    let response = client().get(fx.url("/live")).send().await.expect("request");
    let conn = fx.next().await;
    assert_eq!((conn.req.method.as_str(), conn.req.path.as_str()), ("GET", "/live"));
    conn.send("data: live\n\n");
    let mut body = response.bytes_stream();
    let mut text = String::new();
    while !text.contains("data: live\n\n") {
        let chunk = tokio::time::timeout(HANG_GUARD, body.next()).await.expect("bytes").expect("open").expect("ok");
        text.push_str(std::str::from_utf8(&chunk).expect("utf-8"));
    }
    assert_eq!(text, "data: scripted\n\ndata: live\n\n");
    assert!(!conn.is_closed());
    drop(body);
    conn.closed_by_client().await;
    fx.assert_no_new_request(QUIET).await;

    // Closing the `Conn` ends the body cleanly.
    let again = fx.url("/again");
    let fetching = tokio::spawn(async move { fetch_all(&again, None).await });
    let conn = fx.next().await;
    conn.send("id: 1\ndata: last\n\n");
    conn.close();
    let got = fetching.await.expect("fetch");
    assert!(got.ended);
    let event = |id: &str, data: &str| ("message".to_owned(), id.to_owned(), data.to_owned());
    assert_eq!(got.events(), [event("", "scripted"), event("1", "last")]);
    assert_eq!(fx.requests().len(), 2);
}

#[tokio::test]
async fn a_paused_fixture_cuts_and_refuses_connections_and_resumes_on_the_same_port() {
    let fx = Fixture::start(|_, _| Reply::sse_steps(vec![Step::Send(b"data: hi\n\n".to_vec()), Step::Hang])).await;
    let url = fx.url("/");
    let open = fetch_until(&url, None, |items| !items.is_empty()).await;
    assert!(!open.ended);
    let response = client().get(&url).send().await.expect("request");
    let mut body = response.bytes_stream();
    assert!(matches!(body.next().await, Some(Ok(_))));

    fx.pause().await;
    while let Some(Ok(_)) = tokio::time::timeout(HANG_GUARD, body.next()).await.expect("the cut connection ends") {}
    assert!(client().get(&url).send().await.is_err(), "nothing listens while paused");

    fx.resume().await;
    let again = fetch_until(&url, None, |items| !items.is_empty()).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.items, [Item::Event { event_type: "message".into(), id: "".into(), data: "hi".into() }]);
    assert_eq!(fx.requests().len(), 3);
}

/// The `feedscope-fixture` process, killed when dropped.
struct FixtureBin {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    base: String,
}

impl FixtureBin {
    fn start() -> FixtureBin {
        let mut child = Command::new(env!("CARGO_BIN_EXE_feedscope-fixture"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start feedscope-fixture");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut fixture = FixtureBin { child, stdin, lines, base: String::new() };
        let first = fixture.line();
        fixture.base = first.strip_prefix("listening on ").unwrap_or_else(|| panic!("first line {first:?}")).to_owned();
        assert!(fixture.base.starts_with("http://127.0.0.1:"), "{}", fixture.base);
        fixture
    }

    fn line(&self) -> String {
        self.lines.recv_timeout(HANG_GUARD).expect("a line from feedscope-fixture")
    }

    /// The Last-Event-ID of the next reported request.
    fn request(&self) -> serde_json::Value {
        let line = self.line();
        let json = line.strip_prefix("request ").unwrap_or_else(|| panic!("not a request line: {line:?}"));
        let request: serde_json::Value = serde_json::from_str(json).expect("JSON");
        assert!(request["at"].as_u64().is_some_and(|at| at > 0), "{request}");
        request["leid"].clone()
    }

    fn command(&mut self, command: &str, answer: &str) {
        writeln!(self.stdin, "{command}").expect("write a command");
        assert_eq!(self.line(), answer);
    }
}

impl Drop for FixtureBin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tick(n: u64) -> (String, String, String) {
    let (event_type, parity) = if n % 2 == 1 { ("alpha", "odd") } else { ("beta", "even") };
    (event_type.into(), n.to_string(), format!(r#"{{"n":{n},"parity":"{parity}","word":"{event_type}"}}"#))
}

#[tokio::test]
async fn the_e2e_fixture_streams_resumes_fails_once_and_goes_down_on_command() {
    let mut fixture = FixtureBin::start();
    let stream = format!("{}/stream", fixture.base);

    let got = fetch_until(&stream, None, |items| events(items).len() >= 3).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.content_type(), "text/event-stream");
    assert_eq!(got.headers["cache-control"], "no-cache");
    assert_eq!(got.headers["x-fixture"], "feedscope-e2e");
    assert_eq!(got.items[..2], [Item::Retry(300), Item::Comment(" hello from the e2e fixture".into())]);
    assert_eq!(got.events()[..3], [tick(1), tick(2), tick(3)]);
    assert_eq!(fixture.request(), serde_json::Value::Null);

    let resumed = fetch_until(&stream, Some("41"), |items| events(items).len() >= 2).await;
    assert_eq!(resumed.events()[..2], [tick(42), tick(43)]);
    assert_eq!(fixture.request(), "41");
    assert_eq!(e2e::event(42), "event: beta\nid: 42\ndata: {\"n\":42,\"parity\":\"even\",\"word\":\"beta\"}\n\n");

    let missing = client().get(format!("{}/other", fixture.base)).send().await.expect("request");
    assert_eq!(missing.status().as_u16(), 404);

    let failing = format!("{stream}?fail=503");
    let first = client().get(&failing).send().await.expect("request");
    assert_eq!(first.status().as_u16(), 503);
    assert_eq!(first.headers()["retry-after"], "1");
    assert_eq!(first.text().await.expect("body"), "try later");
    fixture.request();
    let second = fetch_until(&failing, None, |items| !events(items).is_empty()).await;
    assert_eq!(second.status, 200, "only the first request fails");
    fixture.request();

    // The stream stays open until the fixture goes down.
    let response = client().get(&stream).send().await.expect("request");
    fixture.request();
    let mut body = response.bytes_stream();
    assert!(matches!(body.next().await, Some(Ok(_))));
    fixture.command("drop", "dropped");
    while let Some(Ok(_)) = tokio::time::timeout(HANG_GUARD, body.next()).await.expect("the cut stream ends") {}
    assert!(client().get(&stream).send().await.is_err(), "refused while down");
    fixture.command("resume", "resumed");
    let back = fetch_until(&stream, Some("7"), |items| !events(items).is_empty()).await;
    assert_eq!(back.events()[0], tick(8));
    assert_eq!(fixture.request(), "7");
}
