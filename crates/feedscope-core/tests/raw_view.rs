//! The raw view's log against real HTTP servers on 127.0.0.1: the exact body bytes come back line
//! by line, each connection with the request sent (Last-Event-ID after a reconnect) and the
//! response, lines map to records and records to lines, and the cap evicts and counts.

use std::sync::Arc;

use feedscope_core::raw::{LineEnd, Row};
use feedscope_core::sse::{Field, LineKind};
use feedscope_core::{Body, FeedConfig, Hub, Mode, Record, Subscription};
use feedscope_testkit::{cfg, collect_until, count_kind, Fixture, Reply, Step};

/// A hub with feed `f` keeping `raw_mib` MiB of raw bytes, subscribed and started.
fn start(config: FeedConfig, raw_mib: u32) -> (Arc<Hub>, Subscription) {
    let hub = Hub::new();
    hub.add("f", config, Default::default()).expect("valid config");
    hub.set_raw_cap("f", raw_mib).expect("a valid cap");
    let sub = hub.subscribe(Some("f"), 1 << 20);
    hub.start("f").expect("feed exists");
    (hub, sub)
}

fn all_rows(hub: &Hub) -> Vec<Row> {
    hub.raw_page("f", Some(0), usize::MAX).unwrap().rows
}

/// The bytes of connection `conn`'s lines, line ends included.
fn body_of(rows: &[Row], conn: u64) -> Vec<u8> {
    let mut out = Vec::new();
    for r in rows {
        if let Row::Line(l) = r {
            if l.conn == conn {
                out.extend_from_slice(&l.bytes);
                out.extend_from_slice(match l.end {
                    LineEnd::None => &b""[..],
                    LineEnd::Lf => b"\n",
                    LineEnd::Cr => b"\r",
                    LineEnd::CrLf => b"\r\n",
                });
            }
        }
    }
    out
}

fn sent_header(rows: &[Row], conn: u64, name: &str) -> Option<String> {
    rows.iter().find_map(|r| match r {
        Row::Header { conn: c, sent: true, name: n, value } if *c == conn && n == name => Some(value.clone()),
        _ => None,
    })
}

const FIRST: &[u8] = b"retry: 20\n: hello\n\nid: 1\r\nevent: tick\r\ndata: a\r\n\r\n\xef\xbb\xbfdata: bom\rdata: x\n";
const SECOND: &[u8] = b"id: 2\ndata: b\n\n";

