//! Would a browser be happy with this stream? A [`Diagnoser`] watches a feed's records in order and
//! names what would trouble an `EventSource`, each as a [`Finding`] with a stable [`Code`].
//!
//! It reads records only, so a saved NDJSON log diagnoses as well as a live feed, and it keeps
//! counters and a few small windows, never the records, so its memory stays the same however long
//! the feed runs. docs/diagnostics.md lists every code with its rule, threshold and fix.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::record::{Body, Cause, Record, Timestamp};
use crate::text;

/// How much a finding matters: an `error` is something a browser's `EventSource` fails on; a
/// `warning` is something that loses or delays events in practice; `info` is worth knowing.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// What a finding is about. The serde names (kebab-case) are stable: programs and docs use them.
/// Declared errors first, then warnings, then infos: findings are listed in this order.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    /// A status a browser treats as fatal: anything but 200.
    Status,
    /// A 200 that is not `text/event-stream`.
    ContentType,
    /// The stream never opened: every request failed before a response.
    Unreachable,
    /// Responses ended right after opening, again and again, without the MCP-style priming.
    ReconnectLoop,
    /// A `Content-Encoding` on the stream.
    Compression,
    /// Events arrived in bursts after silences.
    Buffering,
    /// No byte for longer than the idle limit while open.
    Idle,
    /// Events without an id.
    NoId,
    /// Numeric ids that went backwards, or repeated on a resume.
    IdOrder,
    /// A `retry:` below 1000 ms.
    RetryLow,
    /// A connection ended inside an event.
    TruncatedEvent,
    /// Responses closed right after opening on purpose (a priming id and a `retry:` each time).
    ServerPolling,
    /// No `Cache-Control: no-cache` or `no-store`.
    CacheControl,
    /// No `Access-Control-Allow-Origin`.
    Cors,
    /// The stream came over HTTP/1.x.
    Http1,
}

impl Code {
    /// Whether the rule means anything for a feed of `transport`. The codes are a browser's
    /// `EventSource` rules: a WebSocket keeps those about reaching the server, its status and its
    /// silences; polling and long polling (many short responses by design) keep only reaching it.
    pub fn applies_to(self, transport: crate::Transport) -> bool {
        use crate::Transport;
        match transport {
            Transport::Sse => true,
            Transport::WebSocket => matches!(self, Code::Status | Code::Unreachable | Code::Buffering | Code::Idle),
            Transport::LongPoll | Transport::Poll => matches!(self, Code::Unreachable),
        }
    }

    /// Every code, in the order findings are listed.
    pub const ALL: [Code; 15] = [
        Code::Status,
        Code::ContentType,
        Code::Unreachable,
        Code::ReconnectLoop,
        Code::Compression,
        Code::Buffering,
        Code::Idle,
        Code::NoId,
        Code::IdOrder,
        Code::RetryLow,
        Code::TruncatedEvent,
        Code::ServerPolling,
        Code::CacheControl,
        Code::Cors,
        Code::Http1,
    ];

    /// The code as written in findings (its serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Status => "status",
            Code::ContentType => "content-type",
            Code::Unreachable => "unreachable",
            Code::ReconnectLoop => "reconnect-loop",
            Code::Compression => "compression",
            Code::Buffering => "buffering",
            Code::Idle => "idle",
            Code::NoId => "no-id",
            Code::IdOrder => "id-order",
            Code::RetryLow => "retry-low",
            Code::TruncatedEvent => "truncated-event",
            Code::ServerPolling => "server-polling",
            Code::CacheControl => "cache-control",
            Code::Cors => "cors",
            Code::Http1 => "http1",
        }
    }

    /// Each code has one severity.
    pub fn severity(self) -> Severity {
        match self {
            Code::Status | Code::ContentType | Code::Unreachable | Code::ReconnectLoop => Severity::Error,
            Code::Compression
            | Code::Buffering
            | Code::Idle
            | Code::NoId
            | Code::IdOrder
            | Code::RetryLow
            | Code::TruncatedEvent => Severity::Warning,
            Code::ServerPolling | Code::CacheControl | Code::Cors | Code::Http1 => Severity::Info,
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing a browser would not like about the stream. `message` is one paragraph naming the
/// rule and the usual fix; `evidence` says what was seen (a status, a header, counts, times),
/// with the network's text made safe to show ([`text::one_line`]).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub evidence: String,
}

/// The thresholds a [`Diagnoser`] judges by. `Default` gives the documented ones
/// (docs/diagnostics.md); tests shorten the windows.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DiagnoseOptions {
    /// `idle`: the longest silence (no record, so no complete line) allowed while open. 30 s.
    pub idle_ms: u64,
    /// `reconnect-loop`/`server-polling`: a response the server ends sooner than this after it
    /// opened ended "right after opening". 2 s.
    pub short_connection_ms: u64,
    /// `reconnect-loop`/`server-polling`: [`LOOP_COUNT`] such endings within this window. 60 s.
    pub loop_window_ms: u64,
    /// `buffering`: the silence before a read that makes it a burst. 2 s.
    pub burst_silence_ms: u64,
    /// `buffering`: the events arriving together that make a burst. 3.
    pub burst_events: u32,
    /// `buffering`: the bursts it takes to report. 2 (one can be a server's own backlog).
    pub bursts: u32,
}

