//! The built `feedscope` binary against loopback servers: output formats, stop conditions,
//! exit statuses, usage errors, and the demo → tail → replay round trip.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use feedscope_core::{Body, Record};
use feedscope_testkit::{Fixture, Reply, Req, Step};

mod common;
use common::{args, records, run, BIN};

fn event_data(rs: &[Record]) -> Vec<String> {
    rs.iter().filter_map(|r| if let Body::Event { data, .. } = &r.body { Some(data.clone()) } else { None }).collect()
}

fn hanging_feed(n: usize) -> impl Fn(usize, &Req) -> Reply {
    move |_, _| {
        let body: String = (1..=n).map(|i| format!("id: {i}\nevent: tick\ndata: {i}\n\n")).collect();
        Reply::sse_steps(vec![Step::Send(body.into_bytes()), Step::Hang])
    }
}

#[tokio::test]
async fn ndjson_prints_exact_records_and_stops_after_max_events() {
    let fx = Fixture::start(hanging_feed(5)).await;
    let out = run(args(&["tail", &fx.url("/"), "--format", "ndjson", "-n", "3", "--name", "t"])).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rs = records(&out);
    assert_eq!(event_data(&rs), ["1", "2", "3"]);
    let kinds: Vec<&str> = rs.iter().map(|r| r.body.kind().as_str()).collect();
    assert_eq!(kinds, ["connecting", "open", "event", "event", "event", "closed"]);
    assert!(rs.iter().all(|r| &*r.feed == "t"));
    assert_eq!(
        rs.last().unwrap().body,
        Body::Closed {
            reason: "stopped by the user".into(),
            cause: feedscope_core::Cause::UserStop,
            fatal: false,
            detail: String::new()
        }
    );
}

#[tokio::test]
async fn output_file_gets_the_same_ndjson_log() {
    let fx = Fixture::start(hanging_feed(2)).await;
    let path = std::env::temp_dir().join(format!("feedscope-cli-{}.ndjson", std::process::id()));
    let out = run(args(&["tail", &fx.url("/"), "--format", "ndjson", "-n", "2", "-o", path.to_str().unwrap()])).await;
    assert!(out.status.success());
    let file = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(file, String::from_utf8_lossy(&out.stdout));
}

#[tokio::test]
async fn fatal_close_exits_1_with_the_reason_on_stderr() {
    let fx = Fixture::start(|_, _| Reply::status(404)).await;
    let out = run(args(&["tail", &fx.url("/missing"), "--format", "ndjson"])).await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("404") && err.contains("/missing"), "{err}");
}

#[tokio::test]
async fn lying_content_type_exits_1() {
    let fx = Fixture::start(|_, _| Reply::sse("data: x\n\n").header("Content-Type", "text/html")).await;
    let out = run(args(&["tail", &fx.url("/"), "--format", "ndjson"])).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("text/html"));
}

