//! The one record type every face speaks (CLI, app, export, replay) and its NDJSON form.
//! `docs/log-format.md` is the reference for the JSON shape; this module is its implementation.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Milliseconds since the Unix epoch, shown as RFC 3339 UTC with milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Self {
        let ms = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_millis() as i64,
            Err(e) => -(e.duration().as_millis() as i64),
        };
        Timestamp(ms)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)`.
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let part = s.get(r)?;
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        let mut i = 19;
        let mut ms = 0i64;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 3 {
                    ms = ms * 10 + i64::from(b[i] - b'0');
                }
                i += 1;
            }
            if i == start {
                return None;
            }
            for _ in (i - start)..3 {
                ms *= 10;
            }
        }
        let offset_min = match b.get(i)? {
            b'Z' | b'z' if i + 1 == b.len() => 0,
            sign @ (b'+' | b'-') if b.len() == i + 6 && b[i + 3] == b':' => {
                let oh = num(i + 1..i + 3)?;
                let om = num(i + 4..i + 6)?;
                let o = oh * 60 + om;
                if *sign == b'-' {
                    -o
                } else {
                    o
                }
            }
            _ => return None,
        };
        let days = days_from_civil(y, mo, d);
        let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_min * 60;
        Some(Timestamp(secs * 1000 + ms))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.rem_euclid(1000);
        let secs = self.0.div_euclid(1000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(f, "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z", sod / 3600, sod / 60 % 60, sod % 60)
    }
}

// Howard Hinnant's civil calendar algorithms (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse(&s).ok_or_else(|| D::Error::custom(format!("not an RFC 3339 time: {s:?}")))
    }
}

/// Why a connection ended (`disconnected`) or a feed stopped (`closed`): the stable,
/// machine-readable counterpart of the record's `reason`, which is for people. The engine renders
/// all three (`cause`, `reason`, `detail`) from one typed value, [`crate::feed::Ending`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// The server ended the response body between events.
    EndOfStream,
    /// The server ended the response body inside an event, which was discarded (`detail` has
    /// what had arrived of it).
    EndInsideEvent,
    /// The connection could not be made or broke (refused, reset, DNS, TLS, a body error).
    Network,
    /// The redirects could not be followed (a loop, too many, a bad `Location`).
    Redirect,
    /// No response, or no byte of the body, within the feed's read timeout (a browser would keep waiting).
    ReadTimeout,
    /// An HTTP status other than 200 and 204 (the `reason` names it).
    HttpStatus,
    /// A 200 whose Content-Type is missing or not `text/event-stream`.
    ContentType,
    /// 204 No Content: the server asked the client to stop.
    NoContent,
    /// The feed's settings were refused, or its HTTP client could not be built.
    Config,
    /// The user asked for a reconnection now.
    UserRestart,
    /// The user stopped the feed.
    UserStop,
    /// The server closed the WebSocket with a close frame (the `reason` gives its code and
    /// reason: `the server closed the WebSocket: 1001 going away: restarting`).
    WsClose,
    /// Written before records carried a cause.
    #[default]
    Unknown,
}

impl Cause {
    /// Whether a `disconnected` record with this cause is `persistent` mode going on where a
    /// browser's `EventSource` would not have reconnected: it stops for good on a retried HTTP
    /// status, and has no read timeout (it keeps waiting).
    pub fn browser_would_stop(self) -> bool {
        self.browser_note().is_some()
    }

    /// What a browser's `EventSource` would have done instead, for people, when
    /// [`Cause::browser_would_stop`].
    pub fn browser_note(self) -> Option<&'static str> {
        match self {
            Cause::HttpStatus => Some("a browser's EventSource would have stopped here"),
            Cause::ReadTimeout => Some("a browser would have kept waiting"),
            _ => None,
        }
    }

    /// [`Cause::browser_note`] for a feed of `transport`: a browser's WebSocket never reconnects
    /// by itself, so every reconnection of a WebSocket feed is one a browser would not make;
    /// polling and long polling are a page's own loop, with no browser rule to compare.
    pub fn browser_note_for(self, transport: crate::Transport) -> Option<&'static str> {
        use crate::Transport;
        match transport {
            Transport::Sse => self.browser_note(),
            Transport::WebSocket => (self != Cause::UserRestart)
                .then_some("a browser's WebSocket does not reconnect by itself; the page would have to"),
            Transport::LongPoll | Transport::Poll => None,
        }
    }
}

/// One thing that happened on a feed. Every field of `body` is documented in docs/log-format.md.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub feed: Arc<str>,
    pub ts: Timestamp,
    pub body: Body,
}

/// What a record says; the serde tag is the record's `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Body {
    /// A request is about to be sent. `attempt` is 1 for the first request and grows with each reconnection.
    Connecting { attempt: u32, url: String, last_event_id: String },
    /// The response was 200 with `text/event-stream`: the feed is OPEN. `version` is the HTTP
    /// version (`HTTP/1.1`, `HTTP/2`), empty in logs written before records carried it.
    Open {
        status: u16,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        version: String,
        headers: BTreeMap<String, String>,
    },
    /// A dispatched event. `seq` counts the feed's events from 1 and is never reused.
    Event {
        seq: u64,
        #[serde(rename = "type")]
        event_type: Arc<str>,
        id: Arc<str>,
        data: String,
    },
    /// A binary WebSocket message: `size` bytes, kept as standard base64 (with padding). `seq`
    /// is taken from the same counter as the events' (a message is a message).
    Binary { seq: u64, size: u64, base64: String },
    /// A text message the feed sent: a WebSocket's `send_on_open` subscriptions after each open,
    /// and what the user sent ([`crate::Hub::send`]).
    Sent { text: String },
    /// A comment line (often a heartbeat), the text after the colon.
    Comment { text: String },
    /// A valid `retry:` field set the reconnection time.
    Retry { ms: u64 },
    /// Something in the stream was discarded (an oversized line or event); the feed goes on.
    Error { reason: String },
    /// An alert rule fired (see [`crate::alerts`]): `rule` says which, `message` what was seen.
    Alert { rule: String, message: String },
    /// The connection ended and a reconnection is scheduled. `reason` is short and for people,
    /// `cause` for programs, `detail` (often empty) the full story, such as an error chain.
    Disconnected {
        reason: String,
        #[serde(default)]
        cause: Cause,
        reconnect_in_ms: u64,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        detail: String,
    },
    /// The feed stopped for good: `fatal` is true for a failure, false for a user stop or a 204.
    /// `reason`, `cause` and `detail` as for `Disconnected`.
    Closed {
        reason: String,
        #[serde(default)]
        cause: Cause,
        fatal: bool,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        detail: String,
    },
}

