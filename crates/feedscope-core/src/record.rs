//! The one record type every face speaks (CLI, app, export, replay) and its NDJSON form.
//! `docs/log-format.md` is the reference for the JSON shape; this module is its implementation.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::Error as _;
use serde::ser::SerializeMap;
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
    /// The response was 200 with `text/event-stream`: the feed is OPEN.
    Open { status: u16, headers: BTreeMap<String, String> },
    /// A dispatched event. `seq` counts the feed's events from 1 and is never reused.
    Event {
        seq: u64,
        #[serde(rename = "type")]
        event_type: Arc<str>,
        id: Arc<str>,
        data: String,
    },
    /// A comment line (often a heartbeat), the text after the colon.
    Comment { text: String },
    /// A valid `retry:` field set the reconnection time.
    Retry { ms: u64 },
    /// Something in the stream was discarded (an oversized line or event); the feed goes on.
    Error { reason: String },
    /// The connection ended and a reconnection is scheduled.
    Disconnected { reason: String, reconnect_in_ms: u64 },
    /// The feed stopped for good: `fatal` is true for a failure, false for a user stop or a 204.
    Closed { reason: String, fatal: bool },
}

impl Body {
    /// The record's `kind` as written in the log.
    pub fn kind(&self) -> &'static str {
        match self {
            Body::Connecting { .. } => "connecting",
            Body::Open { .. } => "open",
            Body::Event { .. } => "event",
            Body::Comment { .. } => "comment",
            Body::Retry { .. } => "retry",
            Body::Error { .. } => "error",
            Body::Disconnected { .. } => "disconnected",
            Body::Closed { .. } => "closed",
        }
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
            Body::Comment { text } => text.len(),
            Body::Error { reason } | Body::Disconnected { reason, .. } | Body::Closed { reason, .. } => reason.len(),
            Body::Retry { .. } => 0,
        };
        payload + std::mem::size_of::<Record>() + 16
    }

    /// One NDJSON line, without the trailing newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("records always serialize")
    }

    /// Parses one NDJSON line.
    pub fn from_json(line: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(line)
    }
}

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // `kind`, `feed`, `ts` first, then the body's own fields, so every line reads alike.
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("kind", self.body.kind())?;
        m.serialize_entry("feed", &*self.feed)?;
        m.serialize_entry("ts", &self.ts)?;
        match &self.body {
            Body::Connecting { attempt, url, last_event_id } => {
                m.serialize_entry("attempt", attempt)?;
                m.serialize_entry("url", url)?;
                m.serialize_entry("last_event_id", last_event_id)?;
            }
            Body::Open { status, headers } => {
                m.serialize_entry("status", status)?;
                m.serialize_entry("headers", headers)?;
            }
            Body::Event { seq, event_type, id, data } => {
                m.serialize_entry("seq", seq)?;
                m.serialize_entry("type", &**event_type)?;
                m.serialize_entry("id", &**id)?;
                m.serialize_entry("data", data)?;
            }
            Body::Comment { text } => m.serialize_entry("text", text)?,
            Body::Retry { ms } => m.serialize_entry("ms", ms)?,
            Body::Error { reason } => m.serialize_entry("reason", reason)?,
            Body::Disconnected { reason, reconnect_in_ms } => {
                m.serialize_entry("reason", reason)?;
                m.serialize_entry("reconnect_in_ms", reconnect_in_ms)?;
            }
            Body::Closed { reason, fatal } => {
                m.serialize_entry("reason", reason)?;
                m.serialize_entry("fatal", fatal)?;
            }
        }
        m.end()
    }
}

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
            Body::Open { status: 200, headers: BTreeMap::from([("content-type".into(), "text/event-stream".into())]) },
            Body::Comment { text: " hb".into() },
            Body::Retry { ms: 1500 },
            Body::Error { reason: "line too long".into() },
            Body::Disconnected { reason: "end of stream".into(), reconnect_in_ms: 3000 },
            Body::Closed { reason: "stopped".into(), fatal: false },
        ];
        for body in bodies {
            let r = Record::new(Arc::from("f"), Timestamp(5), body);
            assert_eq!(Record::from_json(&r.to_json()).unwrap(), r);
        }
    }

    #[test]
    fn malformed_records_are_refused_with_a_reason() {
        assert!(Record::from_json(r#"{"kind":"event","feed":"f"}"#).is_err());
        assert!(Record::from_json(r#"{"kind":"nope","feed":"f","ts":"1970-01-01T00:00:00Z"}"#).is_err());
        assert!(Record::from_json("not json").is_err());
    }
}
