//! A feed's bounded memory: the newest records (capped by count and bytes, evictions counted),
//! counters per event type, bytes, rate, the connection state the records imply, and the
//! diagnosis of every record it was given ([`Diagnoser`]).

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::activity::{Activity, ActivityWindow};
use crate::alerts::{AlertRule, Alerts};
use crate::diagnose::{Diagnoser, Finding};
use crate::feed::{ConfigError, Counts};
#[cfg(test)]
use crate::record::Cause;
use crate::record::{Body, Record, Timestamp};

/// Caps on what a history keeps. The oldest records go first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HistoryLimits {
    pub max_records: usize,
    pub max_bytes: usize,
}

impl HistoryLimits {
    /// For a face that streams records out as they come (a CLI, a test service): its
    /// [`crate::Subscription`] gets every record, so the history keeps only a little.
    pub const STREAMING: HistoryLimits = HistoryLimits { max_records: 1024, max_bytes: 64 << 20 };

    /// The smallest history cap (`max_records`) a person may set.
    pub const MIN_RECORDS: usize = 100;
    /// The largest history cap (`max_records`) a person may set.
    pub const MAX_RECORDS: usize = 5_000_000;

    /// Checks a history cap a person chose: `max_records` within
    /// [`Self::MIN_RECORDS`]..=[`Self::MAX_RECORDS`]. The error's field is `history_cap`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if (Self::MIN_RECORDS..=Self::MAX_RECORDS).contains(&self.max_records) {
            Ok(())
        } else {
            Err(ConfigError::HistoryCap { min: Self::MIN_RECORDS, max: Self::MAX_RECORDS })
        }
    }
}

impl Default for HistoryLimits {
    fn default() -> Self {
        HistoryLimits { max_records: 200_000, max_bytes: 256 << 20 }
    }
}

/// The connection state as a user sees it; `EventSource.readyState` plus "reconnecting".
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ConnState {
    /// Never started, or stopped before a first request.
    #[default]
    Idle,
    Connecting,
    Open,
    /// Waiting for the reconnection delay (readyState CONNECTING).
    Reconnecting,
    Closed,
}

/// A snapshot of a feed's counters and connection, cheap to send to a UI.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct FeedStats {
    pub state: ConnState,
    /// Why the feed last disconnected or closed.
    pub reason: Option<String>,
    /// The feed closed on a failure.
    pub fatal: bool,
    pub attempt: u32,
    pub reconnects: u64,
    pub status: Option<u16>,
    pub headers: BTreeMap<String, String>,
    pub url: Option<String>,
    pub last_event_id: String,
    /// The reconnection time set by the server's last `retry:`, if any.
    pub retry_ms: Option<u64>,
    /// When a pending reconnection fires.
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub reconnect_at: Option<Timestamp>,
    pub events: u64,
    pub comments: u64,
    pub errors: u64,
    pub bytes: u64,
    /// Events per second over the last few seconds.
    pub rate: f64,
    pub types: BTreeMap<String, u64>,
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub last_record_at: Option<Timestamp>,
    pub retained: usize,
    pub retained_bytes: usize,
    pub evicted: u64,
    /// Index of the oldest retained record in the feed's timeline.
    pub first_index: u64,
    /// The last reason where `persistent` mode kept going and a browser's `EventSource` would
    /// not have, followed by what the browser would have done ([`crate::Cause::browser_note`]);
    /// kept after the feed reconnects, so the user can still see it.
    pub browser_note: Option<String>,
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub browser_note_at: Option<Timestamp>,
    /// When the last event, and the last byte of a body, arrived.
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub last_event_at: Option<Timestamp>,
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub last_byte_at: Option<Timestamp>,
    /// Open, and no event for longer than the feed's stall watchdog allows.
    pub stalled: bool,
    /// Alert rules fired so far, and the last one (its record's sentence).
    pub alerts: u64,
    pub last_alert: Option<String>,
    /// What the connection tasks counted (requests, connections, bytes on the wire, pings,
    /// pongs, unchanged polls; docs/log-format.md#counters), as top-level fields.
    #[serde(flatten)]
    #[cfg_attr(feature = "ts", ts(flatten))]
    pub counts: crate::feed::Counts,
    /// Messages the feed sent (`sent` records).
    pub sent: u64,
}

