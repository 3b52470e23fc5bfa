//! Live feeds compared side by side: the same events over Server-Sent Events, a WebSocket, long
//! polling and polling, run together in one [`Hub`] for a while, and for each feed what it cost
//! and how late its events came (`feedscope compare`, docs/transports.md).
//!
//! The events must say who they are and when they left: each is a JSON object with a whole
//! number `n` (1, 2, 3… in the order the server published them) and `sent_at`, the time it was
//! published in milliseconds since the Unix epoch, as the demo's live feed sends them
//! (`/live`, `/ws`, `/long-poll`, `/poll`). An event's data may also be an array of such objects,
//! or an object with an `events` array (a poll's answer, a batch). Other events are counted
//! apart ([`TransportReport::other`]).
//!
//! How the figures are made ([`Tally`], [`summarize`]):
//! - The feeds start together; the events published during the measured span, from `warmup`
//!   after the start for `duration`, are the ones that count. The feeds then run for `drain`
//!   more, so that a poll delivers what was published at the span's end.
//! - An event's latency is the time of the record that first carried it ([`Record::ts`], the
//!   engine's clock at the read) minus its `sent_at` (the server's clock): 1 ms resolution, and
//!   only meaningful when the two clocks agree (the same machine).
//! - Missed: the numbers between the span's first and last event that never arrived. With a
//!   shared source (all feeds carry the same events, as the demo's do), first and last are over
//!   all feeds, so a feed that got none of the last events misses them too.
//! - Duplicated: arrivals of an event already received. A poll answers with the state, and its
//!   window overlaps the one before: for a `poll` feed an event only counts again when one answer
//!   holds it twice.
//! - Requests, connections and bytes on the wire are the engine's own counters
//!   ([`crate::FeedStats`]); bytes per event divides the wire bytes of the whole run by the events
//!   published since the start that arrived.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::feed::{ConfigError, FeedConfig, Transport};
use crate::history::HistoryLimits;
use crate::hub::{Hub, HubError};
use crate::record::{Body, Record, Timestamp};

/// One feed of a comparison: its name in the report (and its feed id in the hub) and settings.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareFeed {
    pub name: String,
    pub config: FeedConfig,
}

/// How long to compare, and how to count.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CompareOptions {
    /// The measured span: events published during it count.
    pub duration_ms: u64,
    /// From the start to the span: connections open, a first poll goes out.
    pub warmup_ms: u64,
    /// After the span, the feeds run this much longer so the slowest delivers the span's last
    /// events. `None`: the longest poll interval plus a second (at least a second).
    pub drain_ms: Option<u64>,
    /// Every feed carries the same events (one source, as the demo's live feed): an event that
    /// one feed received and another did not counts as missed by the other.
    pub shared_source: bool,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions { duration_ms: 10_000, warmup_ms: 1000, drain_ms: None, shared_source: false }
    }
}

/// A comparison's result: one row per feed, in the order they were given.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareReport {
    /// When the feeds started.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub started: Timestamp,
    pub duration_ms: u64,
    pub warmup_ms: u64,
    pub drain_ms: u64,
    pub shared_source: bool,
    pub transports: Vec<TransportReport>,
}

/// What one feed delivered, and at what cost.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransportReport {
    pub name: String,
    pub transport: Transport,
    pub url: String,
    /// Events of the measured span that arrived (each counted once).
    pub events: u64,
    /// The span's first and last event numbers this feed was measured against (`None`: no
    /// event of the span arrived anywhere).
    pub first_n: Option<u64>,
    pub last_n: Option<u64>,
    /// Events of the span that never arrived.
    pub missed: u64,
    /// Arrivals of an event of the span that had already arrived.
    pub duplicated: u64,
    pub latency: Latency,
    /// HTTP requests or WebSocket handshakes sent, over the whole run.
    pub requests: u64,
    /// TCP connections opened, over the whole run.
    pub connections: u64,
    /// Bytes on the wire both ways, over the whole run (the engine's estimate: request and
    /// status lines, headers, bodies, WebSocket frames).
    pub wire_bytes: u64,
    /// `wire_bytes` over the events published since the start that arrived.
    pub bytes_per_event: Option<f64>,
    /// Polling: answers that were the same as the one before.
    pub unchanged: u64,
    /// Event records that carried no `n` and `sent_at` (another message of the server).
    pub other: u64,
    /// Connections that ended and were made again.
    pub reconnects: u64,
    /// Why the feed stopped for good before the end, or the last reason it disconnected.
    pub problem: Option<String>,
}

