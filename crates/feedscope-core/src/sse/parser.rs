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

/// Where an item came from in its response body: byte offsets `start..end` from the body's first
/// byte (a BOM counts). An event's span runs from the start of its block's first line to just
/// past the first byte of the line end of the blank line that dispatched it; a comment's or a
/// `retry:`'s covers its own line the same way; a [`Item::TooLarge`]'s is empty, at the start of
/// the line where the limit was passed. A line end counts only its first byte because the LF of
/// a CRLF may come in a later read: so every split of a body into reads gives the same spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: u64,
    pub end: u64,
}

/// What a line of a body is to the parser ([`classify_line`]): the same rules [`Parser`] applies,
/// for a view that shows the raw lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// An empty line: dispatches the block.
    Blank,
    /// Starts with `:`.
    Comment,
    /// A field the parser applies.
    Field(Field),
    /// A known field the parser ignores for its value: an `id` with a NUL, a `retry` that is not
    /// only ASCII digits.
    Ignored(Field),
    /// Any other field name (names are case-sensitive): ignored.
    Unknown,
}

/// The fields the format defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Data,
    Event,
    Id,
    Retry,
}

impl Field {
    // Inlined into the parser's hot loop: a call here costs about 1% of a parse of small events.
    #[inline(always)]
    fn of(name: &[u8]) -> Option<Field> {
        match name {
            b"data" => Some(Field::Data),
            b"event" => Some(Field::Event),
            b"id" => Some(Field::Id),
            b"retry" => Some(Field::Retry),
            _ => None,
        }
    }
}

/// A line (without its line end) split the way the format says.
enum Line<'a> {
    Blank,
    /// The text after the colon.
    Comment(&'a [u8]),
    /// The name, and the value without its one leading space; no colon means an empty value.
    Field(&'a [u8], &'a [u8]),
}

impl<'a> Line<'a> {
    #[inline(always)]
    fn split(line: &'a [u8]) -> Line<'a> {
        if line.is_empty() {
            return Line::Blank;
        }
        if line[0] == b':' {
            return Line::Comment(&line[1..]);
        }
        match memchr(b':', line) {
            Some(c) => {
                let v = &line[c + 1..];
                Line::Field(&line[..c], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => Line::Field(line, &b""[..]),
        }
    }
}

/// An `id` value is ignored as a whole when it contains NUL.
#[inline]
fn id_applies(value: &[u8]) -> bool {
    memchr(0, value).is_none()
}

/// A `retry` value applies only when it is ASCII digits (`+5`, `5ms` and ` 5` are ignored).
#[inline]
fn retry_ms(value: &[u8]) -> Option<u64> {
    (!value.is_empty() && value.iter().all(u8::is_ascii_digit))
        .then(|| value.iter().fold(0u64, |acc, d| acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))))
}

/// What `line` (without its line end) is to the parser. `first_in_body`: the line starts the
/// response body, where one leading BOM is not part of it.
pub fn classify_line(line: &[u8], first_in_body: bool) -> LineKind {
    let line = if first_in_body { line.strip_prefix(&BOM[..]).unwrap_or(line) } else { line };
    match Line::split(line) {
        Line::Blank => LineKind::Blank,
        Line::Comment(_) => LineKind::Comment,
        Line::Field(name, value) => match Field::of(name) {
            None => LineKind::Unknown,
            Some(Field::Id) if !id_applies(value) => LineKind::Ignored(Field::Id),
            Some(Field::Retry) if retry_ms(value).is_none() => LineKind::Ignored(Field::Retry),
            Some(f) => LineKind::Field(f),
        },
    }
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
    /// Body offset of the next byte `push_lines` takes (the BOM counted).
    offset: u64,
    /// Body offset of the current line's first byte.
    line_start: u64,
    /// Body offset of the current block's first line; [`NO_BLOCK`] before its first line.
    block_start: u64,
}

const NO_BLOCK: u64 = u64::MAX;

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
            offset: 0,
            line_start: 0,
            block_start: NO_BLOCK,
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

    /// Bytes of the current body received so far: the offset the next read starts at.
    pub fn body_offset(&self) -> u64 {
        // A BOM prefix still undecided has been received but not counted yet.
        self.offset + self.bom_matched.unwrap_or(0) as u64
    }

    /// Parses one read of the body, reporting every completed item to `sink`.
    pub fn push(&mut self, chunk: &[u8], sink: &mut impl FnMut(Item)) {
        self.push_spanned(chunk, &mut |item, _| sink(item));
    }

