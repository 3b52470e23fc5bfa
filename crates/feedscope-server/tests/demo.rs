//! The demo feed over real HTTP on 127.0.0.1.

use std::collections::BTreeSet;
use std::time::Duration;

use feedscope_core::sse::Item;
use feedscope_server::demo::{router, DemoOptions};
use feedscope_testkit::{fetch_all, fetch_events, fetch_until, serve_loopback, HANG_GUARD};
use futures_util::StreamExt;

fn ids(events: &[(String, String, String)]) -> Vec<u64> {
    events.iter().map(|(_, id, _)| id.parse().expect("numeric id")).collect()
}

#[tokio::test]
async fn events_is_an_event_stream_of_every_type_with_increasing_ids() {
    let server = serve_loopback(router(DemoOptions::default())).await;
    let got = fetch_events(&server.url("/events?rate=2000"), None, 24).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.content_type(), "text/event-stream");
    assert_eq!(got.headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-cache"));
    assert_eq!(got.items[..2], [Item::Retry(2000), Item::Comment(" feedscope demo".into())]);

    let events = got.events();
    let types: BTreeSet<&str> = events.iter().map(|(t, _, _)| t.as_str()).collect();
    assert_eq!(types, BTreeSet::from(["chat", "message", "price", "tick"]));
    assert_eq!(ids(&events), (1..=events.len() as u64).collect::<Vec<_>>());
    for (event_type, _, data) in &events {
        match event_type.as_str() {
            "chat" => assert!((2..=3).contains(&data.lines().count()), "{data:?}"),
            "price" => {
                let quote: serde_json::Value = serde_json::from_str(data).expect("price is JSON");
                assert_eq!(quote["symbol"], "FSC");
                assert!(quote["price"].is_f64() && quote["change"].is_f64(), "{data}");
            }
            "tick" => assert!(data.parse::<u64>().is_ok(), "{data:?}"),
            _ => {}
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn numeric_last_event_id_resumes_with_the_next_id() {
    let server = serve_loopback(router(DemoOptions::default())).await;
    let got = fetch_events(&server.url("/events?rate=2000"), Some("41"), 5).await;
    assert_eq!(ids(&got.events())[..5], [42, 43, 44, 45, 46]);
    server.shutdown().await;
}

#[tokio::test]
async fn non_numeric_last_event_id_starts_at_one() {
    let server = serve_loopback(router(DemoOptions::default())).await;
    let got = fetch_events(&server.url("/events?rate=2000"), Some("abc"), 3).await;
    assert_eq!(ids(&got.events())[..3], [1, 2, 3]);
    server.shutdown().await;
}

#[tokio::test]
async fn flaky_ends_the_connection_after_drop_every_events_and_resumes() {
    let server = serve_loopback(router(DemoOptions::default())).await;
    let url = server.url("/flaky?rate=5000&drop_every=7");
    let first = fetch_all(&url, None).await;
    assert!(first.ended);
    assert_eq!(first.status, 200);
    assert_eq!(ids(&first.events()), (1..=7).collect::<Vec<_>>());

    let second = fetch_all(&url, Some("7")).await;
    assert!(second.ended);
    assert_eq!(ids(&second.events()), (8..=14).collect::<Vec<_>>());
    server.shutdown().await;
}

#[tokio::test]
async fn flaky_uses_the_options_drop_every_by_default() {
    let server = serve_loopback(router(DemoOptions { drop_every: 3, rate: 5000.0, ..DemoOptions::default() })).await;
    let got = fetch_all(&server.url("/flaky"), None).await;
    assert!(got.ended);
    assert_eq!(ids(&got.events()), [1, 2, 3]);
    server.shutdown().await;
}

#[tokio::test]
async fn heartbeat_comments_arrive_between_events() {
    let opts = DemoOptions { heartbeat: Duration::from_millis(5), rate: 1.0, ..DemoOptions::default() };
    let server = serve_loopback(router(opts)).await;
    let got = fetch_until(&server.url("/events"), None, |items| {
        items.iter().filter(|item| **item == Item::Comment(" heartbeat".into())).count() >= 2
    })
    .await;
    assert!(!got.ended);
    server.shutdown().await;
}

#[tokio::test]
async fn firehose_sends_thousands_of_contiguous_events() {
    let server = serve_loopback(router(DemoOptions::default())).await;
    let got = fetch_events(&server.url("/firehose?rate=50000"), None, 5000).await;
    assert_eq!(got.content_type(), "text/event-stream");
    let ids = ids(&got.events());
    assert!(ids.len() >= 5000);
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());

    let default_rate = fetch_events(&server.url("/firehose"), None, 500).await;
    assert!(default_rate.events().len() >= 500);
    server.shutdown().await;
}

#[tokio::test]
async fn bad_query_values_are_refused_with_400() {
    let server = serve_loopback(router(DemoOptions::default())).await;
    for path in
        ["/events?rate=0", "/events?rate=abc", "/events?rate=200000", "/firehose?rate=-5", "/flaky?drop_every=0"]
    {
        let response = reqwest::get(server.url(path)).await.expect("request");
        assert_eq!(response.status().as_u16(), 400, "{path}");
        let text = response.text().await.expect("body");
        assert!(text.contains("rate") || text.contains("drop_every"), "{path}: {text}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn index_lists_the_paths() {
    let server = serve_loopback(router(DemoOptions::default())).await;
    let response = reqwest::get(server.url("/")).await.expect("request");
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"].to_str().is_ok_and(|v| v.starts_with("text/plain")));
    let text = response.text().await.expect("body");
    for path in ["/events", "/flaky", "/firehose", "/burst"] {
        assert!(text.contains(path), "{text}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn burst_sends_n_contiguous_ticks_then_ends_the_body() {
    let server = serve_loopback(router(DemoOptions::default())).await;
    let got = fetch_all(&server.url("/burst?n=1000"), None).await;
    assert!(got.ended, "the burst body ends by itself");
    assert_eq!(got.status, 200);
    assert_eq!(got.content_type(), "text/event-stream");
    assert_eq!(got.headers.get("access-control-allow-origin").and_then(|v| v.to_str().ok()), Some("*"));
    assert_eq!(got.items[..2], [Item::Retry(2000), Item::Comment(" feedscope demo".into())]);
    let events = got.events();
    assert_eq!(ids(&events), (1..=1000).collect::<Vec<_>>());
    for (event_type, id, data) in &events {
        assert_eq!(event_type, "tick");
        let v: serde_json::Value = serde_json::from_str(data).expect("burst data is JSON");
        assert_eq!(v["seq"].to_string(), *id);
    }
    server.shutdown().await;
}

#[tokio::test]
async fn burst_resumes_after_last_event_id_and_says_204_when_nothing_is_left() {
    let server = serve_loopback(router(DemoOptions::default())).await;
    let url = server.url("/burst?n=300");
    let rest = fetch_all(&url, Some("250")).await;
    assert!(rest.ended);
    assert_eq!(ids(&rest.events()), (251..=300).collect::<Vec<_>>());

    let client = reqwest::Client::new();
    let done = client.get(&url).header("last-event-id", "300").send().await.expect("request");
    assert_eq!(done.status().as_u16(), 204);
    assert_eq!(done.headers()["access-control-allow-origin"], "*");
    let empty = client.get(server.url("/burst?n=0")).send().await.expect("request");
    assert_eq!(empty.status().as_u16(), 204);
    server.shutdown().await;
}

#[tokio::test]
async fn burst_answers_a_cors_preflight_and_refuses_bad_n() {
    let server = serve_loopback(router(DemoOptions::default())).await;
    let client = reqwest::Client::new();
    let preflight = client
        .request(reqwest::Method::OPTIONS, server.url("/burst?n=10"))
        .header("origin", "http://127.0.0.1:1")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "last-event-id")
        .send()
        .await
        .expect("request");
    assert!(preflight.status().is_success());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    let allowed = preflight.headers()["access-control-allow-headers"].to_str().expect("ascii");
    assert!(allowed.contains("last-event-id"), "{allowed}");

    for path in ["/burst?n=-1", "/burst?n=abc", "/burst?n=10000001"] {
        let response = client.get(server.url(path)).send().await.expect("request");
        assert_eq!(response.status().as_u16(), 400, "{path}");
        assert!(response.text().await.expect("body").contains("n must be"), "{path}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_drops_open_streams_and_stops_listening() {
    let server = serve_loopback(router(DemoOptions::default())).await;
    let url = server.url("/events?rate=100");
    let response = reqwest::get(&url).await.expect("request");
    let mut body = response.bytes_stream();
    assert!(matches!(body.next().await, Some(Ok(_))));
    server.shutdown().await;
    // The open stream ends (maybe after a few buffered chunks) instead of hanging.
    while let Some(Ok(_)) = tokio::time::timeout(HANG_GUARD, body.next()).await.expect("stream ends after shutdown") {}
    assert!(reqwest::get(&url).await.is_err(), "nothing listens after shutdown");
}