impl Default for DiagnoseOptions {
    fn default() -> Self {
        DiagnoseOptions {
            idle_ms: 30_000,
            short_connection_ms: 2_000,
            loop_window_ms: 60_000,
            burst_silence_ms: 2_000,
            burst_events: 3,
            bursts: 2,
        }
    }
}

/// `reconnect-loop` and `server-polling`: how many short responses within the window.
pub const LOOP_COUNT: usize = 3;
/// `retry-low`: reconnection times below this, in ms.
pub const RETRY_LOW_MS: u64 = 1000;
/// Records whose times are this close to the first of them arrived together (one network read
/// gives its records one time; a read split in two by the network lands within this).
const TOGETHER_MS: i64 = 10;
/// Characters of network text (a header, a reason, a partial event) quoted in evidence.
const QUOTE_CHARS: usize = 120;

/// What a diagnoser has seen, for a summary line.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Seen {
    /// Requests made (`connecting` records).
    pub requests: u64,
    /// Responses that opened an event stream.
    pub opened: u64,
    pub events: u64,
}

/// Watches one feed's records, in order, and says what a browser would not like.
/// Feed it every record with [`Diagnoser::observe`]; ask [`Diagnoser::findings`] at any time.
#[derive(Debug, Clone, Default)]
pub struct Diagnoser {
    options: DiagnoseOptions,
    seen: Seen,
    conn: Conn,
    /// The last event ID as the records show it: the last event's id, or what the last request
    /// sent. A request that sends another one shows that an `id:`-only block changed it.
    known_id: Arc<str>,
    /// A short response waiting for the next request to tell whether an `id:`-only block primed it.
    pending_short: Option<Short>,

    status: Tally,
    /// Statuses where `persistent` mode retried and a browser would have stopped.
    status_retried: u64,
    content_type: Tally,
    unreachable: Tally,
    plain_shorts: Shorts,
    primed_shorts: Shorts,
    /// The last `retry:` of a primed short response.
    polling_retry_ms: Option<u64>,
    compression: Tally,
    /// Some responses used an encoding Feedscope does not decode.
    compression_undecoded: bool,
    bursts: u64,
    /// The largest burst: events, silence before it (ms), when.
    biggest_burst: Option<(u32, i64, Timestamp)>,
    /// Silences longer than the idle limit, and the longest silence seen while open.
    idle_over: u64,
    longest_idle: Option<Silence>,
    events_without_id: u64,
    prev_numeric_id: Option<u128>,
    backwards: u64,
    repeats: u64,
    id_example: String,
    low_retries: u64,
    min_retry: Option<u64>,
    truncated: Tally,
    no_cache: Tally,
    no_cors: u64,
    http1: Tally,
}

/// How often something happened, and the last instance of it.
#[derive(Debug, Clone, Default)]
struct Tally {
    count: u64,
    last: String,
    at: Timestamp,
}

impl Tally {
    fn add(&mut self, what: String, at: Timestamp) {
        self.count += 1;
        self.last = what;
        self.at = at;
    }
}

/// The connection the records are on now.
#[derive(Debug, Clone, Default)]
struct Conn {
    open: bool,
    opened_at: Timestamp,
    /// The last record while open (the `open` record included): silences count from it.
    last_ts: Timestamp,
    /// An event with an id and no data arrived (MCP's priming event).
    primed: bool,
    /// The last `retry:` of this connection.
    retry_ms: Option<u64>,
    /// No event has arrived on this connection yet.
    before_first_event: bool,
    /// What the request sent as `Last-Event-ID`.
    sent_id: Arc<str>,
    /// The records arriving together now.
    group: Option<Group>,
}

#[derive(Debug, Clone, Copy)]
struct Group {
    start: Timestamp,
    silence_ms: i64,
    events: u32,
}

/// A response the server ended right after opening.
#[derive(Debug, Clone, Copy)]
struct Short {
    at: Timestamp,
    primed: bool,
    retry_ms: Option<u64>,
}

impl Short {
    /// Closed on purpose: primed with an id, and a `retry:` set, as MCP's resumable streams do.
    fn deliberate(&self) -> bool {
        self.primed && self.retry_ms.is_some()
    }
}

/// Short responses of one kind: how many, the last [`LOOP_COUNT`] times, and whether that many
/// ever fell within the window.
#[derive(Debug, Clone, Default)]
struct Shorts {
    count: u64,
    recent: VecDeque<Timestamp>,
    /// When [`LOOP_COUNT`] of them first fell within the window, and when last.
    looped: Option<(Timestamp, Timestamp)>,
}

