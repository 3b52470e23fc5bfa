//! Each diagnostic against a loopback server built to trigger it and, where one can be built, a
//! server built not to (docs/diagnostics.md). The engine records what it sees and the
//! `Diagnoser` reads only those records, with windows shortened so the suite stays quick.

use std::time::Duration;

use feedscope_core::diagnose::{Code, DiagnoseOptions, Diagnoser, Finding, Severity};
use feedscope_core::{Body, Cause, Mode, Record};
use feedscope_testkit::diag_servers::{
    closes_after_a_while, closes_after_every_event, good_reply, gzip_bursts, mcp_priming, well_behaved, Deflate,
};
use feedscope_testkit::{cfg, collect_until, count_kind, events, start_feed, Fixture, Reply, Req, Step};

/// The documented thresholds, scaled down: each silence or window a server below makes is
/// several times the threshold it must cross (or stays several times under the one it must not).
fn fast() -> DiagnoseOptions {
    DiagnoseOptions {
        idle_ms: 600,
        short_connection_ms: 500,
        loop_window_ms: 20_000,
        burst_silence_ms: 150,
        burst_events: 3,
        bursts: 2,
    }
}

/// Runs a persistent feed on the fixture until `until` holds, stops it, and returns every record
/// (the `closed` one included).
async fn watch(
    script: impl Fn(usize, &Req) -> Reply + Send + Sync + 'static,
    until: impl FnMut(&[Record]) -> bool,
) -> (Vec<Record>, Fixture) {
    let fx = Fixture::start(script).await;
    let records = watch_url(fx.url("/stream"), until).await;
    (records, fx)
}

async fn watch_url(url: String, mut until: impl FnMut(&[Record]) -> bool) -> Vec<Record> {
    let (hub, sub) = start_feed(cfg(url, Mode::Persistent));
    let closed = |rs: &[Record]| rs.iter().any(|r| matches!(r.body, Body::Closed { .. }));
    let mut records = collect_until(&sub, |rs| until(rs) || closed(rs)).await;
    if !closed(&records) {
        hub.stop("f").expect("the feed exists");
        records.extend(collect_until(&sub, closed).await);
    }
    records
}

fn diagnose(records: &[Record], options: DiagnoseOptions) -> Vec<Finding> {
    let mut d = Diagnoser::new(options);
    records.iter().for_each(|r| d.observe(r));
    d.findings(records.last().expect("records").ts)
}

fn codes(records: &[Record]) -> Vec<Code> {
    diagnose(records, fast()).into_iter().map(|f| f.code).collect()
}

fn find(records: &[Record], code: Code) -> Option<Finding> {
    diagnose(records, fast()).into_iter().find(|f| f.code == code)
}

/// The codes of the errors and warnings: what a well-built server must not get.
fn troubles(findings: &[Finding]) -> Vec<Code> {
    findings.iter().filter(|f| f.severity != Severity::Info).map(|f| f.code).collect()
}

fn events_n(n: usize) -> impl FnMut(&[Record]) -> bool {
    move |rs| count_kind(rs, "event") >= n
}

fn data(records: &[Record]) -> Vec<String> {
    events(records).into_iter().map(|(_, _, d)| d).collect()
}

#[tokio::test]
async fn a_well_behaved_stream_gets_no_error_and_no_warning() {
    let fx = Fixture::start(well_behaved(Duration::from_millis(100))).await;
    let (hub, sub) = start_feed(cfg(fx.url("/stream"), Mode::Persistent));
    let rs = collect_until(&sub, events_n(6)).await;
    assert_eq!(troubles(&diagnose(&rs, fast())), []);
    // The feed's history keeps the same diagnosis, with the documented thresholds.
    let now = rs.last().unwrap().ts;
    let findings = hub.with_history("f", |h| h.findings(now)).unwrap();
    assert_eq!(troubles(&findings), []);
    let infos: Vec<Code> = findings.iter().map(|f| f.code).collect();
    assert_eq!(infos, [Code::Http1], "the fixture speaks HTTP/1.1; it sends no-cache and CORS");
}

