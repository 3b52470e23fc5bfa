//! Writes records to a file, streaming: NDJSON (the log format), a JSON array, CSV, or the raw
//! `text/event-stream` that reproduces the events when parsed again.

use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::history::Matcher;
use crate::query::Field;
use crate::record::{Body, Record};
use crate::sse::RecordEncoder;

/// An export format; serde names `ndjson`, `json`, `csv`, `sse`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// One record per line, exactly as docs/log-format.md; `feedscope replay` reads it.
    Ndjson,
    /// The same records as one JSON array.
    Json,
    /// `kind,feed,ts,seq,type,id,data,detail`, then one column per added field (`data.symbol`),
    /// RFC 4180 quoting.
    Csv,
    /// Events, comments and `retry:` as a `text/event-stream` body.
    Sse,
}

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Ndjson => "ndjson",
            ExportFormat::Json => "json",
            ExportFormat::Csv => "csv",
            ExportFormat::Sse => "sse",
        }
    }
}

/// A streaming writer: call [`Exporter::write`] per record, then [`Exporter::finish`].
pub struct Exporter<W: Write> {
    format: ExportFormat,
    out: W,
    count: u64,
    sse: RecordEncoder,
    buf: String,
    /// NDJSON and JSON are encoded here and handed to `out` in large writes, so a wrapping
    /// `BufWriter` is not needed (and would only copy every byte once more).
    json: Vec<u8>,
    /// Added CSV columns (the table's JSON columns).
    columns: Vec<Field>,
}

/// Bytes of encoded JSON gathered before one write to the output.
const JSON_CHUNK: usize = 64 << 10;

impl<W: Write> Exporter<W> {
    pub fn new(format: ExportFormat, out: W) -> io::Result<Self> {
        Exporter::with_columns(format, out, Vec::new())
    }

    /// An exporter whose CSV has one more column per field, after the fixed ones (the other
    /// formats hold the whole record, so they are the same).
    pub fn with_columns(format: ExportFormat, out: W, columns: Vec<Field>) -> io::Result<Self> {
        let mut x = Exporter {
            format,
            out,
            count: 0,
            sse: RecordEncoder::default(),
            buf: String::new(),
            json: Vec::new(),
            columns,
        };
        match format {
            ExportFormat::Json => x.out.write_all(b"[")?,
            ExportFormat::Csv => {
                let mut header: Vec<&str> = vec!["kind", "feed", "ts", "seq", "type", "id", "data", "detail"];
                header.extend(x.columns.iter().map(Field::as_str));
                let header: Vec<String> = header.into_iter().map(str::to_owned).collect();
                x.csv_line(&header)?;
            }
            ExportFormat::Ndjson | ExportFormat::Sse => {}
        }
        Ok(x)
    }

    /// Records written so far (for `sse`, only the ones the format can hold).
    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn write(&mut self, r: &Record) -> io::Result<()> {
        match self.format {
            ExportFormat::Ndjson => r.write_ndjson(&mut self.json),
            ExportFormat::Json => {
                self.json.extend_from_slice(if self.count == 0 { b"\n" } else { b",\n" });
                r.write_json(&mut self.json);
            }
            ExportFormat::Csv => self.write_csv(r)?,
            ExportFormat::Sse => {
                self.buf.clear();
                if !self.sse.encode(&mut self.buf, &r.body) {
                    return Ok(());
                }
                self.out.write_all(self.buf.as_bytes())?;
            }
        }
        self.count += 1;
        if self.json.len() >= JSON_CHUNK {
            self.write_json_chunk()?;
        }
        Ok(())
    }

    fn write_json_chunk(&mut self) -> io::Result<()> {
        if !self.json.is_empty() {
            self.out.write_all(&self.json)?;
            self.json.clear();
        }
        Ok(())
    }

    fn write_csv(&mut self, r: &Record) -> io::Result<()> {
        let (seq, ty, id, data, detail) = match &r.body {
            Body::Event { seq, event_type, id, data } => {
                (seq.to_string(), &**event_type, &**id, data.as_str(), String::new())
            }
            Body::Comment { text } | Body::Sent { text } => (String::new(), "", "", text.as_str(), String::new()),
            // The bytes as base64 in the data column, as in the other formats.
            Body::Binary { seq, base64, .. } => (seq.to_string(), "", "", base64.as_str(), String::new()),
            other => {
                let v = serde_json::to_value(other).unwrap_or_default();
                let mut detail = v.as_object().cloned().unwrap_or_default();
                detail.remove("kind");
                (String::new(), "", "", "", serde_json::Value::Object(detail).to_string())
            }
        };
        let ts = r.ts.to_string();
        let mut fields: Vec<String> =
            [r.body.kind().as_str(), &r.feed, &ts, &seq, ty, id, data, &detail].map(str::to_owned).into();
        fields.extend(self.columns.iter().map(|c| c.value(r).text()));
        self.csv_line(&fields)
    }

    fn csv_line(&mut self, fields: &[String]) -> io::Result<()> {
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                self.out.write_all(b",")?;
            }
            if f.contains([',', '"', '\n', '\r']) {
                self.out.write_all(b"\"")?;
                self.out.write_all(f.replace('"', "\"\"").as_bytes())?;
                self.out.write_all(b"\"")?;
            } else {
                self.out.write_all(f.as_bytes())?;
            }
        }
        self.out.write_all(b"\r\n")
    }

    /// Flushes what was written so far (a live log stays readable as it grows).
    pub fn flush(&mut self) -> io::Result<()> {
        self.write_json_chunk()?;
        self.out.flush()
    }

    /// Closes the document and flushes; returns the writer and the record count.
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        self.write_json_chunk()?;
        if self.format == ExportFormat::Json {
            self.out.write_all(if self.count == 0 { b"]\n" } else { b"\n]\n" })?;
        }
        self.out.flush()?;
        Ok((self.out, self.count))
    }
}