impl Body {
    /// The record of a binary message: its size and its bytes as base64.
    pub fn binary(seq: u64, bytes: &[u8]) -> Body {
        use base64::Engine as _;
        Body::Binary { seq, size: bytes.len() as u64, base64: base64::engine::general_purpose::STANDARD.encode(bytes) }
    }

    /// The bytes of a `binary` record; `None` for other records, or when its base64 does not
    /// decode (a hand-edited log).
    pub fn binary_bytes(&self) -> Option<Vec<u8>> {
        use base64::Engine as _;
        match self {
            Body::Binary { base64, .. } => base64::engine::general_purpose::STANDARD.decode(base64).ok(),
            _ => None,
        }
    }

    /// The record's `kind` as written in the log.
    pub fn kind(&self) -> Kind {
        match self {
            Body::Connecting { .. } => Kind::Connecting,
            Body::Open { .. } => Kind::Open,
            Body::Event { .. } => Kind::Event,
            Body::Binary { .. } => Kind::Binary,
            Body::Sent { .. } => Kind::Sent,
            Body::Comment { .. } => Kind::Comment,
            Body::Retry { .. } => Kind::Retry,
            Body::Error { .. } => Kind::Error,
            Body::Alert { .. } => Kind::Alert,
            Body::Disconnected { .. } => Kind::Disconnected,
            Body::Closed { .. } => Kind::Closed,
        }
    }
}