#[tokio::test]
async fn status_a_browser_would_fail_on_is_an_error_even_when_persistent_mode_goes_on() {
    let well = well_behaved(Duration::from_millis(100));
    let (rs, _fx) = watch(move |n, req| if n == 0 { Reply::status(503) } else { well(n, req) }, events_n(1)).await;
    let f = find(&rs, Code::Status).expect("status");
    assert_eq!(f.severity, Severity::Error);
    assert!(f.evidence.starts_with("HTTP 503 Service Unavailable"), "{}", f.evidence);
    assert!(f.evidence.contains("a browser would have stopped"), "{}", f.evidence);
    let (rs, _fx) = watch(|_, _| Reply::status(404), |_| false).await;
    assert_eq!(codes(&rs), [Code::Status]);
}

#[tokio::test]
async fn content_type_other_than_event_stream_is_an_error() {
    let (rs, _fx) = watch(
        |_, _| good_reply(vec![Step::Send(b"data: x\n\n".to_vec())]).header("Content-Type", "text/html"),
        |_| false,
    )
    .await;
    assert_eq!(codes(&rs), [Code::ContentType]);
    let f = find(&rs, Code::ContentType).unwrap();
    assert!(f.evidence.starts_with("content type text/html"), "{}", f.evidence);
    let (rs, _fx) = watch(
        |_, _| {
            good_reply(vec![Step::Send(b"id: 1\ndata: x\n\n".to_vec()), Step::Hang])
                .header("Content-Type", "text/event-stream; charset=utf-8")
        },
        events_n(1),
    )
    .await;
    assert!(!codes(&rs).contains(&Code::ContentType));
}

#[tokio::test]
async fn a_server_that_closes_after_every_event_is_a_reconnect_loop() {
    let (rs, _fx) = watch(closes_after_every_event(), |rs| count_kind(rs, "disconnected") >= 4).await;
    let found = codes(&rs);
    assert!(found.contains(&Code::ReconnectLoop), "{found:?}");
    assert!(!found.contains(&Code::ServerPolling), "{found:?}");
    assert_eq!(find(&rs, Code::ReconnectLoop).unwrap().severity, Severity::Error);
    // Each response stays open a while before it ends: not right after opening.
    let (rs, _fx) =
        watch(closes_after_a_while(Duration::from_millis(1000)), |rs| count_kind(rs, "disconnected") >= 3).await;
    assert!(!codes(&rs).contains(&Code::ReconnectLoop));
}

#[tokio::test]
async fn an_mcp_style_priming_server_is_server_polling_not_a_reconnect_loop() {
    let (rs, fx) = watch(mcp_priming(1000), |rs| count_kind(rs, "connecting") >= 4).await;
    let found = codes(&rs);
    assert!(found.contains(&Code::ServerPolling), "{found:?}");
    assert!(!found.contains(&Code::ReconnectLoop), "{found:?}");
    assert!(!found.contains(&Code::RetryLow), "{found:?}");
    assert_eq!(find(&rs, Code::ServerPolling).unwrap().severity, Severity::Info);
    // The client resumed from each priming id.
    let sent: Vec<Option<String>> =
        fx.requests().iter().take(3).map(|r| r.header("last-event-id").map(str::to_owned)).collect();
    assert_eq!(sent, [None, Some("1".into()), Some("2".into())]);
}

#[tokio::test]
async fn a_gzip_stream_is_decoded_and_reported_as_compression() {
    let (rs, fx) = watch(gzip_bursts(3, 1, Duration::from_millis(50)), events_n(3)).await;
    assert_eq!(data(&rs), ["tick 1", "tick 2", "tick 3"]);
    assert_eq!(fx.requests()[0].header("accept-encoding"), Some("gzip, deflate"));
    let Body::Open { version, headers, .. } = &rs[1].body else { panic!("{:?}", rs[1]) };
    assert_eq!((version.as_str(), headers.get("content-encoding").map(String::as_str)), ("HTTP/1.1", Some("gzip")));
    let found = codes(&rs);
    assert!(found.contains(&Code::Compression), "{found:?}");
    assert!(!found.contains(&Code::Buffering), "one event per read is no burst: {found:?}");
    let f = find(&rs, Code::Compression).unwrap();
    assert_eq!((f.severity, f.evidence.as_str()), (Severity::Warning, "Content-Encoding: gzip on 1 response"));
    // Without compression, no finding.
    let (rs, _fx) = watch(well_behaved(Duration::from_millis(100)), events_n(2)).await;
    assert!(!codes(&rs).contains(&Code::Compression));
}