/// Writes the `records` that match (all of them when `matcher` is `None`) to `out`; returns the
/// writer and how many records went in. The one export loop: the app's export and the tests.
pub fn write_records<'a, W: Write>(
    format: ExportFormat,
    records: impl IntoIterator<Item = &'a Record>,
    matcher: Option<&Matcher>,
    columns: &[Field],
    out: W,
) -> io::Result<(W, u64)> {
    let mut x = Exporter::with_columns(format, out, columns.to_vec())?;
    for r in records.into_iter().filter(|r| matcher.is_none_or(|m| m.matches(r))) {
        x.write(r)?;
    }
    x.finish()
}

/// What [`write_file`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub records: u64,
    pub bytes: u64,
}

/// Writes the matching `records` to a new file at `path` (replacing one there), synced to disk.
pub fn write_file<'a>(
    path: &Path,
    format: ExportFormat,
    records: impl IntoIterator<Item = &'a Record>,
    matcher: Option<&Matcher>,
    columns: &[Field],
) -> io::Result<Written> {
    let file = std::fs::File::create(path)?;
    let (file, count) = write_records(format, records, matcher, columns, file)?;
    file.sync_all()?;
    Ok(Written { records: count, bytes: file.metadata()?.len() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Timestamp;
    use crate::sse::{parse_all, Item, Limits};
    use std::sync::Arc;

    fn sample() -> Vec<Record> {
        let r = |b| Record::new(Arc::from("f"), Timestamp(1_000), b);
        vec![
            r(Body::Connecting { attempt: 1, url: "http://x/".into(), last_event_id: "".into() }),
            r(Body::Retry { ms: 2000 }),
            r(Body::Event { seq: 1, event_type: Arc::from("tick"), id: Arc::from("1"), data: "a,\"b\"\nc".into() }),
            r(Body::Comment { text: " hb".into() }),
            r(Body::Event { seq: 2, event_type: Arc::from("message"), id: Arc::from("1"), data: "".into() }),
            r(Body::Closed {
                reason: "stopped by the user".into(),
                cause: crate::Cause::UserStop,
                fatal: false,
                detail: String::new(),
            }),
        ]
    }

    #[test]
    fn ndjson_round_trips_through_the_log_parser() {
        let mut out = Vec::new();
        assert_eq!(write_records(ExportFormat::Ndjson, &sample(), None, &[], &mut out).unwrap().1, 6);
        let back: Vec<Record> =
            String::from_utf8(out).unwrap().lines().map(|l| Record::from_json(l).unwrap()).collect();
        assert_eq!(back, sample());
    }

    #[test]
    fn json_is_one_valid_array() {
        let mut out = Vec::new();
        write_records(ExportFormat::Json, &sample(), None, &[], &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 6);
        let mut out = Vec::new();
        write_records(ExportFormat::Json, &[], None, &[], &mut out).unwrap();
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&out).unwrap(), serde_json::json!([]));
    }

    #[test]
    fn csv_quotes_commas_quotes_and_newlines() {
        let mut out = Vec::new();
        write_records(ExportFormat::Csv, &sample(), None, &[], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("kind,feed,ts,seq,type,id,data,detail\r\n"));
        assert!(text.contains("event,f,1970-01-01T00:00:01.000Z,1,tick,1,\"a,\"\"b\"\"\nc\",\r\n"));
    }

    #[test]
    fn csv_gets_one_column_per_added_field() {
        let r = |seq, data: &str| {
            let body = Body::Event { seq, event_type: Arc::from("price"), id: Arc::from(""), data: data.into() };
            Record::new(Arc::from("f"), Timestamp(1_000), body)
        };
        let records = [r(1, r#"{"symbol":"AB,C","px":{"bid":1.5}}"#), r(2, "not json"), r(3, r#"{"px":[1]}"#)];
        let columns = [Field::parse("data.symbol").unwrap(), Field::parse("data.px").unwrap()];
        let mut out = Vec::new();
        write_records(ExportFormat::Csv, &records, None, &columns, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], "kind,feed,ts,seq,type,id,data,detail,data.symbol,data.px");
        assert!(lines[1].ends_with(r#",,"AB,C","{""bid"":1.5}""#), "{}", lines[1]);
        assert!(lines[2].ends_with("not json,,,"), "missing fields are empty: {}", lines[2]);
        assert!(lines[3].ends_with(",,[1]"), "{}", lines[3]);
    }

    #[test]
    fn formats_keep_their_serde_names() {
        for (f, name) in [
            (ExportFormat::Ndjson, "ndjson"),
            (ExportFormat::Json, "json"),
            (ExportFormat::Csv, "csv"),
            (ExportFormat::Sse, "sse"),
        ] {
            assert_eq!(serde_json::to_value(f).unwrap(), serde_json::Value::from(name));
            assert_eq!(f.extension(), name);
        }
    }

    #[test]
    fn raw_sse_parses_back_to_the_same_events() {
        let mut out = Vec::new();
        assert_eq!(write_records(ExportFormat::Sse, &sample(), None, &[], &mut out).unwrap().1, 4);
        let (items, _) = parse_all(&out, Limits::default());
        let events: Vec<_> = items.iter().filter(|i| matches!(i, Item::Event { .. })).collect();
        assert_eq!(
            events,
            [
                &Item::Event { event_type: Arc::from("tick"), id: Arc::from("1"), data: "a,\"b\"\nc".into() },
                &Item::Event { event_type: Arc::from("message"), id: Arc::from("1"), data: "".into() },
            ]
        );
        assert!(items.contains(&Item::Retry(2000)));
        assert!(items.contains(&Item::Comment(" hb".into())));
    }
}
