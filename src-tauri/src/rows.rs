//! What the window is sent about records: a compact row per record for the table (preview made
//! safe to show), and the full record for the detail pane.

use std::sync::Arc;

use feedscope_core::{Body, Record};
use serde::Serialize;

/// Characters of data shown in the one-line preview.
const PREVIEW_CHARS: usize = 240;

/// One table row. `i` is the record's index in the feed's timeline (stable while retained).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Row {
    pub i: u64,
    pub kind: &'static str,
    /// Milliseconds since the Unix epoch; the window formats it in local time.
    pub ts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub event_type: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Arc<str>>,
    /// Bytes of data (events, comments) or of the record's text.
    pub size: usize,
    /// One line, control characters replaced by visible symbols.
    pub text: String,
}

impl Row {
    pub fn new(i: u64, r: &Record) -> Row {
        let (seq, event_type, id, size, text) = match &r.body {
            Body::Event { seq, event_type, id, data } => {
                (Some(*seq), Some(event_type.clone()), Some(id.clone()), data.len(), one_line(data))
            }
            Body::Comment { text } => (None, None, None, text.len(), one_line(&format!(":{text}"))),
            other => {
                let s = summary(other);
                (None, None, None, 0, one_line(&s))
            }
        };
        Row { i, kind: r.body.kind(), ts: r.ts.millis(), seq, event_type, id, size, text }
    }
}

/// Serializes a record as the log format writes it (`kind`, `feed`, `ts`, then the body's fields),
/// for `#[serde(serialize_with = "crate::rows::serialize_record")]`: the engine writes records
/// itself (its NDJSON hot path) and no longer implements `Serialize` for them.
pub fn serialize_record<S: serde::Serializer>(r: &Arc<Record>, s: S) -> Result<S::Ok, S::Error> {
    let v: serde_json::Value = serde_json::from_str(&r.to_json()).map_err(serde::ser::Error::custom)?;
    v.serialize(s)
}

/// A connection record as a sentence for the timeline.
pub fn summary(b: &Body) -> String {
    match b {
        Body::Connecting { attempt, url, last_event_id } => {
            let mut s = format!("connecting (attempt {attempt}) to {url}");
            if !last_event_id.is_empty() {
                s.push_str(&format!(" with Last-Event-ID {last_event_id:?}"));
            }
            s
        }
        Body::Open { status, headers } => {
            let ct = headers.get("content-type").map(String::as_str).unwrap_or("");
            format!("open: HTTP {status} {ct}")
        }
        Body::Retry { ms } => format!("retry: reconnection time set to {ms} ms"),
        Body::Error { reason } => format!("error: {reason}"),
        Body::Disconnected { reason, reconnect_in_ms, .. } => {
            format!("disconnected: {reason}; reconnecting in {}", human_ms(*reconnect_in_ms))
        }
        Body::Closed { reason, fatal, .. } => {
            format!("{}: {reason}", if *fatal { "failed" } else { "closed" })
        }
        Body::Event { data, .. } => data.clone(),
        Body::Comment { text } => format!(":{text}"),
    }
}

fn human_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// The first characters of `s` on one line: line breaks, tabs and other control or
/// bidirectional-override characters become visible symbols, so hostile data cannot fake rows.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(PREVIEW_CHARS * 2));
    for (n, c) in s.chars().enumerate() {
        if n >= PREVIEW_CHARS {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push('⏎'),
            '\t' => out.push('⇥'),
            // Escapes rather than Control Pictures glyphs, which many fonts lack.
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if is_invisible_control(c) => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// C1 controls and the characters that reorder or hide text.
fn is_invisible_control(c: char) -> bool {
    matches!(c as u32, 0x80..=0x9f | 0x200b..=0x200f | 0x202a..=0x202e | 0x2066..=0x2069 | 0xfeff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use feedscope_core::Timestamp;

    #[test]
    fn preview_makes_line_breaks_and_controls_visible() {
        assert_eq!(one_line("a\nb\r\nc\td"), "a⏎b\\r⏎c⇥d");
        assert_eq!(one_line("x\u{1b}[31m\u{7f}"), "x\\x1b[31m\\x7f");
        assert_eq!(one_line("abc\u{202e}def"), "abc\\u{202e}def");
        let long = "y".repeat(1000);
        assert_eq!(one_line(&long).chars().count(), PREVIEW_CHARS + 1);
    }

    #[test]
    fn rows_carry_event_fields_and_connection_summaries() {
        let ev = Record::new(
            Arc::from("f"),
            Timestamp(5),
            Body::Event { seq: 3, event_type: Arc::from("tick"), id: Arc::from("9"), data: "{\"a\":1}".into() },
        );
        let row = Row::new(7, &ev);
        assert_eq!((row.i, row.kind, row.seq, row.size), (7, "event", Some(3), 7));
        let dc = Record::new(
            Arc::from("f"),
            Timestamp(5),
            Body::Disconnected {
                reason: "end of stream".into(),
                cause: feedscope_core::Cause::EndOfStream,
                reconnect_in_ms: 2000,
            },
        );
        assert_eq!(Row::new(8, &dc).text, "disconnected: end of stream; reconnecting in 2.0 s");
    }

    #[test]
    fn records_serialize_as_their_log_line() {
        #[derive(Serialize)]
        struct Detail {
            #[serde(serialize_with = "serialize_record")]
            record: Arc<Record>,
        }
        let ev = Arc::new(Record::new(
            Arc::from("f"),
            Timestamp(5),
            Body::Event { seq: 3, event_type: Arc::from("tick"), id: Arc::from("9"), data: "{\"a\":1}".into() },
        ));
        let json = serde_json::to_string(&Detail { record: ev.clone() }).unwrap();
        assert_eq!(json, format!("{{\"record\":{}}}", ev.to_json()));
    }
}
