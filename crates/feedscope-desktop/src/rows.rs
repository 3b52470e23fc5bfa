//! What the window is sent about records: a compact row per record for the table (its text made
//! safe to show by the engine's one text rendering), and the full record for the detail pane.

use std::sync::Arc;

use feedscope_core::jsonrpc::{self, RpcColumns, SentRequests};
use feedscope_core::query::Field;
use feedscope_core::text::{one_line, summary, visible};
use feedscope_core::{Body, FeedConfig, JsonPath, Kind, Record};
use serde::Serialize;
use serde_json::Value;
use ts_rs::TS;

/// Characters of data shown in the one-line preview.
const PREVIEW_CHARS: usize = 240;

/// Characters of an added column's value shown in a row.
const COLUMN_CHARS: usize = 120;
/// JSON fields listed in a record's detail for adding as columns.
const MAX_FIELDS: usize = 200;

/// What a feed's table shows beyond the fixed columns: the columns the user added, each a name of
/// the query language (`data.symbol`), read from each record by the engine's [`Field`].
#[derive(Debug, Clone, Default)]
pub struct Columns {
    fields: Vec<Field>,
    /// For a JSON-RPC feed: the requests it sends, to link responses to them.
    rpc: Option<SentRequests>,
}

impl Columns {
    /// The columns of a feed's settings (already validated by the engine; one that is not is left
    /// out rather than failing the table).
    pub fn of(config: &FeedConfig) -> Columns {
        Columns {
            fields: config.columns.iter().filter_map(|c| Field::parse(c).ok()).collect(),
            rpc: config.shows_jsonrpc().then(|| config.sent_requests()),
        }
    }

    pub fn fields(&self) -> &[Field] {
        &self.fields
    }
}

/// One table row.
#[derive(Debug, Clone, Serialize, PartialEq, TS)]
pub struct Row {
    /// The record's index in the feed's timeline (stable while retained; `get_record` takes it).
    pub index: u64,
    pub kind: Kind,
    /// Milliseconds since the Unix epoch; the window formats it in local time.
    pub ts: i64,
    /// Events only: the event's number in the feed, from 1, never reused.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub seq: Option<u64>,
    /// Events only, like `event_id`: made safe to show ([`one_line`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub event_type: Option<String>,
    /// The SSE `id:` in force for the event (the Last-Event-ID a reconnection would send).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub event_id: Option<String>,
    /// Bytes of data (events, comments) or of the record's text.
    pub size: usize,
    /// One line, control characters replaced by visible symbols.
    pub text: String,
    /// The values of the feed's added columns, in order, each one safe line (empty when missing).
    pub columns: Vec<String>,
    /// A JSON-RPC feed's event: the message's kind, method, id and result or error.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub rpc: Option<RpcColumns>,
    /// The merged timeline of all feeds: the feed the record is from (`index` is in its history).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub feed: Option<String>,
}

impl Row {
    pub fn new(index: u64, r: &Record, columns: &Columns) -> Row {
        let (seq, event_type, event_id, size) = match &r.body {
            Body::Event { seq, event_type, id, data } => {
                (Some(*seq), Some(one_line(event_type, PREVIEW_CHARS)), Some(one_line(id, PREVIEW_CHARS)), data.len())
            }
            Body::Comment { text } => (None, None, None, text.len()),
            _ => (None, None, None, 0),
        };
        let text = one_line(&summary(&r.body), PREVIEW_CHARS);
        let values: Vec<String> = columns.fields.iter().map(|f| one_line(&f.value(r).text(), COLUMN_CHARS)).collect();
        let rpc = columns.rpc.as_ref().and_then(|sent| jsonrpc::columns(r, sent));
        Row {
            index,
            kind: r.body.kind(),
            ts: r.ts.millis(),
            seq,
            event_type,
            event_id,
            size,
            text,
            columns: values,
            rpc,
            feed: None,
        }
    }
}

/// The full record behind a row, for the detail pane.
#[derive(Debug, Serialize, TS)]
pub struct RecordDetail {
    pub index: u64,
    /// The record as the log writes it (`kind`, `feed`, `ts`, then the body's fields).
    #[ts(type = "Record<string, unknown>")]
    pub record: Value,
    /// What the pane shows, made safe to read ([`visible`]): the event's type and id, and its
    /// data (pretty-printed when it is a JSON object or array), or the record's sentence.
    pub shown: Shown,
    /// The JSON fields of the event's data, each one a column the user may add.
    pub fields: Vec<FieldEntry>,
    /// A polled feed's event: what changed since the feed's previous event (see
    /// [`crate::diff::line_diff`]); `None` for other feeds, or when the previous one is gone.
    pub diff: Option<Vec<crate::diff::DiffLine>>,
}

/// A JSON field of an event's data: its column name and its value, both safe one-liners.
#[derive(Debug, Serialize, TS, PartialEq)]
pub struct FieldEntry {
    /// The query-language name (`data.choices[0].delta.content`): what a column or a query takes.
    pub name: String,
    pub shown_name: String,
    pub value: String,
}

#[derive(Debug, Serialize, TS)]
pub struct Shown {
    pub event_type: Option<String>,
    pub event_id: Option<String>,
    pub text: String,
    /// The data was JSON and is shown pretty-printed.
    pub pretty: bool,
    /// Bytes of the event's data (UTF-8), or of the record's sentence.
    pub size: usize,
}

