//! The connection rules (shared/sse-notes.md 12–16 and DESIGN.md "Reconnection") against real
//! HTTP servers on 127.0.0.1: what is sent, what opens, what closes, what reconnects and when.

use std::sync::Arc;

use feedscope_core::{Body, FeedConfig, Header, Hub, Mode, Record};
use feedscope_testkit::{cfg, collect_until, count_kind, events, is_closed, start_feed, Fixture, Reply, Step};

fn closed(rs: &[Record]) -> (String, bool) {
    rs.iter()
        .find_map(|r| match &r.body {
            Body::Closed { reason, fatal, .. } => Some((reason.clone(), *fatal)),
            _ => None,
        })
        .expect("a closed record")
}

fn first_disconnect_reason(rs: &[Record]) -> String {
    rs.iter()
        .find_map(|r| if let Body::Disconnected { reason, .. } = &r.body { Some(reason.clone()) } else { None })
        .expect("a disconnected record")
}

fn reconnect_delays(rs: &[Record]) -> Vec<u64> {
    rs.iter()
        .filter_map(|r| match &r.body {
            Body::Disconnected { reconnect_in_ms, .. } => Some(*reconnect_in_ms),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn requests_send_accept_and_cache_control_and_no_empty_last_event_id() {
    let fx = Fixture::start(|_, _| Reply::status(204)).await;
    let (_hub, sub) = start_feed(cfg(fx.url("/s"), Mode::Browser));
    collect_until(&sub, is_closed).await;
    let req = &fx.requests()[0];
    assert_eq!(req.header("accept"), Some("text/event-stream"));
    assert_eq!(req.header("cache-control"), Some("no-cache"));
    assert_eq!(req.header("last-event-id"), None);
}

#[tokio::test]
async fn user_headers_are_sent_as_given_and_defaults_only_fill_gaps() {
    // Like an MCP server: 406 unless Accept names application/json as well.
    let fx = Fixture::start(|_, req| match req.header("accept") {
        Some(a) if a.contains("application/json") && a.contains("text/event-stream") => Reply::sse("data: ok\n\n"),
        _ => Reply::status(406),
    })
    .await;
    let user = |name: &str, value: &str| Header { name: name.into(), value: value.into() };
    let config = FeedConfig {
        headers: vec![user("accept", "application/json, text/event-stream"), user("Cache-Control", "max-age=0")],
        ..cfg(fx.url("/mcp"), Mode::Browser)
    };
    let (hub, sub) = start_feed(config);
    let rs = collect_until(&sub, |rs| count_kind(rs, "event") == 1).await;
    assert_eq!(events(&rs), [("message".into(), "".into(), "ok".into())]);
    let req = &fx.requests()[0];
    let sent = |name: &str| req.headers.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect::<Vec<_>>();
    assert_eq!(sent("accept"), ["application/json, text/event-stream"], "the user's Accept, once");
    assert_eq!(sent("cache-control"), ["max-age=0"], "the user's Cache-Control, once");
    hub.stop_all();

    // Without the user's Accept, the browser's default goes out, and this server refuses it.
    let (_hub, sub) = start_feed(cfg(fx.url("/mcp"), Mode::Browser));
    let rs = collect_until(&sub, is_closed).await;
    let (reason, fatal) = closed(&rs);
    assert!(fatal && reason.contains("406"), "{reason}");
    assert_eq!(reason, "HTTP 406 Not Acceptable: nope", "the refusal's body is quoted");
    assert_eq!(fx.requests()[1].header("accept"), Some("text/event-stream"));
}

#[tokio::test]
async fn a_user_set_last_event_id_header_seeds_the_engines_own() {
    let fx = Fixture::start(|n, _| match n {
        0 => Reply::sse("data: no id yet\n\n"),
        1 => Reply::sse("id: 8\ndata: x\n\n"),
        _ => Reply::status(204),
    })
    .await;
    let config = FeedConfig {
        headers: vec![Header { name: "Last-Event-ID".into(), value: "5".into() }],
        ..cfg(fx.url("/"), Mode::Browser)
    };
    let (_hub, sub) = start_feed(config);
    collect_until(&sub, is_closed).await;
    let ids: Vec<Vec<String>> = fx
        .requests()
        .iter()
        .map(|r| r.headers.iter().filter(|(n, _)| n == "last-event-id").map(|(_, v)| v.clone()).collect())
        .collect();
    // Sent once per request: the user's on the first, still the user's while the stream set
    // none, then the stream's own.
    assert_eq!(ids, [vec!["5".to_string()], vec!["5".to_string()], vec!["8".to_string()]]);
}

#[tokio::test]
async fn a_json_rpc_answer_over_post_arrives_as_events() {
    // MCP's Streamable HTTP: a JSON-RPC request POSTed, answered as a short SSE stream.
    let fx = Fixture::start(|_, req| {
        let call: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
        let id = call["id"].clone();
        let progress =
            serde_json::json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progress": 1}});
        let result =
            serde_json::json!({"jsonrpc": "2.0", "id": id, "result": {"content": [{"type": "text", "text": "42"}]}});
        Reply::sse(&format!("event: message\ndata: {progress}\n\nevent: message\ndata: {result}\n\n"))
    })
    .await;
    let config = FeedConfig {
        method: "POST".into(),
        headers: vec![
            Header { name: "Content-Type".into(), value: "application/json".into() },
            Header { name: "Accept".into(), value: "application/json, text/event-stream".into() },
        ],
        body: Some(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"add"}}"#.into()),
        ..cfg(fx.url("/mcp"), Mode::Browser)
    };
    let hub = Hub::new();
    hub.add("f", config, Default::default()).unwrap();
    let sub = hub.subscribe(Some("f"), 64);
    hub.stop_after("f", 2).unwrap();
    hub.start("f").unwrap();
    let rs = collect_until(&sub, is_closed).await;
    let data: Vec<serde_json::Value> = events(&rs).iter().map(|(_, _, d)| serde_json::from_str(d).unwrap()).collect();
    assert_eq!(data[0]["method"], "notifications/progress");
    assert_eq!((data[1]["id"].as_i64(), data[1]["result"]["content"][0]["text"].as_str()), (Some(7), Some("42")));
    assert_eq!(fx.requests().len(), 1, "the POST is not sent again after the answer");
}

#[tokio::test]
async fn last_event_id_survives_several_reconnects_and_id_reset_removes_it() {
    let fx = Fixture::start(|n, _| match n {
        0 => Reply::sse("id: 1\ndata: a\n\n"),
        1 => Reply::sse("data: b\n\n"),
        2 => Reply::sse("id: 3\ndata: c\n\n"),
        3 => Reply::sse("id\ndata: d\n\n"),
        _ => Reply::status(204),
    })
    .await;
    let (_hub, sub) = start_feed(cfg(fx.url("/s"), Mode::Browser));
    let rs = collect_until(&sub, is_closed).await;
    let sent: Vec<Option<String>> =
        fx.requests().iter().map(|r| r.header("last-event-id").map(str::to_owned)).collect();
    assert_eq!(sent, [None, Some("1".into()), Some("1".into()), Some("3".into()), None]);
    let ids: Vec<String> = events(&rs).into_iter().map(|e| e.1).collect();
    assert_eq!(ids, ["1", "1", "3", ""]);
    let seqs: Vec<u64> =
        rs.iter().filter_map(|r| if let Body::Event { seq, .. } = r.body { Some(seq) } else { None }).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
}

#[tokio::test]
async fn id_only_block_changes_what_the_reconnect_sends() {
    let fx = Fixture::start(|n, _| if n == 0 { Reply::sse("id: 77\n\n") } else { Reply::status(204) }).await;
    let (_hub, sub) = start_feed(cfg(fx.url("/"), Mode::Browser));
    collect_until(&sub, is_closed).await;
    assert_eq!(fx.requests()[1].header("last-event-id"), Some("77"));
}

#[tokio::test]
async fn id_in_block_cut_by_eof_is_not_sent_on_reconnect() {
    let fx = Fixture::start(
        |n, _| if n == 0 { Reply::sse("id: 1\ndata: a\n\nid: 2\ndata: b\n") } else { Reply::status(204) },
    )
    .await;
    let (_hub, sub) = start_feed(cfg(fx.url("/"), Mode::Browser));
    let rs = collect_until(&sub, is_closed).await;
    assert_eq!(events(&rs).len(), 1);
    assert_eq!(fx.requests()[1].header("last-event-id"), Some("1"));
}

#[tokio::test]
async fn initial_last_event_id_is_sent_on_first_request() {
    let fx = Fixture::start(|_, _| Reply::status(204)).await;
    let (_hub, sub) = start_feed(FeedConfig { last_event_id: "41".into(), ..cfg(fx.url("/"), Mode::Browser) });
    let rs = collect_until(&sub, is_closed).await;
    assert_eq!(fx.requests()[0].header("last-event-id"), Some("41"));
    assert!(matches!(&rs[0].body, Body::Connecting { attempt: 1, last_event_id, .. } if last_event_id == "41"));
}

#[tokio::test]
async fn method_headers_and_body_are_sent_again_on_every_reconnect() {
    let fx = Fixture::start(|n, _| if n < 2 { Reply::sse("data: x\n\n") } else { Reply::status(204) }).await;
    let config = FeedConfig {
        method: "POST".into(),
        headers: vec![Header { name: "Authorization".into(), value: "Bearer t".into() }],
        body: Some(r#"{"prompt":"hi"}"#.into()),
        ..cfg(fx.url("/chat"), Mode::Persistent)
    };
    let (_hub, sub) = start_feed(config);
    collect_until(&sub, is_closed).await;
    let reqs = fx.requests();
    assert_eq!(reqs.len(), 3);
    for r in reqs {
        assert_eq!(r.method, "POST");
        assert_eq!(r.header("authorization"), Some("Bearer t"));
        assert_eq!(r.body, br#"{"prompt":"hi"}"#);
    }
}

#[tokio::test]
async fn status_204_closes_without_reconnect_and_is_not_fatal() {
    for mode in [Mode::Browser, Mode::Persistent] {
        let fx = Fixture::start(|_, _| Reply::status(204)).await;
        let (_hub, sub) = start_feed(cfg(fx.url("/"), mode));
        let rs = collect_until(&sub, is_closed).await;
        let (reason, fatal) = closed(&rs);
        assert!(!fatal && reason.contains("204"), "{reason}");
        assert_eq!(fx.requests().len(), 1);
    }
}

#[tokio::test]
async fn other_statuses_fail_for_good_in_browser_mode() {
    for status in [500, 503, 404, 401, 429] {
        let fx = Fixture::start(move |_, _| Reply::status(status)).await;
        let (_hub, sub) = start_feed(cfg(fx.url("/"), Mode::Browser));
        let rs = collect_until(&sub, is_closed).await;
        let (reason, fatal) = closed(&rs);
        assert!(fatal && reason.contains(&status.to_string()), "{reason}");
        assert_eq!(fx.requests().len(), 1, "status {status} must not reconnect");
        assert_eq!(count_kind(&rs, "open"), 0);
    }
}

#[tokio::test]
async fn persistent_mode_retries_5xx_408_429_and_says_a_browser_would_stop() {
    for status in [500, 502, 503, 408, 429] {
        let fx = Fixture::start(move |n, _| if n == 0 { Reply::status(status) } else { Reply::status(204) }).await;
        let (_hub, sub) = start_feed(cfg(fx.url("/"), Mode::Persistent));
        let rs = collect_until(&sub, is_closed).await;
        let reason = first_disconnect_reason(&rs);
        assert!(reason.starts_with(&format!("HTTP {status} ")), "{reason}");
        assert!(
            rs.iter().any(|r| matches!(&r.body, Body::Disconnected { cause, .. } if cause.browser_would_stop())),
            "the record says a browser would stop"
        );
        assert_eq!(fx.requests().len(), 2);
    }
}

#[tokio::test]
async fn persistent_mode_still_fails_on_4xx() {
    let fx = Fixture::start(|_, _| Reply::status(404)).await;
    let (_hub, sub) = start_feed(cfg(fx.url("/"), Mode::Persistent));
    let rs = collect_until(&sub, is_closed).await;
    assert!(closed(&rs).1);
    assert_eq!(fx.requests().len(), 1);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let fx =
        Fixture::start(|n, _| if n == 0 { Reply::status(503).header("Retry-After", "1") } else { Reply::status(204) })
            .await;
    let (_hub, sub) = start_feed(cfg(fx.url("/"), Mode::Persistent));
    let rs = collect_until(&sub, is_closed).await;
    assert_eq!(reconnect_delays(&rs), [1000]);
}

#[tokio::test]
async fn wrong_or_missing_content_type_fails_in_both_modes() {
    for mode in [Mode::Browser, Mode::Persistent] {
        for ct in [Some("text/html"), Some("application/json"), Some("text/event-streams"), None] {
            let fx = Fixture::start(move |_, _| {
                let r = Reply::sse("data: x\n\n");
                match ct {
                    Some(ct) => r.header("Content-Type", ct),
                    None => r.without_header("Content-Type"),
                }
            })
            .await;
            let (_hub, sub) = start_feed(cfg(fx.url("/"), mode));
            let rs = collect_until(&sub, is_closed).await;
            let (reason, fatal) = closed(&rs);
            assert!(fatal && reason.contains("not text/event-stream"), "{reason}");
            assert!(events(&rs).is_empty());
            assert_eq!(fx.requests().len(), 1);
        }
    }
}

#[tokio::test]
async fn content_type_parameters_and_case_are_allowed() {
    for ct in ["text/event-stream;charset=utf-8", "text/event-stream;", "Text/Event-Stream ; charset=latin1"] {
        let fx = Fixture::start(move |n, _| {
            if n == 0 {
                Reply::sse("data: x\n\n").header("Content-Type", ct)
            } else {
                Reply::status(204)
            }
        })
        .await;
        let (_hub, sub) = start_feed(cfg(fx.url("/"), Mode::Browser));
        let rs = collect_until(&sub, is_closed).await;
        assert_eq!(events(&rs).len(), 1, "{ct}");
    }
}

#[tokio::test]
async fn redirects_are_followed_and_reconnects_start_at_the_original_url() {
    let fx = Fixture::start(|n, req| match (n, req.path.as_str()) {
        (_, "/start") => Reply { status: 307, headers: vec![("Location".into(), "/moved".into())], steps: vec![] },
        (1, "/moved") => Reply::sse("id: 1\ndata: x\n\n"),
        _ => Reply::status(204),
    })
    .await;
    let (_hub, sub) = start_feed(cfg(fx.url("/start"), Mode::Browser));
    let rs = collect_until(&sub, is_closed).await;
    let paths: Vec<String> = fx.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/start", "/moved", "/start", "/moved"]);
    assert_eq!(events(&rs).len(), 1);
    assert_eq!(fx.requests()[2].header("last-event-id"), Some("1"));
}

#[tokio::test]
async fn end_of_body_reconnects_after_the_servers_retry_time() {
    let fx =
        Fixture::start(|n, _| if n == 0 { Reply::sse("retry: 35\ndata: x\n\n") } else { Reply::status(204) }).await;
    let (_hub, sub) = start_feed(FeedConfig { retry_ms: 3000, ..cfg(fx.url("/"), Mode::Browser) });
    let rs = collect_until(&sub, is_closed).await;
    assert_eq!(reconnect_delays(&rs), [35]);
    assert!(rs.iter().any(|r| r.body == Body::Retry { ms: 35 }));
    let kinds: Vec<&str> = rs.iter().map(|r| r.body.kind().as_str()).collect();
    assert_eq!(kinds, ["connecting", "open", "retry", "event", "disconnected", "connecting", "closed"]);
}

#[tokio::test]
async fn retry_without_data_still_applies_to_the_next_reconnect() {
    let fx = Fixture::start(|n, _| if n == 0 { Reply::sse("retry: 45\n") } else { Reply::status(204) }).await;
    let (_hub, sub) = start_feed(FeedConfig { retry_ms: 3000, ..cfg(fx.url("/"), Mode::Browser) });
    let rs = collect_until(&sub, is_closed).await;
    assert_eq!(reconnect_delays(&rs), [45]);
}

#[tokio::test]
async fn dropped_socket_reconnects_with_a_reason() {
    let fx = Fixture::start(|n, _| match n {
        0 => Reply::sse_steps(vec![Step::Send(b"id: 5\ndata: a\n\n".to_vec()), Step::Abort]),
        _ => Reply::status(204),
    })
    .await;
    let (_hub, sub) = start_feed(cfg(fx.url("/"), Mode::Browser));
    let rs = collect_until(&sub, is_closed).await;
    let reason = first_disconnect_reason(&rs);
    assert!(reason.contains("lost"), "{reason}");
    assert_eq!(fx.requests()[1].header("last-event-id"), Some("5"));
}

#[tokio::test]
async fn connection_refused_reconnects_in_browser_mode_too() {
    // Bind then drop a listener: nothing listens on that port now.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (hub, sub) = start_feed(cfg(format!("http://127.0.0.1:{port}/"), Mode::Browser));
    let rs = collect_until(&sub, |rs| count_kind(rs, "disconnected") >= 2).await;
    assert!(rs.iter().any(
        |r| matches!(&r.body, Body::Disconnected { reason, cause: feedscope_core::Cause::Network, reconnect_in_ms: 20, .. } if *reason == format!("connection refused by 127.0.0.1:{port}"))
    ));
    hub.stop("f").unwrap();
}

#[tokio::test]
async fn persistent_backoff_grows_to_the_cap_and_resets_after_a_healthy_connection() {
    let fx = Fixture::start(|n, _| match n {
        0..=4 => Reply::status(503),
        5 => Reply::sse("data: ok\n\n"),
        6 => Reply::status(503),
        _ => Reply::status(204),
    })
    .await;
    let (_hub, sub) =
        start_feed(FeedConfig { retry_ms: 100, max_backoff_ms: 500, ..cfg(fx.url("/"), Mode::Persistent) });
    let rs = collect_until(&sub, is_closed).await;
    // 5 failures: the reconnection time, then doubling to the cap; after the healthy connection
    // (EOF), the reconnection time again, then doubling restarts.
    assert_eq!(reconnect_delays(&rs), [100, 200, 400, 500, 500, 100, 200]);
}

#[tokio::test]
async fn browser_mode_never_backs_off() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (hub, sub) = start_feed(cfg(format!("http://127.0.0.1:{port}/"), Mode::Browser));
    let rs = collect_until(&sub, |rs| count_kind(rs, "disconnected") >= 4).await;
    assert_eq!(reconnect_delays(&rs), [20, 20, 20, 20]);
    hub.stop("f").unwrap();
}

#[tokio::test]
async fn read_timeout_reconnects_and_says_a_browser_would_wait() {
    let fx = Fixture::start(|n, _| {
        if n == 0 {
            Reply::sse_steps(vec![Step::Send(b": hi\n".to_vec()), Step::Hang])
        } else {
            Reply::status(204)
        }
    })
    .await;
    let (_hub, sub) = start_feed(FeedConfig { read_timeout_ms: 300, ..cfg(fx.url("/"), Mode::Persistent) });
    let rs = collect_until(&sub, is_closed).await;
    let reason = first_disconnect_reason(&rs);
    assert_eq!(reason, "no data for 300 ms (read timeout)");
    assert!(
        rs.iter().any(|r| matches!(&r.body, Body::Disconnected { cause, .. } if cause.browser_would_stop())),
        "the record says a browser would wait"
    );
}

#[tokio::test]
async fn stop_cancels_a_pending_reconnect_at_once() {
    let fx = Fixture::start(|_, _| Reply::sse("data: x\n\n")).await;
    let (hub, sub) = start_feed(FeedConfig { retry_ms: 600_000, ..cfg(fx.url("/"), Mode::Browser) });
    collect_until(&sub, |rs| count_kind(rs, "disconnected") == 1).await;
    hub.stop("f").unwrap();
    let rs = collect_until(&sub, is_closed).await;
    assert_eq!(closed(&rs), ("stopped by the user".to_string(), false));
    assert_eq!(fx.requests().len(), 1);
    assert!(!hub.is_running("f"));
}

#[tokio::test]
async fn stop_cancels_an_open_stream() {
    let fx = Fixture::start(|_, _| Reply::sse_steps(vec![Step::Send(b"data: x\n\n".to_vec()), Step::Hang])).await;
    let (hub, sub) = start_feed(cfg(fx.url("/"), Mode::Browser));
    collect_until(&sub, |rs| count_kind(rs, "event") == 1).await;
    hub.stop("f").unwrap();
    let rs = collect_until(&sub, is_closed).await;
    assert!(!closed(&rs).1);
}

#[tokio::test]
async fn restart_drops_the_connection_and_reconnects_now() {
    let fx = Fixture::start(|n, _| {
        if n == 0 {
            Reply::sse_steps(vec![Step::Send(b"id: 9\ndata: x\n\n".to_vec()), Step::Hang])
        } else {
            Reply::status(204)
        }
    })
    .await;
    let (hub, sub) = start_feed(FeedConfig { retry_ms: 600_000, ..cfg(fx.url("/"), Mode::Browser) });
    collect_until(&sub, |rs| count_kind(rs, "event") == 1).await;
    hub.restart("f").unwrap();
    let rs = collect_until(&sub, is_closed).await;
    assert_eq!(reconnect_delays(&rs), [0]);
    assert_eq!(fx.requests()[1].header("last-event-id"), Some("9"));
}

#[tokio::test]
async fn open_record_carries_status_and_lowercase_headers() {
    let fx =
        Fixture::start(|n, _| if n == 0 { Reply::sse("").header("X-Server", "fixture") } else { Reply::status(204) })
            .await;
    let (_hub, sub) = start_feed(cfg(fx.url("/"), Mode::Browser));
    let rs = collect_until(&sub, is_closed).await;
    let Body::Open { status, headers, .. } = &rs[1].body else { panic!("{:?}", rs[1]) };
    assert_eq!(*status, 200);
    assert_eq!(headers.get("x-server").map(String::as_str), Some("fixture"));
    assert_eq!(headers.get("content-type").map(String::as_str), Some("text/event-stream"));
}

#[tokio::test]
async fn oversized_event_is_reported_and_the_stream_goes_on() {
    let big = format!("data: {}\n\ndata: small\n\n", "x".repeat(4096));
    let fx = Fixture::start(move |n, _| if n == 0 { Reply::sse(&big) } else { Reply::status(204) }).await;
    let (_hub, sub) =
        start_feed(FeedConfig { max_line_bytes: 2048, max_event_bytes: 2048, ..cfg(fx.url("/"), Mode::Browser) });
    let rs = collect_until(&sub, is_closed).await;
    assert!(rs
        .iter()
        .any(|r| matches!(&r.body, Body::Error { reason } if reason.contains("a line") && reason.contains("2048"))));
    assert_eq!(events(&rs), [("message".to_string(), String::new(), "small".to_string())]);
}

#[tokio::test]
async fn invalid_config_closes_with_the_reason() {
    let hub = Hub::new();
    let err = hub.add("f", FeedConfig::new("ftp://x/"), Default::default()).unwrap_err();
    assert!(err.to_string().contains("http or https"), "{err}");
}

#[tokio::test]
async fn hub_runs_hundreds_of_feeds_at_once() {
    let fx = Fixture::start(|_, req| {
        let body = format!("id: 1\nevent: {}\ndata: hello\n\n", &req.path[1..]);
        Reply::sse_steps(vec![Step::Send(body.into_bytes()), Step::Hang])
    })
    .await;
    let hub = Hub::new();
    let sub = hub.subscribe(None, 1 << 20);
    for i in 0..200 {
        hub.add(&format!("feed{i}"), cfg(fx.url(&format!("/t{i}")), Mode::Browser), Default::default()).unwrap();
        hub.start(&format!("feed{i}")).unwrap();
    }
    let rs = collect_until(&sub, |rs| count_kind(rs, "event") == 200).await;
    let mut feeds: Vec<&str> = rs.iter().filter(|r| r.body.kind().as_str() == "event").map(|r| &*r.feed).collect();
    feeds.sort_unstable();
    feeds.dedup();
    assert_eq!(feeds.len(), 200);
    for i in 0..200 {
        let s = hub.stats(&format!("feed{i}")).unwrap();
        assert_eq!(s.events, 1);
        assert_eq!(s.types.get(&format!("t{i}")), Some(&1));
        assert!(s.bytes > 0);
    }
    hub.stop_all();
}

/// A hub with feed `f` (not started) on a server that sends `n` events, then 204 on reconnection.
async fn burst_feed(n: u64) -> (Fixture, Arc<Hub>) {
    let body: String = (1..=n).map(|i| format!("id: {i}\ndata: {i}\n\n")).collect();
    let fx = Fixture::start(move |n, _| if n == 0 { Reply::sse(&body) } else { Reply::status(204) }).await;
    let hub = Hub::new();
    hub.add("f", cfg(fx.url("/"), Mode::Browser), Default::default()).unwrap();
    (fx, hub)
}

#[tokio::test]
async fn slow_subscriber_holds_the_feed_back_and_misses_nothing() {
    const N: u64 = 20_000;
    let (_fx, hub) = burst_feed(N).await;
    let slow = hub.subscribe(Some("f"), 10);
    let fast = hub.subscribe(Some("f"), 1 << 20);
    hub.start("f").unwrap();
    // While the slow subscriber takes nothing, the feed reads at most one more read's worth.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let held = hub.stats("f").unwrap().events;
    assert!(held < N, "the feed read on past a full subscriber ({held} events)");
    let mut seqs = Vec::new();
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while got.last().is_none_or(|r: &Arc<Record>| r.body.kind().as_str() != "closed") {
        got.clear();
        tokio::time::timeout_at(deadline, slow.recv_many(&mut got, 7)).await.expect("slow subscriber starved");
        seqs.extend(got.iter().filter_map(|r| if let Body::Event { seq, .. } = r.body { Some(seq) } else { None }));
    }
    assert_eq!(seqs, (1..=N).collect::<Vec<_>>(), "every event, in order, none twice");
    let all = collect_until(&fast, is_closed).await;
    assert_eq!(count_kind(&all, "event") as u64, N);
}

#[tokio::test]
async fn dropping_a_full_subscription_releases_the_feed() {
    const N: u64 = 20_000;
    let (_fx, hub) = burst_feed(N).await;
    let stuck = hub.subscribe(Some("f"), 1);
    let sub = hub.subscribe(Some("f"), 1 << 20);
    hub.start("f").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    drop(stuck);
    let all = collect_until(&sub, is_closed).await;
    assert_eq!(count_kind(&all, "event") as u64, N);
}

#[tokio::test]
async fn history_caps_bound_a_long_running_feed() {
    let body: String = (1..=2000).map(|i| format!("data: {}\n\n", "z".repeat(i % 50))).collect();
    let fx = Fixture::start(move |n, _| if n == 0 { Reply::sse(&body) } else { Reply::status(204) }).await;
    let hub = Hub::new();
    let limits = feedscope_core::HistoryLimits { max_records: 100, max_bytes: 1 << 20 };
    hub.add("f", cfg(fx.url("/"), Mode::Browser), limits).unwrap();
    let sub = hub.subscribe(Some("f"), 1 << 20);
    hub.start("f").unwrap();
    collect_until(&sub, is_closed).await;
    let s = hub.stats("f").unwrap();
    assert_eq!(s.retained, 100);
    assert_eq!(s.events, 2000);
    // connecting, open, 2000 events, disconnected, connecting, closed.
    assert_eq!(s.evicted as usize + s.retained, 2000 + 5);
    let page = hub.query("f", None, 0, 1000).unwrap();
    assert_eq!(page.rows.len(), 100);
    let _ = Arc::clone(&page.rows[0].1);
}

#[tokio::test]
async fn stop_then_start_keeps_records_in_order_and_seq_growing() {
    let fx = Fixture::start(|n, _| {
        Reply::sse_steps(vec![Step::Send(format!("id: {n}\ndata: run {n}\n\n").into_bytes()), Step::Hang])
    })
    .await;
    let (hub, sub) = start_feed(cfg(fx.url("/"), Mode::Browser));
    collect_until(&sub, |rs| count_kind(rs, "event") == 1).await;
    for _ in 0..3 {
        hub.stop("f").unwrap();
        hub.start("f").unwrap();
    }
    let rs = collect_until(&sub, |rs| count_kind(rs, "event") == 1).await;
    // Each stop records one `closed`, and nothing of a stopped run comes after it: the last run's
    // records follow the last `closed`.
    let kinds: Vec<&str> = rs.iter().map(|r| r.body.kind().as_str()).collect();
    assert_eq!(count_kind(&rs, "closed"), 3, "{kinds:?}");
    let last_closed = kinds.iter().rposition(|k| *k == "closed").unwrap();
    assert_eq!(&kinds[last_closed + 1..], ["connecting", "open", "event"]);
    let seqs: Vec<u64> =
        rs.iter().filter_map(|r| if let Body::Event { seq, .. } = r.body { Some(seq) } else { None }).collect();
    assert_eq!(seqs, [2]);
    assert_eq!(hub.stats("f").unwrap().state, feedscope_core::ConnState::Open);
    hub.stop("f").unwrap();
}

#[tokio::test]
async fn stop_after_ends_the_feed_right_after_the_nth_event_and_sends_no_more_requests() {
    // Events 1-3 and a comment in one read, then the server ends the body: without the limit the
    // feed would go on to a `disconnected` and a second request.
    let fx = Fixture::start(|_, _| Reply::sse("data: 1\n\ndata: 2\n\ndata: 3\n\n: after\n\ndata: 4\n\n")).await;
    let hub = Hub::new();
    hub.add("f", cfg(fx.url("/"), Mode::Browser), Default::default()).unwrap();
    let sub = hub.subscribe(Some("f"), 1 << 20);
    hub.stop_after("f", 3).unwrap();
    hub.start("f").unwrap();
    let rs = collect_until(&sub, is_closed).await;
    let kinds: Vec<&str> = rs.iter().map(|r| r.body.kind().as_str()).collect();
    assert_eq!(kinds, ["connecting", "open", "event", "event", "event", "closed"]);
    assert!(matches!(&rs[5].body, Body::Closed { cause: feedscope_core::Cause::UserStop, fatal: false, .. }));
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(fx.requests().len(), 1, "no request after the last event");
    assert!(!hub.is_running("f"));
    // The limit was spent: started again, the feed runs on past three events.
    hub.start("f").unwrap();
    let rs = collect_until(&sub, |rs| count_kind(rs, "event") == 4).await;
    assert_eq!(count_kind(&rs, "closed"), 0);
    hub.stop_all();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_and_start_in_a_tight_loop_gives_each_run_exactly_one_closed_at_its_end() {
    // A stream that never ends, so every run is stopped by the user while data flows.
    let fx = Fixture::start(|_, _| {
        let burst: String = (1..=200).map(|i| format!("data: {i}\n\n")).collect();
        Reply::sse_steps(vec![Step::Send(burst.into_bytes()), Step::Hang])
    })
    .await;
    let hub = Hub::new();
    hub.add("f", cfg(fx.url("/"), Mode::Browser), Default::default()).unwrap();
    let sub = hub.subscribe(Some("f"), 1 << 20);
    const RUNS: usize = 100;
    for _ in 0..RUNS {
        hub.start("f").unwrap();
        tokio::task::yield_now().await;
        hub.stop("f").unwrap();
    }
    let rs = collect_until(&sub, |rs| count_kind(rs, "closed") >= RUNS).await;
    // Split at each `closed`: every run's records start with its `connecting` (or there are none,
    // when the stop came first), so nothing of a run comes after its `closed`.
    for run in rs.split(|r| r.body.kind().as_str() == "closed") {
        if let Some(first) = run.first() {
            assert_eq!(first.body.kind().as_str(), "connecting", "a record of a stopped run came after its closed");
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(sub.drain(usize::MAX).is_empty(), "no record after the last stop");
    assert_eq!(count_kind(&rs, "closed"), RUNS);
}