/// Which records a view wants. Empty fields match everything.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Query {
    /// Event types to keep; when non-empty, only events of these types match.
    pub types: Vec<String>,
    /// Text searched in data, type and id (and in the text of non-event records).
    pub text: String,
    /// `text` is a regular expression.
    pub regex: bool,
    /// `text` is an expression of the record query language (docs/query.md); wins over `regex`.
    pub query: bool,
    /// Hide connection records, comments and errors.
    pub events_only: bool,
}

/// A compiled [`Query`].
pub struct Matcher {
    /// What it was compiled from: two matchers of equal queries match the same records (the
    /// hub's merged timeline keeps its matches per query).
    query: Query,
    types: Vec<String>,
    text: TextMatch,
    events_only: bool,
}

enum TextMatch {
    Any,
    Sub(Box<memchr::memmem::Finder<'static>>),
    Re(regex::Regex),
    Query(Box<crate::query::Filter>),
}

impl Query {
    /// Compiles the query; a bad regular expression or expression is an error a user can read.
    pub fn compile(&self) -> Result<Matcher, String> {
        let text = if self.text.trim().is_empty() {
            TextMatch::Any
        } else if self.query {
            TextMatch::Query(Box::new(crate::query::Filter::parse(&self.text).map_err(|e| e.to_string())?))
        } else if self.regex {
            TextMatch::Re(
                regex::RegexBuilder::new(&self.text)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| format!("invalid regular expression: {e}"))?,
            )
        } else {
            TextMatch::Sub(Box::new(memchr::memmem::Finder::new(self.text.as_bytes()).into_owned()))
        };
        Ok(Matcher { query: self.clone(), types: self.types.clone(), text, events_only: self.events_only })
    }
}

/// The type a `binary` record counts under and is filtered by, beside the events' types.
pub const BINARY_TYPE: &str = "binary";

impl Matcher {
    fn type_ok(&self, event_type: &str) -> bool {
        self.types.is_empty() || self.types.iter().any(|t| t == event_type)
    }

    /// The query this matcher was compiled from.
    pub fn query(&self) -> &Query {
        &self.query
    }

    pub fn matches(&self, r: &Record) -> bool {
        if let TextMatch::Query(q) = &self.text {
            let kind_ok = match &r.body {
                Body::Event { event_type, .. } => self.type_ok(event_type),
                Body::Binary { .. } => self.type_ok(BINARY_TYPE),
                _ => !self.events_only && self.types.is_empty(),
            };
            return kind_ok && q.matches(r);
        }
        let texts: [&str; 3] = match &r.body {
            Body::Event { event_type, id, data, .. } => {
                if !self.types.is_empty() && !self.types.iter().any(|t| **t == **event_type) {
                    return false;
                }
                [data, event_type, id]
            }
            Body::Binary { base64, .. } => {
                if !self.type_ok(BINARY_TYPE) {
                    return false;
                }
                [base64, BINARY_TYPE, ""]
            }
            _ if self.events_only || !self.types.is_empty() => return false,
            Body::Comment { text } => [text, "", ""],
            Body::Sent { text } => [text, "", ""],
            Body::Error { reason } => [reason, "", ""],
            Body::Alert { rule, message } => [rule, message, ""],
            Body::Disconnected { reason, detail, .. } | Body::Closed { reason, detail, .. } => [reason, detail, ""],
            Body::Connecting { url, last_event_id, .. } => [url, last_event_id, ""],
            Body::Open { .. } | Body::Retry { .. } => ["", "", ""],
        };
        match &self.text {
            TextMatch::Any => true,
            TextMatch::Sub(f) => texts.iter().any(|t| f.find(t.as_bytes()).is_some()),
            TextMatch::Re(re) => texts.iter().any(|t| re.is_match(t)),
            TextMatch::Query(_) => unreachable!("answered above"),
        }
    }
}

/// One page of a query: `total` records match, `rows` are those from `offset`.
#[derive(Debug, Clone)]
pub struct Page {
    pub total: usize,
    pub offset: usize,
    /// Each row with its index in the feed's timeline (stable while the record is retained).
    pub rows: Vec<(u64, Arc<Record>)>,
}