#[tokio::test]
async fn a_really_compressed_gzip_stream_flushed_per_event_is_decoded() {
    use std::io::Write;
    // Real compression (flate2, as a server's gzip middleware would), a sync flush per event.
    let (rs, _fx) = watch(
        |_, _| {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            let mut steps = Vec::new();
            for id in 1..=3 {
                gz.write_all(format!("id: {id}\ndata: {}\n\n", "x".repeat(200)).as_bytes()).unwrap();
                gz.flush().unwrap();
                steps.push(Step::Send(std::mem::take(gz.get_mut())));
                steps.push(Step::Wait(Duration::from_millis(50)));
            }
            steps.push(Step::Hang);
            good_reply(steps).header("Content-Encoding", "gzip")
        },
        events_n(3),
    )
    .await;
    let ids: Vec<String> = events(&rs).into_iter().map(|(_, id, _)| id).collect();
    assert_eq!(ids, ["1", "2", "3"]);
    assert!(data(&rs).iter().all(|d| d.len() == 200));
}

#[tokio::test]
async fn a_deflate_stream_is_decoded_to_its_end() {
    let (rs, _fx) = watch(
        |n, _| {
            if n > 0 {
                return Reply::status(204);
            }
            let (mut z, header) = Deflate::zlib();
            let a = z.block(b"id: 1\ndata: one\n\n");
            let b = z.block(b"id: 2\ndata: two\n\n");
            good_reply(vec![Step::Send(header), Step::Send(a), Step::Send(b), Step::Send(z.finish())])
                .header("Content-Encoding", "deflate")
        },
        |_| false,
    )
    .await;
    assert_eq!(data(&rs), ["one", "two"]);
    let ended =
        rs.iter().find_map(|r| if let Body::Disconnected { cause, .. } = &r.body { Some(*cause) } else { None });
    assert_eq!(ended, Some(Cause::EndOfStream), "the body decoded cleanly to its end");
    assert!(codes(&rs).contains(&Code::Compression));
}

#[tokio::test]
async fn gzip_events_let_go_in_bursts_after_silences_are_buffering() {
    let (rs, _fx) = watch(gzip_bursts(2, 4, Duration::from_millis(500)), events_n(8)).await;
    assert_eq!(data(&rs).len(), 8);
    let found = codes(&rs);
    assert!(found.contains(&Code::Buffering) && found.contains(&Code::Compression), "{found:?}");
    let f = find(&rs, Code::Buffering).unwrap();
    assert!(f.evidence.starts_with("2 bursts of 3 or more events"), "{}", f.evidence);
    // The same events, one at a time: no burst, whatever the silences.
    let (rs, _fx) = watch(gzip_bursts(8, 1, Duration::from_millis(100)), events_n(8)).await;
    assert!(!codes(&rs).contains(&Code::Buffering));
}

#[tokio::test]
async fn a_long_silence_while_open_is_idle_and_a_heartbeat_prevents_it() {
    let (rs, _fx) = watch(
        |_, _| {
            good_reply(vec![
                Step::Send(b"id: 1\ndata: a\n\n".to_vec()),
                Step::Wait(Duration::from_millis(1500)),
                Step::Send(b"id: 2\ndata: b\n\n".to_vec()),
                Step::Hang,
            ])
        },
        events_n(2),
    )
    .await;
    assert_eq!(codes(&rs), [Code::Idle, Code::Http1]);
    // The same silence, broken by heartbeat comments.
    let (rs, _fx) = watch(
        |_, _| {
            let mut steps = vec![Step::Send(b"id: 1\ndata: a\n\n".to_vec())];
            for _ in 0..15 {
                steps.push(Step::Wait(Duration::from_millis(100)));
                steps.push(Step::Send(b": heartbeat\n\n".to_vec()));
            }
            steps.push(Step::Send(b"id: 2\ndata: b\n\n".to_vec()));
            steps.push(Step::Hang);
            good_reply(steps)
        },
        events_n(2),
    )
    .await;
    assert!(!codes(&rs).contains(&Code::Idle));
}

#[tokio::test]
async fn events_without_ids_cannot_be_resumed() {
    let hang = |body: &'static str| move |_: usize, _: &Req| good_reply(vec![Step::Send(body.into()), Step::Hang]);
    let (rs, _fx) = watch(hang("data: a\n\ndata: b\n\n"), events_n(2)).await;
    let f = find(&rs, Code::NoId).expect("no-id");
    assert_eq!(f.evidence, "2 of 2 events had no id");
    let (rs, _fx) = watch(hang("id: 1\ndata: a\n\nid: 2\ndata: b\n\n"), events_n(2)).await;
    assert!(!codes(&rs).contains(&Code::NoId));
}