#[tokio::test]
async fn the_raw_view_has_each_connections_exact_bytes_with_its_request_and_response() {
    let fx = Fixture::start(|n, _| match n {
        // Read by read, a CRLF split between two of them.
        0 => Reply::sse_steps(vec![
            Step::Send(FIRST[..25].to_vec()),
            Step::Wait(std::time::Duration::from_millis(5)),
            Step::Send(FIRST[25..].to_vec()),
        ]),
        _ => Reply::sse_steps(vec![Step::Send(SECOND.to_vec()), Step::Hang]).header("X-Second", "yes"),
    })
    .await;
    let (hub, sub) = start(cfg(fx.url("/s"), Mode::Persistent), 8);
    let rs = collect_until(&sub, |rs| count_kind(rs, "event") == 2).await;
    hub.stop("f").unwrap();
    let rows = all_rows(&hub);

    // Connection 1: the request as sent, the response as received, the body byte for byte.
    assert!(
        matches!(&rows[0], Row::Connection { conn: 1, attempt: Some(1), last_event_id: Some(id), .. } if id.is_empty())
    );
    assert_eq!(rows[1], Row::Request { conn: 1, method: "GET".into(), url: fx.url("/s") });
    assert_eq!(sent_header(&rows, 1, "accept").as_deref(), Some("text/event-stream"));
    assert_eq!(sent_header(&rows, 1, "last-event-id"), None, "no empty Last-Event-ID");
    assert!(rows
        .iter()
        .any(|r| matches!(r, Row::Status { conn: 1, status: 200, version, .. } if version == "HTTP/1.1")));
    assert!(rows.iter().any(
        |r| matches!(r, Row::Header { conn: 1, sent: false, name, value } if name == "content-type" && value == "text/event-stream")
    ));
    assert_eq!(body_of(&rows, 1), FIRST);
    // It ended by the end of the body, inside an event (`data: x` had no blank line).
    assert!(rows.iter().any(|r| matches!(r, Row::End { conn: 1, reason } if !reason.is_empty())));

    // Connection 2 sent the id the first one left: Last-Event-ID 1, in the row and as a header.
    assert!(matches!(rows.iter().find(|r| matches!(r, Row::Connection { conn: 2, .. })),
        Some(Row::Connection { attempt: Some(2), last_event_id: Some(id), .. }) if id == "1"));
    assert_eq!(sent_header(&rows, 2, "last-event-id").as_deref(), Some("1"));
    assert_eq!(fx.requests()[1].header("last-event-id"), Some("1"));
    assert!(rows.iter().any(|r| matches!(r, Row::Header { conn: 2, sent: false, name, .. } if name == "x-second")));
    assert_eq!(body_of(&rows, 2), SECOND);
    assert!(
        matches!(rows.last(), Some(Row::End { conn: 2, reason }) if reason == feedscope_core::feed::STOPPED),
        "{:?}",
        rows.last()
    );

    // The lines as the parser sees them, offsets and line ends included.
    let lines: Vec<_> = rows
        .iter()
        .filter_map(|r| match r {
            Row::Line(l) if l.conn == 1 => Some((l.offset, l.kind, l.end)),
            _ => None,
        })
        .collect();
    assert_eq!(
        lines,
        [
            (0, LineKind::Field(Field::Retry), LineEnd::Lf),
            (10, LineKind::Comment, LineEnd::Lf),
            (18, LineKind::Blank, LineEnd::Lf),
            (19, LineKind::Field(Field::Id), LineEnd::CrLf),
            (26, LineKind::Field(Field::Event), LineEnd::CrLf),
            (39, LineKind::Field(Field::Data), LineEnd::CrLf),
            (48, LineKind::Blank, LineEnd::CrLf),
            // A second BOM is data: `\u{feff}data` is an unknown field.
            (50, LineKind::Unknown, LineEnd::Cr),
            (63, LineKind::Field(Field::Data), LineEnd::Lf),
        ]
    );

    // Lines to records and back, by the records' timeline index.
    let timeline = hub.snapshot("f").unwrap();
    let index_of = |want: &dyn Fn(&Record) -> bool| timeline.iter().position(|r| want(r)).unwrap() as u64;
    let comment = index_of(&|r| matches!(&r.body, Body::Comment { text } if text == " hello"));
    let tick = index_of(&|r| matches!(&r.body, Body::Event { seq: 1, .. }));
    let row_of =
        |offset: u64| rows.iter().position(|r| matches!(r, Row::Line(l) if l.conn == 1 && l.offset == offset)).unwrap();
    assert_eq!(hub.raw_record_at("f", row_of(10)).unwrap().map(|r| r.index), Some(comment));
    let at_data = hub.raw_record_at("f", row_of(39)).unwrap().unwrap();
    assert_eq!((at_data.index, at_data.seq), (tick, Some(1)));
    assert_eq!(hub.raw_record_at("f", row_of(18)).unwrap(), None, "the blank line after a comment dispatches nothing");
    assert_eq!(hub.raw_locate("f", tick).unwrap(), Some(row_of(19)..row_of(48) + 1));
    assert_eq!(hub.raw_locate("f", comment).unwrap(), Some(row_of(10)..row_of(10) + 1));
    // Both events' seq and the records agree.
    assert_eq!(rs.iter().filter(|r| matches!(r.body, Body::Event { .. })).count(), 2);

    // The export is the bytes again, and parses into the same events.
    let (sse, conns) = hub.with_raw("f", |raw| raw.to_sse()).unwrap();
    assert_eq!(conns, 2);
    assert!(sse.starts_with(FIRST));
    assert!(sse.ends_with(SECOND));
}

#[tokio::test]
async fn the_cap_evicts_old_bytes_and_connections_and_counts_them() {
    // 3 connections of 700 KiB each into a 1 MiB cap.
    let event = format!("data: {}\n\n", "z".repeat(1000));
    let body = event.repeat(700);
    let fx = Fixture::start(move |n, _| if n < 3 { Reply::sse(&body) } else { Reply::status(204) }).await;
    let (hub, sub) = start(cfg(fx.url("/big"), Mode::Browser), 1);
    collect_until(&sub, |rs| rs.iter().any(|r| matches!(r.body, Body::Closed { .. }))).await;
    let stats = hub.raw_stats("f").unwrap();
    assert!(stats.retained_bytes <= 1 << 20, "{stats:?}");
    let received = 3 * 700 * event.len() as u64;
    assert_eq!(stats.evicted_bytes + stats.body_bytes, received, "{stats:?}");
    assert!(stats.evicted_connections >= 1, "{stats:?}");
    // The 204's connection is kept whole (no body); the oldest rows are a connection head.
    let page = hub.raw_page("f", None, 5).unwrap();
    assert_eq!(page.offset + page.rows.len(), page.total);
    assert!(matches!(hub.raw_page("f", Some(0), 1).unwrap().rows[0], Row::Connection { .. }));
    assert_eq!(hub.info("f").unwrap().raw_cap_mib, 1);

    // A smaller cap evicts at once; 0 keeps nothing.
    hub.set_raw_cap("f", 0).unwrap();
    assert_eq!(hub.raw_page("f", None, 10).unwrap().total, 0);
    assert!(hub.set_raw_cap("f", 5000).is_err());
}
