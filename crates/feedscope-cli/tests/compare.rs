//! `feedscope compare`: the demo's live feed over its four transports side by side (the demo
//! started in-process on loopback), or the URLs given. The figures are checked for what is true
//! of every run (each event once, the counters filled in), never for how fast it was.

use feedscope_server::demo::{router, DemoOptions};
use feedscope_testkit::serve_loopback;
use serde_json::Value;

mod common;
use common::{args, run, stderr, stdout};

fn report(out: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("not JSON: {}: {e}", stdout(out)))
}

#[tokio::test]
async fn every_transport_delivers_every_event_of_the_demo_once() {
    let out = run(args(&["compare", "--duration", "3", "--format", "json"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let r = report(&out);
    assert_eq!((r["duration_ms"].as_u64(), r["warmup_ms"].as_u64()), (Some(3000), Some(1000)));
    assert_eq!(r["shared_source"], true);
    // The poll's interval (1 s) and a second.
    assert_eq!(r["drain_ms"], 2000);
    let rows = r["transports"].as_array().expect("transports");
    let names: Vec<&str> = rows.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["sse", "websocket", "long-poll", "poll"]);
    let transports: Vec<&str> = rows.iter().map(|t| t["transport"].as_str().unwrap()).collect();
    assert_eq!(transports, ["sse", "websocket", "long-poll", "poll"]);
    for t in rows {
        let name = t["name"].as_str().unwrap();
        // 3 s at the default 10 events/s; the span's edges may cut one either way.
        let events = t["events"].as_u64().unwrap();
        assert!((25..=35).contains(&events), "{name}: {t}");
        assert_eq!((t["missed"].as_u64(), t["duplicated"].as_u64()), (Some(0), Some(0)), "{name}: {t}");
        assert_eq!(t["last_n"].as_u64().unwrap() - t["first_n"].as_u64().unwrap() + 1, events, "{name}");
        for field in ["p50_ms", "p99_ms", "max_ms"] {
            assert!(t["latency"][field].as_i64().is_some_and(|ms| ms >= 0), "{name}: {field}: {t}");
        }
        assert!(t["latency"]["p50_ms"].as_i64() <= t["latency"]["p99_ms"].as_i64(), "{name}");
        assert!(t["requests"].as_u64().unwrap() >= 1, "{name}: {t}");
        assert!(t["connections"].as_u64().unwrap() >= 1, "{name}: {t}");
        assert!(t["wire_bytes"].as_u64().unwrap() > 0, "{name}: {t}");
        assert!(t["bytes_per_event"].as_f64().is_some_and(|b| b > 0.0), "{name}: {t}");
        assert_eq!(t["problem"], Value::Null, "{name}: {t}");
        assert_eq!(t["other"], 0, "{name}: {t}");
    }
    // One source: every feed was measured against the same events.
    assert!(rows.windows(2).all(|w| w[0]["first_n"] == w[1]["first_n"] && w[0]["last_n"] == w[1]["last_n"]));
    // A stream is one request; long polling one or more per event; a poll one per interval.
    assert_eq!((rows[0]["requests"].as_u64(), rows[1]["requests"].as_u64()), (Some(1), Some(1)));
    assert!(rows[2]["requests"].as_u64().unwrap() > 10, "{}", rows[2]);
    let polls = rows[3]["requests"].as_u64().unwrap();
    assert!((4..=8).contains(&polls), "6 s of polls at 1 s: {polls}");
    // Polling and long polling keep their connection alive.
    assert_eq!((rows[2]["connections"].as_u64(), rows[3]["connections"].as_u64()), (Some(1), Some(1)));
}

#[tokio::test]
async fn the_table_has_a_row_per_transport_with_every_figure() {
    let out = run(args(&["compare", "--duration", "1", "--interval", "0.5", "--rate", "20"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("the demo's live feed, 20 events/s, on http://127.0.0.1:"), "{text}");
    assert!(lines[0].ends_with("1.0 s measured after 1.0 s of warm-up, poll every 500 ms"), "{text}");
    let header: Vec<&str> = lines[1].split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
    assert_eq!(
        header,
        ["transport", "events", "p50 ms", "p99 ms", "requests", "connections", "bytes/event", "missed", "duplicated"]
    );
    for (line, name) in lines[2..6].iter().zip(["sse", "websocket", "long-poll", "poll"]) {
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells.len(), 9, "{line}");
        assert_eq!(cells[0], name);
        assert!(cells[1..].iter().all(|c| c.parse::<f64>().is_ok()), "{line}");
        assert_eq!(cells[7..], ["0", "0"], "{line}");
    }
    assert_eq!(lines.len(), 6, "{text}");
}

#[tokio::test]
async fn given_urls_are_compared_alone_and_one_that_delivers_nothing_fails() {
    let server = serve_loopback(router(DemoOptions { rate: 20.0, ..DemoOptions::default() })).await;
    let ws = format!("ws://{}/ws", server.addr);
    let out = run(args(&[
        "compare",
        "--duration",
        "1",
        "--sse",
        &server.url("/live"),
        "--ws",
        &ws,
        "--same-source",
        "--format",
        "json",
    ]))
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let r = report(&out);
    assert_eq!(r["shared_source"], true);
    let rows = r["transports"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0]["url"].as_str(), rows[1]["url"].as_str()),
        (Some(server.url("/live").as_str()), Some(ws.as_str()))
    );
    for t in rows {
        assert!(t["events"].as_u64().unwrap() >= 10, "{t}");
        assert_eq!((t["missed"].as_u64(), t["duplicated"].as_u64()), (Some(0), Some(0)), "{t}");
    }

    // Nothing listens on port 9: the report says why and the exit status is 1.
    let out =
        run(args(&["compare", "--duration", "1", "--sse", &server.url("/live"), "--poll", "http://127.0.0.1:9/poll"]))
            .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("poll (http://127.0.0.1:9/poll) delivered no event of the measured span: "), "{err}");
    assert!(err.contains("refused"), "{err}");
    assert!(stdout(&out).contains("poll: "), "the table names the problem too: {}", stdout(&out));
    server.shutdown().await;
}

#[tokio::test]
async fn bad_flags_are_usage_errors() {
    let cases: &[(&[&str], &str)] = &[
        (&["--duration", "0"], "invalid --duration 0"),
        (&["--duration", "x"], "invalid value 'x'"),
        (&["--interval", "0.1"], "invalid --interval 0.1"),
        (&["--rate", "0"], "invalid --rate 0"),
        (&["--rate", "5", "--sse", "http://127.0.0.1:9/live"], "cannot be used with"),
        (&["--sse", "ftp://127.0.0.1/live"], "--sse ftp://127.0.0.1/live: URL scheme must be"),
        (&["--ws", "http://127.0.0.1/ws", "--long-poll", "ws://127.0.0.1/lp"], "--long-poll ws://127.0.0.1/lp"),
        (&["--format", "csv"], "invalid value 'csv'"),
    ];
    for (extra, want) in cases {
        let mut a = args(&["compare"]);
        a.extend(extra.iter().map(|s| s.to_string()));
        let out = run(a).await;
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{extra:?}: {}", stderr(&out));
    }
    let help = run(args(&["compare", "--help"])).await;
    let text = stdout(&help);
    for word in
        ["--duration", "--interval", "--sse", "--ws", "--long-poll", "--poll", "--format", "sent_at", "Exit status"]
    {
        assert!(text.contains(word), "{word}: {text}");
    }
}