/// A record's kind: the `kind` of its log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Connecting,
    Open,
    Event,
    Comment,
    Retry,
    Error,
    Disconnected,
    Closed,
    Alert,
    Binary,
    Sent,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Connecting => "connecting",
            Kind::Open => "open",
            Kind::Event => "event",
            Kind::Comment => "comment",
            Kind::Retry => "retry",
            Kind::Error => "error",
            Kind::Alert => "alert",
            Kind::Disconnected => "disconnected",
            Kind::Closed => "closed",
            Kind::Binary => "binary",
            Kind::Sent => "sent",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Record {
    pub fn new(feed: Arc<str>, ts: Timestamp, body: Body) -> Self {
        Record { feed, ts, body }
    }

    /// Approximate heap bytes held by this record, for history byte caps.
    pub fn weight(&self) -> usize {
        let payload = match &self.body {
            Body::Connecting { url, last_event_id, .. } => url.len() + last_event_id.len(),
            Body::Open { headers, .. } => headers.iter().map(|(k, v)| k.len() + v.len() + 48).sum(),
            Body::Event { data, .. } => data.len(),
            Body::Binary { base64, .. } => base64.len(),
            Body::Sent { text } => text.len(),
            Body::Comment { text } => text.len(),
            Body::Error { reason } => reason.len(),
            Body::Alert { rule, message } => rule.len() + message.len(),
            Body::Disconnected { reason, detail, .. } | Body::Closed { reason, detail, .. } => {
                reason.len() + detail.len()
            }
            Body::Retry { .. } => 0,
        };
        payload + std::mem::size_of::<Record>() + 16
    }

    /// One NDJSON line, without the trailing newline.
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(128);
        self.write_json(&mut out);
        String::from_utf8(out).expect("JSON of UTF-8 strings is UTF-8")
    }

    /// Parses one NDJSON line.
    pub fn from_json(line: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(line)
    }
}

impl Record {
    /// Appends this record's NDJSON line, newline included, to `out`. This is the log format's one
    /// writer (docs/log-format.md): `kind`, `feed`, `ts` first, then the body's own fields, so
    /// every line reads alike. Written by hand rather than through serde because it is the CLI's
    /// and the exports' hot path; the tests check that serde_json reads back the same record.
    pub fn write_ndjson(&self, out: &mut Vec<u8>) {
        self.write_json(out);
        out.push(b'\n');
    }

    /// Appends this record as one JSON object (no newline).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let mut o = JsonObject::new(out);
        o.ours(b"\"kind\":", self.body.kind().as_str());
        o.str(b"\"feed\":", &self.feed);
        o.key(b"\"ts\":");
        self.ts.write_json(o.out);
        match &self.body {
            Body::Connecting { attempt, url, last_event_id } => {
                o.num(b"\"attempt\":", *attempt);
                o.str(b"\"url\":", url);
                o.str(b"\"last_event_id\":", last_event_id);
            }
            Body::Open { status, version, headers } => {
                o.num(b"\"status\":", *status);
                if !version.is_empty() {
                    o.str(b"\"version\":", version);
                }
                o.key(b"\"headers\":");
                let mut h = JsonObject::new(o.out);
                for (k, v) in headers {
                    h.pair(k, v);
                }
                h.end();
            }
            Body::Event { seq, event_type, id, data } => {
                o.num(b"\"seq\":", *seq);
                o.str(b"\"type\":", event_type);
                o.str(b"\"id\":", id);
                o.str(b"\"data\":", data);
            }
            Body::Binary { seq, size, base64 } => {
                o.num(b"\"seq\":", *seq);
                o.num(b"\"size\":", *size);
                o.str(b"\"base64\":", base64);
            }
            Body::Sent { text } => o.str(b"\"text\":", text),
            Body::Comment { text } => o.str(b"\"text\":", text),
            Body::Retry { ms } => o.num(b"\"ms\":", *ms),
            Body::Error { reason } => o.str(b"\"reason\":", reason),
            Body::Alert { rule, message } => {
                o.str(b"\"rule\":", rule);
                o.str(b"\"message\":", message);
            }
            Body::Disconnected { reason, cause, reconnect_in_ms, detail } => {
                o.str(b"\"reason\":", reason);
                o.ours(b"\"cause\":", cause.as_str());
                o.num(b"\"reconnect_in_ms\":", *reconnect_in_ms);
                if !detail.is_empty() {
                    o.str(b"\"detail\":", detail);
                }
            }
            Body::Closed { reason, cause, fatal, detail } => {
                o.str(b"\"reason\":", reason);
                o.ours(b"\"cause\":", cause.as_str());
                o.key(b"\"fatal\":");
                o.out.extend_from_slice(if *fatal { b"true" } else { b"false" });
                if !detail.is_empty() {
                    o.str(b"\"detail\":", detail);
                }
            }
        }
        o.end();
    }
}

