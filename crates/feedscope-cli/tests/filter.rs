//! `feedscope tail --filter EXPR` against loopback servers: only matching records are written,
//! `-n` counts matching events, and a malformed query is a usage error pointing at its column.

use feedscope_core::{Body, Record};
use feedscope_testkit::{Fixture, Reply, Req, Step};

mod common;
use common::{records, run};

/// Events 1..=6 alternating `price` (JSON with a price of 95 + 5·i) and `tick` (plain text), then
/// the connection stays open.
fn prices(_: usize, _: &Req) -> Reply {
    let body: String = (1..=6)
        .map(|i| {
            if i % 2 == 1 {
                format!("id: {i}\nevent: price\ndata: {{\"symbol\":\"FSC\",\"price\":{}}}\n\n", 95 + 5 * i)
            } else {
                format!("id: {i}\nevent: tick\ndata: tick {i}\n\n")
            }
        })
        .collect();
    Reply::sse_steps(vec![Step::Send(body.into_bytes()), Step::Hang])
}

fn tail(url: &str, filter: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["tail", url, "--format", "ndjson", "--filter", filter].map(String::from).to_vec();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn summary(rs: &[Record]) -> Vec<String> {
    rs.iter()
        .map(|r| match &r.body {
            Body::Event { id, .. } => format!("event {id}"),
            b => b.kind().as_str().to_owned(),
        })
        .collect()
}

#[tokio::test]
async fn only_matching_events_are_written_and_n_counts_them() {
    let fx = Fixture::start(prices).await;
    let out = run(tail(&fx.url("/"), r#"type == "price" && data.price > 100"#, &["-n", "2"])).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Prices are 100, 110, 120: the first is not above 100; connection records have no type.
    assert_eq!(summary(&records(&out)), ["event 3", "event 5"]);
}

#[tokio::test]
async fn connection_records_are_written_when_they_match() {
    let fx = Fixture::start(prices).await;
    let q = r#"kind == "open" or kind == "closed" or (kind == "event" and data ~ "^tick" and id >= 4)"#;
    let out = run(tail(&fx.url("/"), q, &["-n", "2"])).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(summary(&records(&out)), ["open", "event 4", "event 6", "closed"]);
}

#[tokio::test]
async fn missing_json_field_selects_nothing_and_is_no_error() {
    let fx = Fixture::start(prices).await;
    let out = run(tail(&fx.url("/"), "data.volume > 0 || data.choices[0].delta", &["--duration", "1"])).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(records(&out).is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[tokio::test]
async fn malformed_filter_is_a_usage_error_with_a_caret_under_the_column() {
    // No server: the expression is refused before any request.
    let out = run(tail("http://127.0.0.1:9/", r#"type == "price" &&"#, &[])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err, "feedscope: --filter: expected a value at column 19\ntype == \"price\" &&\n                  ^\n");
}

#[tokio::test]
async fn unknown_name_is_a_usage_error() {
    let out = run(tail("http://127.0.0.1:9/", "price > 1", &[])).await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown name `price`") && err.contains("at column 1\nprice > 1\n^\n"), "{err}");
}