impl Shorts {
    fn add(&mut self, at: Timestamp, window_ms: u64) {
        self.count += 1;
        self.recent.push_back(at);
        if self.recent.len() > LOOP_COUNT {
            self.recent.pop_front();
        }
        if self.recent.len() == LOOP_COUNT && at.0 - self.recent[0].0 <= window_ms as i64 {
            let first = self.looped.map_or(at, |(first, _)| first);
            self.looped = Some((first, at));
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Silence {
    ms: i64,
    from: Timestamp,
    /// `None`: still silent when the findings were asked for.
    to: Option<Timestamp>,
}

impl Diagnoser {
    pub fn new(options: DiagnoseOptions) -> Self {
        Diagnoser { options, ..Diagnoser::default() }
    }

    pub fn options(&self) -> &DiagnoseOptions {
        &self.options
    }

    /// What has been seen so far.
    pub fn seen(&self) -> Seen {
        self.seen
    }

    /// Takes the feed's next record. Records must come in the order the feed emitted them.
    pub fn observe(&mut self, r: &Record) {
        match &r.body {
            Body::Connecting { last_event_id, .. } => self.on_request(last_event_id),
            Body::Open { version, headers, .. } => self.on_open(r.ts, version, headers),
            Body::Event { id, data, .. } => {
                self.on_event(id, data);
                self.on_arrival(r.ts, true);
            }
            Body::Retry { ms } => {
                if *ms < RETRY_LOW_MS {
                    self.low_retries += 1;
                    self.min_retry = Some(self.min_retry.map_or(*ms, |m| m.min(*ms)));
                }
                self.conn.retry_ms = Some(*ms);
                self.on_arrival(r.ts, false);
            }
            // A WebSocket's binary message arrives as an event does.
            Body::Binary { .. } => self.on_arrival(r.ts, true),
            Body::Comment { .. } | Body::Error { .. } => self.on_arrival(r.ts, false),
            Body::Disconnected { reason, cause, detail, .. } => self.on_end(r.ts, *cause, reason, detail, true),
            Body::Closed { reason, cause, detail, .. } => self.on_end(r.ts, *cause, reason, detail, false),
            // Ours, not the server's.
            Body::Alert { .. } | Body::Sent { .. } => {}
        }
    }

    fn on_request(&mut self, last_event_id: &str) {
        if let Some(mut short) = self.pending_short.take() {
            // The request sends an id no event carried: an `id:`-only block primed the response.
            short.primed |= *self.known_id != *last_event_id;
            self.add_short(short);
        }
        self.seen.requests += 1;
        let sent: Arc<str> = Arc::from(last_event_id);
        self.known_id = sent.clone();
        self.conn = Conn { sent_id: sent, before_first_event: true, ..Conn::default() };
    }

    fn add_short(&mut self, short: Short) {
        let window = self.options.loop_window_ms;
        if short.deliberate() {
            self.polling_retry_ms = short.retry_ms;
            self.primed_shorts.add(short.at, window);
        } else {
            self.plain_shorts.add(short.at, window);
        }
    }

    fn on_open(&mut self, ts: Timestamp, version: &str, headers: &std::collections::BTreeMap<String, String>) {
        self.seen.opened += 1;
        self.conn.open = true;
        self.conn.opened_at = ts;
        self.conn.last_ts = ts;
        let header = |name: &str| headers.get(name).map(|v| v.trim());
        if let Some(enc) = header("content-encoding").filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("identity")) {
            let decoded = ["gzip", "x-gzip", "deflate"].iter().any(|d| enc.eq_ignore_ascii_case(d));
            self.compression_undecoded |= !decoded;
            self.compression.add(text::one_line(enc, QUOTE_CHARS), ts);
        }
        let cache = header("cache-control");
        let no_cache = cache.is_some_and(|v| {
            v.split(',').any(|d| {
                let name = d.split('=').next().unwrap_or("").trim();
                name.eq_ignore_ascii_case("no-cache") || name.eq_ignore_ascii_case("no-store")
            })
        });
        if !no_cache {
            let what = match cache {
                Some(v) => format!("Cache-Control: {}", text::one_line(v, QUOTE_CHARS)),
                None => "no Cache-Control header".to_owned(),
            };
            self.no_cache.add(what, ts);
        }
        if header("access-control-allow-origin").is_none() {
            self.no_cors += 1;
        }
        if matches!(version, "HTTP/0.9" | "HTTP/1.0" | "HTTP/1.1") {
            self.http1.add(version.to_owned(), ts);
        }
    }

    fn on_event(&mut self, id: &Arc<str>, data: &str) {
        self.seen.events += 1;
        if id.is_empty() {
            self.events_without_id += 1;
        }
        let numeric = parse_numeric(id);
        match (self.prev_numeric_id, numeric) {
            (Some(prev), Some(cur)) if cur < prev => {
                self.backwards += 1;
                self.id_example = format!("id {cur} after {prev}");
            }
            // Within a connection an unchanged id is an event without `id:` (the last one
            // persists); on a resume it is the server sending again what the client had.
            (Some(prev), Some(cur)) if cur == prev && self.conn.before_first_event && *self.conn.sent_id == **id => {
                self.repeats += 1;
                self.id_example = format!("id {cur} again after resuming from Last-Event-ID {cur}");
            }
            _ => {}
        }
        self.prev_numeric_id = numeric;
        if data.is_empty() && !id.is_empty() {
            self.conn.primed = true;
        }
        self.conn.before_first_event = false;
        self.known_id = id.clone();
    }

    /// A record from the body of the open connection: silences and bursts.
    fn on_arrival(&mut self, ts: Timestamp, event: bool) {
        if !self.conn.open {
            return;
        }
        self.note_silence(self.conn.last_ts, ts, false);
        match &mut self.conn.group {
            Some(g) if ts.0 - g.start.0 <= TOGETHER_MS => g.events += u32::from(event),
            _ => {
                self.close_group();
                let silence_ms = ts.0 - self.conn.last_ts.0;
                self.conn.group = Some(Group { start: ts, silence_ms, events: u32::from(event) });
            }
        }
        self.conn.last_ts = self.conn.last_ts.max(ts);
    }

    fn close_group(&mut self) {
        if let Some(g) = self.conn.group.take() {
            if let Some(burst) = self.burst(&g) {
                self.bursts += 1;
                if self.biggest_burst.is_none_or(|(n, _, _)| burst.0 > n) {
                    self.biggest_burst = Some(burst);
                }
            }
        }
    }

    fn burst(&self, g: &Group) -> Option<(u32, i64, Timestamp)> {
        let o = &self.options;
        (g.events >= o.burst_events && g.silence_ms >= o.burst_silence_ms as i64).then_some((
            g.events,
            g.silence_ms,
            g.start,
        ))
    }

    /// A silence while open, from `from` to `to`; `still`: it goes on (the findings' `now`).
    fn note_silence(&mut self, from: Timestamp, to: Timestamp, still: bool) {
        let ms = to.0 - from.0;
        if ms > self.options.idle_ms as i64 {
            self.idle_over += 1;
        }
        if self.longest_idle.is_none_or(|s| ms > s.ms) {
            self.longest_idle = Some(Silence { ms, from, to: (!still).then_some(to) });
        }
    }

    fn on_end(&mut self, ts: Timestamp, cause: Cause, reason: &str, detail: &str, reconnects: bool) {
        let what = text::one_line(reason, QUOTE_CHARS);
        match cause {
            Cause::HttpStatus | Cause::NoContent => {
                self.status.add(what, ts);
                if reconnects {
                    self.status_retried += 1;
                }
            }
            Cause::ContentType => self.content_type.add(what, ts),
            Cause::EndInsideEvent => self.truncated.add(text::one_line(detail, QUOTE_CHARS), ts),
            Cause::Network | Cause::Redirect | Cause::ReadTimeout | Cause::Config if !self.conn.open => {
                self.unreachable.add(what, ts)
            }
            _ => {}
        }
        if !self.conn.open {
            return;
        }
        self.note_silence(self.conn.last_ts, ts, false);
        self.close_group();
        let by_server = matches!(cause, Cause::EndOfStream | Cause::EndInsideEvent | Cause::Network);
        if by_server && ts.0 - self.conn.opened_at.0 < self.options.short_connection_ms as i64 {
            let short = Short { at: ts, primed: self.conn.primed, retry_ms: self.conn.retry_ms };
            if reconnects {
                self.pending_short = Some(short);
            } else {
                self.add_short(short);
            }
        }
        self.conn.open = false;
    }

    /// What a browser would not like, as of `now` (a connection still open and silent counts as
    /// silent until `now`), errors first, then warnings, then infos.
    pub fn findings(&self, now: Timestamp) -> Vec<Finding> {
        // What is still going on counts as if it ended now, without changing the diagnoser.
        let mut d;
        let this = if self.conn.open || self.pending_short.is_some() {
            d = self.clone();
            if d.conn.open {
                d.note_silence(d.conn.last_ts, now.max(d.conn.last_ts), true);
                d.close_group();
            }
            if let Some(short) = d.pending_short.take() {
                d.add_short(short);
            }
            &d
        } else {
            self
        };
        let mut out: Vec<Finding> =
            Code::ALL.iter().filter_map(|&code| this.evidence(code).map(|e| finding(code, e, &this.options))).collect();
        out.sort_by_key(|f| (f.severity, f.code));
        out
    }

    /// The evidence for `code`, when the stream shows it.
    fn evidence(&self, code: Code) -> Option<String> {
        let o = &self.options;
        let opened = self.seen.opened;
        let of_responses =
            |n: u64| if n == opened { plural(n, "response") } else { format!("{n} of {opened} responses") };
        match code {
            Code::Status => (self.status.count > 0).then(|| {
                let mut s = format!("{} ({}, the last at {})", self.status.last, times(self.status.count), at(self.status.at));
                if self.status_retried > 0 {
                    s.push_str("; persistent mode retried where a browser would have stopped");
                }
                s
            }),
            Code::ContentType => (self.content_type.count > 0).then(|| {
                format!("{} ({}, the last at {})", self.content_type.last, times(self.content_type.count), at(self.content_type.at))
            }),
            Code::Unreachable => (opened == 0 && self.unreachable.count > 0).then(|| {
                format!(
                    "{} failed and none opened; the last at {}: {}",
                    plural(self.unreachable.count, "request"),
                    at(self.unreachable.at),
                    self.unreachable.last
                )
            }),
            Code::ReconnectLoop => self.plain_shorts.looped.map(|(_, last)| {
                format!(
                    "{} ended within {} of opening, {LOOP_COUNT} of them within {} (the last at {}), without a priming id and a retry:",
                    plural(self.plain_shorts.count, "response"),
                    text::human_ms(o.short_connection_ms),
                    text::human_ms(o.loop_window_ms),
                    at(last)
                )
            }),
            Code::ServerPolling => self.primed_shorts.looped.map(|(_, last)| {
                let retry = self.polling_retry_ms.map(|ms| format!(" (retry: {ms})")).unwrap_or_default();
                format!(
                    "{} closed within {} of opening, each after a priming id and a retry:{retry}; the last at {}",
                    plural(self.primed_shorts.count, "response"),
                    text::human_ms(o.short_connection_ms),
                    at(last)
                )
            }),
            Code::Compression => (self.compression.count > 0).then(|| {
                let mut s = format!("Content-Encoding: {} on {}", self.compression.last, of_responses(self.compression.count));
                if self.compression_undecoded {
                    s.push_str(" (an encoding Feedscope does not decode: those events were not parsed)");
                }
                s
            }),
            Code::Buffering => (self.bursts >= u64::from(o.bursts)).then(|| {
                let (n, silence, when) = self.biggest_burst.unwrap_or_default();
                format!(
                    "{} of {} or more events arriving together after {} or more of silence; the largest: {n} events after {} (at {})",
                    plural(self.bursts, "burst"),
                    o.burst_events,
                    text::human_ms(o.burst_silence_ms),
                    text::human_ms(silence.max(0) as u64),
                    at(when)
                )
            }),
            Code::Idle => (self.idle_over > 0).then(|| {
                let s = self.longest_idle.expect("a silence was measured");
                let to = match s.to {
                    Some(to) => format!("to {}", at(to)),
                    None => "and still silent".to_owned(),
                };
                format!(
                    "{} longer than {} while open; the longest {}, from {} {to}",
                    plural(self.idle_over, "silence"),
                    text::human_ms(o.idle_ms),
                    text::human_ms(s.ms.max(0) as u64),
                    at(s.from)
                )
            }),
            Code::NoId => (self.events_without_id > 0)
                .then(|| format!("{} of {} events had no id", self.events_without_id, self.seen.events)),
            Code::IdOrder => (self.backwards + self.repeats > 0).then(|| {
                let mut parts = Vec::new();
                if self.backwards > 0 {
                    parts.push(format!("{} backwards", times(self.backwards)));
                }
                if self.repeats > 0 {
                    parts.push(format!("{} repeated on a resume", times(self.repeats)));
                }
                format!("{}; the last: {}", parts.join(", "), self.id_example)
            }),
            Code::RetryLow => self.min_retry.map(|ms| format!("retry: {ms} ({})", times(self.low_retries))),
            Code::TruncatedEvent => (self.truncated.count > 0).then(|| {
                format!(
                    "{} ended inside an event; the last at {}, with: {}",
                    plural(self.truncated.count, "connection"),
                    at(self.truncated.at),
                    self.truncated.last
                )
            }),
            Code::CacheControl => (self.no_cache.count > 0)
                .then(|| format!("{} on {}", self.no_cache.last, of_responses(self.no_cache.count))),
            Code::Cors => (self.no_cors > 0).then(|| format!("no Access-Control-Allow-Origin on {}", of_responses(self.no_cors))),
            Code::Http1 => (self.http1.count > 0).then(|| format!("{} on {}", self.http1.last, of_responses(self.http1.count))),
        }
    }
}

fn finding(code: Code, evidence: String, o: &DiagnoseOptions) -> Finding {
    Finding { code, severity: code.severity(), message: message(code, o), evidence }
}

/// The rule and the usual fix, one paragraph for each code.
fn message(code: Code, o: &DiagnoseOptions) -> String {
    match code {
        Code::Status => "A browser's EventSource fails for good on any status but 200 (204 included: that is how a \
            server tells clients to stop) and does not reconnect; where persistent mode retried a 5xx, 408 or 429, a \
            browser would have stopped. Answer the stream with 200, and make sure no proxy, gateway or auth layer \
            answers in its place."
            .into(),
        Code::ContentType => "A browser opens an event stream only on a 200 whose Content-Type is text/event-stream \
            (parameters such as charset are allowed); anything else fails the connection with no reconnection. Send \
            Content-Type: text/event-stream; an error page or a framework's default type answering instead is the \
            usual cause."
            .into(),
        Code::Unreachable => "The stream never opened: every request failed before a response (refused, unresolved, \
            a TLS failure, a timeout or redirects that cannot be followed), and a browser would see only errors. Check \
            the URL, that the server listens there, and its certificate."
            .into(),
        Code::ReconnectLoop => format!(
            "The server ended responses right after opening them, {LOOP_COUNT} times or more within {}: each time a \
            browser waits its reconnection time and asks again, so this is polling in disguise, or a reconnect storm \
            once many clients do it. Keep the response open and write events to it as they happen, with a heartbeat \
            comment; if closing is on purpose, send a priming event (an id: with no data) and a retry: before each \
            close, as MCP's resumable streams do.",
            text::human_ms(o.loop_window_ms)
        ),
        Code::Compression => "The stream is compressed (Content-Encoding). A compressor holds output back until its \
            buffer fills, and so does a proxy that compresses, so events can arrive late and in bursts. Exclude \
            text/event-stream from compression, or flush the compressor after every event."
            .into(),
        Code::Buffering => "Events arrived in bursts after silences: something between the server and the client (a \
            reverse proxy, a CDN, compression, or the server's own output buffer) holds them back and lets them go \
            together. Turn buffering off for the stream (nginx: X-Accel-Buffering: no), flush after every event, and \
            do not compress it. If the server itself writes events in batches, this is expected."
            .into(),
        Code::Idle => format!(
            "No byte arrived for longer than {} while the connection was open. Proxies, load balancers and NAT \
            gateways cut connections that stay idle, often after 30 to 60 s, and the client only notices much later. \
            Send a comment line (: heartbeat) every 15 s or so.",
            text::human_ms(o.idle_ms)
        ),
        Code::NoId => "Events carried no id:, so a client that loses the connection reconnects with no \
            Last-Event-ID, and the server cannot resume where it stopped: the events in between are lost. Give each \
            event an id: (a sequence number or a timestamp) and resume after the Last-Event-ID a reconnection sends."
            .into(),
        Code::IdOrder => "Numeric event ids went backwards or repeated. A client resumes from the last id it saw, so \
            a counter that restarts, or a server that sends again the event named by Last-Event-ID, makes clients \
            skip or duplicate events. Keep ids increasing across restarts, and resume after (not at) the \
            Last-Event-ID."
            .into(),
        Code::RetryLow => format!(
            "The server set a reconnection time (retry:) below {RETRY_LOW_MS} ms. Every client that loses its \
            connection comes back almost at once, which turns a server restart into a reconnect storm. Use a few \
            seconds, and more under load."
        ),
        Code::TruncatedEvent => "A connection ended inside an event, after some of its lines and before the blank \
            line that dispatches it; a browser discards such an event. End every event with an empty line before \
            the response ends, and look for a proxy timeout or size limit that cuts responses short."
            .into(),
        Code::ServerPolling => "The server closes each response soon after opening it, on purpose: it primes the \
            client with an id (an id: with no data) and sets retry: before closing, as MCP's resumable streams \
            (SEP-1699) do, so the client resumes from that id after the retry time. This is polling by design; a \
            lower retry: means lower latency and more requests."
            .into(),
        Code::CacheControl => "The response did not say Cache-Control: no-cache (or no-store), so a cache between \
            the server and the client may store the stream or hold it back. Send Cache-Control: no-cache with event \
            streams."
            .into(),
        Code::Cors => "The response carried no Access-Control-Allow-Origin, so an EventSource on a page from another \
            origin cannot read it. If such pages should subscribe, answer with Access-Control-Allow-Origin (and \
            Access-Control-Allow-Credentials when they send cookies). Some servers answer CORS only to requests with \
            an Origin: check again with -H 'Origin: https://your.site'."
            .into(),
        Code::Http1 => "The stream came over HTTP/1.1. A browser opens at most six HTTP/1.1 connections per origin, \
            shared by all its tabs, and each open event stream holds one of them, so further streams and requests \
            wait. Serve it over HTTP/2 (or HTTP/3), where streams share one connection."
            .into(),
    }
}

/// Ids made of ASCII digits only, as numbers; `None` for any other id (and the empty one).
fn parse_numeric(id: &str) -> Option<u128> {
    if id.is_empty() || id.len() > 38 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn times(n: u64) -> String {
    if n == 1 {
        "once".into()
    } else {
        format!("{n} times")
    }
}

fn at(ts: Timestamp) -> String {
    format!("{} UTC", text::clock(ts))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Records of one feed, built with a clock the test moves.
    struct Script {
        now: i64,
        seq: u64,
        records: Vec<Record>,
    }

    impl Script {
        fn new() -> Self {
            Script { now: 1_000_000, seq: 0, records: Vec::new() }
        }

        fn wait(&mut self, ms: i64) -> &mut Self {
            self.now += ms;
            self
        }

        fn push(&mut self, body: Body) -> &mut Self {
            self.records.push(Record::new(Arc::from("f"), Timestamp(self.now), body));
            self
        }

        fn connect(&mut self, last_event_id: &str) -> &mut Self {
            self.push(Body::Connecting { attempt: 1, url: "http://x/".into(), last_event_id: last_event_id.into() })
        }

        fn open_with(&mut self, version: &str, headers: &[(&str, &str)]) -> &mut Self {
            let headers: BTreeMap<String, String> =
                headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            self.push(Body::Open { status: 200, version: version.into(), headers })
        }

        /// A response that does everything right.
        fn open(&mut self) -> &mut Self {
            self.open_with(
                "HTTP/2",
                &[
                    ("content-type", "text/event-stream"),
                    ("cache-control", "no-cache"),
                    ("access-control-allow-origin", "*"),
                ],
            )
        }

        fn event(&mut self, id: &str, data: &str) -> &mut Self {
            self.seq += 1;
            let seq = self.seq;
            self.push(Body::Event { seq, event_type: Arc::from("message"), id: Arc::from(id), data: data.into() })
        }

        fn comment(&mut self) -> &mut Self {
            self.push(Body::Comment { text: " heartbeat".into() })
        }

        fn end(&mut self, cause: Cause) -> &mut Self {
            self.push(Body::Disconnected { reason: "ended".into(), cause, reconnect_in_ms: 100, detail: String::new() })
        }

        fn codes(&self, options: DiagnoseOptions) -> Vec<Code> {
            let mut d = Diagnoser::new(options);
            for r in &self.records {
                d.observe(r);
            }
            d.findings(Timestamp(self.now)).into_iter().map(|f| f.code).collect()
        }
    }

    fn codes(s: &Script) -> Vec<Code> {
        s.codes(DiagnoseOptions::default())
    }

    #[test]
    fn a_well_behaved_stream_has_no_finding() {
        let mut s = Script::new();
        s.connect("").open();
        for i in 1..=40 {
            s.wait(1000).event(&i.to_string(), "x");
            if i % 15 == 0 {
                s.comment();
            }
        }
        assert_eq!(codes(&s), []);
    }

    #[test]
    fn codes_have_stable_kebab_case_names_and_one_severity_each() {
        for code in Code::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), serde_json::Value::from(code.as_str()));
        }
        let f = finding(Code::IdOrder, "e".into(), &DiagnoseOptions::default());
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(json["code"], "id-order");
        assert_eq!(json["severity"], "warning");
        assert_eq!(json.as_object().unwrap().len(), 4);
        let sorted: Vec<Severity> = Code::ALL.iter().map(|c| c.severity()).collect();
        assert!(sorted.windows(2).all(|w| w[0] <= w[1]), "ALL lists errors, warnings, infos");
    }