/// The records of one feed, oldest first, and what they add up to.
#[derive(Debug, Default)]
pub struct History {
    limits: HistoryLimits,
    records: VecDeque<Arc<Record>>,
    /// Beside each record, its arrival stamp: taken from `clock` when it was appended, so it
    /// orders records across every history sharing the clock (a hub's merged timeline).
    arrivals: VecDeque<u64>,
    clock: Arc<AtomicU64>,
    stats: FeedStats,
    rate: Rate,
    /// Sees every record pushed, evicted or not: its memory is bounded on its own.
    diagnoser: Diagnoser,
    activity: Activity,
    alerts: Alerts,
    /// Alert records appended since the last [`History::take_fired`].
    fired: Vec<Arc<Record>>,
    /// The stall watchdog: no event for this long while open is a stall (0: off).
    stall_ms: u64,
    /// Since when the feed has been open without an event.
    waiting_since: Option<Timestamp>,
    /// The feed's transport: which browser rule the browser note compares with.
    transport: crate::Transport,
}

impl History {
    pub fn new(limits: HistoryLimits) -> Self {
        History { limits, ..History::default() }
    }

    /// A history whose records take their arrival stamps ([`History::arrival`]) from `clock`,
    /// shared with other histories (a hub's feeds): the stamps then give one order across them.
    pub fn with_clock(limits: HistoryLimits, clock: Arc<AtomicU64>) -> Self {
        History { limits, clock, ..History::default() }
    }

    pub fn set_limits(&mut self, limits: HistoryLimits) {
        self.limits = limits;
        self.evict();
    }

    /// The feed's transport, for the browser note (see [`crate::Cause::browser_note_for`]).
    pub fn set_transport(&mut self, transport: crate::Transport) {
        self.transport = transport;
    }

    /// Adds a record, updating counters and state, then evicts past the caps.
    pub fn push(&mut self, record: Arc<Record>) {
        let fired = if self.alerts.is_empty() { Vec::new() } else { self.alerts.observe(&record) };
        // `closed` stays a run's last record: an alert it fires goes just before it.
        let last = matches!(record.body, Body::Closed { .. });
        let feed = record.feed.clone();
        if !last {
            self.append(record.clone());
        }
        for body in fired {
            let alert = Arc::new(Record::new(feed.clone(), record.ts, body));
            self.fired.push(alert.clone());
            self.append(alert);
        }
        if last {
            self.append(record);
        }
    }

    fn append(&mut self, record: Arc<Record>) {
        self.note(&record);
        self.diagnoser.observe(&record);
        self.stats.retained_bytes += record.weight();
        self.records.push_back(record);
        self.arrivals.push_back(self.clock.fetch_add(1, Ordering::SeqCst));
        self.evict();
    }

    /// Adds what a connection task counted besides records: requests, connections, bytes on
    /// the wire, pings and pongs, unchanged polls.
    pub fn add_counts(&mut self, c: &Counts) {
        self.stats.counts.add(c);
    }

    /// Counts body bytes received (they arrive with the records parsed from them).
    pub fn add_bytes(&mut self, bytes: u64) {
        self.stats.bytes += bytes;
        if bytes > 0 {
            let now = Timestamp::now();
            self.activity.bytes(now, bytes);
            self.stats.last_byte_at = Some(now);
        }
    }

    /// The feed's alert rules (its own and the global ones) and its stall watchdog (`stall_ms`,
    /// 0 for none). Setting them re-arms every rule; on an open feed, a stall counts from now.
    pub fn set_watch(&mut self, rules: &[AlertRule], stall_ms: u64) {
        let mut alerts = Alerts::new(rules);
        if self.stats.state == ConnState::Open {
            let open = Body::Open { status: 200, version: String::new(), headers: BTreeMap::new() };
            alerts.observe(&Record::new(Arc::from(""), Timestamp::now(), open));
        }
        self.alerts = alerts;
        self.stall_ms = stall_ms;
    }

    /// Checks the time-based rules at `now` (a stalled feed) and appends the alerts that fire.
    pub fn tick(&mut self, now: Timestamp) {
        let Some(feed) = self.records.back().map(|r| r.feed.clone()) else { return };
        for body in self.alerts.tick(now) {
            let alert = Arc::new(Record::new(feed.clone(), now, body));
            self.fired.push(alert.clone());
            self.append(alert);
        }
    }

    /// The alert records appended since the last call, for the hub to hand to its subscribers.
    pub fn take_fired(&mut self) -> Vec<Arc<Record>> {
        std::mem::take(&mut self.fired)
    }

    /// Events, bytes and types per second over the last `seconds`, ending at `now`.
    pub fn activity(&self, now: Timestamp, seconds: usize) -> ActivityWindow {
        self.activity.window(now, seconds)
    }