/// Delivery latency, from the server's `sent_at` to the record that first carried the event,
/// in milliseconds; `None` without events.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Latency {
    pub p50_ms: Option<i64>,
    pub p99_ms: Option<i64>,
    pub max_ms: Option<i64>,
    pub mean_ms: Option<f64>,
}

impl Latency {
    /// The figures of `samples` (milliseconds, in any order).
    pub fn of(samples: &[i64]) -> Latency {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let mean = (!sorted.is_empty()).then(|| sorted.iter().map(|&v| v as f64).sum::<f64>() / sorted.len() as f64);
        Latency {
            p50_ms: percentile(&sorted, 50.0),
            p99_ms: percentile(&sorted, 99.0),
            max_ms: sorted.last().copied(),
            mean_ms: mean,
        }
    }
}

/// The `p`th percentile (0 < p ≤ 100) of `sorted` by the nearest-rank method: the smallest value
/// with at least p% of the values at or below it. `None` when empty.
pub fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// An event as a comparison knows it: its number and when the server published it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub n: u64,
    pub sent_at: i64,
}

/// The stamped events in an event's data: an object with `n` and `sent_at`, an array of them,
/// or an object with an `events` array of them (an empty array is a state with no events yet).
/// `None` for anything else: not JSON, or no stamp.
pub fn stamps(data: &str) -> Option<Vec<Stamp>> {
    let value = serde_json::from_str::<Value>(data).ok()?;
    let one = |v: &Value| {
        let n = v.get("n")?.as_u64()?;
        let sent_at = v.get("sent_at")?;
        let sent_at =
            sent_at.as_i64().or_else(|| sent_at.as_f64().filter(|f| f.is_finite()).map(|f| f.floor() as i64))?;
        Some(Stamp { n, sent_at })
    };
    let list = match &value {
        Value::Array(items) => items,
        Value::Object(o) => match (one(&value), o.get("events")) {
            (Some(stamp), _) => return Some(vec![stamp]),
            (None, Some(Value::Array(items))) => items,
            (None, _) => return None,
        },
        _ => return None,
    };
    let stamps: Vec<Stamp> = list.iter().filter_map(one).collect();
    (!stamps.is_empty() || list.is_empty()).then_some(stamps)
}

/// One event number as a feed received it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Arrival {
    sent_at: i64,
    /// The first record that carried it.
    first: Timestamp,
    /// How many times it arrived (see the module doc for polls).
    count: u64,
}

/// What one feed's records said, fed to it in order ([`Tally::observe`]); [`summarize`] makes
/// the figures.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Each answer is a state that repeats the one before (a poll): an event seen in an earlier
    /// record is not a new arrival.
    snapshots: bool,
    arrivals: BTreeMap<u64, Arrival>,
    other: u64,
    problem: Option<String>,
    closed: bool,
}

impl Tally {
    pub fn new(snapshots: bool) -> Self {
        Tally { snapshots, ..Tally::default() }
    }

    /// A tally for a feed of `transport` (polls are snapshots).
    pub fn for_transport(transport: Transport) -> Self {
        Tally::new(transport == Transport::Poll)
    }

    pub fn observe(&mut self, r: &Record) {
        match &r.body {
            Body::Event { data, .. } => {
                let Some(stamps) = stamps(data) else {
                    self.other += 1;
                    return;
                };
                let mut in_record = HashSet::new();
                for s in stamps {
                    let again_here = !in_record.insert(s.n);
                    match self.arrivals.get_mut(&s.n) {
                        None => {
                            self.arrivals.insert(s.n, Arrival { sent_at: s.sent_at, first: r.ts, count: 1 });
                        }
                        Some(a) if !self.snapshots || again_here => a.count += 1,
                        Some(_) => {}
                    }
                }
            }
            Body::Binary { .. } => self.other += 1,
            Body::Disconnected { reason, .. } => self.problem = Some(reason.clone()),
            Body::Closed { reason, fatal, .. } => {
                if *fatal {
                    self.problem = Some(reason.clone());
                }
                self.closed = true;
            }
            _ => {}
        }
    }