impl RecordDetail {
    pub fn new(index: u64, r: &Arc<Record>) -> RecordDetail {
        let record = serde_json::from_str(&r.to_json()).expect("a record's JSON parses");
        let mut fields = Vec::new();
        let shown = match &r.body {
            Body::Event { event_type, id, data, .. } => {
                let json = data.trim_start().starts_with(['{', '[']).then(|| serde_json::from_str::<Value>(data).ok());
                let json = json.flatten();
                if let Some(v) = &json {
                    fields = JsonPath::leaves(v, MAX_FIELDS)
                        .into_iter()
                        .map(|(path, value)| {
                            let name = if path.to_string().starts_with('[') {
                                format!("data{path}")
                            } else {
                                format!("data.{path}")
                            };
                            let value = match value {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            };
                            FieldEntry {
                                shown_name: one_line(&name, COLUMN_CHARS),
                                name,
                                value: one_line(&value, COLUMN_CHARS),
                            }
                        })
                        .collect();
                }
                let pretty = json.and_then(|v| serde_json::to_string_pretty(&v).ok());
                Shown {
                    event_type: Some(visible(event_type)),
                    event_id: Some(visible(id)),
                    pretty: pretty.is_some(),
                    text: visible(pretty.as_deref().unwrap_or(data)),
                    size: data.len(),
                }
            }
            other => {
                let text = summary(other);
                Shown { event_type: None, event_id: None, size: text.len(), text: visible(&text), pretty: false }
            }
        };
        RecordDetail { index, record, shown, fields, diff: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use feedscope_core::Timestamp;

    fn event(data: &str) -> Record {
        Record::new(
            Arc::from("f"),
            Timestamp(5),
            Body::Event { seq: 3, event_type: Arc::from("tick"), id: Arc::from("9"), data: data.into() },
        )
    }

    #[test]
    fn rows_carry_event_fields_and_connection_summaries() {
        let row = Row::new(7, &event("{\"a\":1}"), &Columns::default());
        assert_eq!((row.index, row.kind, row.seq, row.size), (7, Kind::Event, Some(3), 7));
        assert_eq!(row.event_id.as_deref(), Some("9"));
        let dc = Record::new(
            Arc::from("f"),
            Timestamp(5),
            Body::Disconnected {
                reason: "the server ended the stream".into(),
                cause: feedscope_core::Cause::EndOfStream,
                reconnect_in_ms: 2000,
                detail: String::new(),
            },
        );
        assert_eq!(
            Row::new(8, &dc, &Columns::default()).text,
            "disconnected: the server ended the stream; reconnecting in 2.0 s"
        );
    }

    #[test]
    fn row_text_is_one_safe_line() {
        let row = Row::new(1, &event("a\nb\u{202e}c\x1b"), &Columns::default());
        assert_eq!(row.text, "a⏎b\\u{202e}c\\x1b");
        assert_eq!(Row::new(1, &event(&"y".repeat(1000)), &Columns::default()).text.chars().count(), PREVIEW_CHARS + 1);
    }

    #[test]
    fn details_carry_the_log_line_and_safe_pretty_text() {
        let r = Arc::new(event("{\"b\":\"x\u{202e}\",\"a\":1}"));
        let d = RecordDetail::new(4, &r);
        let log: Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(d.record, log);
        assert!(d.shown.pretty);
        assert_eq!(
            d.shown.text, "{\n  \"b\": \"x\\u{202e}\",\n  \"a\": 1\n}",
            "keys in the server's order, bidi override visible"
        );
        let plain = RecordDetail::new(5, &Arc::new(event("not json {")));
        assert_eq!((plain.shown.pretty, plain.shown.text.as_str()), (false, "not json {"));
    }

    #[test]
    fn added_columns_show_each_rows_value_and_details_list_the_fields() {
        let config = FeedConfig { columns: vec!["data.s".into(), "data.p[1]".into()], ..FeedConfig::default() };
        let columns = Columns::of(&config);
        let row = Row::new(1, &event(r#"{"s":"AB\nC","p":[1,{"q":2}]}"#), &columns);
        assert_eq!(row.columns, ["AB⏎C", r#"{"q":2}"#]);
        assert_eq!(Row::new(2, &event("plain"), &columns).columns, ["", ""]);
        let d = RecordDetail::new(1, &Arc::new(event(r#"{"s":"x","p":[1,{"q":2}],"a b":true}"#)));
        let names: Vec<&str> = d.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["data.s", "data.p[0]", "data.p[1].q", "data[\"a b\"]"]);
        for f in &d.fields {
            assert!(Field::parse(&f.name).is_ok(), "{} is a column name", f.name);
        }
        assert_eq!(d.fields[0].value, "x");
        assert!(RecordDetail::new(1, &Arc::new(event("[]"))).fields.is_empty());
    }

    #[test]
    fn a_json_rpc_feeds_rows_carry_method_id_and_outcome_linked_to_the_request_sent() {
        let config = FeedConfig {
            jsonrpc: true,
            body: Some(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{}}"#.into()),
            ..FeedConfig::default()
        };
        let columns = Columns::of(&config);
        let row = Row::new(1, &event(r#"{"jsonrpc":"2.0","id":7,"result":{"ok":true}}"#), &columns);
        let rpc = row.rpc.expect("a JSON-RPC response");
        assert_eq!((rpc.method.as_deref(), rpc.id.as_deref(), rpc.linked), (Some("tools/call"), Some("7"), true));
        assert!(rpc.summary.contains("ok"), "{}", rpc.summary);
        assert!(Row::new(2, &event("not json"), &columns).rpc.is_none());
        assert!(Row::new(3, &event(r#"{"jsonrpc":"2.0","id":7,"result":1}"#), &Columns::default()).rpc.is_none());
    }
}
