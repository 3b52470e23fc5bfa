//! Replay of a recorded NDJSON log (docs/log-format.md) as a live SSE stream, at the original
//! pace or faster, resuming after the client's `Last-Event-ID`; or of a `.sse` file (the app's
//! raw export, or any captured `text/event-stream` body), served byte for byte ([`Replay`]).
//!
//! Only `event`, `comment` and `retry` records are served; the connection records
//! (`connecting`, `open`, `disconnected`, `closed`, `error`) are skipped. A log that holds
//! several feeds is served as one stream: every feed's records in their own order, the feeds
//! interleaved by timestamp (ties keep the order of the file). Ids are written only where they
//! change, so a client's `lastEventId` after each event is the one recorded.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Router;
use bytes::Bytes;
use feedscope_core::sse::{Item, Limits, Parser, RecordEncoder};
use feedscope_core::{Body, Record};
use futures_util::Stream;
use tokio::time::Instant;

use crate::event_stream;

/// Most records written in one body chunk when several are due at once.
const MAX_BATCH: usize = 1000;
/// Longest wait between two records, whatever the log and the speed say (about 31 years):
/// keeps the arithmetic finite for absurdly slow speeds.
const MAX_WAIT_SECS: f64 = 1e9;

/// Why a log could not be loaded for replay.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The file could not be read.
    #[error("cannot read the replay log {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A line is not a record in Feedscope's log format; `line_no` counts from 1.
    #[error("line {line_no} of the replay log is not a Feedscope record: {reason}")]
    BadLine { line_no: usize, reason: String },
}

/// What `feedscope replay` serves: an NDJSON log, or a `text/event-stream` body.
#[derive(Debug)]
pub enum Replay {
    Log(Vec<Record>),
    Body(Bytes),
}

impl Replay {
    /// Reads `path`: a file named `*.sse` is a body served as it is, anything else an NDJSON log.
    pub fn open(path: &Path) -> Result<Replay, ReplayError> {
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("sse")) {
            load_sse(path).map(Replay::Body)
        } else {
            load(path).map(Replay::Log)
        }
    }

    /// The events a client gets from the start.
    pub fn events(&self) -> usize {
        match self {
            Replay::Log(records) => records.iter().filter(|r| matches!(r.body, Body::Event { .. })).count(),
            Replay::Body(body) => resume_points(body).len(),
        }
    }

    /// Serves it at every path: a log with its pacing divided by `speed` ([`router`]), a body at
    /// once ([`router_sse`]; it has no times).
    pub fn router(self, speed: f64) -> Router {
        match self {
            Replay::Log(records) => router(records, speed),
            Replay::Body(body) => router_sse(body),
        }
    }
}

/// Reads a `text/event-stream` body to serve as it is.
pub fn load_sse(path: &Path) -> Result<Bytes, ReplayError> {
    std::fs::read(path).map(Bytes::from).map_err(|source| ReplayError::Io { path: path.to_owned(), source })
}

/// Reads an NDJSON log: one record per line, blank lines ignored, CRLF and a leading BOM
/// accepted. The first malformed line is an error naming its line number.
pub fn load(path: &Path) -> Result<Vec<Record>, ReplayError> {
    let bytes = std::fs::read(path).map_err(|source| ReplayError::Io { path: path.to_owned(), source })?;
    let mut records = Vec::new();
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = index + 1;
        let line = std::str::from_utf8(raw)
            .map_err(|e| ReplayError::BadLine { line_no, reason: format!("not valid UTF-8 ({e})") })?;
        let line = if index == 0 { line.strip_prefix('\u{FEFF}').unwrap_or(line) } else { line };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let record = Record::from_json(line).map_err(|e| ReplayError::BadLine { line_no, reason: json_reason(&e) })?;
        records.push(record);
    }
    Ok(records)
}

/// serde_json ends its messages with "at line 1 column N"; within one NDJSON line only the
/// column means anything.
fn json_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&suffix) {
        Some(message) if e.line() == 1 => format!("{message} (column {})", e.column()),
        Some(message) => message.to_owned(),
        None => text,
    }
}