impl Timestamp {
    /// `"YYYY-MM-DDTHH:MM:SS.mmmZ"`, quotes included, without going through `fmt`.
    fn write_json(self, out: &mut Vec<u8>) {
        let ms = self.0.rem_euclid(1000);
        let secs = self.0.div_euclid(1000);
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        if !(0..=9999).contains(&y) {
            out.push(b'"');
            out.extend_from_slice(self.to_string().as_bytes());
            out.push(b'"');
            return;
        }
        let two = |n: i64| [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
        let [y0, y1] = two(y / 100);
        let [y2, y3] = two(y % 100);
        let [m0, m1] = two(m);
        let [d0, d1] = two(d);
        let [h0, h1] = two(sod / 3600);
        let [i0, i1] = two(sod / 60 % 60);
        let [s0, s1] = two(sod % 60);
        let ms = [b'0' + (ms / 100) as u8, b'0' + (ms / 10 % 10) as u8, b'0' + (ms % 10) as u8];
        out.extend_from_slice(&[
            b'"', y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, b'T', h0, h1, b':', i0, i1, b':', s0, s1, b'.', ms[0],
            ms[1], ms[2], b'Z', b'"',
        ]);
    }
}

impl Cause {
    /// The cause as written in the log (its serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::EndOfStream => "end_of_stream",
            Cause::EndInsideEvent => "end_inside_event",
            Cause::Network => "network",
            Cause::Redirect => "redirect",
            Cause::ReadTimeout => "read_timeout",
            Cause::HttpStatus => "http_status",
            Cause::ContentType => "content_type",
            Cause::NoContent => "no_content",
            Cause::Config => "config",
            Cause::UserRestart => "user_restart",
            Cause::UserStop => "user_stop",
            Cause::WsClose => "ws_close",
            Cause::Unknown => "unknown",
        }
    }
}

/// A JSON object being appended to a buffer: keys in the order written.
struct JsonObject<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> JsonObject<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        JsonObject { out, first: true }
    }

    /// One of our own field names, given quoted and with its colon (`b"\"seq\":"`), written as is.
    fn key(&mut self, key: &'static [u8]) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.extend_from_slice(key);
    }

    fn str(&mut self, key: &'static [u8], value: &str) {
        self.key(key);
        write_json_str(self.out, value);
    }

    /// A value of our own (a kind, a cause): plain ASCII, written as is.
    fn ours(&mut self, key: &'static [u8], value: &'static str) {
        self.key(key);
        self.out.push(b'"');
        self.out.extend_from_slice(value.as_bytes());
        self.out.push(b'"');
    }

    /// A name and value from the network (a response header).
    fn pair(&mut self, key: &str, value: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        write_json_str(self.out, key);
        self.out.push(b':');
        write_json_str(self.out, value);
    }

    fn num(&mut self, key: &'static [u8], value: impl itoa::Integer) {
        self.key(key);
        self.out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    fn end(self) {
        self.out.push(b'}');
    }
}

