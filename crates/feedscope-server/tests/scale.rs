//! Many demo feeds in one hub, one lossless subscription per feed: the small version of
//! `benches/scale.rs` (100 feeds × 50 events/s × 3 s). Every subscription sees seqs 1..k with no
//! gap, each feed's NDJSON export is exactly what its subscription saw, and the hub's counters
//! agree. No timing assertions: the waits below only fail on a hang.

use std::time::Duration;

use feedscope_core::export::write_records;
use feedscope_core::ExportFormat;
use feedscope_core::{Body, FeedConfig, HistoryLimits, Hub, Mode, Record, Subscription};
use feedscope_server::demo::{router, DemoOptions};
use feedscope_testkit::{collect_until_within, serve_loopback};

const FEEDS: usize = 100;
const RATE: u64 = 50;
const RUN: Duration = Duration::from_secs(3);
/// Guards against a hang; never a timing assertion.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// The subscription's records until the feed's first `closed`, and the subscription (what came
/// after is drained once the stop has returned).
async fn collect(sub: Subscription) -> (Subscription, Vec<Record>) {
    // The run, then the two waits below, each under its own guard.
    let guard = RUN + 2 * HANG_GUARD;
    let records =
        collect_until_within(&sub, guard, |rs| rs.last().is_some_and(|r| matches!(r.body, Body::Closed { .. }))).await;
    (sub, records)
}

fn event_seqs(records: &[Record]) -> Vec<u64> {
    records
        .iter()
        .filter_map(|r| match &r.body {
            Body::Event { seq, .. } => Some(*seq),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_feeds_each_with_one_subscription_lose_nothing_and_export_what_was_seen() {
    // No heartbeat comments: the streams are the prelude and the events.
    let server = serve_loopback(router(DemoOptions { heartbeat: Duration::ZERO, ..DemoOptions::default() })).await;
    let url = format!("http://{}/events?rate={RATE}", server.addr);

    let hub = Hub::new();
    // Room for the whole run, so the history holds every record the subscription sees.
    let limits = HistoryLimits { max_records: 100_000, ..HistoryLimits::default() };
    let mut ids = Vec::new();
    let mut subscribers = Vec::new();
    for i in 0..FEEDS {
        let id = format!("feed-{i:03}");
        let config = FeedConfig { mode: Mode::Persistent, jitter: false, ..FeedConfig::new(url.clone()) };
        hub.add(&id, config, limits).unwrap();
        subscribers.push(tokio::spawn(collect(hub.subscribe(Some(&id), 4096))));
        ids.push(id);
    }
    for id in &ids {
        hub.start(id).unwrap();
    }
    tokio::time::sleep(RUN).await;
    // On a very busy machine a feed may not have connected yet: wait for its first event.
    tokio::time::timeout(HANG_GUARD, async {
        while ids.iter().any(|id| hub.stats(id).unwrap().events == 0) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("every feed gets events");
    hub.stop_all();

    let mut seen = Vec::new();
    for task in subscribers {
        let (sub, mut records) =
            tokio::time::timeout(HANG_GUARD, task).await.expect("each subscription sees `closed`").unwrap();
        // The stop has returned: nothing more is appended, so this is the rest of the feed's records.
        records.extend(sub.drain(usize::MAX).iter().map(|r| Record::clone(r)));
        seen.push(records);
    }

    let mut total = 0;
    for (id, records) in ids.iter().zip(seen) {
        let seqs = event_seqs(&records);
        let k = seqs.len() as u64;
        assert!(k > 0, "{id}: no events");
        assert_eq!(seqs, (1..=k).collect::<Vec<_>>(), "{id}: the subscription's seqs are 1..k");
        for r in &records {
            if let Body::Event { seq, id: event_id, .. } = &r.body {
                assert_eq!(**event_id, *seq.to_string(), "{id}: the demo's ids count as the seqs do");
            }
        }
        // The records end with the stop's `closed`, and nothing but `closed` follows the last event.
        let closed = records.iter().filter(|r| matches!(r.body, Body::Closed { .. })).count();
        let tail = records.iter().rposition(|r| matches!(r.body, Body::Event { .. })).map_or(0, |i| i + 1);
        assert!(records[tail..].iter().all(|r| matches!(r.body, Body::Closed { .. })), "{id}: closed comes last");
        // A stop's `closed` is the run's only one: the task's own never gets in ahead of it.
        assert_eq!(closed, 1, "{id}: {closed} `closed` records");

        let mut ndjson = Vec::new();
        let snapshot = hub.snapshot(id).unwrap();
        let written =
            write_records(ExportFormat::Ndjson, snapshot.iter().map(|r| &**r), None, &[], &mut ndjson).unwrap().1;
        let exported: Vec<Record> = String::from_utf8(ndjson)
            .unwrap()
            .lines()
            .map(|l| Record::from_json(l).expect("an exported line parses back"))
            .collect();
        assert_eq!(written as usize, exported.len());
        assert_eq!(event_seqs(&exported), seqs, "{id}: the export's seqs are the subscription's");
        assert_eq!(exported, records, "{id}: the export is record for record what the subscription saw");

        let stats = hub.stats(id).unwrap();
        assert_eq!(stats.events, k, "{id}: the hub counted the events the subscription saw");
        assert_eq!((stats.evicted, stats.retained), (0, records.len()), "{id}: nothing was evicted");
        total += k;
    }
    assert!(total >= FEEDS as u64);
    server.shutdown().await;
}
