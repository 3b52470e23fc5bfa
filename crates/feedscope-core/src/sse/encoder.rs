//! Writes events in `text/event-stream` form, so that parsing the output gives the input back.

/// Appends one event block. Multi-line data becomes several `data:` lines; any line end in the
/// data (CR, LF or CRLF) starts a new one. `id` is written only when `Some` and free of NUL and
/// line ends (such an id cannot be expressed in the format and is skipped).
pub fn encode_event(out: &mut String, event_type: &str, id: Option<&str>, data: &str) {
    if !event_type.is_empty() && event_type != "message" {
        out.push_str("event: ");
        push_single_line(out, event_type);
        out.push('\n');
    }
    if let Some(id) = id {
        if !id.contains(['\0', '\r', '\n']) {
            out.push_str("id: ");
            out.push_str(id);
            out.push('\n');
        }
    }
    let mut rest = data;
    loop {
        out.push_str("data: ");
        match rest.find(['\r', '\n']) {
            Some(i) => {
                out.push_str(&rest[..i]);
                out.push('\n');
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
            }
            None => {
                out.push_str(rest);
                out.push('\n');
                break;
            }
        }
    }
    out.push('\n');
}

/// Appends a comment line (`:text`); line ends inside `text` start further comment lines.
pub fn encode_comment(out: &mut String, text: &str) {
    for line in text.split(['\r', '\n']) {
        out.push(':');
        out.push_str(line);
        out.push('\n');
    }
}

/// Appends a `retry:` line.
pub fn encode_retry(out: &mut String, ms: u64) {
    out.push_str("retry: ");
    out.push_str(&ms.to_string());
    out.push('\n');
}

fn push_single_line(out: &mut String, s: &str) {
    out.extend(s.chars().map(|c| if c == '\r' || c == '\n' { ' ' } else { c }));
}

/// Turns records back into the `text/event-stream` body they came from: events, comments and
/// `retry:` lines, and an `id:` line only where the last event ID changes (ids persist in SSE, so
/// a client sees the same `lastEventId` values). The one such writer: exports and replay use it.
#[derive(Debug, Default)]
pub struct RecordEncoder {
    /// The client's last event ID so far; `None` before the first event (its id is written).
    last_id: Option<std::sync::Arc<str>>,
}

impl RecordEncoder {
    /// For a client that already has `id` as its last event ID (a resumed connection).
    pub fn resuming(id: std::sync::Arc<str>) -> Self {
        RecordEncoder { last_id: Some(id) }
    }

    /// Appends the record's SSE form to `out`; false (nothing written) for the records SSE cannot
    /// carry: connection records and errors.
    pub fn encode(&mut self, out: &mut String, body: &crate::record::Body) -> bool {
        use crate::record::Body;
        match body {
            Body::Event { event_type, id, data, .. } => {
                let id_line = (self.last_id.as_deref() != Some(&**id)).then_some(&**id);
                encode_event(out, event_type, id_line, data);
                self.last_id = Some(id.clone());
            }
            Body::Comment { text } => encode_comment(out, text),
            Body::Retry { ms } => encode_retry(out, *ms),
            _ => return false,
        }
        true
    }
}