    #[test]
    fn http1_cors_and_cache_control_are_read_from_the_open_record() {
        let mut s = Script::new();
        s.connect("").open_with("HTTP/1.1", &[("cache-control", "private, max-age=0")]).event("1", "x");
        assert_eq!(codes(&s), [Code::CacheControl, Code::Cors, Code::Http1]);
        let mut s = Script::new();
        s.connect("").open_with("", &[("cache-control", "No-Store"), ("access-control-allow-origin", "*")]);
        assert_eq!(codes(&s), [], "an old log without the version says nothing about it");
    }

    #[test]
    fn compression_names_the_encoding_and_identity_is_none() {
        let mut s = Script::new();
        s.connect("").open_with("HTTP/2", &[("content-encoding", "identity"), ("cache-control", "no-cache")]);
        assert!(!codes(&s).contains(&Code::Compression));
        let mut s = Script::new();
        s.connect("").open_with("HTTP/2", &[("content-encoding", "br"), ("cache-control", "no-cache")]);
        let mut d = Diagnoser::default();
        s.records.iter().for_each(|r| d.observe(r));
        let f = d.findings(Timestamp(s.now));
        let c = f.iter().find(|f| f.code == Code::Compression).expect("compression");
        assert!(c.evidence.starts_with("Content-Encoding: br on 1 response (an encoding"), "{}", c.evidence);
    }

