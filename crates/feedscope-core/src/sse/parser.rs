//! The incremental `text/event-stream` parser: bytes in, events, comments and `retry` hints out.
//! It follows the WHATWG "event stream interpretation" exactly, works on any split of the input into reads, and keeps its memory bounded by [`Limits`].

use std::sync::Arc;

use memchr::{memchr, memchr2};

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// Size caps that keep a hostile stream from growing memory without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest line kept, in bytes (without its line end); longer lines are discarded.
    pub max_line_bytes: usize,
    /// Largest event data kept, in bytes; a larger event is discarded.
    pub max_event_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_line_bytes: 16 << 20, max_event_bytes: 16 << 20 }
    }
}

/// What the parser reports, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A dispatched event. `id` is the last event ID string at dispatch (`MessageEvent.lastEventId`).
    Event { event_type: Arc<str>, id: Arc<str>, data: String },
    /// A comment line, the text after the colon, verbatim.
    Comment(String),
    /// A valid `retry:` field: the new reconnection time in milliseconds.
    Retry(u64),
    /// Something exceeded a limit and was discarded; the stream goes on.
    TooLarge { what: Oversize, limit: usize },
}

/// Which limit a [`Item::TooLarge`] refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oversize {
    Line,
    Event,
}

impl Oversize {
    /// With its article, for messages: "a line", "an event".
    pub fn described(self) -> &'static str {
        match self {
            Oversize::Line => "a line",
            Oversize::Event => "an event",
        }
    }
}

/// Incremental parser for one event source. Push each response body into it with [`Parser::push`],
/// then [`Parser::end_of_body`]; the last event ID survives from one body to the next, as it does
/// across an `EventSource`'s reconnections.
#[derive(Debug)]
pub struct Parser {
    limits: Limits,
    /// Bytes of a leading BOM matched so far; `None` once the start of the body is decided.
    bom_matched: Option<usize>,
    /// A CR ended the previous read: an LF at the start of the next read belongs to it.
    skip_lf: bool,
    /// An unterminated line carried over from earlier reads.
    line: Vec<u8>,
    /// The current line passed `max_line_bytes`: drop bytes until its end.
    discarding_line: bool,
    data: String,
    event_type: String,
    id_buffer: String,
    /// The current block lost a line or outgrew `max_event_bytes`: it will not be dispatched.
    block_damaged: bool,
    last_event_id: Arc<str>,
    last_type: Arc<str>,
    message: Arc<str>,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new(Limits::default())
    }
}

impl Parser {
    pub fn new(limits: Limits) -> Self {
        let message: Arc<str> = Arc::from("message");
        Parser {
            limits,
            bom_matched: Some(0),
            skip_lf: false,
            line: Vec::new(),
            discarding_line: false,
            data: String::new(),
            event_type: String::new(),
            id_buffer: String::new(),
            block_damaged: false,
            last_event_id: Arc::from(""),
            last_type: message.clone(),
            message,
        }
    }

    /// A parser whose last event ID starts at `id` (a resumed session).
    pub fn with_last_event_id(limits: Limits, id: &str) -> Self {
        let mut p = Parser::new(limits);
        p.last_event_id = Arc::from(id);
        p.id_buffer = id.to_owned();
        p
    }

    /// The last event ID string: what a reconnection sends as `Last-Event-ID`.
    pub fn last_event_id(&self) -> &Arc<str> {
        &self.last_event_id
    }

    /// Parses one read of the body, reporting every completed item to `sink`.
    pub fn push(&mut self, mut chunk: &[u8], sink: &mut impl FnMut(Item)) {
        if let Some(matched) = self.bom_matched {
            let mut m = matched;
            let mut i = 0;
            while m < BOM.len() && i < chunk.len() && chunk[i] == BOM[m] {
                m += 1;
                i += 1;
            }
            if m == BOM.len() {
                self.bom_matched = None;
                chunk = &chunk[i..];
            } else if i == chunk.len() {
                // Still a possible BOM prefix: wait for the next read.
                self.bom_matched = Some(m);
                return;
            } else {
                // Not a BOM after all: the bytes matched so far are ordinary input.
                self.bom_matched = None;
                self.push_lines(&BOM[..m], sink);
                chunk = &chunk[i..];
            }
        }
        self.push_lines(chunk, sink);
    }

    /// The body ended: discard the unterminated line and block (they are never dispatched) and
    /// get ready for the next body, which may start with its own BOM. Returns what was discarded
    /// when the body ended inside an event: the block's fields so far, as `field: value` lines,
    /// then the unterminated line; `None` when it ended between events.
    pub fn end_of_body(&mut self) -> Option<String> {
        let partial = self.open_block();
        self.bom_matched = Some(0);
        self.skip_lf = false;
        self.line.clear();
        if self.line.capacity() > 64 << 10 {
            self.line = Vec::new();
        }
        self.discarding_line = false;
        self.reset_block();
        self.id_buffer.clear();
        self.id_buffer.push_str(&self.last_event_id);
        partial
    }

    /// The block being read, rendered back as lines, if any of it was read.
    fn open_block(&self) -> Option<String> {
        let pending_id = *self.id_buffer != *self.last_event_id;
        if self.data.is_empty() && self.event_type.is_empty() && !pending_id && self.line.is_empty() {
            return None;
        }
        let mut s = String::new();
        if !self.event_type.is_empty() {
            s.push_str(&format!("event: {}\n", self.event_type));
        }
        if pending_id {
            s.push_str(&format!("id: {}\n", self.id_buffer));
        }
        if !self.data.is_empty() {
            for line in self.data.strip_suffix('\n').unwrap_or(&self.data).split('\n') {
                s.push_str(&format!("data: {line}\n"));
            }
        }
        s.push_str(&String::from_utf8_lossy(&self.line));
        Some(s)
    }