    fn evict(&mut self) {
        while self.records.len() > self.limits.max_records
            || (self.stats.retained_bytes > self.limits.max_bytes && self.records.len() > 1)
        {
            if let Some(old) = self.records.pop_front() {
                self.arrivals.pop_front();
                self.stats.retained_bytes -= old.weight();
                self.stats.evicted += 1;
                self.stats.first_index += 1;
            }
        }
    }

    fn note(&mut self, r: &Record) {
        let s = &mut self.stats;
        s.last_record_at = Some(r.ts);
        match &r.body {
            Body::Connecting { attempt, url, last_event_id } => {
                if *attempt > 1 || s.attempt > 0 {
                    s.reconnects += 1;
                }
                s.state = ConnState::Connecting;
                s.attempt = *attempt;
                s.url = Some(url.clone());
                s.last_event_id = last_event_id.clone();
                s.reconnect_at = None;
                s.fatal = false;
            }
            Body::Open { status, headers, .. } => {
                s.state = ConnState::Open;
                s.status = Some(*status);
                s.headers = headers.clone();
                s.reason = None;
                self.waiting_since = Some(r.ts);
            }
            Body::Event { event_type, id, .. } => {
                s.events += 1;
                if s.last_event_id != **id {
                    s.last_event_id = id.to_string();
                }
                match s.types.get_mut(&**event_type) {
                    Some(n) => *n += 1,
                    None => {
                        s.types.insert(event_type.to_string(), 1);
                    }
                }
                self.rate.add(r.ts);
                self.activity.event(r.ts, event_type);
                s.last_event_at = Some(r.ts);
                self.waiting_since = Some(r.ts);
            }
            Body::Binary { .. } => {
                s.events += 1;
                match s.types.get_mut(BINARY_TYPE) {
                    Some(n) => *n += 1,
                    None => {
                        s.types.insert(BINARY_TYPE.to_owned(), 1);
                    }
                }
                self.rate.add(r.ts);
                self.activity.event(r.ts, &Arc::from(BINARY_TYPE));
                s.last_event_at = Some(r.ts);
                self.waiting_since = Some(r.ts);
            }
            Body::Sent { .. } => s.sent += 1,
            Body::Comment { .. } => s.comments += 1,
            Body::Retry { ms } => s.retry_ms = Some(*ms),
            Body::Error { .. } => s.errors += 1,
            Body::Alert { .. } => {
                s.alerts += 1;
                s.last_alert = Some(crate::text::summary(&r.body));
            }
            Body::Disconnected { reason, cause, reconnect_in_ms, .. } => {
                if let Some(note) = cause.browser_note_for(self.transport) {
                    s.browser_note = Some(format!("{reason}; {note}"));
                    s.browser_note_at = Some(r.ts);
                }
                s.state = ConnState::Reconnecting;
                s.reason = Some(reason.clone());
                s.reconnect_at = Some(Timestamp(r.ts.0 + *reconnect_in_ms as i64));
            }
            Body::Closed { reason, fatal, .. } => {
                s.state = ConnState::Closed;
                s.reason = Some(reason.clone());
                s.fatal = *fatal;
                s.reconnect_at = None;
            }
        }
    }

    /// Counters and state as of `now` (the rate looks back from it).
    pub fn stats(&self, now: Timestamp) -> FeedStats {
        let mut s = self.stats.clone();
        s.retained = self.records.len();
        s.rate = self.rate.per_second(now);
        s.stalled = self.stall_ms > 0
            && s.state == ConnState::Open
            && self.waiting_since.is_some_and(|t| now.0 - t.0 >= self.stall_ms as i64);
        s
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Retained records, oldest first (`.rev()` for newest first).
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Arc<Record>> + ExactSizeIterator + '_ {
        self.records.iter()
    }

    /// The record at timeline index `index`, if still retained.
    pub fn get(&self, index: u64) -> Option<&Arc<Record>> {
        let i = index.checked_sub(self.stats.first_index)?;
        self.records.get(usize::try_from(i).ok()?)
    }

    /// The arrival stamp of the record at timeline index `index`, if still retained: records
    /// appended later have greater stamps, in this history and in every other sharing its clock.
    pub fn arrival(&self, index: u64) -> Option<u64> {
        let i = index.checked_sub(self.stats.first_index)?;
        self.arrivals.get(usize::try_from(i).ok()?).copied()
    }

    /// How many retained records arrived before stamp `stamp` (they are the oldest retained).
    pub fn arrived_before(&self, stamp: u64) -> usize {
        self.arrivals.partition_point(|&a| a < stamp)
    }