    #[test]
    fn a_silence_longer_than_the_limit_while_open_is_idle() {
        let mut s = Script::new();
        s.connect("").open().event("1", "x").wait(31_000).event("2", "x");
        assert_eq!(codes(&s), [Code::Idle]);
        // Still silent when asked.
        let mut s = Script::new();
        s.connect("").open().event("1", "x").wait(29_000);
        assert_eq!(codes(&s), []);
        s.wait(2_000);
        assert_eq!(codes(&s), [Code::Idle]);
        // A silence between connections is not idle.
        let mut s = Script::new();
        s.connect("").open().event("1", "x").end(Cause::EndOfStream).wait(60_000).connect("1").open().event("2", "x");
        assert_eq!(codes(&s), []);
    }

    #[test]
    fn bursts_after_silences_are_buffering_and_a_single_one_is_not() {
        let opts = DiagnoseOptions::default();
        let burst = |s: &mut Script, first: u32| {
            s.wait(5_000);
            for i in first..first + 4 {
                s.event(&i.to_string(), "x");
            }
        };
        let mut s = Script::new();
        s.connect("").open();
        burst(&mut s, 1);
        assert_eq!(s.codes(opts), [], "one burst can be a backlog");
        burst(&mut s, 5);
        assert_eq!(s.codes(opts), [Code::Buffering]);
        // The same events spread out: no burst.
        let mut s = Script::new();
        s.connect("").open();
        for i in 1..=8 {
            s.wait(1_250).event(&i.to_string(), "x");
        }
        assert_eq!(s.codes(opts), []);
    }