    fn reset_block(&mut self) {
        self.data.clear();
        if self.data.capacity() > 64 << 10 {
            self.data = String::new();
        }
        self.event_type.clear();
        self.block_damaged = false;
    }

    fn push_lines(&mut self, mut chunk: &[u8], sink: &mut impl FnMut(Item)) {
        if self.skip_lf && !chunk.is_empty() {
            self.skip_lf = false;
            if chunk[0] == b'\n' {
                chunk = &chunk[1..];
            }
        }
        while let Some(i) = memchr2(b'\n', b'\r', chunk) {
            let part = &chunk[..i];
            if self.line.is_empty() && !self.discarding_line {
                if part.len() > self.limits.max_line_bytes {
                    self.line_too_long(sink);
                } else {
                    self.process_line(part, sink);
                }
            } else if self.discarding_line {
                self.discarding_line = false;
            } else if self.line.len() + part.len() > self.limits.max_line_bytes {
                self.drop_line_buffer();
                self.line_too_long(sink);
            } else {
                self.line.extend_from_slice(part);
                let mut line = std::mem::take(&mut self.line);
                self.process_line(&line, sink);
                // Keep a small buffer for the next long line; give a big one back.
                if line.capacity() <= 64 << 10 {
                    line.clear();
                    self.line = line;
                }
            }
            let mut next = i + 1;
            if chunk[i] == b'\r' {
                // A lone CR ends the line now; an LF right after it is part of the same line end.
                match chunk.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
            chunk = &chunk[next..];
        }
        if chunk.is_empty() || self.discarding_line {
            return;
        }
        if self.line.len() + chunk.len() > self.limits.max_line_bytes {
            self.drop_line_buffer();
            self.discarding_line = true;
            self.line_too_long(sink);
        } else {
            self.line.extend_from_slice(chunk);
        }
    }

    fn drop_line_buffer(&mut self) {
        self.line = Vec::new();
    }

    fn line_too_long(&mut self, sink: &mut impl FnMut(Item)) {
        self.block_damaged = true;
        sink(Item::TooLarge { what: Oversize::Line, limit: self.limits.max_line_bytes });
    }

    fn process_line(&mut self, line: &[u8], sink: &mut impl FnMut(Item)) {
        if line.is_empty() {
            self.dispatch(sink);
            return;
        }
        if line[0] == b':' {
            sink(Item::Comment(decode(&line[1..]).into_owned()));
            return;
        }
        let (name, value) = match memchr(b':', line) {
            Some(c) => {
                let v = &line[c + 1..];
                (&line[..c], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match name {
            b"data" => {
                if self.block_damaged {
                    return;
                }
                if self.data.len() + value.len() + 1 > self.limits.max_event_bytes {
                    self.block_damaged = true;
                    self.data = String::new();
                    sink(Item::TooLarge { what: Oversize::Event, limit: self.limits.max_event_bytes });
                    return;
                }
                let value = decode(value);
                self.data.reserve(value.len() + 1);
                self.data.push_str(&value);
                self.data.push('\n');
            }
            b"event" => {
                self.event_type.clear();
                self.event_type.push_str(&decode(value));
            }
            // An id containing NUL is ignored as a whole.
            b"id" if memchr(0, value).is_none() => {
                self.id_buffer.clear();
                self.id_buffer.push_str(&decode(value));
            }
            // Only ASCII digits: `+5`, `5ms` and ` 5` are ignored.
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                let ms = value.iter().fold(0u64, |acc, d| acc.saturating_mul(10).saturating_add(u64::from(d - b'0')));
                sink(Item::Retry(ms));
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, sink: &mut impl FnMut(Item)) {
        if *self.last_event_id != *self.id_buffer {
            self.last_event_id = Arc::from(self.id_buffer.as_str());
        }
        if self.data.is_empty() || self.block_damaged {
            self.reset_block();
            return;
        }
        self.data.pop();
        let event_type = if self.event_type.is_empty() {
            self.message.clone()
        } else {
            if *self.last_type != *self.event_type {
                self.last_type = Arc::from(self.event_type.as_str());
            }
            self.last_type.clone()
        };
        // Small events: copy and keep the buffer's capacity. Large ones: hand the buffer over
        // rather than copy megabytes that would be freed right after.
        let data = if self.data.len() > 64 << 10 {
            let mut d = std::mem::take(&mut self.data);
            d.shrink_to_fit();
            d
        } else {
            self.data.as_str().to_owned()
        };
        self.reset_block();
        sink(Item::Event { event_type, id: self.last_event_id.clone(), data });
    }
}

/// UTF-8 with U+FFFD for invalid bytes. Lines split only at ASCII bytes, so decoding each piece
/// gives exactly what decoding the whole stream would.
fn decode(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    // The strict check is much faster on valid (mostly ASCII) input; lossy only when it fails.
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Parses a complete body in one go (tests, replay, tools): the items and the final last event ID.
pub fn parse_all(body: &[u8], limits: Limits) -> (Vec<Item>, Arc<str>) {
    let mut parser = Parser::new(limits);
    let mut items = Vec::new();
    parser.push(body, &mut |item| items.push(item));
    parser.end_of_body();
    (items, parser.last_event_id().clone())
}