    /// Timeline index of the oldest retained record (of the next one when none is retained).
    pub fn first_index(&self) -> u64 {
        self.stats.first_index
    }

    /// Timeline index the next record appended will get.
    pub fn end_index(&self) -> u64 {
        self.stats.first_index + self.records.len() as u64
    }

    /// Records evicted by the caps so far ([`FeedStats::evicted`]), without building the stats.
    pub fn evicted(&self) -> u64 {
        self.stats.evicted
    }

    /// The retained records from timeline index `index` on (from the oldest retained, if
    /// `index` was evicted), oldest first, each with its timeline index and arrival stamp.
    pub fn entries_from(&self, index: u64) -> impl Iterator<Item = (u64, u64, &Arc<Record>)> + '_ {
        let first = self.stats.first_index;
        let from = usize::try_from(index.saturating_sub(first)).unwrap_or(usize::MAX).min(self.records.len());
        self.records
            .range(from..)
            .zip(self.arrivals.range(from..))
            .enumerate()
            .map(move |(i, (r, a))| (first + (from + i) as u64, *a, r))
    }

    /// What a browser would not like about the feed, from every record pushed so far, as of `now`
    /// (see [`Diagnoser::findings`]).
    pub fn findings(&self, now: Timestamp) -> Vec<Finding> {
        self.diagnoser.findings(now)
    }

    /// Forgets the records. The counters of what was received stay, and so does the diagnosis:
    /// like the counters it sums up the feed's whole run, and clearing the table to watch what
    /// comes next must not hide that the server misbehaved (nor cut a connection's silence or a
    /// reconnect loop in two).
    pub fn clear(&mut self) {
        self.stats.first_index += self.records.len() as u64;
        self.records.clear();
        self.arrivals.clear();
        self.stats.retained_bytes = 0;
    }

    /// The matching records from `offset`, at most `limit` of them, and how many match in all.
    pub fn query(&self, matcher: Option<&Matcher>, offset: usize, limit: usize) -> Page {
        let first = self.stats.first_index;
        let Some(m) = matcher else {
            let rows = self
                .records
                .iter()
                .enumerate()
                .skip(offset)
                .take(limit)
                .map(|(i, r)| (first + i as u64, r.clone()))
                .collect();
            return Page { total: self.records.len(), offset, rows };
        };
        let mut total = 0;
        let mut rows = Vec::with_capacity(limit.min(1024));
        for (i, r) in self.records.iter().enumerate() {
            if m.matches(r) {
                if total >= offset && rows.len() < limit {
                    rows.push((first + i as u64, r.clone()));
                }
                total += 1;
            }
        }
        Page { total, offset, rows }
    }
}

impl History {
    /// The newest `limit` matching records (what a table that follows the feed shows), and how
    /// many match in all; `offset` of the page is `total - rows.len()`. One pass, newest first.
    pub fn query_tail(&self, matcher: Option<&Matcher>, limit: usize) -> Page {
        let first = self.stats.first_index;
        let Some(m) = matcher else {
            let total = self.records.len();
            let start = total.saturating_sub(limit);
            return self.query(None, start, limit);
        };
        let mut total = 0;
        let mut rows = Vec::with_capacity(limit.min(1024));
        for (i, r) in self.records.iter().enumerate().rev() {
            if m.matches(r) {
                if rows.len() < limit {
                    rows.push((first + i as u64, r.clone()));
                }
                total += 1;
            }
        }
        rows.reverse();
        Page { total, offset: total - rows.len(), rows }
    }
}

/// Events per second over a sliding window of whole seconds.
#[derive(Debug, Default, Clone)]
struct Rate {
    /// (second, count) for the most recent seconds, newest last.
    buckets: VecDeque<(i64, u64)>,
}

const RATE_WINDOW_S: i64 = 5;

impl Rate {
    fn add(&mut self, ts: Timestamp) {
        let sec = ts.0.div_euclid(1000);
        match self.buckets.back_mut() {
            Some((s, n)) if *s == sec => *n += 1,
            _ => {
                self.buckets.push_back((sec, 1));
                while self.buckets.len() > (RATE_WINDOW_S + 2) as usize {
                    self.buckets.pop_front();
                }
            }
        }
    }