    /// Whether the feed's last record was `closed` (it stopped).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The event numbers received whose `sent_at` is within `span` (server milliseconds).
    fn in_span(&self, span: Span) -> impl Iterator<Item = (&u64, &Arrival)> {
        self.arrivals.iter().filter(move |(_, a)| span.contains(a.sent_at))
    }

    /// The first and last event number received within `span`.
    pub fn range(&self, span: &Span) -> Option<(u64, u64)> {
        let mut numbers = self.in_span(*span).map(|(&n, _)| n);
        let first = numbers.next()?;
        Some((first, numbers.last().unwrap_or(first)))
    }
}

/// The measured span: server times from `from_ms` (inclusive) to `to_ms` (exclusive), and the
/// run's start (events published before it are not counted for bytes per event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start_ms: i64,
    pub from_ms: i64,
    pub to_ms: i64,
}

impl Span {
    fn contains(&self, sent_at: i64) -> bool {
        (self.from_ms..self.to_ms).contains(&sent_at)
    }
}

/// The figures of one feed's tally: events, missed, duplicated and latency within `span`,
/// against the event numbers `range` (a shared source's, over every feed; else the feed's own
/// [`Tally::range`]). The counters (requests, connections, bytes) are left at zero for
/// [`run`] to fill from the engine.
pub fn summarize(
    name: &str,
    config: &FeedConfig,
    tally: &Tally,
    span: &Span,
    range: Option<(u64, u64)>,
) -> TransportReport {
    let range = range.or_else(|| tally.range(span));
    let mut events = 0u64;
    let mut duplicated = 0u64;
    let mut latencies = Vec::new();
    for (&n, a) in tally.in_span(*span) {
        if range.is_some_and(|(lo, hi)| (lo..=hi).contains(&n)) {
            events += 1;
            duplicated += a.count - 1;
            latencies.push(a.first.millis() - a.sent_at);
        }
    }
    let expected = range.map_or(0, |(lo, hi)| hi - lo + 1);
    TransportReport {
        name: name.to_owned(),
        transport: config.transport,
        url: config.url.trim().to_owned(),
        events,
        first_n: range.map(|r| r.0),
        last_n: range.map(|r| r.1),
        missed: expected.saturating_sub(events),
        duplicated,
        latency: Latency::of(&latencies),
        requests: 0,
        connections: 0,
        wire_bytes: 0,
        bytes_per_event: None,
        unchanged: 0,
        other: tally.other,
        reconnects: 0,
        problem: tally.problem.clone(),
    }
}

/// Events published since the run's start that arrived: what the wire bytes are divided by.
fn delivered_since_start(tally: &Tally, span: &Span) -> u64 {
    tally.arrivals.values().filter(|a| a.sent_at >= span.start_ms).count() as u64
}

/// Why a comparison could not run.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("nothing to compare: give at least one feed")]
    NoFeeds,
    #[error("two feeds are named {0:?}: each needs its own name")]
    SameName(String),
    #[error("the duration must be more than 0")]
    NoDuration,
    #[error("{name}: {error}")]
    Feed { name: String, error: HubError },
    #[error("{name}: {error}")]
    Config { name: String, error: ConfigError },
}