#[tokio::test]
async fn server_204_exits_0() {
    let fx = Fixture::start(|n, _| if n == 0 { Reply::sse("data: a\n\n") } else { Reply::status(204) }).await;
    let out = run(args(&["tail", &fx.url("/"), "--format", "ndjson", "--retry-ms", "10"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(event_data(&records(&out)), ["a"]);
}

#[tokio::test]
async fn duration_stops_a_quiet_feed() {
    let fx = Fixture::start(|_, _| Reply::sse_steps(vec![Step::Hang])).await;
    let out = run(args(&["tail", &fx.url("/"), "--format", "ndjson", "--duration", "0.3"])).await;
    assert!(out.status.success());
    assert_eq!(records(&out).last().unwrap().body.kind(), feedscope_core::Kind::Closed);
}

#[tokio::test]
async fn method_headers_body_and_last_event_id_are_sent() {
    let fx = Fixture::start(|_, _| Reply::status(204)).await;
    let out = run(args(&[
        "tail",
        &fx.url("/chat"),
        "-X",
        "post",
        "-H",
        "Authorization: Bearer abc",
        "-H",
        "X-Trace:1",
        "-d",
        "{\"q\":1}",
        "--last-event-id",
        "41",
        "--format",
        "ndjson",
    ]))
    .await;
    assert!(out.status.success());
    let req = &fx.requests()[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.header("authorization"), Some("Bearer abc"));
    assert_eq!(req.header("x-trace"), Some("1"));
    assert_eq!(req.header("last-event-id"), Some("41"));
    assert_eq!(req.body, b"{\"q\":1}");
}

#[tokio::test]
async fn a_body_without_a_method_is_posted_as_curl_does() {
    let fx = Fixture::start(|_, _| Reply::status(204)).await;
    let out = run(args(&["tail", &fx.url("/chat"), "-d", "{}", "--format", "ndjson"])).await;
    assert!(out.status.success());
    let out = run(args(&["tail", &fx.url("/plain"), "--format", "ndjson"])).await;
    assert!(out.status.success());
    let methods: Vec<String> = fx.requests().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods, ["POST", "GET"]);
}

#[tokio::test]
async fn pretty_output_is_readable_and_escapes_control_characters() {
    let fx = Fixture::start(|_, _| {
        Reply::sse_steps(vec![Step::Send(b"event: chat\nid: 7\ndata: hi\x1b[2J\ndata: there\n\n".to_vec()), Step::Hang])
    })
    .await;
    let out = run(args(&["tail", &fx.url("/"), "--format", "pretty", "-n", "1"])).await;
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("● open"), "{text}");
    assert!(text.contains("chat #1 id=7  hi\\x1b[2J"), "{text}");
    assert!(text.contains("│ there"), "{text}");
    assert!(!text.contains('\x1b'), "no raw escape reaches the terminal: {text:?}");
}

#[tokio::test]
async fn usage_errors_exit_2_with_one_clear_line() {
    for (argv, needle) in [
        (vec!["tail", "ftp://example.test/"], "http or https"),
        (vec!["tail", "not a url"], "invalid URL"),
        (vec!["tail", "http://127.0.0.1:1/", "-H", "NoColonHere"], "malformed header"),
        (vec!["tail", "http://127.0.0.1:1/", "--mode", "firefox"], "firefox"),
        (vec!["tail"], "URL"),
        (vec!["frobnicate"], "frobnicate"),
    ] {
        let out = run(args(&argv)).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{argv:?}: {err}");
        assert!(err.contains(needle), "{argv:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[tokio::test]
async fn help_lists_the_commands() {
    let out = run(args(&["--help"])).await;
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in ["tail", "demo", "replay"] {
        assert!(text.contains(cmd), "{text}");
    }
    let out = run(args(&["tail", "--help"])).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("--last-event-id"));
}

/// Starts `feedscope ARGS` and returns it with the first URL it prints.
fn spawn_server(argv: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(BIN).args(argv).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("server printed its URL").expect("read");
        if let Some(i) = line.find("http://") {
            break line[i..].split_whitespace().next().unwrap().to_owned();
        }
    };
    (child, url)
}

/// Ends a server and checks it did not crash before that.
fn stop(mut child: std::process::Child) {
    assert!(child.try_wait().unwrap().is_none(), "the server exited early");
    child.kill().ok();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
}

#[tokio::test]
async fn demo_then_tail_then_replay_round_trip() {
    let (demo, url) = spawn_server(&["demo", "--port", "0", "--rate", "200"]);
    assert!(url.ends_with("/events"), "{url}");
    let log = std::env::temp_dir().join(format!("feedscope-roundtrip-{}.ndjson", std::process::id()));
    let out = run(args(&["tail", &url, "--format", "ndjson", "-n", "12", "-o", log.to_str().unwrap()])).await;
    stop(demo);
    assert!(out.status.success());
    let recorded = records(&out);
    let types: std::collections::BTreeSet<String> = recorded
        .iter()
        .filter_map(|r| if let Body::Event { event_type, .. } = &r.body { Some(event_type.to_string()) } else { None })
        .collect();
    assert!(types.len() >= 3, "the demo mixes event types: {types:?}");

    let (replay, rurl) = spawn_server(&["replay", log.to_str().unwrap(), "--port", "0", "--speed", "0"]);
    let out = run(args(&["tail", &rurl, "--format", "ndjson", "-n", "12"])).await;
    stop(replay);
    std::fs::remove_file(&log).ok();
    let replayed = records(&out);
    let strip = |rs: &[Record]| -> Vec<(String, String, String)> {
        rs.iter()
            .filter_map(|r| match &r.body {
                Body::Event { event_type, id, data, .. } => {
                    Some((event_type.to_string(), id.to_string(), data.clone()))
                }
                _ => None,
            })
            .collect()
    };
    assert_eq!(strip(&replayed), strip(&recorded));
}

#[tokio::test]
async fn replay_of_a_corrupt_log_names_the_line() {
    let log = std::env::temp_dir().join(format!("feedscope-bad-{}.ndjson", std::process::id()));
    std::fs::write(
        &log,
        "{\"kind\":\"comment\",\"feed\":\"f\",\"ts\":\"2026-01-01T00:00:00.000Z\",\"text\":\"x\"}\nnot json\n",
    )
    .unwrap();
    let out = run(args(&["replay", log.to_str().unwrap()])).await;
    std::fs::remove_file(&log).ok();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains('2'), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn proxy_settings_of_the_environment_are_honoured() {
    // The fixture plays the proxy: it receives the request in absolute form.
    let proxy = Fixture::start(|_, _| Reply::status(204)).await;
    let proxy_url = proxy.url("");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(["tail", "http://feed.example.invalid/events", "--format", "ndjson"])
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .env("HTTP_PROXY", &proxy_url)
            .env("http_proxy", &proxy_url)
            .output()
            .expect("run feedscope")
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(proxy.requests()[0].path, "http://feed.example.invalid/events");
}

fn event_seqs(rs: &[Record]) -> Vec<u64> {
    rs.iter().filter_map(|r| if let Body::Event { seq, .. } = r.body { Some(seq) } else { None }).collect()
}

#[tokio::test]
async fn max_events_writes_exactly_n_of_a_burst_and_sends_no_more_requests() {
    // 50,000 events in one burst, then the end of the body: `-n` stops inside the burst, and the
    // feed must neither print past it nor reconnect.
    let body: String = (1..=50_000).map(|i| format!("id: {i}\ndata: {i}\n\n")).collect();
    let fx = Fixture::start(move |_, _| Reply::sse(&body)).await;
    let out = run(args(&["tail", &fx.url("/"), "--format", "ndjson", "-n", "30000", "--retry-ms", "10"])).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rs = records(&out);
    assert_eq!(event_seqs(&rs), (1..=30_000).collect::<Vec<_>>());
    let last: Vec<&str> = rs[rs.len() - 2..].iter().map(|r| r.body.kind().as_str()).collect();
    assert_eq!(last, ["event", "closed"], "nothing between the Nth event and closed");
    assert_eq!(fx.requests().len(), 1);
}

#[tokio::test]
async fn a_slow_reader_of_stdout_gets_every_record() {
    // 200,000 events: far more than the printer's queue. A reader that takes its time holds the
    // feed back (backpressure) instead of losing records.
    const N: u64 = 200_000;
    let body: String = (1..=N).map(|i| format!("id: {i}\ndata: {i}\n\n")).collect();
    let fx = Fixture::start(move |n, _| if n == 0 { Reply::sse(&body) } else { Reply::status(204) }).await;
    let url = fx.url("/");
    let seqs = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(BIN)
            .args(["tail", &url, "--format", "ndjson", "--retry-ms", "10"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("run feedscope");
        let mut seqs = Vec::new();
        for (i, line) in BufReader::new(child.stdout.take().expect("stdout")).lines().enumerate() {
            if i % 20_000 == 0 {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            let r = Record::from_json(&line.expect("a line")).expect("a record");
            if let Body::Event { seq, .. } = r.body {
                seqs.push(seq);
            }
        }
        assert!(child.wait().expect("exit").success());
        seqs
    })
    .await
    .expect("join");
    assert_eq!(seqs, (1..=N).collect::<Vec<_>>());
}