    /// Events in the last `RATE_WINDOW_S` complete seconds before `now`, per second.
    fn per_second(&self, now: Timestamp) -> f64 {
        let cur = now.0.div_euclid(1000);
        let n: u64 = self.buckets.iter().filter(|(s, _)| *s < cur && *s >= cur - RATE_WINDOW_S).map(|(_, n)| n).sum();
        n as f64 / RATE_WINDOW_S as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Kind;

    fn ev(seq: u64, ty: &str, data: &str, ts: i64) -> Arc<Record> {
        Arc::new(Record::new(
            Arc::from("f"),
            Timestamp(ts),
            Body::Event { seq, event_type: Arc::from(ty), id: Arc::from(seq.to_string()), data: data.into() },
        ))
    }

    #[test]
    fn alerts_are_appended_after_the_record_that_fired_them_and_stalls_show() {
        let mut h = History::new(HistoryLimits::default());
        h.set_watch(&[AlertRule::EventType { event_type: "price".into() }, AlertRule::Stalled { secs: 5 }], 3_000);
        let open = Body::Open { status: 200, version: String::new(), headers: BTreeMap::new() };
        h.push(Arc::new(Record::new(Arc::from("f"), Timestamp(1_000), open)));
        h.push(ev(1, "tick", "1", 2_000));
        h.push(ev(2, "price", "{\"p\":101}", 2_500));
        let kinds: Vec<_> = h.iter().map(|r| r.body.kind()).collect();
        assert_eq!(kinds, [Kind::Open, Kind::Event, Kind::Event, Kind::Alert]);
        assert_eq!(h.take_fired().len(), 1);
        assert!(h.take_fired().is_empty());
        let s = h.stats(Timestamp(4_000));
        assert_eq!((s.alerts, s.stalled), (1, false));
        assert!(s.last_alert.as_deref().unwrap().contains("price"), "{:?}", s.last_alert);
        assert!(h.stats(Timestamp(5_500)).stalled, "3 s without an event while open");
        h.tick(Timestamp(7_600));
        assert_eq!(h.stats(Timestamp(7_600)).alerts, 2, "the stall rule fired");
        assert_eq!(h.activity(Timestamp(2_900), 3).events, [0, 0, 2]);
    }

    #[test]
    fn the_table_filter_takes_a_query_expression_and_says_where_it_is_wrong() {
        let q = |text: &str| Query { text: text.into(), query: true, ..Query::default() };
        let m = q(r#"type == "price" && data.p > 100"#).compile().unwrap();
        assert!(m.matches(&ev(1, "price", r#"{"p":101}"#, 0)));
        assert!(!m.matches(&ev(2, "price", r#"{"p":99}"#, 0)));
        assert!(!m.matches(&ev(3, "tick", "101", 0)));
        let types_too = Query { types: vec!["tick".into()], ..q("seq > 0") }.compile().unwrap();
        assert!(!types_too.matches(&ev(4, "price", "{}", 0)), "the type chips still apply");
        assert!(q("type ==").compile().err().unwrap().contains("column"));
    }

    #[test]
    fn count_cap_evicts_oldest_and_counts_evictions() {
        let mut h = History::new(HistoryLimits { max_records: 3, max_bytes: usize::MAX });
        for i in 1..=5 {
            h.push(ev(i, "t", "x", 0));
        }
        let s = h.stats(Timestamp(0));
        assert_eq!((s.retained, s.evicted, s.events, s.first_index), (3, 2, 5, 2));
        assert!(h.get(1).is_none());
        assert!(matches!(h.get(2).unwrap().body, Body::Event { seq: 3, .. }));
    }

    #[test]
    fn histories_sharing_a_clock_stamp_one_arrival_order_through_eviction_and_clear() {
        let clock = Arc::new(AtomicU64::new(0));
        let limits = HistoryLimits { max_records: 3, max_bytes: usize::MAX };
        let (mut a, mut b) = (History::with_clock(limits, clock.clone()), History::with_clock(limits, clock.clone()));
        for i in 1..=4 {
            a.push(ev(i, "t", "a", 0));
            b.push(ev(i, "t", "b", 0));
        }
        // a got stamps 0, 2, 4, 6 and b 1, 3, 5, 7; each keeps its newest three.
        assert_eq!((a.first_index(), a.end_index(), a.evicted()), (1, 4, 1));
        assert_eq!([a.arrival(0), a.arrival(1), a.arrival(3), a.arrival(4)], [None, Some(2), Some(6), None]);
        assert_eq!(b.entries_from(2).map(|(i, s, _)| (i, s)).collect::<Vec<_>>(), [(2, 5), (3, 7)]);
        assert_eq!(b.entries_from(0).count(), 3, "from an evicted index: from the oldest retained");
        assert_eq!((a.arrived_before(5), b.arrived_before(5), b.arrived_before(100)), (2, 1, 3));
        a.clear();
        assert_eq!((a.first_index(), a.end_index(), a.arrival(3), a.entries_from(0).count()), (4, 4, None, 0));
        a.push(ev(5, "t", "a", 0));
        assert_eq!(a.arrival(4), Some(8));
        assert_eq!(History::new(limits).entries_from(0).count(), 0);
    }

    #[test]
    fn byte_cap_bounds_memory() {
        let mut h = History::new(HistoryLimits { max_records: usize::MAX, max_bytes: 10_000 });
        let big = "y".repeat(1000);
        for i in 1..=100 {
            h.push(ev(i, "t", &big, 0));
        }
        let s = h.stats(Timestamp(0));
        assert!(s.retained_bytes <= 10_000);
        assert_eq!(s.evicted as usize + s.retained, 100);
    }

    #[test]
    fn counters_per_type_and_rate() {
        let mut h = History::new(HistoryLimits::default());
        for i in 0..50 {
            h.push(ev(i, if i % 2 == 0 { "a" } else { "b" }, "x", 10_000 + i as i64 * 100));
        }
        let s = h.stats(Timestamp(15_000));
        assert_eq!(s.types.get("a"), Some(&25));
        assert_eq!(s.types.get("b"), Some(&25));
        assert_eq!(s.rate, 50.0 / 5.0);
    }

    #[test]
    fn query_filters_by_type_and_text_and_pages() {
        let mut h = History::new(HistoryLimits::default());
        h.push(Arc::new(Record::new(Arc::from("f"), Timestamp(0), Body::Comment { text: "hb".into() })));
        for i in 1..=10 {
            h.push(ev(i, if i % 2 == 0 { "even" } else { "odd" }, &format!("n={i}"), 0));
        }
        let q = Query { types: vec!["even".into()], ..Query::default() }.compile().unwrap();
        let p = h.query(Some(&q), 1, 2);
        assert_eq!(p.total, 5);
        assert_eq!(p.rows.len(), 2);
        assert!(matches!(p.rows[0].1.body, Body::Event { seq: 4, .. }));
        let q = Query { text: "n=1".into(), ..Query::default() }.compile().unwrap();
        assert_eq!(h.query(Some(&q), 0, 100).total, 2);
        let q = Query { text: r"^n=\d$".into(), regex: true, ..Query::default() }.compile().unwrap();
        assert_eq!(h.query(Some(&q), 0, 100).total, 9);
        let q = Query { events_only: true, ..Query::default() }.compile().unwrap();
        assert_eq!(h.query(Some(&q), 0, 100).total, 10);
        let tail = h.query_tail(Some(&q), 3);
        assert_eq!((tail.total, tail.offset, tail.rows.len()), (10, 7, 3));
        assert!(matches!(tail.rows[2].1.body, Body::Event { seq: 10, .. }));
        let tail = h.query_tail(None, 4);
        assert_eq!((tail.total, tail.offset, tail.rows[0].0), (11, 7, 7));
        assert_eq!(h.query_tail(None, 100).rows.len(), 11);
        assert_eq!(h.query(None, 0, 100).total, 11);
        assert!(Query { text: "(".into(), regex: true, ..Query::default() }.compile().is_err());
        h.push(Arc::new(Record::new(
            Arc::from("f"),
            Timestamp(0),
            Body::Disconnected {
                reason: "connection refused by 127.0.0.1:9".into(),
                cause: Cause::Network,
                reconnect_in_ms: 20,
                detail: "tcp connect error: Connection refused (os error 111)".into(),
            },
        )));
        for text in ["refused by", "os error 111"] {
            let q = Query { text: text.into(), ..Query::default() }.compile().unwrap();
            assert_eq!(h.query(Some(&q), 0, 100).total, 1, "{text}: reason and detail are searched");
        }
    }

    #[test]
    fn a_history_cap_must_be_within_the_bounds() {
        let cap = |max_records| HistoryLimits { max_records, ..HistoryLimits::default() }.validate();
        for ok in [HistoryLimits::MIN_RECORDS, 200_000, HistoryLimits::MAX_RECORDS] {
            assert_eq!(cap(ok), Ok(()), "{ok}");
        }
        for bad in [0, 99, 5_000_001] {
            let e = cap(bad).unwrap_err();
            assert_eq!(e.field(), "history_cap");
            assert_eq!(e.to_string(), "the history cap must be between 100 and 5000000 records");
        }
        assert_eq!(HistoryLimits::default().validate(), Ok(()));
    }

    #[test]
    fn state_follows_connection_records() {
        let mut h = History::new(HistoryLimits::default());
        let rec = |b: Body| Arc::new(Record::new(Arc::from("f"), Timestamp(1000), b));
        h.push(rec(Body::Connecting { attempt: 1, url: "u".into(), last_event_id: "".into() }));
        assert_eq!(h.stats(Timestamp(0)).state, ConnState::Connecting);
        h.push(rec(Body::Open { status: 200, version: String::new(), headers: BTreeMap::new() }));
        assert_eq!(h.stats(Timestamp(0)).state, ConnState::Open);
        let dc = |reason: &str, cause| Body::Disconnected {
            reason: reason.into(),
            cause,
            reconnect_in_ms: 500,
            detail: String::new(),
        };
        h.push(rec(dc("the server ended the stream", Cause::EndOfStream)));
        let s = h.stats(Timestamp(0));
        assert_eq!((s.state, s.reconnect_at), (ConnState::Reconnecting, Some(Timestamp(1500))));
        assert_eq!(s.browser_note, None);
        h.push(rec(dc("HTTP 503 Service Unavailable", Cause::HttpStatus)));
        h.push(rec(Body::Open { status: 200, version: String::new(), headers: BTreeMap::new() }));
        let s = h.stats(Timestamp(0));
        let note = "HTTP 503 Service Unavailable; a browser's EventSource would have stopped here";
        assert_eq!((s.reason, s.browser_note.as_deref()), (None, Some(note)));
        h.push(rec(dc("no data for 300 ms (read timeout)", Cause::ReadTimeout)));
        let note = "no data for 300 ms (read timeout); a browser would have kept waiting";
        assert_eq!(h.stats(Timestamp(0)).browser_note.as_deref(), Some(note));
        h.push(rec(Body::Connecting { attempt: 2, url: "u".into(), last_event_id: "9".into() }));
        h.push(rec(Body::Closed {
            reason: "HTTP 404 Not Found".into(),
            cause: Cause::HttpStatus,
            fatal: true,
            detail: String::new(),
        }));
        let s = h.stats(Timestamp(0));
        assert_eq!((s.state, s.fatal, s.reconnects, s.last_event_id.as_str()), (ConnState::Closed, true, 1, "9"));
    }

    #[test]
    fn findings_cover_every_record_pushed_and_survive_clear_and_eviction() {
        let mut h = History::new(HistoryLimits { max_records: 2, max_bytes: usize::MAX });
        let rec = |b: Body| Arc::new(Record::new(Arc::from("f"), Timestamp(1000), b));
        h.push(rec(Body::Connecting { attempt: 1, url: "u".into(), last_event_id: "".into() }));
        h.push(rec(Body::Open { status: 200, version: "HTTP/2".into(), headers: BTreeMap::new() }));
        h.push(rec(Body::Retry { ms: 10 }));
        for i in 1..=5 {
            h.push(ev(i, "t", "x", 1000));
        }
        h.clear();
        let codes: Vec<&str> = h.findings(Timestamp(1000)).iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, ["retry-low", "cache-control", "cors"]);
    }

    #[test]
    fn the_browser_note_compares_with_the_transports_own_browser_rule() {
        let rec = |b: Body| Arc::new(Record::new(Arc::from("f"), Timestamp(1000), b));
        let dc = |cause| Body::Disconnected {
            reason: "the server closed the WebSocket: 1001 going away".into(),
            cause,
            reconnect_in_ms: 500,
            detail: String::new(),
        };
        let mut ws = History::new(HistoryLimits::default());
        ws.set_transport(crate::Transport::WebSocket);
        ws.push(rec(dc(Cause::WsClose)));
        let note = ws.stats(Timestamp(0)).browser_note.expect("a note");
        assert!(note.ends_with("a browser's WebSocket does not reconnect by itself; the page would have to"), "{note}");
        let mut poll = History::new(HistoryLimits::default());
        poll.set_transport(crate::Transport::Poll);
        poll.push(rec(dc(Cause::HttpStatus)));
        assert_eq!(poll.stats(Timestamp(0)).browser_note, None, "a poll loop is the page's own");
    }
}
