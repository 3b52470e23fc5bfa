//! Faults lose nothing and stick nowhere: slow, silent, reset and cut connections against real
//! HTTP servers on 127.0.0.1. Every complete event arrives once, in order, with contiguous `seq`;
//! an event cut by the fault is never dispatched and its `id` never becomes the last event ID;
//! and the next connection starts from a clean parser.

use std::sync::Arc;
use std::time::Duration;

use feedscope_core::{Body, FeedConfig, Hub, Mode, Record};
use feedscope_testkit::{cfg, collect_until, count_kind, drip, events, is_closed, start_feed, Fixture, Reply, Step};
use tokio::sync::Notify;

fn seqs(rs: &[Record]) -> Vec<u64> {
    rs.iter().filter_map(|r| if let Body::Event { seq, .. } = r.body { Some(seq) } else { None }).collect()
}

fn disconnect_reasons(rs: &[Record]) -> Vec<String> {
    rs.iter()
        .filter_map(|r| if let Body::Disconnected { reason, .. } = &r.body { Some(reason.clone()) } else { None })
        .collect()
}

fn connecting_ids(rs: &[Record]) -> Vec<String> {
    rs.iter()
        .filter_map(|r| match &r.body {
            Body::Connecting { last_event_id, .. } => Some(last_event_id.clone()),
            _ => None,
        })
        .collect()
}

fn sent_ids(fx: &Fixture) -> Vec<Option<String>> {
    fx.requests().iter().map(|r| r.header("last-event-id").map(str::to_owned)).collect()
}

fn ev(id: &str, data: &str) -> (String, String, String) {
    ("message".into(), id.into(), data.into())
}

/// Opens `gate` once feed `f` has received `bytes` body bytes: the server then knows the client
/// has read everything it sent, so a reset cannot destroy data still in flight.
fn open_gate_when_received(hub: &Arc<Hub>, bytes: u64, gate: Arc<Notify>) {
    let hub = hub.clone();
    tokio::spawn(async move {
        while !hub.stats("f").is_ok_and(|s| s.bytes >= bytes) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        gate.notify_one();
    });
}

/// The ways a connection can break in the middle of an event.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// TCP RST (SO_LINGER 0), after the client has read everything sent.
    Reset,
    /// A plain close (FIN) of a close-delimited body: a clean end of body for HTTP.
    Fin,
    /// FIN in the middle of a chunk of a chunked body.
    MidChunk,
    /// FIN between chunks of a chunked body, without the last chunk.
    BetweenChunks,
}

const FAULTS: [Fault; 4] = [Fault::Reset, Fault::Fin, Fault::MidChunk, Fault::BetweenChunks];

/// A reply that sends `whole`, then `cut`, then breaks the way `fault` says.
fn broken_reply(fault: Fault, whole: &str, cut: &str, gate: &Arc<Notify>) -> Reply {
    let (whole, cut) = (whole.as_bytes().to_vec(), cut.as_bytes().to_vec());
    match fault {
        Fault::Reset => {
            Reply::sse_steps(vec![Step::Send(whole), Step::Send(cut), Step::Gate(gate.clone()), Step::Reset])
        }
        Fault::Fin => Reply::sse_steps(vec![Step::Send(whole), Step::Send(cut)]).until_close(),
        Fault::MidChunk => Reply::sse_steps(vec![Step::Send(whole), Step::AbortMidChunk(cut)]),
        Fault::BetweenChunks => Reply::sse_steps(vec![Step::Send(whole), Step::Send(cut), Step::Abort]),
    }
}

/// What the `disconnected` reason says for `fault`: a clean end of body or a lost connection.
fn expected_reason(fault: Fault) -> &'static str {
    match fault {
        Fault::Fin => "ended the stream",
        Fault::Reset | Fault::MidChunk | Fault::BetweenChunks => "lost",
    }
}

#[tokio::test]
async fn a_stream_dripped_one_byte_at_a_time_arrives_intact_and_in_order() {
    // A BOM, CRLF and lone-CR line ends and multi-byte characters, every byte its own read: the
    // BOM, each CRLF and each character are split across reads.
    let body = "\u{FEFF}data: a\r\n\r\nid: 2\r\ndata: é😀\r\ndata: l2\r\n\r\nevent: t\rdata: z\r\r";
    let fx = Fixture::start(move |n, _| {
        if n == 0 {
            Reply::sse_steps(drip(body.as_bytes(), Duration::from_millis(50)))
        } else {
            Reply::status(204)
        }
    })
    .await;
    let (hub, sub) = start_feed(FeedConfig { read_timeout_ms: 2000, ..cfg(fx.url("/"), Mode::Persistent) });
    let rs = collect_until(&sub, is_closed).await;
    assert_eq!(events(&rs), [ev("", "a"), ev("2", "é😀\nl2"), ("t".to_string(), "2".to_string(), "z".to_string())]);
    assert_eq!(seqs(&rs), [1, 2, 3]);
    // The body ended cleanly: no read timeout fired.
    let reasons = disconnect_reasons(&rs);
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].contains("ended the stream") && !reasons[0].contains("timeout"), "{reasons:?}");
    assert_eq!(count_kind(&rs, "error"), 0);
    assert_eq!(hub.stats("f").unwrap().bytes, body.len() as u64);
    assert_eq!(sent_ids(&fx), [None, Some("2".into())]);
}