#[tokio::test]
async fn ids_that_repeat_on_a_resume_or_go_backwards_are_out_of_order() {
    let (rs, _fx) = watch(
        |n, _| match n {
            0 => good_reply(vec![Step::Send(b"id: 5\ndata: a\n\nid: 6\ndata: b\n\n".to_vec())]),
            // Sends again the event the client had, then a counter that restarted.
            _ => good_reply(vec![
                Step::Send(b"id: 6\ndata: b\n\nid: 7\ndata: c\n\nid: 1\ndata: d\n\n".to_vec()),
                Step::Hang,
            ]),
        },
        events_n(5),
    )
    .await;
    let f = find(&rs, Code::IdOrder).expect("id-order");
    assert_eq!(f.evidence, "once backwards, once repeated on a resume; the last: id 1 after 7");
    // Resumed after the Last-Event-ID: in order.
    let (rs, _fx) = watch(closes_after_a_while(Duration::from_millis(100)), events_n(3)).await;
    assert!(!codes(&rs).contains(&Code::IdOrder));
}

#[tokio::test]
async fn a_retry_below_a_second_is_low() {
    let hang = |body: &'static str| move |_: usize, _: &Req| good_reply(vec![Step::Send(body.into()), Step::Hang]);
    let (rs, _fx) = watch(hang("retry: 200\nid: 1\ndata: x\n\n"), events_n(1)).await;
    assert_eq!(find(&rs, Code::RetryLow).expect("retry-low").evidence, "retry: 200 (once)");
    let (rs, _fx) = watch(hang("retry: 3000\nid: 1\ndata: x\n\n"), events_n(1)).await;
    assert!(!codes(&rs).contains(&Code::RetryLow));
}

#[tokio::test]
async fn a_body_that_ends_inside_an_event_is_a_truncated_event() {
    let cut = |body: &'static str| {
        move |n: usize, _: &Req| if n == 0 { good_reply(vec![Step::Send(body.into())]) } else { Reply::status(204) }
    };
    let (rs, _fx) = watch(cut("id: 1\ndata: a\n\nid: 2\ndata: par"), |_| false).await;
    let f = find(&rs, Code::TruncatedEvent).expect("truncated-event");
    assert!(f.evidence.ends_with("with: id: 2⏎data: par"), "{}", f.evidence);
    let (rs, _fx) = watch(cut("id: 1\ndata: a\n\nid: 2\ndata: b\n\n"), |_| false).await;
    assert!(!codes(&rs).contains(&Code::TruncatedEvent));
}

#[tokio::test]
async fn cache_control_cors_and_http1_are_infos_from_the_response() {
    let bare = |_: usize, _: &Req| Reply::sse_steps(vec![Step::Send(b"id: 1\ndata: x\n\n".to_vec()), Step::Hang]);
    let (rs, _fx) = watch(bare, events_n(1)).await;
    let findings = diagnose(&rs, fast());
    let found: Vec<(Code, Severity)> = findings.iter().map(|f| (f.code, f.severity)).collect();
    assert_eq!(
        found,
        [(Code::CacheControl, Severity::Info), (Code::Cors, Severity::Info), (Code::Http1, Severity::Info)]
    );
    assert_eq!(findings[0].evidence, "no Cache-Control header on 1 response");
    assert_eq!(findings[2].evidence, "HTTP/1.1 on 1 response");
    let dressed = |_: usize, _: &Req| {
        Reply::sse_steps(vec![Step::Send(b"id: 1\ndata: x\n\n".to_vec()), Step::Hang])
            .header("Cache-Control", "no-store, private")
            .header("Access-Control-Allow-Origin", "https://example.test")
    };
    let (rs, _fx) = watch(dressed, events_n(1)).await;
    assert_eq!(codes(&rs), [Code::Http1], "the loopback fixture can only speak HTTP/1.1");
}

#[tokio::test]
async fn a_feed_that_never_connects_is_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let rs = watch_url(format!("http://127.0.0.1:{port}/"), |rs| count_kind(rs, "disconnected") >= 2).await;
    assert_eq!(codes(&rs), [Code::Unreachable]);
    let f = find(&rs, Code::Unreachable).unwrap();
    assert!(f.evidence.contains("connection refused"), "{}", f.evidence);
}