    #[test]
    fn events_without_id_and_ids_out_of_order() {
        let mut s = Script::new();
        s.connect("").open().event("", "x").event("", "y");
        assert_eq!(codes(&s), [Code::NoId]);
        let mut s = Script::new();
        s.connect("").open().event("1", "x").event("2", "x").event("1", "x");
        assert_eq!(codes(&s), [Code::IdOrder]);
        // An event without `id:` keeps the last id: not a repeat.
        let mut s = Script::new();
        s.connect("").open().event("1", "x").event("1", "y").event("abc", "z").event("2", "w");
        assert_eq!(codes(&s), []);
        // A resume that starts with the event the client already had: a repeat.
        let mut s = Script::new();
        s.connect("").open().event("1", "x").event("2", "x").end(Cause::Network).wait(5000);
        s.connect("2").open().event("2", "x").event("3", "x");
        assert_eq!(codes(&s), [Code::IdOrder]);
        // A server that restarts its counter goes backwards.
        let mut s = Script::new();
        s.connect("").open().event("7", "x").end(Cause::Network).wait(5000).connect("7").open().event("1", "x");
        assert_eq!(codes(&s), [Code::IdOrder]);
    }

    #[test]
    fn statuses_content_types_and_truncation_come_from_the_typed_causes() {
        let mut s = Script::new();
        s.connect("").push(Body::Disconnected {
            reason: "HTTP 503 Service Unavailable".into(),
            cause: Cause::HttpStatus,
            reconnect_in_ms: 100,
            detail: String::new(),
        });
        s.connect("").open().event("1", "x");
        assert_eq!(codes(&s), [Code::Status]);
        let mut s = Script::new();
        s.connect("").push(Body::Closed {
            reason: "content type text/html, not text/event-stream".into(),
            cause: Cause::ContentType,
            fatal: true,
            detail: String::new(),
        });
        assert_eq!(codes(&s), [Code::ContentType]);
        let mut s = Script::new();
        s.connect("").open().event("1", "x").wait(5000).push(Body::Disconnected {
            reason: "the server ended the stream inside an event (8 bytes discarded)".into(),
            cause: Cause::EndInsideEvent,
            reconnect_in_ms: 100,
            detail: "data: ha".into(),
        });
        assert_eq!(codes(&s), [Code::TruncatedEvent]);
    }

