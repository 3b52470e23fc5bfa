//! JSON-RPC 2.0 messages in events (MCP speaks it): what an event's data says as a request, a
//! notification, a response or an error response, alone or in a batch, and the columns a table
//! shows for it, with a response linked by its id to the request the feed sent.
//!
//! Data that is not JSON, or JSON that is not JSON-RPC 2.0 (no `"jsonrpc": "2.0"`, or neither a
//! `method`, a `result` nor an `error`), is simply not a message: `None`, never an error.

use serde::Serialize;

use crate::record::{Body, Record};
use crate::text;

/// What a JSON-RPC message is; a batch (a JSON array of messages) is one event too.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RpcKind {
    /// A `method` with an `id`: it expects a response.
    Request,
    /// A `method` without an `id`.
    Notification,
    /// A `result` for the request with the same `id`.
    Response,
    /// An `error` for the request with the same `id` (`null` when the server could not read it).
    Error,
    /// A JSON array of messages ([`RpcColumns::count`] says how many).
    Batch,
}

impl RpcKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RpcKind::Request => "request",
            RpcKind::Notification => "notification",
            RpcKind::Response => "response",
            RpcKind::Error => "error",
            RpcKind::Batch => "batch",
        }
    }
}

/// The `error` member of an error response. JSON-RPC wants an integer `code` and a string
/// `message`; a server that sends something else still gets its error shown: `code` is then
/// `None` and `message` what there was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    pub code: Option<i64>,
    pub message: String,
    /// The `data` member as compact JSON text.
    pub data: Option<String>,
}

/// One JSON-RPC 2.0 message. JSON values are kept as their compact JSON text: an `id` is `1` or
/// `"abc"` (quotes included), so ids of different types never compare equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Never [`RpcKind::Batch`].
    pub kind: RpcKind,
    /// `None` for a notification.
    pub id: Option<String>,
    /// A request's or a notification's method.
    pub method: Option<String>,
    /// A request's or a notification's params, as compact JSON text.
    pub params: Option<String>,
    /// A response's result, as compact JSON text.
    pub result: Option<String>,
    /// An error response's error.
    pub error: Option<RpcError>,
}

/// An event's data as JSON-RPC: one message, or a batch of them (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    One(Message),
    Batch(Vec<Message>),
}

impl Parsed {
    pub fn messages(&self) -> &[Message] {
        match self {
            Parsed::One(m) => std::slice::from_ref(m),
            Parsed::Batch(ms) => ms,
        }
    }

    pub fn into_messages(self) -> Vec<Message> {
        match self {
            Parsed::One(m) => vec![m],
            Parsed::Batch(ms) => ms,
        }
    }
}

/// The JSON-RPC message(s) in `data`: one object, or a non-empty array whose every element is a
/// message. `None` for anything else.
pub fn parse(data: &str) -> Option<Parsed> {
    parse_capped(data, usize::MAX)
}

/// [`parse`], with `params`, `result` and an error's `data` cut after `cap` bytes (then `…`).
///
/// The data is validated as JSON without building it (`IgnoredAny`), then read in place: a
/// value's text is kept as the server wrote it, members in their order and numbers as written,
/// only without the whitespace between tokens; and a huge result costs no more than its start.
fn parse_capped(data: &str, cap: usize) -> Option<Parsed> {
    if !maybe_jsonrpc(data) {
        return None;
    }
    serde_json::from_str::<serde::de::IgnoredAny>(data).ok()?;
    let scan = Scan(data);
    let start = scan.skip_ws(0);
    match data.as_bytes()[start] {
        b'[' => {
            let items = scan.elements(start);
            if items.is_empty() {
                return None;
            }
            items.into_iter().map(|v| message(scan, v.start, cap)).collect::<Option<Vec<_>>>().map(Parsed::Batch)
        }
        _ => message(scan, start, cap).map(Parsed::One),
    }
}

/// A cheap test that rules out most data without parsing it: JSON-RPC is an object or an
/// array, and names its `jsonrpc` member.
fn maybe_jsonrpc(data: &str) -> bool {
    matches!(data.trim_start().as_bytes().first(), Some(b'{' | b'['))
        && memchr::memmem::find(data.as_bytes(), b"\"jsonrpc\"").is_some()
}