/// Appends `s` as a JSON string, escaped as serde_json does: `"` and `\\`, the short forms
/// `\b \t \n \f \r`, `\u00XX` for the other control characters; everything else as is.
/// Eight bytes at a time: a mask marks the bytes to escape, and the plain runs between them are
/// copied with whole-word stores (JSON payloads are full of quotes, so most words have some),
/// into room made ahead for the worst case, so no store checks the vector's capacity.
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for piece in s.as_bytes().chunks(4096) {
        let start = out.len();
        // Every byte may become six (`\u00XX`); a word store may run 8 bytes past the end.
        out.resize(start + piece.len() * 6 + 8, 0);
        let buf = &mut out[start..];
        let mut pos = 0;
        let mut words = piece.chunks_exact(8);
        for word in &mut words {
            pos = put_word(buf, pos, u64::from_le_bytes(word.try_into().expect("eight bytes")), 8);
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            // Padded with spaces, which need no escape; only the first `rest.len()` bytes count.
            let mut w = [b' '; 8];
            w[..rest.len()].copy_from_slice(rest);
            pos = put_word(buf, pos, u64::from_le_bytes(w), rest.len() as u32);
        }
        out.truncate(start + pos);
    }
    out.push(b'"');
}

/// Writes the low `n` (1..=8) bytes of `w`, escaped, at `buf[pos..]`; returns the new end.
#[inline(always)]
fn put_word(buf: &mut [u8], mut pos: usize, w: u64, n: u32) -> usize {
    let mut m = to_escape(w);
    let mut plain_from = 0;
    while m != 0 {
        let k = m.trailing_zeros() / 8;
        if k >= n {
            break;
        }
        buf[pos..pos + 8].copy_from_slice(&(w >> (8 * plain_from)).to_le_bytes());
        pos += (k - plain_from) as usize;
        let c = (w >> (8 * k)) as u8;
        match ESCAPE[c as usize] {
            b'u' => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                buf[pos..pos + 6].copy_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(c >> 4) as usize],
                    HEX[(c & 15) as usize],
                ]);
                pos += 6;
            }
            e => {
                buf[pos..pos + 2].copy_from_slice(&[b'\\', e]);
                pos += 2;
            }
        }
        plain_from = k + 1;
        m &= m - 1;
    }
    if plain_from < n {
        buf[pos..pos + 8].copy_from_slice(&(w >> (8 * plain_from)).to_le_bytes());
        pos += (n - plain_from) as usize;
    }
    pos
}

/// The high bit of every byte of `w` that JSON escapes (< 0x20, `"`, `\\`); exact per byte,
/// since no step carries from one byte into the next.
#[inline(always)]
fn to_escape(w: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HI: u64 = 0x8080_8080_8080_8080;
    let eq = |x: u64| !(((x & LOW7) + LOW7) | x) & HI;
    let below_space = !(((w & LOW7) + 0x6060_6060_6060_6060) | w) & HI;
    below_space | eq(w ^ 0x2222_2222_2222_2222) | eq(w ^ 0x5c5c_5c5c_5c5c_5c5c)
}