/// The demo server's live feed at `base` (`http://127.0.0.1:8080`) over its four transports, as
/// `feedscope compare` runs it: `sse` (`/live`), `websocket` (`/ws`, the type from `type`),
/// `long-poll` (`/long-poll`, the cursor from each event's `n` into `?cursor=`, one event per
/// array element) and `poll` (`/poll` every `poll_interval`, asking for a window of at least
/// three intervals and 10 s, so that no event falls between two polls).
pub fn demo_feeds(base: &str, poll_interval: Duration) -> Result<Vec<CompareFeed>, ConfigError> {
    let base = base.trim().trim_end_matches('/');
    let ws_base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_owned()
    };
    let poll_interval_ms = u64::try_from(poll_interval.as_millis()).unwrap_or(u64::MAX).max(1);
    let window_secs = (3 * poll_interval_ms).max(10_000).div_ceil(1000);
    let feeds = vec![
        CompareFeed { name: "sse".into(), config: FeedConfig::new(format!("{base}/live")) },
        CompareFeed { name: "websocket".into(), config: demo_feed(format!("{ws_base}/ws"), Transport::WebSocket) },
        CompareFeed { name: "long-poll".into(), config: demo_feed(format!("{base}/long-poll"), Transport::LongPoll) },
        CompareFeed {
            name: "poll".into(),
            config: FeedConfig {
                poll_interval_ms,
                ..demo_feed(format!("{base}/poll?seconds={window_secs}"), Transport::Poll)
            },
        },
    ];
    for f in &feeds {
        f.config.validate()?;
    }
    Ok(feeds)
}

/// The settings that read the demo's live feed (and a server that speaks like it) over
/// `transport`: the type from each message's `type`; for long polling, the cursor from each
/// event's `n`, sent as `?cursor=`, and one event per element of the answer's array.
pub fn demo_feed(url: String, transport: Transport) -> FeedConfig {
    let mut config = FeedConfig { transport, ..FeedConfig::new(url) };
    match transport {
        Transport::Sse => {}
        Transport::WebSocket => config.type_path = "type".into(),
        Transport::LongPoll => {
            config.type_path = "type".into();
            config.cursor_from = "n".into();
            config.cursor_param = "cursor".into();
            config.split_array = true;
        }
        Transport::Poll => {}
    }
    config
}

/// Records a feed's reader may lag behind before the feed waits for it.
const QUEUE: usize = 1 << 14;

/// Runs `feeds` side by side in a new hub (see the module doc) and reports on each.
pub async fn run(feeds: Vec<CompareFeed>, options: CompareOptions) -> Result<CompareReport, CompareError> {
    run_on(&Hub::new(), feeds, options).await
}