#[tokio::test]
async fn a_silent_server_is_dropped_by_the_read_timeout_and_the_reconnect_resumes_after_the_last_id() {
    let fx = Fixture::start(|n, _| match n {
        0 => Reply::sse_steps(vec![Step::Send(b"id: 1\ndata: a\n\nid: 2\ndata: b\n\n".to_vec()), Step::Hang]),
        1 => Reply::sse("id: 3\ndata: c\n\nid: 4\ndata: d\n\n"),
        _ => Reply::status(204),
    })
    .await;
    let (_hub, sub) = start_feed(FeedConfig { read_timeout_ms: 300, ..cfg(fx.url("/"), Mode::Persistent) });
    let rs = collect_until(&sub, is_closed).await;
    let reasons = disconnect_reasons(&rs);
    assert!(reasons[0].contains("read timeout") && reasons[0].contains("300 ms"), "{reasons:?}");
    assert_eq!(sent_ids(&fx), [None, Some("2".into()), Some("4".into())]);
    assert_eq!(connecting_ids(&rs), ["", "2", "4"]);
    assert_eq!(events(&rs), [ev("1", "a"), ev("2", "b"), ev("3", "c"), ev("4", "d")]);
    assert_eq!(seqs(&rs), [1, 2, 3, 4]);
}

#[tokio::test]
async fn an_event_cut_by_reset_fin_or_a_broken_chunk_is_discarded_and_its_id_never_sent() {
    for fault in FAULTS {
        let gate = Arc::new(Notify::new());
        let script_gate = gate.clone();
        let (whole, cut) = ("id: 1\ndata: a\n\n", "id: 2\ndata: partial");
        let fx = Fixture::start(move |n, _| match n {
            0 => broken_reply(fault, whole, cut, &script_gate),
            // No id on the first event: it carries the last event ID, which must still be 1.
            1 => Reply::sse("data: c\n\nid: 3\ndata: d\n\n"),
            _ => Reply::status(204),
        })
        .await;
        let (hub, sub) = start_feed(cfg(fx.url("/"), Mode::Browser));
        open_gate_when_received(&hub, (whole.len() + cut.len()) as u64, gate);
        let rs = collect_until(&sub, is_closed).await;
        assert_eq!(events(&rs), [ev("1", "a"), ev("1", "c"), ev("3", "d")], "{fault:?}");
        assert_eq!(seqs(&rs), [1, 2, 3], "{fault:?}");
        assert_eq!(sent_ids(&fx), [None, Some("1".into()), Some("3".into())], "{fault:?}");
        assert_eq!(connecting_ids(&rs), ["", "1", "3"], "{fault:?}");
        let reasons = disconnect_reasons(&rs);
        assert!(reasons[0].contains(expected_reason(fault)), "{fault:?}: {reasons:?}");
    }
}

#[tokio::test]
async fn a_cut_inside_a_multi_line_data_block_or_after_a_lone_cr_leaves_no_state_behind() {
    let cuts = [
        ("data: l1\ndata: l2\ndata: l3", FAULTS.as_slice()),
        ("data: l1\r\ndata: l2\r\ndata: l3\r", FAULTS.as_slice()),
        ("data: x\r", [Fault::Reset, Fault::Fin].as_slice()),
    ];
    for (cut, faults) in cuts {
        for &fault in faults {
            let gate = Arc::new(Notify::new());
            let script_gate = gate.clone();
            let fx = Fixture::start(move |n, _| match n {
                0 => broken_reply(fault, "", cut, &script_gate),
                // A blank line first: it would dispatch anything left of the cut block, and a
                // leftover line would run into this body's first line.
                1 => Reply::sse("\ndata: y\n\n"),
                _ => Reply::status(204),
            })
            .await;
            let (hub, sub) = start_feed(cfg(fx.url("/"), Mode::Browser));
            open_gate_when_received(&hub, cut.len() as u64, gate);
            let rs = collect_until(&sub, is_closed).await;
            assert_eq!(events(&rs), [ev("", "y")], "{cut:?} {fault:?}");
            assert_eq!(seqs(&rs), [1], "{cut:?} {fault:?}");
            assert_eq!(count_kind(&rs, "open"), 2, "{cut:?} {fault:?}");
            assert_eq!(sent_ids(&fx), [None, None, None], "{cut:?} {fault:?}");
            let reasons = disconnect_reasons(&rs);
            assert!(reasons[0].contains(expected_reason(fault)), "{cut:?} {fault:?}: {reasons:?}");
            let Body::Closed { fatal, .. } = &rs.last().unwrap().body else { unreachable!() };
            assert!(!fatal);
        }
    }
}