/// The message whose JSON starts at `at`.
fn message(scan: Scan<'_>, at: usize, cap: usize) -> Option<Message> {
    let members = scan.members(at)?;
    // As JSON parsers do, the last of members with the same name wins.
    let get = |name: &str| members.iter().rev().find(|(k, _)| *k == name).map(|(_, v)| &scan.0[v.clone()]);
    if get("jsonrpc")? != "\"2.0\"" {
        return None;
    }
    let id = get("id").map(|v| compact(v, usize::MAX));
    let mut m = Message { kind: RpcKind::Request, id, method: None, params: None, result: None, error: None };
    if let Some(method) = get("method") {
        m.method = Some(serde_json::from_str::<String>(method).ok()?);
        m.params = get("params").map(|p| compact(p, cap));
        if m.id.is_none() {
            m.kind = RpcKind::Notification;
        }
    } else if let Some(error) = get("error") {
        m.kind = RpcKind::Error;
        m.error = Some(rpc_error(error, cap));
    } else if let Some(result) = get("result") {
        m.kind = RpcKind::Response;
        m.result = Some(compact(result, cap));
    } else {
        return None;
    }
    Some(m)
}

/// An `error` member's value (valid JSON).
fn rpc_error(text: &str, cap: usize) -> RpcError {
    let scan = Scan(text);
    let Some(members) = scan.members(0) else {
        return RpcError { code: None, message: compact(text, cap), data: None };
    };
    let get = |name: &str| members.iter().rev().find(|(k, _)| *k == name).map(|(_, v)| &text[v.clone()]);
    RpcError {
        code: get("code").and_then(|c| serde_json::from_str::<i64>(c).ok()),
        message: match get("message") {
            Some(m) => serde_json::from_str::<String>(m).unwrap_or_else(|_| compact(m, cap)),
            None => String::new(),
        },
        data: get("data").map(|d| compact(d, cap)),
    }
}

/// JSON text without the whitespace between its tokens, cut after `cap` bytes (then `…`).
fn compact(text: &str, cap: usize) -> String {
    let mut out = String::with_capacity(text.len().min(cap) + 3);
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if matches!(c, ' ' | '\t' | '\n' | '\r') {
            continue;
        }
        if out.len() + c.len_utf8() > cap {
            out.push('…');
            break;
        }
        out.push(c);
    }
    out
}

/// Reads JSON text that is known to be valid: where values, members and elements are.
#[derive(Clone, Copy)]
struct Scan<'a>(&'a str);