/// Serves `records` at every path as an SSE stream (see the module doc). The gaps between
/// records' timestamps are divided by `speed`; `speed` <= 0, NaN or infinite sends everything
/// at once. The response ends when the log is exhausted.
pub fn router(records: Vec<Record>, speed: f64) -> Router {
    let plan = Plan { records: merge_feeds(records), speed: (speed.is_finite() && speed > 0.0).then_some(speed) };
    Router::new().fallback(replay).with_state(Arc::new(plan))
}

/// Serves `body` at every path as one response body, all at once, and then ends it. A request
/// with a `Last-Event-ID` gets the body from the end of the block of the first event with that
/// id (from the start when there is none), so a client resumes where it was.
pub fn router_sse(body: Bytes) -> Router {
    let plan = SsePlan { resume: resume_points(&body), body };
    Router::new().fallback(replay_sse).with_state(Arc::new(plan))
}

struct SsePlan {
    body: Bytes,
    /// Each event's id and where its block ends in the body, in order.
    resume: Vec<(Arc<str>, usize)>,
}

/// Every event of `body` with its id and the end of its block, by the engine's parser.
fn resume_points(body: &[u8]) -> Vec<(Arc<str>, usize)> {
    let mut points = Vec::new();
    let mut parser = Parser::new(Limits::default());
    parser.push_spanned(body, &mut |item, span| {
        if let Item::Event { id, .. } = item {
            points.push((id, span.end as usize));
        }
    });
    points
}

/// Bytes of the body per chunk of the response.
const SSE_CHUNK: usize = 16 << 10;

async fn replay_sse(State(plan): State<Arc<SsePlan>>, headers: HeaderMap) -> Response {
    let wanted = headers.get("last-event-id").map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let from = wanted.and_then(|w| plan.resume.iter().find(|(id, _)| **id == *w).map(|(_, end)| *end)).unwrap_or(0);
    let body = plan.body.slice(from..);
    let chunks = (0..body.len()).step_by(SSE_CHUNK).map(move |at| Ok(body.slice(at..(at + SSE_CHUNK).min(body.len()))));
    event_stream(futures_util::stream::iter(chunks.collect::<Vec<Result<Bytes, io::Error>>>()))
}

/// The servable records in serving order, and the pace.
#[derive(Debug)]
struct Plan {
    records: Vec<Record>,
    speed: Option<f64>,
}

fn servable(record: &Record) -> bool {
    matches!(record.body, Body::Event { .. } | Body::Comment { .. } | Body::Retry { .. })
}

/// Keeps each feed's own order and interleaves the feeds by timestamp, ties in file order.
fn merge_feeds(records: Vec<Record>) -> Vec<Record> {
    let mut feed_index: HashMap<Arc<str>, usize> = HashMap::new();
    let mut feeds: Vec<VecDeque<(usize, Record)>> = Vec::new();
    for (position, record) in records.into_iter().filter(servable).enumerate() {
        let next = feeds.len();
        let index = *feed_index.entry(record.feed.clone()).or_insert(next);
        if index == next {
            feeds.push(VecDeque::new());
        }
        feeds[index].push_back((position, record));
    }
    if feeds.len() <= 1 {
        return feeds.pop().map(|feed| feed.into_iter().map(|(_, r)| r).collect()).unwrap_or_default();
    }
    let mut merged = Vec::with_capacity(feeds.iter().map(VecDeque::len).sum());
    while let Some(feed) = feeds
        .iter_mut()
        .filter(|feed| !feed.is_empty())
        .min_by_key(|feed| feed.front().map(|(position, record)| (record.ts, *position)))
    {
        if let Some((_, record)) = feed.pop_front() {
            merged.push(record);
        }
    }
    merged
}