    /// [`Parser::push`], with each item's [`Span`] in the body.
    pub fn push_spanned(&mut self, mut chunk: &[u8], sink: &mut impl FnMut(Item, Span)) {
        if let Some(matched) = self.bom_matched {
            let mut m = matched;
            let mut i = 0;
            while m < BOM.len() && i < chunk.len() && chunk[i] == BOM[m] {
                m += 1;
                i += 1;
            }
            if m == BOM.len() {
                self.bom_matched = None;
                // The first line still starts at 0: the BOM is its first bytes in the body.
                self.offset += BOM.len() as u64;
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
        self.offset = 0;
        self.line_start = 0;
        self.block_start = NO_BLOCK;
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

    fn push_lines(&mut self, mut chunk: &[u8], sink: &mut impl FnMut(Item, Span)) {
        // Body offset of `chunk[0]`.
        let mut at = self.offset;
        self.offset += chunk.len() as u64;
        if self.skip_lf && !chunk.is_empty() {
            self.skip_lf = false;
            if chunk[0] == b'\n' {
                chunk = &chunk[1..];
                at += 1;
                self.line_start = at;
            }
        }
        while let Some(i) = memchr2(b'\n', b'\r', chunk) {
            let part = &chunk[..i];
            // Just past the line end's first byte.
            let end = at + i as u64 + 1;
            if self.line.is_empty() && !self.discarding_line {
                if part.len() > self.limits.max_line_bytes {
                    self.line_too_long(sink);
                } else {
                    self.process_line(part, end, sink);
                }
            } else if self.discarding_line {
                self.discarding_line = false;
            } else if self.line.len() + part.len() > self.limits.max_line_bytes {
                self.drop_line_buffer();
                self.line_too_long(sink);
            } else {
                self.line.extend_from_slice(part);
                let mut line = std::mem::take(&mut self.line);
                self.process_line(&line, end, sink);
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
            at += next as u64;
            self.line_start = at;
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

    /// An empty span where the current line starts.
    fn here(&self) -> Span {
        Span { start: self.line_start, end: self.line_start }
    }

    fn line_too_long(&mut self, sink: &mut impl FnMut(Item, Span)) {
        self.block_damaged = true;
        sink(Item::TooLarge { what: Oversize::Line, limit: self.limits.max_line_bytes }, self.here());
    }

    /// `end`: body offset just past the first byte of the line's line end.
    fn process_line(&mut self, line: &[u8], end: u64, sink: &mut impl FnMut(Item, Span)) {
        let (name, value) = match Line::split(line) {
            Line::Blank => {
                self.dispatch(end, sink);
                return;
            }
            Line::Comment(text) => {
                self.note_block_line();
                sink(Item::Comment(decode(text).into_owned()), Span { start: self.line_start, end });
                return;
            }
            Line::Field(name, value) => (name, value),
        };
        self.note_block_line();
        match Field::of(name) {
            Some(Field::Data) => {
                if self.block_damaged {
                    return;
                }
                if self.data.len() + value.len() + 1 > self.limits.max_event_bytes {
                    self.block_damaged = true;
                    self.data = String::new();
                    sink(Item::TooLarge { what: Oversize::Event, limit: self.limits.max_event_bytes }, self.here());
                    return;
                }
                let value = decode(value);
                self.data.reserve(value.len() + 1);
                self.data.push_str(&value);
                self.data.push('\n');
            }
            Some(Field::Event) => {
                self.event_type.clear();
                self.event_type.push_str(&decode(value));
            }
            Some(Field::Id) if id_applies(value) => {
                self.id_buffer.clear();
                self.id_buffer.push_str(&decode(value));
            }
            Some(Field::Retry) => {
                if let Some(ms) = retry_ms(value) {
                    sink(Item::Retry(ms), Span { start: self.line_start, end });
                }
            }
            _ => {}
        }
    }

    /// A non-blank line: the first one starts the block.
    #[inline]
    fn note_block_line(&mut self) {
        if self.block_start == NO_BLOCK {
            self.block_start = self.line_start;
        }
    }

    fn dispatch(&mut self, end: u64, sink: &mut impl FnMut(Item, Span)) {
        if *self.last_event_id != *self.id_buffer {
            self.last_event_id = Arc::from(self.id_buffer.as_str());
        }
        let span = Span { start: self.block_start, end };
        self.block_start = NO_BLOCK;
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
        sink(Item::Event { event_type, id: self.last_event_id.clone(), data }, span);
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
