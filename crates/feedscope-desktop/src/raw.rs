//! What the window's raw view is sent: pages of a feed's raw log (each connection's request and
//! response, its body line by line with offsets and line ends, how it ended), every byte from the
//! server made safe to show by `feedscope_core::text`, and which record each line became.

use feedscope_core::raw::{self, LineEnd, Row};
use feedscope_core::sse::{Field, LineKind};
use feedscope_core::text::one_line;
use feedscope_core::RawStats;
use serde::Serialize;
use ts_rs::TS;

/// Characters of a line, a header or a URL shown (the row is one line of the view).
const SHOWN_CHARS: usize = 1000;

/// Rows `offset..` of a feed's raw view, out of `total`, and what the cap kept and evicted.
#[derive(Debug, Serialize, TS)]
pub struct RawPage {
    pub total: usize,
    pub offset: usize,
    pub rows: Vec<RawRow>,
    pub stats: RawStats,
}

/// One row of the raw view. Every string is made safe to show ([`one_line`]).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RawRow {
    /// A connection begins. Without `attempt` the log joined it late (the cap was off).
    Connection {
        conn: u64,
        attempt: Option<u32>,
        /// Milliseconds since the Unix epoch.
        ts: Option<i64>,
        /// What the request sent as `Last-Event-ID` (empty: none).
        last_event_id: Option<String>,
    },
    Request {
        conn: u64,
        method: String,
        url: String,
    },
    /// A header the request sent (`sent`), or one of the response.
    Header {
        conn: u64,
        sent: bool,
        name: String,
        value: String,
    },
    RequestBody {
        conn: u64,
        body: String,
    },
    Status {
        conn: u64,
        version: String,
        status: u16,
    },
    /// Body bytes before the first line kept (evicted by the cap, or before the log joined).
    Skipped {
        conn: u64,
        bytes: u64,
    },
    Line {
        conn: u64,
        /// Body offset of the line's first byte.
        offset: u64,
        text: String,
        /// Bytes of the line without its line end.
        len: u64,
        /// `text` shows only the start of the line.
        cut: bool,
        end: LineEnd,
        class: LineClass,
        /// Timeline index of the record the line was parsed into (what the table selects).
        record: Option<u64>,
        /// That record's event `seq`, when it is an event.
        seq: Option<u64>,
    },
    End {
        conn: u64,
        reason: String,
    },
}

/// What a line is to the parser (`feedscope_core::sse::classify_line`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LineClass {
    Blank,
    Comment,
    Data,
    Event,
    Id,
    Retry,
    /// An `id` with a NUL, ignored.
    IgnoredId,
    /// A `retry` that is not only digits, ignored.
    IgnoredRetry,
    /// An unknown field, ignored.
    Unknown,
}

impl From<LineKind> for LineClass {
    fn from(k: LineKind) -> Self {
        match k {
            LineKind::Blank => LineClass::Blank,
            LineKind::Comment => LineClass::Comment,
            LineKind::Field(Field::Data) | LineKind::Ignored(Field::Data) => LineClass::Data,
            LineKind::Field(Field::Event) | LineKind::Ignored(Field::Event) => LineClass::Event,
            LineKind::Field(Field::Id) => LineClass::Id,
            LineKind::Field(Field::Retry) => LineClass::Retry,
            LineKind::Ignored(Field::Id) => LineClass::IgnoredId,
            LineKind::Ignored(Field::Retry) => LineClass::IgnoredRetry,
            LineKind::Unknown => LineClass::Unknown,
        }
    }
}

/// The rows of the lines a record came from: `count` rows from `first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
pub struct RawRange {
    pub first: usize,
    pub count: usize,
}

/// A finished raw export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct RawExportDone {
    pub path: String,
    /// Connections whose bytes are in the file.
    pub connections: usize,
    pub bytes: u64,
}

fn shown(s: &str) -> String {
    one_line(s, SHOWN_CHARS)
}