async fn replay(State(plan): State<Arc<Plan>>, headers: HeaderMap) -> Response {
    // Browsers send the id as UTF-8 bytes, which `HeaderValue::to_str` would refuse.
    let last_event_id: Option<Arc<str>> =
        headers.get("last-event-id").map(|v| Arc::from(String::from_utf8_lossy(v.as_bytes()).as_ref()));
    let start = match &last_event_id {
        Some(wanted) => plan
            .records
            .iter()
            .position(|r| matches!(&r.body, Body::Event { id, .. } if id == wanted))
            .map_or(0, |i| i + 1),
        None => 0,
    };
    let stream = ReplayStream {
        base_ts: plan.records.get(start).map_or(0, |r| r.ts.millis()),
        next: start,
        started: Instant::now(),
        // What the client's lastEventId is now: an id line is needed only where it changes.
        encoder: RecordEncoder::resuming(last_event_id.unwrap_or_else(|| Arc::from(""))),
        plan,
    };
    event_stream(stream.into_stream())
}

/// One connection's position in the plan.
#[derive(Debug)]
struct ReplayStream {
    plan: Arc<Plan>,
    next: usize,
    started: Instant,
    base_ts: i64,
    /// Writes ids only where they change for this client.
    encoder: RecordEncoder,
}

impl ReplayStream {
    fn into_stream(self) -> impl Stream<Item = Result<Bytes, io::Error>> + Send + 'static {
        futures_util::stream::unfold(self, |mut s| async move {
            let chunk = s.next_chunk().await?;
            Some((Ok(chunk), s))
        })
    }

    /// When record `index` is due: its distance in the log from the first record served,
    /// divided by the speed. Due times are absolute, so timer granularity never adds up.
    fn due(&self, index: usize) -> Instant {
        let (Some(speed), Some(record)) = (self.plan.speed, self.plan.records.get(index)) else {
            return self.started;
        };
        let gap_ms = record.ts.millis().saturating_sub(self.base_ts).max(0);
        let secs = (gap_ms as f64 / 1000.0 / speed).min(MAX_WAIT_SECS);
        self.started + Duration::from_secs_f64(secs)
    }

    async fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            if self.next >= self.plan.records.len() {
                return None;
            }
            let now = Instant::now();
            let mut out = String::new();
            let mut written = 0;
            while written < MAX_BATCH && self.next < self.plan.records.len() && self.due(self.next) <= now {
                let record = &self.plan.records[self.next];
                self.next += 1;
                written += 1;
                self.encoder.encode(&mut out, &record.body);
            }
            if !out.is_empty() {
                return Some(Bytes::from(out));
            }
            if written == 0 {
                tokio::time::sleep_until(self.due(self.next)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use feedscope_core::Timestamp;

    fn event(feed: &str, ts: i64, id: &str) -> Record {
        Record::new(
            Arc::from(feed),
            Timestamp(ts),
            Body::Event { seq: 1, event_type: Arc::from("message"), id: Arc::from(id), data: id.to_owned() },
        )
    }

    fn ids(records: &[Record]) -> Vec<String> {
        records
            .iter()
            .map(|r| match &r.body {
                Body::Event { id, .. } => id.to_string(),
                other => other.kind().as_str().to_owned(),
            })
            .collect()
    }

    #[test]
    fn several_feeds_interleave_by_timestamp_keeping_each_feeds_order() {
        let records = vec![
            event("a", 10, "a1"),
            event("b", 5, "b1"),
            event("a", 30, "a2"),
            event("b", 30, "b2"),
            event("a", 20, "a3"),
        ];
        // a3 is out of time order in its feed but stays after a2.
        assert_eq!(ids(&merge_feeds(records)), ["b1", "a1", "a2", "a3", "b2"]);
    }

    #[test]
    fn one_feed_keeps_file_order_and_drops_connection_records() {
        let records = vec![
            event("a", 30, "1"),
            Record::new(Arc::from("a"), Timestamp(31), feedscope_core::Ending::UserStop.closed()),
            event("a", 20, "2"),
        ];
        assert_eq!(ids(&merge_feeds(records)), ["1", "2"]);
    }

    #[test]
    fn json_reason_drops_serde_line_number() {
        let e = Record::from_json("{nope").expect_err("malformed");
        let reason = json_reason(&e);
        assert!(!reason.contains("line 1"), "{reason}");
        assert!(reason.contains("column"), "{reason}");
    }
}