impl Scan<'_> {
    fn byte(&self, i: usize) -> u8 {
        self.0.as_bytes()[i]
    }

    fn skip_ws(&self, mut i: usize) -> usize {
        while i < self.0.len() && matches!(self.byte(i), b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
        }
        i
    }

    /// The end of the string starting (at its quote) at `i`, past its closing quote.
    fn string_end(&self, mut i: usize) -> usize {
        i += 1;
        loop {
            match self.byte(i) {
                b'\\' => i += 2,
                b'"' => return i + 1,
                _ => i += 1,
            }
        }
    }

    /// The end of the value starting at `i`.
    fn value_end(&self, i: usize) -> usize {
        match self.byte(i) {
            b'"' => self.string_end(i),
            b'{' | b'[' => {
                let (mut depth, mut j) = (0usize, i);
                loop {
                    match self.byte(j) {
                        b'"' => {
                            j = self.string_end(j);
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return j + 1;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
            }
            _ => {
                let mut j = i;
                while j < self.0.len() && !matches!(self.byte(j), b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    j += 1;
                }
                j
            }
        }
    }

    /// The members of the object starting at `i` (its raw key text, without the quotes, and
    /// where its value is); `None` when the value there is not an object.
    fn members(&self, i: usize) -> Option<Vec<(&str, std::ops::Range<usize>)>> {
        if self.byte(i) != b'{' {
            return None;
        }
        let mut out = Vec::new();
        let mut j = self.skip_ws(i + 1);
        while self.byte(j) == b'"' {
            let key_end = self.string_end(j);
            let key = &self.0[j + 1..key_end - 1];
            let value = self.skip_ws(self.skip_ws(key_end) + 1);
            let end = self.value_end(value);
            out.push((key, value..end));
            j = self.skip_ws(end);
            if self.byte(j) == b',' {
                j = self.skip_ws(j + 1);
            }
        }
        Some(out)
    }

    /// Where the elements of the array starting at `i` are.
    fn elements(&self, i: usize) -> Vec<std::ops::Range<usize>> {
        let mut out = Vec::new();
        let mut j = self.skip_ws(i + 1);
        while self.byte(j) != b']' {
            let end = self.value_end(j);
            out.push(j..end);
            j = self.skip_ws(end);
            if self.byte(j) == b',' {
                j = self.skip_ws(j + 1);
            }
        }
        out
    }
}

/// The requests a feed sent, by id: a response names no method, so its method is the one of the
/// request with the same id. Made from the feed's body (one request, or a batch) and, for an MCP
/// feed, the engine's own `initialize` (see `FeedConfig::sent_requests`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SentRequests {
    /// (id as compact JSON text, method); a handful at most.
    by_id: Vec<(String, String)>,
}

impl SentRequests {
    /// The requests in a body; notifications (no id) and anything that is not JSON-RPC add none.
    pub fn from_body(body: Option<&str>) -> SentRequests {
        let mut sent = SentRequests::default();
        for m in body.and_then(parse).map(Parsed::into_messages).unwrap_or_default() {
            if let (RpcKind::Request, Some(id), Some(method)) = (m.kind, m.id, m.method) {
                sent = sent.with(&id, &method);
            }
        }
        sent
    }

    /// Adds a request: `id` as compact JSON text (`1`, `"abc"`). A later request with the same id
    /// replaces the earlier one.
    pub fn with(mut self, id: &str, method: &str) -> SentRequests {
        self.by_id.retain(|(i, _)| i != id);
        self.by_id.push((id.to_owned(), method.to_owned()));
        self
    }

    /// The method of the request sent with `id` (compact JSON text).
    pub fn method_of(&self, id: &str) -> Option<&str> {
        self.by_id.iter().find(|(i, _)| i == id).map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// Characters of a summary ([`RpcColumns::summary`]).
pub const SUMMARY_CHARS: usize = 200;
/// Characters of a method or an id in [`RpcColumns`].
pub const NAME_CHARS: usize = 100;

/// What a table shows for a record that carries JSON-RPC. Every text is on one line and made
/// safe to show ([`text::one_line`]): server text cannot fake rows or hide characters.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RpcColumns {
    pub kind: RpcKind,
    /// A request's or notification's method; for a response or an error, the method of the
    /// request the feed sent with that id ([`RpcColumns::linked`]), `None` when it sent none.
    /// A batch lists its methods, each once, comma-separated.
    pub method: Option<String>,
    /// The id as JSON text (`1`, `"abc"`), `None` for a notification; a batch's comma-separated.
    pub id: Option<String>,
    /// One line: a response's result as compact JSON, an error's `code: message`, a request's or
    /// notification's params as compact JSON (empty when it has none). A batch joins its
    /// messages' summaries with `; `. At most [`SUMMARY_CHARS`] characters, a cut ends in `…`.
    pub summary: String,
    /// The method was found by linking a response to a request the feed sent.
    pub linked: bool,
    /// Messages in the event: 1, or the length of the batch.
    pub count: u32,
}

/// The JSON-RPC columns of a record: `None` unless it is an event whose data is JSON-RPC 2.0.
/// `sent` links responses to the feed's requests. Cheap enough for every row a table shows: data
/// without `"jsonrpc"` is not parsed, and results are rendered only as far as the summary shows.
pub fn columns(record: &Record, sent: &SentRequests) -> Option<RpcColumns> {
    match &record.body {
        Body::Event { data, .. } => columns_of(data, sent),
        _ => None,
    }
}

/// [`columns`] of an event's data.
pub fn columns_of(data: &str, sent: &SentRequests) -> Option<RpcColumns> {
    // Bytes rendered of a result or params: enough for the summary's characters.
    const CAP: usize = SUMMARY_CHARS * 4;
    let parsed = parse_capped(data, CAP)?;
    let messages = parsed.messages();
    let cells: Vec<(Option<String>, bool, String)> = messages
        .iter()
        .map(|m| {
            let (method, linked) = match (&m.method, &m.id) {
                (Some(method), _) => (Some(method.clone()), false),
                (None, Some(id)) => match sent.method_of(id) {
                    Some(method) => (Some(method.to_owned()), true),
                    None => (None, false),
                },
                (None, None) => (None, false),
            };
            (method, linked, summary(m))
        })
        .collect();
    let linked = cells.iter().any(|(_, l, _)| *l);
    let (kind, method, id, summary) = match &parsed {
        Parsed::One(m) => {
            let (method, _, summary) = cells.into_iter().next()?;
            (m.kind, method, m.id.clone(), summary)
        }
        Parsed::Batch(ms) => {
            let mut methods: Vec<String> = Vec::new();
            for (method, _, _) in &cells {
                if let Some(method) = method {
                    if !methods.contains(method) {
                        methods.push(method.clone());
                    }
                }
            }
            let ids: Vec<&str> = ms.iter().filter_map(|m| m.id.as_deref()).collect();
            let summaries: Vec<String> = cells
                .iter()
                .zip(ms)
                .map(|((_, _, s), m)| if s.is_empty() { m.kind.as_str().to_owned() } else { s.clone() })
                .collect();
            let method = (!methods.is_empty()).then(|| methods.join(", "));
            let id = (!ids.is_empty()).then(|| ids.join(", "));
            (RpcKind::Batch, method, id, summaries.join("; "))
        }
    };
    Some(RpcColumns {
        kind,
        method: method.map(|m| text::one_line(&m, NAME_CHARS)),
        id: id.map(|i| text::one_line(&i, NAME_CHARS)),
        summary: text::one_line(&summary, SUMMARY_CHARS),
        linked,
        count: messages.len() as u32,
    })
}

/// A message's one-line summary, before it is made safe and cut.
fn summary(m: &Message) -> String {
    match m.kind {
        RpcKind::Response => m.result.clone().unwrap_or_default(),
        RpcKind::Error => match &m.error {
            Some(RpcError { code: Some(code), message, .. }) => format!("{code}: {message}"),
            Some(RpcError { code: None, message, .. }) => message.clone(),
            None => String::new(),
        },
        _ => m.params.clone().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::record::Timestamp;

    fn one(data: &str) -> Message {
        match parse(data) {
            Some(Parsed::One(m)) => m,
            other => panic!("{data}: {other:?}"),
        }
    }

    fn event(data: &str) -> Record {
        let body = Body::Event { seq: 1, event_type: Arc::from("message"), id: Arc::from(""), data: data.into() };
        Record::new(Arc::from("f"), Timestamp(0), body)
    }

    #[test]
    fn each_kind_of_message_is_read() {
        let m = one(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":1}}}"#);
        assert_eq!(m.kind, RpcKind::Request);
        assert_eq!((m.id.as_deref(), m.method.as_deref()), (Some("1"), Some("tools/call")));
        assert_eq!(m.params.as_deref(), Some(r#"{"name":"add","arguments":{"a":1}}"#));

        let m = one(r#" {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1,"total":3}}"#);
        assert_eq!((m.kind, m.id, m.method.as_deref()), (RpcKind::Notification, None, Some("notifications/progress")));

        let m = one("{\"jsonrpc\": \"2.0\",\n \"id\": \"abc\", \"result\": {\"content\": [ {\"type\": \"text\"} ]}}");
        assert_eq!(m.kind, RpcKind::Response);
        assert_eq!(m.id.as_deref(), Some(r#""abc""#), "an id keeps its quotes");
        assert_eq!(m.result.as_deref(), Some(r#"{"content":[{"type":"text"}]}"#), "compact");

        let m = one(r#"{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"Unknown tool","data":{"x":1}}}"#);
        assert_eq!(m.kind, RpcKind::Error);
        assert_eq!(
            m.error,
            Some(RpcError { code: Some(-32602), message: "Unknown tool".into(), data: Some(r#"{"x":1}"#.into()) })
        );

        // An error for a request the server could not read has a null id.
        let m = one(r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#);
        assert_eq!((m.kind, m.id.as_deref()), (RpcKind::Error, Some("null")));
        // A result may be any JSON, null included.
        assert_eq!(one(r#"{"jsonrpc":"2.0","id":2,"result":null}"#).result.as_deref(), Some("null"));
    }

    #[test]
    fn values_keep_the_servers_text_without_the_whitespace_between_tokens() {
        let m = one(
            "{ \"result\" : { \"b\" : 1 , \"a\" : [ 1.50 , 2e3 , \"x  y\\\" z\" ] } ,\r\n\t\"id\" : 1 , \"jsonrpc\" : \"2.0\" }",
        );
        assert_eq!(m.kind, RpcKind::Response);
        assert_eq!(
            m.result.as_deref(),
            Some(r#"{"b":1,"a":[1.50,2e3,"x  y\" z"]}"#),
            "order, numbers, strings as sent"
        );
        assert_eq!(m.id.as_deref(), Some("1"));
        // Unicode escapes stay escaped (and so are safe to show as they are).
        assert_eq!(one(r#"{"jsonrpc":"2.0","id":"\u00e9","result":"\u202e"}"#).result.as_deref(), Some(r#""\u202e""#));
        // The last of two members with the same name counts, as for JSON parsers.
        let m = one(r#"{"jsonrpc":"2.0","id":1,"id":2,"result":{}}"#);
        assert_eq!(m.id.as_deref(), Some("2"));
        // Escaped quotes and brackets inside strings do not end a value early.
        let m = one(r#"{"jsonrpc":"2.0","method":"m","params":{"s":"}]\"{["},"id":"x"}"#);
        assert_eq!(
            (m.kind, m.params.as_deref(), m.id.as_deref()),
            (RpcKind::Request, Some(r#"{"s":"}]\"{["}"#), Some(r#""x""#))
        );
    }

    #[test]
    fn a_malformed_error_is_still_shown() {
        let m = one(r#"{"jsonrpc":"2.0","id":1,"error":"boom"}"#);
        assert_eq!(m.error, Some(RpcError { code: None, message: r#""boom""#.into(), data: None }));
        let m = one(r#"{"jsonrpc":"2.0","id":1,"error":{"code":"x","message":5}}"#);
        assert_eq!(m.error, Some(RpcError { code: None, message: "5".into(), data: None }));
    }

    #[test]
    fn batches_are_read_whole_or_not_at_all() {
        let Some(Parsed::Batch(ms)) =
            parse(r#"[{"jsonrpc":"2.0","id":1,"result":{}},{"jsonrpc":"2.0","method":"notifications/message"}]"#)
        else {
            panic!("a batch")
        };
        assert_eq!(ms.iter().map(|m| m.kind).collect::<Vec<_>>(), [RpcKind::Response, RpcKind::Notification]);
        assert_eq!(parse(r#"[{"jsonrpc":"2.0","id":1,"result":{}}, 5]"#), None, "one element is not a message");
        assert_eq!(parse("[]"), None);
    }

    #[test]
    fn anything_else_is_not_json_rpc() {
        for data in [
            "",
            "hello",
            "42",
            r#""jsonrpc""#,
            r#"{"jsonrpc":"2.0""#,
            r#"{"id":1,"result":{}}"#,
            r#"{"jsonrpc":"1.0","id":1,"result":{}}"#,
            r#"{"jsonrpc":2.0,"id":1,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":5}"#,
            r#"["jsonrpc"]"#,
            r#"{"choices":[{"delta":{"content":"jsonrpc"}}]}"#,
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}",
        ] {
            assert_eq!(parse(data), None, "{data:?}");
            assert_eq!(columns(&event(data), &SentRequests::default()), None, "{data:?}");
        }
        let comment = Record::new(Arc::from("f"), Timestamp(0), Body::Comment { text: r#"{"jsonrpc":"2.0"}"#.into() });
        assert_eq!(columns(&comment, &SentRequests::default()), None, "only events carry messages");
    }

    #[test]
    fn the_sent_requests_come_from_a_body_single_or_batch() {
        let sent = SentRequests::from_body(Some(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call"}"#));
        assert_eq!(sent.method_of("7"), Some("tools/call"));
        assert_eq!(sent.method_of(r#""7""#), None, "a string id is another id");
        let sent = SentRequests::from_body(Some(
            r#"[{"jsonrpc":"2.0","id":"a","method":"tools/list"},{"jsonrpc":"2.0","method":"notifications/x"},{"jsonrpc":"2.0","id":2,"method":"ping"}]"#,
        ));
        assert_eq!((sent.method_of(r#""a""#), sent.method_of("2")), (Some("tools/list"), Some("ping")));
        assert!(SentRequests::from_body(Some("not json")).is_empty());
        assert!(SentRequests::from_body(Some(r#"{"jsonrpc":"2.0","method":"notifications/x"}"#)).is_empty());
        assert!(SentRequests::from_body(None).is_empty());
        let sent = SentRequests::default().with("1", "a").with("1", "b");
        assert_eq!(sent.method_of("1"), Some("b"), "the later request with an id wins");
    }

    #[test]
    fn columns_link_a_response_to_the_request_sent() {
        let sent = SentRequests::from_body(Some(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call"}"#))
            .with(r#""feedscope-initialize""#, "initialize");
        let cols = |data: &str| columns(&event(data), &sent).unwrap();

        let c = cols(r#"{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"42"}],"isError":false}}"#);
        assert_eq!(
            c,
            RpcColumns {
                kind: RpcKind::Response,
                method: Some("tools/call".into()),
                id: Some("7".into()),
                summary: r#"{"content":[{"type":"text","text":"42"}],"isError":false}"#.into(),
                linked: true,
                count: 1,
            }
        );
        let c = cols(r#"{"jsonrpc":"2.0","id":"feedscope-initialize","result":{"protocolVersion":"2025-06-18"}}"#);
        assert_eq!((c.method.as_deref(), c.linked), (Some("initialize"), true));

        let c = cols(r#"{"jsonrpc":"2.0","id":8,"error":{"code":-32601,"message":"Method not found"}}"#);
        assert_eq!(
            (c.kind, c.method, c.id.as_deref(), c.summary.as_str(), c.linked),
            (RpcKind::Error, None, Some("8"), "-32601: Method not found", false),
            "no request was sent with id 8"
        );

        let c = cols(r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1,"total":3}}"#);
        assert_eq!(
            (c.kind, c.method.as_deref(), c.id, c.summary.as_str(), c.linked),
            (RpcKind::Notification, Some("notifications/progress"), None, r#"{"progress":1,"total":3}"#, false)
        );
        let c = cols(r#"{"jsonrpc":"2.0","id":3,"method":"ping"}"#);
        assert_eq!((c.kind, c.method.as_deref(), c.summary.as_str()), (RpcKind::Request, Some("ping"), ""));
    }

    #[test]
    fn a_batch_has_one_row_of_columns() {
        let sent = SentRequests::from_body(Some(
            r#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"ping"}]"#,
        ));
        let data = r#"[{"jsonrpc":"2.0","id":1,"result":{"tools":[]}},{"jsonrpc":"2.0","id":2,"result":{}},{"jsonrpc":"2.0","method":"notifications/message"},{"jsonrpc":"2.0","id":9,"error":{"code":-1,"message":"no"}}]"#;
        let c = columns_of(data, &sent).unwrap();
        assert_eq!(
            c,
            RpcColumns {
                kind: RpcKind::Batch,
                method: Some("tools/list, ping, notifications/message".into()),
                id: Some("1, 2, 9".into()),
                summary: r#"{"tools":[]}; {}; notification; -1: no"#.into(),
                linked: true,
                count: 4,
            }
        );
    }

    #[test]
    fn summaries_are_one_safe_line_and_cut() {
        let sent = SentRequests::default();
        let long = "x".repeat(10_000);
        let data = format!(r#"{{"jsonrpc":"2.0","id":1,"result":{{"text":"{long}"}}}}"#);
        let c = columns_of(&data, &sent).unwrap();
        assert_eq!(c.summary.chars().count(), SUMMARY_CHARS + 1);
        assert!(c.summary.starts_with(r#"{"text":"xxx"#) && c.summary.ends_with('…'), "{}", c.summary);
        // The full parse keeps everything.
        assert_eq!(one(&data).result.unwrap().len(), long.len() + 11);

        // Multi-byte characters cut at a boundary.
        let wide = "é".repeat(2000);
        let data = format!(r#"{{"jsonrpc":"2.0","id":1,"result":"{wide}"}}"#);
        let c = columns_of(&data, &sent).unwrap();
        assert!(c.summary.ends_with('…') && c.summary.starts_with("\"ééé"), "{}", c.summary);

        // Control and bidi characters a server put in strings are shown, not obeyed.
        let data = "{\"jsonrpc\":\"2.0\",\"id\":\"a\u{202e}b\",\"error\":{\"code\":1,\"message\":\"line\\nbreak \\u001b[2J\"}}";
        let c = columns_of(data, &sent).unwrap();
        assert_eq!(c.id.as_deref(), Some("\"a\\u{202e}b\""));
        assert_eq!(c.summary, "1: line⏎break \\x1b[2J");
        let data = r#"{"jsonrpc":"2.0","method":"a\nb"}"#;
        assert_eq!(columns_of(data, &sent).unwrap().method.as_deref(), Some("a⏎b"));
    }

    #[test]
    fn columns_serialize_for_the_window() {
        let c = columns_of(r#"{"jsonrpc":"2.0","method":"x"}"#, &SentRequests::default()).unwrap();
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            serde_json::json!({
                "kind": "notification", "method": "x", "id": null, "summary": "", "linked": false, "count": 1
            })
        );
    }
}