impl RawRow {
    pub fn new(row: Row) -> RawRow {
        match row {
            Row::Connection { conn, attempt, ts, last_event_id } => RawRow::Connection {
                conn,
                attempt,
                ts: ts.map(|t| t.millis()),
                last_event_id: last_event_id.as_deref().map(shown),
            },
            Row::Request { conn, method, url } => RawRow::Request { conn, method: shown(&method), url: shown(&url) },
            Row::Header { conn, sent, name, value } => {
                RawRow::Header { conn, sent, name: shown(&name), value: shown(&value) }
            }
            Row::RequestBody { conn, body } => RawRow::RequestBody { conn, body: shown(&body) },
            Row::Status { conn, version, status } => RawRow::Status { conn, version: shown(&version), status },
            Row::Skipped { conn, bytes } => RawRow::Skipped { conn, bytes },
            Row::Line(l) => {
                // Invalid UTF-8 shows as U+FFFD, as the parser decodes it.
                let decoded = String::from_utf8_lossy(&l.bytes);
                RawRow::Line {
                    conn: l.conn,
                    offset: l.offset,
                    cut: (l.bytes.len() as u64) < l.len || decoded.chars().count() > SHOWN_CHARS,
                    text: one_line(&decoded, SHOWN_CHARS),
                    len: l.len,
                    end: l.end,
                    class: l.kind.into(),
                    record: l.record.map(|r| r.index),
                    seq: l.record.and_then(|r| r.seq),
                }
            }
            Row::End { conn, reason } => RawRow::End { conn, reason: shown(&reason) },
        }
    }
}

impl RawPage {
    pub fn new(page: feedscope_core::hub::RawPage) -> RawPage {
        RawPage {
            total: page.total,
            offset: page.offset,
            rows: page.rows.into_iter().map(RawRow::new).collect(),
            stats: page.stats,
        }
    }
}

/// The default raw cap of a feed, in MiB (the engine's).
pub fn default_cap_mib() -> u32 {
    raw::DEFAULT_CAP_MIB
}

#[cfg(test)]
mod tests {
    use super::*;
    use feedscope_core::raw::{Line, RecordRef};
    use feedscope_core::Timestamp;

    fn line(bytes: &[u8], len: u64) -> Row {
        Row::Line(Line {
            conn: 1,
            offset: 7,
            bytes: bytes.to_vec(),
            len,
            end: LineEnd::CrLf,
            kind: feedscope_core::sse::classify_line(bytes, false),
            record: Some(RecordRef { index: 12, seq: Some(3) }),
        })
    }

    #[test]
    fn server_text_is_made_safe_to_show() {
        let row = RawRow::new(line(b"data: a\x1b[31m\xe2\x80\xae\xff\tb", 14));
        assert_eq!(
            row,
            RawRow::Line {
                conn: 1,
                offset: 7,
                text: "data: a\\x1b[31m\\u{202e}\u{fffd}⇥b".into(),
                len: 14,
                cut: false,
                end: LineEnd::CrLf,
                class: LineClass::Data,
                record: Some(12),
                seq: Some(3),
            }
        );
        let header = RawRow::new(Row::Header { conn: 1, sent: false, name: "x".into(), value: "a\u{202e}b".into() });
        assert_eq!(header, RawRow::Header { conn: 1, sent: false, name: "x".into(), value: "a\\u{202e}b".into() });
        let start = RawRow::new(Row::Connection {
            conn: 2,
            attempt: Some(2),
            ts: Some(Timestamp(5)),
            last_event_id: Some("7\u{200b}".into()),
        });
        assert_eq!(
            start,
            RawRow::Connection { conn: 2, attempt: Some(2), ts: Some(5), last_event_id: Some("7\\u{200b}".into()) }
        );
    }

    #[test]
    fn a_long_line_says_it_is_cut() {
        let RawRow::Line { cut, text, .. } = RawRow::new(line(&[b'x'; 4096], 100_000)) else { panic!() };
        assert!(cut);
        assert_eq!(text.chars().count(), SHOWN_CHARS + 1);
    }

    #[test]
    fn line_classes_come_from_the_parser() {
        let class = |b: &[u8]| match RawRow::new(line(b, b.len() as u64)) {
            RawRow::Line { class, .. } => class,
            _ => unreachable!(),
        };
        assert_eq!(class(b""), LineClass::Blank);
        assert_eq!(class(b": hi"), LineClass::Comment);
        assert_eq!(class(b"retry: 1s"), LineClass::IgnoredRetry);
        assert_eq!(class(b"id: a\0"), LineClass::IgnoredId);
        assert_eq!(class(b"Data: x"), LineClass::Unknown);
        assert_eq!(class(b"event"), LineClass::Event);
    }
}
