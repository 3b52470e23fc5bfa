//! `feedscope check` against loopback servers: its exit statuses (0 with no error finding, 1 with
//! one, 2 on a usage error) and its JSON and text output.

use std::process::{Command, Output};
use std::time::Duration;

use feedscope_testkit::diag_servers::{good_reply, well_behaved};
use feedscope_testkit::{Fixture, Reply, Step};

const BIN: &str = env!("CARGO_BIN_EXE_feedscope");

async fn check(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || Command::new(BIN).arg("check").args(args).output().expect("run feedscope"))
        .await
        .expect("join")
}

/// The one JSON object on standard output.
fn report(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not one JSON object: {e}: {text:?}"))
}

fn codes(report: &serde_json::Value) -> Vec<String> {
    report["findings"].as_array().expect("findings").iter().map(|f| f["code"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_well_behaved_stream_exits_0_with_one_json_object() {
    let fx = Fixture::start(well_behaved(Duration::from_millis(100))).await;
    let url = fx.url("/stream");
    let out = check(&[&url, "--duration", "1", "--format", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let r = report(&out);
    let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 2, "{r}");
    assert_eq!(r["url"], url.as_str());
    for f in r["findings"].as_array().unwrap() {
        let mut keys: Vec<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["code", "evidence", "message", "severity"], "{f}");
        assert!(["error", "warning", "info"].contains(&f["severity"].as_str().unwrap()), "{f}");
        assert!(!f["message"].as_str().unwrap().is_empty() && !f["evidence"].as_str().unwrap().is_empty());
    }
    assert_eq!(codes(&r), ["http1"], "{r}");
    assert!(fx.requests().len() == 1, "persistent mode keeps the one connection");
}

#[tokio::test]
async fn an_error_finding_exits_1() {
    let fx = Fixture::start(|_, _| Reply::status(404)).await;
    // The feed closes for good on a 404: check ends then, without waiting out the duration.
    let out = check(&[&fx.url("/missing"), "--format", "json"]).await;
    assert_eq!(out.status.code(), Some(1));
    let r = report(&out);
    assert_eq!(codes(&r), ["status"]);
    assert_eq!(r["findings"][0]["severity"], "error");
    assert!(r["findings"][0]["evidence"].as_str().unwrap().starts_with("HTTP 404 Not Found"), "{r}");
}

#[tokio::test]
async fn text_prints_a_line_per_finding_and_a_summary() {
    let fx = Fixture::start(well_behaved(Duration::from_millis(100))).await;
    let out = check(&[&fx.url("/s"), "--duration", "0.5", "-H", "Origin: https://example.test"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("info    http1           The stream came over HTTP/1.1."), "{text}");
    assert!(lines[0].ends_with("Seen: HTTP/1.1 on 1 response"), "{text}");
    let summary = format!("{}: 0 errors, 0 warnings, 1 info: a browser would be happy with this stream", fx.url("/s"));
    assert!(lines[1].starts_with(&summary), "{text}");
    assert_eq!(fx.requests()[0].header("origin"), Some("https://example.test"), "-H is sent");
}

#[tokio::test]
async fn a_server_that_closes_after_every_event_fails_the_check() {
    // `retry: 10` makes the reconnections quick (and is itself a warning).
    let fx = Fixture::start(|n, _| {
        good_reply(vec![Step::Send(format!("retry: 10\nid: {}\ndata: x\n\n", n + 1).into_bytes())])
    })
    .await;
    let out = check(&[&fx.url("/poll"), "--duration", "2", "--format", "json"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(codes(&report(&out)), ["reconnect-loop", "retry-low", "http1"]);
}

#[tokio::test]
async fn usage_errors_exit_2() {
    for args in [
        &["http://127.0.0.1:9/", "--format", "yaml"][..],
        &["http://127.0.0.1:9/", "-H", "no colon"],
        &["http://127.0.0.1:9/", "--duration", "0"],
        &["http://127.0.0.1:9/", "--idle-secs", "-1"],
        &["ftp://127.0.0.1/"],
        &[],
    ] {
        let out = check(args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[tokio::test]
async fn idle_secs_sets_the_idle_limit() {
    let fx = Fixture::start(|_, _| good_reply(vec![Step::Send(b"id: 1\ndata: x\n\n".to_vec()), Step::Hang])).await;
    let out = check(&[&fx.url("/"), "--duration", "1.5", "--idle-secs", "0.5", "--format", "json"]).await;
    assert_eq!(out.status.code(), Some(0));
    let r = report(&out);
    assert_eq!(codes(&r), ["idle", "http1"], "{r}");
    assert!(r["findings"][0]["message"].as_str().unwrap().contains("longer than 500 ms"), "{r}");
}