#[tokio::test]
async fn a_server_that_never_answers_the_request_is_dropped_by_the_read_timeout_in_persistent_mode() {
    let fx = Fixture::start(|n, _| match n {
        0 => Reply::no_response(),
        1 => Reply::sse("id: 1\ndata: ok\n\n"),
        _ => Reply::status(204),
    })
    .await;
    let (_hub, sub) = start_feed(FeedConfig { read_timeout_ms: 300, ..cfg(fx.url("/"), Mode::Persistent) });
    let rs = collect_until(&sub, is_closed).await;
    let kinds: Vec<&str> = rs.iter().map(|r| r.body.kind().as_str()).collect();
    assert_eq!(
        kinds,
        ["connecting", "disconnected", "connecting", "open", "event", "disconnected", "connecting", "closed"]
    );
    let reasons = disconnect_reasons(&rs);
    assert_eq!(reasons[0], "no response within 300 ms (read timeout)", "{reasons:?}");
    assert!(
        matches!(&rs[1].body, Body::Disconnected { cause, .. } if cause.browser_would_stop()),
        "a browser would keep waiting: {:?}",
        rs[1]
    );
    assert_eq!(events(&rs), [ev("1", "ok")]);
    assert_eq!(fx.requests().len(), 3);
}

/// Receives records until `closed`, pausing every 1000 records so the queue backs up.
async fn drain_slowly(sub: &feedscope_core::Subscription) -> Vec<Arc<Record>> {
    let mut out: Vec<Arc<Record>> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let r = match tokio::time::timeout_at(deadline, sub.recv()).await {
            Ok(r) => r,
            Err(_) => panic!("timed out after {} records; last: {:?}", out.len(), out.last().map(|r| r.to_json())),
        };
        let done = r.body.kind().as_str() == "closed";
        out.push(r);
        if done {
            return out;
        }
        if out.len() % 1000 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_after_a_burst_loses_nothing_queued_for_a_slow_subscriber() {
    const BURST: u64 = 50_000;
    const AFTER: u64 = 10;
    let burst: String = (1..=BURST).map(|i| format!("id: {i}\ndata: {i}\n\n")).collect();
    let after: String = (BURST + 1..=BURST + AFTER).map(|i| format!("id: {i}\ndata: {i}\n\n")).collect();
    let burst_len = burst.len() as u64;
    let gate = Arc::new(Notify::new());
    let script_gate = gate.clone();
    let fx = Fixture::start(move |n, _| match n {
        0 => {
            Reply::sse_steps(vec![Step::Send(burst.clone().into_bytes()), Step::Gate(script_gate.clone()), Step::Reset])
        }
        1 => Reply::sse(&after),
        _ => Reply::status(204),
    })
    .await;
    let hub = Hub::new();
    hub.add("f", cfg(fx.url("/"), Mode::Browser), Default::default()).unwrap();
    let sub = hub.subscribe(Some("f"), 1024);
    hub.start("f").unwrap();
    open_gate_when_received(&hub, burst_len, gate);
    let rs = drain_slowly(&sub).await;

    let mut want = 1u64;
    for r in &rs {
        if let Body::Event { seq, id, data, .. } = &r.body {
            assert_eq!(*seq, want, "seq must be contiguous");
            assert_eq!((&**id, data.as_str()), (want.to_string().as_str(), want.to_string().as_str()));
            want += 1;
        }
    }
    assert_eq!(want - 1, BURST + AFTER, "every event exactly once");
    let kinds: Vec<&str> = rs.iter().map(|r| r.body.kind().as_str()).filter(|k| *k != "event").collect();
    assert_eq!(
        kinds,
        ["connecting", "open", "disconnected", "connecting", "open", "disconnected", "connecting", "closed"]
    );
    let reasons: Vec<String> = rs
        .iter()
        .filter_map(|r| if let Body::Disconnected { reason, .. } = &r.body { Some(reason.clone()) } else { None })
        .collect();
    assert!(reasons[0].contains("lost"), "{reasons:?}");
    assert_eq!(sent_ids(&fx), [None, Some(BURST.to_string()), Some((BURST + AFTER).to_string())]);
    assert_eq!(hub.stats("f").unwrap().events, BURST + AFTER);
}