/// For each byte, 0 (as is) or the letter of its escape (`u` for `\u00XX`).
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = b'u';
        c += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut v = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        let feed = match v.remove("feed") {
            Some(serde_json::Value::String(s)) => Arc::from(s),
            _ => return Err(D::Error::custom("record needs a string `feed`")),
        };
        let ts = match v.remove("ts") {
            Some(serde_json::Value::String(s)) => {
                Timestamp::parse(&s).ok_or_else(|| D::Error::custom(format!("not an RFC 3339 time: {s:?}")))?
            }
            _ => return Err(D::Error::custom("record needs a string `ts`")),
        };
        let body = Body::deserialize(serde_json::Value::Object(v)).map_err(D::Error::custom)?;
        Ok(Record { feed, ts, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_formats_rfc3339_utc_millis() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(Timestamp(1_764_131_589_123).to_string(), "2025-11-26T04:33:09.123Z");
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn timestamp_parses_what_it_formats_and_offsets() {
        for ms in [0, 1, 951_782_400_000, 1_764_131_589_123, 4_102_444_800_999] {
            let t = Timestamp(ms);
            assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
        }
        assert_eq!(Timestamp::parse("1970-01-01T01:00:00+01:00"), Some(Timestamp(0)));
        assert_eq!(Timestamp::parse("1970-01-01T00:00:00.5Z"), Some(Timestamp(500)));
        assert_eq!(Timestamp::parse("1970-01-01T00:00:00Z"), Some(Timestamp(0)));
        assert_eq!(Timestamp::parse("1970-13-01T00:00:00Z"), None);
        assert_eq!(Timestamp::parse("yesterday"), None);
    }

    #[test]
    fn record_json_starts_with_kind_feed_ts_and_round_trips() {
        let r = Record::new(
            Arc::from("demo"),
            Timestamp(1_764_131_589_123),
            Body::Event { seq: 7, event_type: Arc::from("tick"), id: Arc::from("42"), data: "a\nb".into() },
        );
        let line = r.to_json();
        assert_eq!(
            line,
            r#"{"kind":"event","feed":"demo","ts":"2025-11-26T04:33:09.123Z","seq":7,"type":"tick","id":"42","data":"a\nb"}"#
        );
        assert_eq!(Record::from_json(&line).unwrap(), r);
    }

    #[test]
    fn every_kind_round_trips() {
        let bodies = vec![
            Body::Connecting { attempt: 2, url: "http://x/".into(), last_event_id: "".into() },
            Body::Open {
                status: 200,
                version: "HTTP/1.1".into(),
                headers: BTreeMap::from([("content-type".into(), "text/event-stream".into())]),
            },
            Body::Open { status: 200, version: String::new(), headers: BTreeMap::new() },
            Body::Comment { text: " hb".into() },
            Body::Retry { ms: 1500 },
            Body::Error { reason: "line too long".into() },
            Body::Alert { rule: "an event of type \"price\"".into(), message: "{\"p\":1}".into() },
            Body::Disconnected {
                reason: "the server ended the stream".into(),
                cause: Cause::EndOfStream,
                reconnect_in_ms: 3000,
                detail: String::new(),
            },
            Body::Disconnected {
                reason: "connection refused by 127.0.0.1:9".into(),
                cause: Cause::Network,
                reconnect_in_ms: 3000,
                detail: "error sending request: tcp connect error: Connection refused (os error 111)".into(),
            },
            Body::Disconnected {
                reason: "cannot follow the redirects".into(),
                cause: Cause::Redirect,
                reconnect_in_ms: 3000,
                detail: "too many redirects".into(),
            },
            Body::Closed { reason: "stopped".into(), cause: Cause::UserStop, fatal: false, detail: String::new() },
            Body::binary(3, &[0, 1, 2, 0xff]),
            Body::binary(4, &[]),
            Body::Sent { text: "{\"op\":\"subscribe\",\"channel\":\"ticker\"}".into() },
            Body::Disconnected {
                reason: "the server closed the WebSocket: 1001 going away: restarting".into(),
                cause: Cause::WsClose,
                reconnect_in_ms: 20,
                detail: String::new(),
            },
            Body::Closed {
                reason: "HTTP 404 Not Found: no such \"feed\"".into(),
                cause: Cause::HttpStatus,
                fatal: true,
                detail: "a\nb".into(),
            },
        ];
        for body in bodies {
            let r = Record::new(Arc::from("f"), Timestamp(5), body);
            assert_eq!(Record::from_json(&r.to_json()).unwrap(), r);
        }
    }

    proptest::proptest! {
        #[test]
        fn json_strings_are_escaped_exactly_as_serde_json_does(s in "(?s).{0,40}", t in proptest::prelude::any::<String>()) {
            for s in [&s, &t] {
                let mut out = Vec::new();
                write_json_str(&mut out, s);
                proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(s).unwrap());
            }
        }
    }

    #[test]
    fn every_ascii_byte_is_escaped_as_serde_json_does() {
        let all: String = (0u8..128).map(char::from).collect();
        for s in [all.clone(), all.repeat(3), all.repeat(100), format!("{all}é\u{2028}😀{all}")] {
            let mut out = Vec::new();
            write_json_str(&mut out, &s);
            assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&s).unwrap());
        }
    }

    #[test]
    fn timestamps_in_json_match_their_display() {
        for ms in [0, 1, -1, 999, 951_782_400_000, 1_764_131_589_123, 253_402_300_799_999, -62_135_596_800_000] {
            let mut out = Vec::new();
            Timestamp(ms).write_json(&mut out);
            assert_eq!(String::from_utf8(out).unwrap(), format!("\"{}\"", Timestamp(ms)));
        }
    }

    #[test]
    fn logs_written_before_causes_still_read() {
        let line = r#"{"kind":"closed","feed":"f","ts":"1970-01-01T00:00:00.000Z","reason":"gone","fatal":true}"#;
        let r = Record::from_json(line).unwrap();
        assert_eq!(
            r.body,
            Body::Closed { reason: "gone".into(), cause: Cause::Unknown, fatal: true, detail: String::new() }
        );
        let line = r#"{"kind":"disconnected","feed":"f","ts":"1970-01-01T00:00:00.000Z","reason":"eof","cause":"end_of_stream","reconnect_in_ms":5}"#;
        assert!(matches!(Record::from_json(line).unwrap().body, Body::Disconnected { cause: Cause::EndOfStream, .. }));
    }

    #[test]
    fn open_carries_the_http_version_and_older_logs_still_read() {
        let body = Body::Open {
            status: 200,
            version: "HTTP/2".into(),
            headers: BTreeMap::from([("content-encoding".into(), "gzip".into())]),
        };
        let line = Record::new(Arc::from("f"), Timestamp(0), body.clone()).to_json();
        assert_eq!(
            line,
            r#"{"kind":"open","feed":"f","ts":"1970-01-01T00:00:00.000Z","status":200,"version":"HTTP/2","headers":{"content-encoding":"gzip"}}"#
        );
        assert_eq!(Record::from_json(&line).unwrap().body, body);
        let old = r#"{"kind":"open","feed":"f","ts":"1970-01-01T00:00:00.000Z","status":200,"headers":{}}"#;
        assert_eq!(
            Record::from_json(old).unwrap().body,
            Body::Open { status: 200, version: String::new(), headers: BTreeMap::new() }
        );
    }

    #[test]
    fn detail_is_written_last_and_only_when_there_is_one() {
        let r = |detail: &str| {
            let body = Body::Closed {
                reason: "connection lost".into(),
                cause: Cause::Network,
                fatal: true,
                detail: detail.into(),
            };
            Record::new(Arc::from("f"), Timestamp(0), body).to_json()
        };
        assert_eq!(
            r(""),
            r#"{"kind":"closed","feed":"f","ts":"1970-01-01T00:00:00.000Z","reason":"connection lost","cause":"network","fatal":true}"#
        );
        assert_eq!(
            r("reset"),
            r#"{"kind":"closed","feed":"f","ts":"1970-01-01T00:00:00.000Z","reason":"connection lost","cause":"network","fatal":true,"detail":"reset"}"#
        );
    }

    #[test]
    fn every_cause_is_written_as_its_serde_name() {
        let all = [
            Cause::EndOfStream,
            Cause::EndInsideEvent,
            Cause::Network,
            Cause::Redirect,
            Cause::ReadTimeout,
            Cause::HttpStatus,
            Cause::ContentType,
            Cause::NoContent,
            Cause::Config,
            Cause::UserRestart,
            Cause::UserStop,
            Cause::WsClose,
            Cause::Unknown,
        ];
        for c in all {
            assert_eq!(serde_json::to_value(c).unwrap(), serde_json::Value::from(c.as_str()));
        }
        let stops: Vec<Cause> = all.into_iter().filter(|c| c.browser_would_stop()).collect();
        assert_eq!(stops, [Cause::ReadTimeout, Cause::HttpStatus]);
    }

    #[test]
    fn binary_and_sent_records_have_their_own_fields() {
        let r = Record::new(Arc::from("ws"), Timestamp(0), Body::binary(9, &[0xde, 0xad, 0xbe, 0xef, 0]));
        assert_eq!(
            r.to_json(),
            r#"{"kind":"binary","feed":"ws","ts":"1970-01-01T00:00:00.000Z","seq":9,"size":5,"base64":"3q2+7wA="}"#
        );
        assert_eq!(r.body.binary_bytes(), Some(vec![0xde, 0xad, 0xbe, 0xef, 0]));
        assert_eq!(r.body.kind(), Kind::Binary);
        let bad = Body::Binary { seq: 1, size: 1, base64: "%%".into() };
        assert_eq!(bad.binary_bytes(), None);
        assert_eq!(Body::Sent { text: "x".into() }.binary_bytes(), None);
        let sent = Record::new(Arc::from("ws"), Timestamp(0), Body::Sent { text: "{\"op\":\"ping\"}".into() });
        assert_eq!(
            sent.to_json(),
            r#"{"kind":"sent","feed":"ws","ts":"1970-01-01T00:00:00.000Z","text":"{\"op\":\"ping\"}"}"#
        );
        assert_eq!(Record::from_json(&sent.to_json()).unwrap(), sent);
        let unknown_field =
            r#"{"kind":"binary","feed":"ws","ts":"1970-01-01T00:00:00.000Z","seq":1,"size":0,"base64":"","hex":""}"#;
        assert!(Record::from_json(unknown_field).is_err(), "unknown fields are refused");
    }

    /// The example of docs/log-format.md as written before the transports existed: it still reads,
    /// and writes back byte for byte.
    #[test]
    fn logs_written_before_transports_read_and_write_back_the_same() {
        let log = r#"{"kind":"connecting","feed":"demo","ts":"2026-11-26T04:33:09.101Z","attempt":1,"url":"http://127.0.0.1:8080/events","last_event_id":""}
{"kind":"open","feed":"demo","ts":"2026-11-26T04:33:09.104Z","status":200,"version":"HTTP/1.1","headers":{"cache-control":"no-cache","content-type":"text/event-stream"}}
{"kind":"retry","feed":"demo","ts":"2026-11-26T04:33:09.104Z","ms":2000}
{"kind":"comment","feed":"demo","ts":"2026-11-26T04:33:09.104Z","text":" feedscope demo"}
{"kind":"event","feed":"demo","ts":"2026-11-26T04:33:09.350Z","seq":1,"type":"tick","id":"1","data":"1"}
{"kind":"event","feed":"demo","ts":"2026-11-26T04:33:09.600Z","seq":2,"type":"chat","id":"2","data":"hello\nworld"}
{"kind":"disconnected","feed":"demo","ts":"2026-11-26T04:33:12.000Z","reason":"the server ended the stream","cause":"end_of_stream","reconnect_in_ms":2000}
{"kind":"connecting","feed":"demo","ts":"2026-11-26T04:33:14.000Z","attempt":2,"url":"http://127.0.0.1:8080/events","last_event_id":"2"}
{"kind":"closed","feed":"demo","ts":"2026-11-26T04:33:15.000Z","reason":"stopped by the user","cause":"user_stop","fatal":false}"#;
        for line in log.lines() {
            let r = Record::from_json(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(r.to_json(), line);
        }
    }

    #[test]
    fn malformed_records_are_refused_with_a_reason() {
        assert!(Record::from_json(r#"{"kind":"event","feed":"f"}"#).is_err());
        assert!(Record::from_json(r#"{"kind":"nope","feed":"f","ts":"1970-01-01T00:00:00Z"}"#).is_err());
        assert!(Record::from_json("not json").is_err());
    }
}