    #[test]
    fn a_feed_that_never_opens_is_unreachable() {
        let mut s = Script::new();
        for _ in 0..3 {
            s.connect("").push(Body::Disconnected {
                reason: "connection refused by 127.0.0.1:9".into(),
                cause: Cause::Network,
                reconnect_in_ms: 100,
                detail: String::new(),
            });
        }
        assert_eq!(codes(&s), [Code::Unreachable]);
        s.connect("").open().event("1", "x");
        assert_eq!(codes(&s), [], "it opened in the end");
    }

    #[test]
    fn three_quick_endings_are_a_loop_and_primed_ones_are_polling() {
        let mut s = Script::new();
        for i in 1..=3 {
            s.connect(&(i - 1).to_string()).open().event(&i.to_string(), "x").end(Cause::EndOfStream).wait(3000);
        }
        assert_eq!(codes(&s), [Code::ReconnectLoop]);
        // Spread out past the window: no loop.
        let mut s = Script::new();
        for i in 1..=3 {
            s.connect(&(i - 1).to_string()).open().event(&i.to_string(), "x").end(Cause::EndOfStream).wait(40_000);
        }
        assert_eq!(codes(&s), []);
        // MCP's priming, with an empty data field.
        let mut s = Script::new();
        for i in 1..=3 {
            s.connect(&(i - 1).to_string()).open().event(&i.to_string(), "");
            s.push(Body::Retry { ms: 1000 }).end(Cause::EndOfStream).wait(1000);
        }
        assert_eq!(codes(&s), [Code::ServerPolling]);
        // MCP's priming as an `id:`-only block: only the next request shows it.
        let mut s = Script::new();
        for i in 1..=4 {
            s.connect(&(i - 1).to_string()).open().push(Body::Retry { ms: 1000 });
            s.end(Cause::EndOfStream).wait(1000);
        }
        assert_eq!(codes(&s), [Code::ServerPolling]);
        // Priming without a retry: still a loop.
        let mut s = Script::new();
        for i in 1..=3 {
            s.connect(&(i - 1).to_string()).open().event(&i.to_string(), "").end(Cause::EndOfStream).wait(1000);
        }
        assert_eq!(codes(&s), [Code::ReconnectLoop]);
    }