/// [`run`] in `hub`, with the feeds' names as their ids (which must be free); they are removed
/// at the end. Must be called within the hub's tokio runtime.
pub async fn run_on(
    hub: &Arc<Hub>,
    feeds: Vec<CompareFeed>,
    options: CompareOptions,
) -> Result<CompareReport, CompareError> {
    if feeds.is_empty() {
        return Err(CompareError::NoFeeds);
    }
    if options.duration_ms == 0 {
        return Err(CompareError::NoDuration);
    }
    let mut names = HashSet::new();
    for f in &feeds {
        if !names.insert(f.name.as_str()) {
            return Err(CompareError::SameName(f.name.clone()));
        }
        f.config.validate().map_err(|error| CompareError::Config { name: f.name.clone(), error })?;
    }
    let drain_ms = options.drain_ms.unwrap_or_else(|| {
        let longest_poll =
            feeds.iter().filter(|f| f.config.transport == Transport::Poll).map(|f| f.config.poll_interval_ms).max();
        longest_poll.unwrap_or(0).saturating_add(1000)
    });
    for (i, f) in feeds.iter().enumerate() {
        if let Err(error) = hub.add(&f.name, f.config.clone(), HistoryLimits::STREAMING) {
            for added in &feeds[..i] {
                let _ = hub.remove(&added.name);
            }
            return Err(CompareError::Feed { name: f.name.clone(), error });
        }
    }
    // One reader per feed, subscribed before the feeds start so that no record is missed.
    let readers: Vec<_> = feeds
        .iter()
        .map(|f| {
            let sub = hub.subscribe(Some(&f.name), QUEUE);
            let mut tally = Tally::for_transport(f.config.transport);
            tokio::spawn(async move {
                let mut batch = Vec::with_capacity(256);
                while !tally.is_closed() {
                    sub.recv_many(&mut batch, 256).await;
                    for r in batch.drain(..) {
                        tally.observe(&r);
                    }
                }
                tally
            })
        })
        .collect();
    let started = Timestamp::now();
    let clock = tokio::time::Instant::now();
    for f in &feeds {
        // Added above, so only a vanished feed fails here: its tally shows no events.
        let _ = hub.start(&f.name);
    }
    let span = Span {
        start_ms: started.millis(),
        from_ms: started.millis() + options.warmup_ms as i64,
        to_ms: started.millis() + (options.warmup_ms + options.duration_ms) as i64,
    };
    let end = clock + Duration::from_millis(options.warmup_ms + options.duration_ms + drain_ms);
    tokio::time::sleep_until(end).await;
    for f in &feeds {
        let _ = hub.stop(&f.name);
    }
    let mut tallies = Vec::with_capacity(feeds.len());
    for reader in readers {
        // A stopped feed's last record is its `closed`; the reader ends there.
        let tally = match tokio::time::timeout(Duration::from_secs(10), reader).await {
            Ok(Ok(tally)) => tally,
            _ => Tally::default(),
        };
        tallies.push(tally);
    }
    let shared_range = options.shared_source.then(|| {
        let ranges: Vec<(u64, u64)> = tallies.iter().filter_map(|t| t.range(&span)).collect();
        Some((ranges.iter().map(|r| r.0).min()?, ranges.iter().map(|r| r.1).max()?))
    });
    let mut transports = Vec::with_capacity(feeds.len());
    for (f, tally) in feeds.iter().zip(&tallies) {
        let mut report = summarize(&f.name, &f.config, tally, &span, shared_range.flatten());
        if let Ok(stats) = hub.stats(&f.name) {
            report.requests = stats.counts.requests;
            report.connections = stats.counts.connections;
            report.wire_bytes = stats.counts.wire_bytes;
            report.unchanged = stats.counts.unchanged;
            report.reconnects = stats.reconnects;
        }
        let delivered = delivered_since_start(tally, &span);
        report.bytes_per_event = (delivered > 0).then(|| report.wire_bytes as f64 / delivered as f64);
        transports.push(report);
        let _ = hub.remove(&f.name);
    }
    Ok(CompareReport {
        started,
        duration_ms: options.duration_ms,
        warmup_ms: options.warmup_ms,
        drain_ms,
        shared_source: options.shared_source,
        transports,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(ts: i64, data: &str) -> Record {
        let body = Body::Event { seq: 0, event_type: Arc::from("message"), id: Arc::from(""), data: data.to_owned() };
        Record::new(Arc::from("t"), Timestamp(ts), body)
    }

    fn stamp(n: u64, sent_at: i64) -> String {
        format!(r#"{{"n":{n},"type":"tick","sent_at":{sent_at},"data":"x"}}"#)
    }

    const SPAN: Span = Span { start_ms: 0, from_ms: 1000, to_ms: 2000 };

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let values: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50.0), Some(50));
        assert_eq!(percentile(&values, 99.0), Some(99));
        assert_eq!(percentile(&values, 100.0), Some(100));
        assert_eq!(percentile(&[7], 50.0), Some(7));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[1, 2], 50.0), Some(1));
        assert_eq!(percentile(&[1, 2], 99.0), Some(2));
        assert_eq!(percentile(&[], 50.0), None);
        // 1000 values, ten of them slow: p99 is the last fast one, the max a slow one.
        let mut skewed = vec![3; 990];
        skewed.extend([500; 10]);
        let l = Latency::of(&skewed);
        assert_eq!((l.p50_ms, l.p99_ms, l.max_ms), (Some(3), Some(3), Some(500)));
        assert_eq!(l.mean_ms, Some((990.0 * 3.0 + 5000.0) / 1000.0));
        assert_eq!(Latency::of(&[]), Latency::default());
        // Any order in.
        assert_eq!(Latency::of(&[9, 1, 5]).p50_ms, Some(5));
    }

    #[test]
    fn stamps_come_from_an_object_an_array_or_an_events_member() {
        let got = |data: &str| stamps(data).unwrap_or_else(|| panic!("no stamps in {data}"));
        assert_eq!(got(&stamp(7, 1500)), [Stamp { n: 7, sent_at: 1500 }]);
        let array = format!("[{},{}]", stamp(1, 10), stamp(2, 20));
        assert_eq!(got(&array), [Stamp { n: 1, sent_at: 10 }, Stamp { n: 2, sent_at: 20 }]);
        let wrapped = format!(r#"{{"cursor":2,"events":[{},{}]}}"#, stamp(1, 10), stamp(2, 20));
        assert_eq!(got(&wrapped).len(), 2);
        assert_eq!(got(r#"{"n":3,"sent_at":1767225600123.75}"#), [Stamp { n: 3, sent_at: 1_767_225_600_123 }]);
        // A state with no events yet is no other message.
        assert_eq!(got("[]"), []);
        assert_eq!(got(r#"{"events":[]}"#), []);
        let others = ["", "hello", "42", r#"{"n":1}"#, r#"{"sent_at":1}"#, r#"{"n":-1,"sent_at":1}"#, "[1,2]", "{}"];
        for other in others {
            assert_eq!(stamps(other), None, "{other}");
        }
        // Elements without a stamp are skipped.
        assert_eq!(got(&format!(r#"[{},{{"type":"ack"}}]"#, stamp(4, 1))).len(), 1);
    }

    #[test]
    fn a_stream_counts_latency_gaps_and_duplicates_within_the_span() {
        let mut t = Tally::new(false);
        // n=1 before the span, 2..=9 in it but 5 and 6 lost, 4 twice, 10 after it.
        let arrivals = [(1, 900, 905), (2, 1000, 1002), (3, 1100, 1101), (4, 1200, 1210), (4, 1200, 1300)];
        for (n, sent, at) in arrivals.into_iter().chain([(7, 1500, 1504), (8, 1600, 1600), (9, 1700, 1730)]) {
            t.observe(&event(at, &stamp(n, sent)));
        }
        t.observe(&event(2100, &stamp(10, 2000)));
        t.observe(&event(2101, "not json"));
        assert_eq!(t.range(&SPAN), Some((2, 9)));
        let r = summarize("sse", &FeedConfig::new("http://x.test/live"), &t, &SPAN, None);
        assert_eq!((r.events, r.missed, r.duplicated, r.other), (6, 2, 1, 1));
        assert_eq!((r.first_n, r.last_n), (Some(2), Some(9)));
        // Latencies 2, 1, 10 (the first arrival of 4), 4, 0, 30.
        let l = r.latency;
        assert_eq!((l.p50_ms, l.p99_ms, l.max_ms), (Some(2), Some(30), Some(30)));
        assert_eq!(l.mean_ms, Some(47.0 / 6.0));
        assert_eq!(r.transport, Transport::Sse);
        assert_eq!(delivered_since_start(&t, &SPAN), 8);
    }

    #[test]
    fn a_shared_range_counts_what_a_feed_lacks_at_either_end() {
        let mut t = Tally::new(false);
        for n in 4..=6 {
            t.observe(&event(1000 + n as i64 * 100 + 5, &stamp(n, 1000 + n as i64 * 100)));
        }
        let config = FeedConfig::new("http://x.test/");
        let own = summarize("a", &config, &t, &SPAN, None);
        assert_eq!((own.events, own.missed), (3, 0));
        let shared = summarize("a", &config, &t, &SPAN, Some((1, 9)));
        assert_eq!((shared.events, shared.missed), (3, 6));
        assert_eq!((shared.first_n, shared.last_n), (Some(1), Some(9)));
        // A feed that got nothing misses the whole shared range.
        let nothing = summarize("b", &config, &Tally::new(false), &SPAN, Some((1, 9)));
        assert_eq!((nothing.events, nothing.missed, nothing.latency.p50_ms), (0, 9, None));
        let alone = summarize("b", &config, &Tally::new(false), &SPAN, None);
        assert_eq!((alone.events, alone.missed, alone.first_n), (0, 0, None));
    }

    #[test]
    fn polls_are_states_an_event_arrives_with_the_first_answer_that_holds_it() {
        let answer =
            |ns: &[(u64, i64)]| format!("[{}]", ns.iter().map(|&(n, s)| stamp(n, s)).collect::<Vec<_>>().join(","));
        let mut poll = Tally::for_transport(Transport::Poll);
        poll.observe(&event(800, "[]"));
        poll.observe(&event(1050, &answer(&[(1, 900), (2, 1000)])));
        poll.observe(&event(1550, &answer(&[(1, 900), (2, 1000), (3, 1200), (4, 1400)])));
        poll.observe(&event(2050, &answer(&[(3, 1200), (4, 1400), (5, 1600), (5, 1600)])));
        let r = summarize("poll", &demo_feed("http://x.test/poll".into(), Transport::Poll), &poll, &SPAN, None);
        // 2..=5 in the span; 5 twice in one answer is a duplicate, the overlaps are not.
        assert_eq!((r.events, r.missed, r.duplicated, r.other), (4, 0, 1, 0));
        // 2: 1050-1000, 3: 1550-1200, 4: 1550-1400, 5: 2050-1600.
        assert_eq!((r.latency.p50_ms, r.latency.max_ms), (Some(150), Some(450)));

        // The same answers on a stream count every repeat.
        let mut stream = Tally::new(false);
        for r in [&answer(&[(2, 1000)]), &answer(&[(2, 1000), (3, 1200)])] {
            stream.observe(&event(1500, r));
        }
        let r = summarize("x", &FeedConfig::new("http://x.test/"), &stream, &SPAN, None);
        assert_eq!((r.events, r.duplicated), (2, 1));
    }

    #[test]
    fn the_last_problem_is_kept_and_a_user_stop_is_none() {
        let mut t = Tally::new(false);
        let r = |body| Record::new(Arc::from("t"), Timestamp(0), body);
        t.observe(&r(Body::Closed {
            reason: "stopped".into(),
            cause: crate::record::Cause::UserStop,
            fatal: false,
            detail: String::new(),
        }));
        assert!(t.is_closed());
        assert_eq!(t.problem, None);
        let mut t = Tally::new(false);
        t.observe(&r(Body::Disconnected {
            reason: "connection refused".into(),
            cause: crate::record::Cause::Network,
            reconnect_in_ms: 1000,
            detail: String::new(),
        }));
        assert_eq!(t.problem.as_deref(), Some("connection refused"));
        assert!(!t.is_closed());
    }

    #[test]
    fn the_demo_feeds_use_each_transport_with_its_settings() {
        let feeds = demo_feeds("http://127.0.0.1:8080/", Duration::from_millis(1500)).unwrap();
        let names: Vec<&str> = feeds.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["sse", "websocket", "long-poll", "poll"]);
        let c: Vec<&FeedConfig> = feeds.iter().map(|f| &f.config).collect();
        assert_eq!((c[0].url.as_str(), c[0].transport), ("http://127.0.0.1:8080/live", Transport::Sse));
        assert_eq!((c[1].url.as_str(), c[1].transport), ("ws://127.0.0.1:8080/ws", Transport::WebSocket));
        assert_eq!(c[1].type_path, "type");
        assert_eq!((c[2].url.as_str(), c[2].transport), ("http://127.0.0.1:8080/long-poll", Transport::LongPoll));
        assert_eq!((c[2].cursor_from.as_str(), c[2].cursor_param.as_str(), c[2].split_array), ("n", "cursor", true));
        assert_eq!((c[3].url.as_str(), c[3].transport), ("http://127.0.0.1:8080/poll?seconds=10", Transport::Poll));
        assert_eq!(c[3].poll_interval_ms, 1500);
        let slow = demo_feeds("https://demo.test", Duration::from_secs(7)).unwrap();
        assert_eq!(slow[1].config.url, "wss://demo.test/ws");
        assert_eq!(slow[3].config.url, "https://demo.test/poll?seconds=21");
        assert_eq!(demo_feeds("ftp://x", Duration::from_secs(1)).unwrap_err().field(), "url");
    }
}