    #[test]
    fn a_low_retry_is_reported_with_its_value() {
        let mut s = Script::new();
        s.connect("").open().push(Body::Retry { ms: 200 }).event("1", "x");
        let mut d = Diagnoser::default();
        s.records.iter().for_each(|r| d.observe(r));
        let f = d.findings(Timestamp(s.now));
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].code, f[0].evidence.as_str()), (Code::RetryLow, "retry: 200 (once)"));
    }

    #[test]
    fn memory_does_not_grow_with_the_feed() {
        let mut d = Diagnoser::default();
        let mut s = Script::new();
        for i in 0..10_000u64 {
            s.connect(&i.to_string()).open().event(&(i + 1).to_string(), "x").end(Cause::EndOfStream);
        }
        s.records.iter().for_each(|r| d.observe(r));
        assert!(d.plain_shorts.recent.len() <= LOOP_COUNT);
        assert_eq!(d.seen(), Seen { requests: 10_000, opened: 10_000, events: 10_000 });
    }

    #[test]
    fn eventsource_rules_apply_by_transport() {
        use crate::Transport;
        assert!(Code::ALL.iter().all(|c| c.applies_to(Transport::Sse)));
        let ws: Vec<Code> = Code::ALL.into_iter().filter(|c| c.applies_to(Transport::WebSocket)).collect();
        assert_eq!(ws, [Code::Status, Code::Unreachable, Code::Buffering, Code::Idle]);
        assert!(!Code::NoId.applies_to(Transport::Poll) && Code::Unreachable.applies_to(Transport::LongPoll));
    }
}
