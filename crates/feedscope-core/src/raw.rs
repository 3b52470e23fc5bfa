//! A feed's raw bytes: each connection's request, response and body exactly as the parser read
//! them (after content decoding), bounded by a cap in MiB with the evictions counted, and which
//! lines each record came from. The app's raw view pages it; its `.sse` export serves again.
//!
//! The body is kept in blocks of at most [`BLOCK`] bytes. Lines are not indexed one by one: each
//! block knows how many lines start in it, and a page of lines rescans the one or two blocks it
//! needs (a line end is CR, LF or CRLF, split here only for display; what a line *is* comes from
//! the parser's [`classify_line`]).

use std::collections::VecDeque;
use std::ops::Range;

use bytes::Bytes;
use memchr::memchr2;
use reqwest::header::HeaderMap;
use serde::Serialize;

use crate::record::Timestamp;
use crate::sse::{classify_line, LineKind, Span};

/// The cap of a feed that did not choose one, in MiB.
pub const DEFAULT_CAP_MIB: u32 = 8;
/// The largest cap a person may set, in MiB.
pub const MAX_CAP_MIB: u32 = 1024;
/// Body bytes per block: the unit of eviction.
pub const BLOCK: usize = 64 << 10;
/// Bytes of a line a [`Row::Line`] carries; [`Line::len`] says how long it really is.
pub const LINE_BYTES: usize = 4096;

const MIB: usize = 1 << 20;
/// Memory counted for a connection besides its strings and blocks, and for each block.
const CONN_COST: usize = 256;
const BLOCK_COST: usize = 64;
const EVENT_SPAN_COST: usize = std::mem::size_of::<EventSpan>();
const LINE_SPAN_COST: usize = std::mem::size_of::<LineSpan>();

/// A raw cap out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the raw bytes cap must be between 0 (off) and {MAX_CAP_MIB} MiB")]
pub struct CapError;

/// Checks a raw cap a person chose: 0 (off) to [`MAX_CAP_MIB`].
pub fn check_cap_mib(mib: u32) -> Result<(), CapError> {
    if mib <= MAX_CAP_MIB {
        Ok(())
    } else {
        Err(CapError)
    }
}

/// Headers as name and value, in the order of the map, values decoded leniently.
pub fn header_list(h: &HeaderMap) -> Vec<(String, String)> {
    h.iter().map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect()
}

/// A decoded read as `Bytes`: a slice of the network read when it is one (no copy), else its own.
pub(crate) fn shared(read: &Bytes, body: std::borrow::Cow<'_, [u8]>) -> Bytes {
    match body {
        std::borrow::Cow::Owned(v) => Bytes::from(v),
        std::borrow::Cow::Borrowed(b) => {
            let (r, p) = (read.as_ptr_range(), b.as_ptr_range());
            if b.is_empty() || (r.start <= p.start && p.end <= r.end) {
                read.slice_ref(b)
            } else {
                Bytes::copy_from_slice(b)
            }
        }
    }
}

/// A request as the connection task sends it. `headers` are the ones the engine sets; the HTTP
/// client adds `Host`, `User-Agent` and the framing headers.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRequest {
    pub ts: Timestamp,
    pub attempt: u32,
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// What the request sends as `Last-Event-ID` (empty: no such header).
    pub last_event_id: String,
    pub body: Option<String>,
}

/// A response, whatever its status.
#[derive(Debug, Clone, PartialEq)]
pub struct RawResponse {
    pub ts: Timestamp,
    pub status: u16,
    /// `HTTP/1.1`, `HTTP/2`.
    pub version: String,
    pub headers: Vec<(String, String)>,
}

/// The record of an emission that a span of a [`RawChunk`] belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordSpan {
    /// Position of the record in the emission's records.
    pub record: usize,
    /// The event's `seq`; `None` for a comment or `retry:`.
    pub seq: Option<u64>,
    pub span: Span,
}

/// One read of a response body, as the parser got it (after content decoding).
#[derive(Debug, Clone, PartialEq)]
pub struct RawChunk {
    /// Body offset of the first byte.
    pub offset: u64,
    pub bytes: Bytes,
    /// Where the events, comments and `retry:` lines parsed from it are in the body.
    pub spans: Vec<RecordSpan>,
}

/// What a connection task tells the raw log, with an emission's records.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    Request(RawRequest),
    Response(RawResponse),
    Chunk(RawChunk),
}

/// How a line ends.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineEnd {
    /// Not yet: the last line received so far.
    None,
    Lf,
    Cr,
    #[serde(rename = "crlf")]
    CrLf,
}

impl LineEnd {
    fn len(self) -> u64 {
        match self {
            LineEnd::None => 0,
            LineEnd::Lf | LineEnd::Cr => 1,
            LineEnd::CrLf => 2,
        }
    }
}

/// The record a line was parsed into, by its index in the feed's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef {
    pub index: u64,
    /// Events only.
    pub seq: Option<u64>,
}

/// One body line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub conn: u64,
    /// Body offset of its first byte.
    pub offset: u64,
    /// The line without its line end, at most [`LINE_BYTES`] of it.
    pub bytes: Vec<u8>,
    /// Length without the line end.
    pub len: u64,
    pub end: LineEnd,
    pub kind: LineKind,
    /// The record parsed from it: a comment's or `retry:`'s own, else the event of its block.
    pub record: Option<RecordRef>,
}

/// A row of the raw view: a connection's head (what was asked, what came back), its body lines,
/// and how it ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    /// The first row of a connection; the request's fields are `None` when the log joined the
    /// connection after it started (the cap was off, or the bytes before were lost).
    Connection {
        conn: u64,
        attempt: Option<u32>,
        ts: Option<Timestamp>,
        last_event_id: Option<String>,
    },
    Request {
        conn: u64,
        method: String,
        url: String,
    },
    /// A header sent (`sent`) or received.
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
    /// Body bytes before the first line kept: evicted by the cap, or received before the log
    /// joined the connection.
    Skipped {
        conn: u64,
        bytes: u64,
    },
    Line(Line),
    /// How the connection ended (the `disconnected` or `closed` record's reason).
    End {
        conn: u64,
        reason: String,
    },
}

/// A raw log's size and what its cap evicted.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct RawStats {
    pub cap_mib: u32,
    /// Memory counted against the cap: body bytes, headers, and which lines each record came from.
    pub retained_bytes: u64,
    /// Body bytes kept.
    pub body_bytes: u64,
    pub connections: u64,
    /// Body bytes the cap evicted.
    pub evicted_bytes: u64,
    /// Whole connections (head and body) the cap evicted.
    pub evicted_connections: u64,
}

/// Where a block's scan starts: inside a line, at a line's first byte, or after a CR (a line
/// starts unless the next byte is the LF of a CRLF).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    Mid,
    LineStart,
    AfterCr,
}

/// Calls `start(i)` for every `i` where a line begins in `bytes`, given where the scan starts;
/// returns where the next byte would be.
fn scan(bytes: &[u8], state: Scan, mut start: impl FnMut(usize)) -> Scan {
    if bytes.is_empty() {
        return state;
    }
    let mut i = match state {
        Scan::Mid => 0,
        Scan::LineStart => {
            start(0);
            0
        }
        Scan::AfterCr if bytes[0] == b'\n' => {
            if bytes.len() == 1 {
                return Scan::LineStart;
            }
            start(1);
            1
        }
        Scan::AfterCr => {
            start(0);
            0
        }
    };
    loop {
        let Some(j) = memchr2(b'\n', b'\r', &bytes[i..]) else { return Scan::Mid };
        let t = i + j;
        let next = if bytes[t] == b'\r' {
            match bytes.get(t + 1) {
                None => return Scan::AfterCr,
                Some(b'\n') => t + 2,
                Some(_) => t + 1,
            }
        } else {
            t + 1
        };
        if next == bytes.len() {
            return Scan::LineStart;
        }
        start(next);
        i = next;
    }
}

#[derive(Debug)]
struct Block {
    /// Body offset of `bytes[0]`.
    offset: u64,
    /// Lines of the body that start before this block.
    first_line: u64,
    state_in: Scan,
    /// Lines that start in this block.
    lines: u32,
    bytes: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
struct EventSpan {
    start: u64,
    end: u64,
    index: u64,
    seq: u64,
}

/// A comment's or `retry:`'s line.
#[derive(Debug, Clone, Copy)]
struct LineSpan {
    start: u64,
    end: u64,
    index: u64,
}

#[derive(Debug)]
struct Conn {
    number: u64,
    request: Option<RawRequest>,
    response: Option<RawResponse>,
    end: Option<String>,
    /// Body bytes received: the offset of the next.
    len: u64,
    /// Lines started so far.
    next_line: u64,
    state: Scan,
    blocks: VecDeque<Block>,
    /// Sorted by offset (event blocks never overlap, nor do lines).
    events: VecDeque<EventSpan>,
    lines: VecDeque<LineSpan>,
    /// Memory counted for this connection.
    cost: usize,
}

fn strings_cost(h: &[(String, String)]) -> usize {
    h.iter().map(|(k, v)| k.len() + v.len() + 48).sum()
}

impl Conn {
    /// A connection whose body the log starts at `offset` (0 unless it joined late).
    fn new(number: u64, request: Option<RawRequest>, offset: u64) -> Conn {
        let cost = CONN_COST
            + request.as_ref().map_or(0, |r| {
                r.method.len()
                    + r.url.len()
                    + r.last_event_id.len()
                    + strings_cost(&r.headers)
                    + r.body.as_ref().map_or(0, String::len)
            });
        Conn {
            number,
            request,
            response: None,
            end: None,
            len: offset,
            next_line: 0,
            state: if offset == 0 { Scan::LineStart } else { Scan::Mid },
            blocks: VecDeque::new(),
            events: VecDeque::new(),
            lines: VecDeque::new(),
            cost,
        }
    }

    /// Appends body bytes; returns the memory it added.
    fn append(&mut self, mut data: &[u8]) -> usize {
        let mut added = 0;
        while !data.is_empty() {
            if self.blocks.back().is_none_or(|b| b.bytes.len() >= BLOCK) {
                self.blocks.push_back(Block {
                    offset: self.len,
                    first_line: self.next_line,
                    state_in: self.state,
                    lines: 0,
                    bytes: Vec::new(),
                });
                added += BLOCK_COST;
            }
            let b = self.blocks.back_mut().expect("a block");
            let take = (BLOCK - b.bytes.len()).min(data.len());
            let (piece, rest) = data.split_at(take);
            let cap = b.bytes.capacity();
            if b.bytes.len() + take > cap {
                // Doubling, but never past a block: the memory counted is the memory held.
                let want = (cap * 2).max(b.bytes.len() + take).clamp(1024, BLOCK);
                b.bytes.reserve_exact(want - b.bytes.len());
            }
            b.bytes.extend_from_slice(piece);
            added += b.bytes.capacity() - cap;
            let mut n = 0u32;
            self.state = scan(piece, self.state, |_| n += 1);
            b.lines += n;
            self.next_line += u64::from(n);
            self.len += take as u64;
            data = rest;
        }
        self.cost += added;
        added
    }

    /// Body offset of the first byte kept.
    fn base(&self) -> u64 {
        self.blocks.front().map_or(self.len, |b| b.offset)
    }

    /// Drops the oldest block and the spans that ended in it; returns (memory, body bytes) freed.
    fn pop_block(&mut self) -> Option<(usize, u64)> {
        let b = self.blocks.pop_front()?;
        let base = self.base();
        let mut freed = b.bytes.capacity() + BLOCK_COST;
        while self.events.front().is_some_and(|s| s.end <= base) {
            self.events.pop_front();
            freed += EVENT_SPAN_COST;
        }
        while self.lines.front().is_some_and(|s| s.end <= base) {
            self.lines.pop_front();
            freed += LINE_SPAN_COST;
        }
        self.cost -= freed;
        Some((freed, b.bytes.len() as u64))
    }

    fn body_bytes(&self) -> u64 {
        self.len - self.base()
    }

    /// Index of the first line kept whole.
    fn first_line(&self) -> u64 {
        self.blocks.front().map_or(self.next_line, |b| b.first_line)
    }

    fn head_len(&self) -> usize {
        1 + self.request.as_ref().map_or(0, |r| 1 + r.headers.len() + usize::from(r.body.is_some()))
            + self.response.as_ref().map_or(0, |r| 1 + r.headers.len())
    }

    fn has_skipped(&self) -> bool {
        self.base() > 0
    }

    fn body_rows(&self) -> usize {
        (self.next_line - self.first_line()) as usize
    }

    fn rows(&self) -> usize {
        self.head_len() + usize::from(self.has_skipped()) + self.body_rows() + usize::from(self.end.is_some())
    }

    fn head(&self) -> Vec<Row> {
        let conn = self.number;
        let r = self.request.as_ref();
        let mut out = vec![Row::Connection {
            conn,
            attempt: r.map(|r| r.attempt),
            ts: r.map(|r| r.ts),
            last_event_id: r.map(|r| r.last_event_id.clone()),
        }];
        if let Some(r) = r {
            out.push(Row::Request { conn, method: r.method.clone(), url: r.url.clone() });
            for (name, value) in &r.headers {
                out.push(Row::Header { conn, sent: true, name: name.clone(), value: value.clone() });
            }
            if let Some(body) = &r.body {
                out.push(Row::RequestBody { conn, body: body.clone() });
            }
        }
        if let Some(r) = &self.response {
            out.push(Row::Status { conn, version: r.version.clone(), status: r.status });
            for (name, value) in &r.headers {
                out.push(Row::Header { conn, sent: false, name: name.clone(), value: value.clone() });
            }
        }
        out
    }

    /// Rows `from..from + count` of this connection.
    fn rows_into(&self, from: usize, count: usize, out: &mut Vec<Row>) {
        let h = self.head_len();
        let s = usize::from(self.has_skipped());
        let b = self.body_rows();
        let end = (from + count).min(self.rows());
        let mut r = from;
        if r < h.min(end) {
            out.extend(self.head().into_iter().take(h.min(end)).skip(r));
            r = h.min(end);
        }
        if r < end && r < h + s {
            out.push(Row::Skipped { conn: self.number, bytes: self.skipped_bytes() });
            r += 1;
        }
        if r < end && r < h + s + b {
            let n = end.min(h + s + b) - r;
            self.lines_into(self.first_line() + (r - h - s) as u64, n, out);
            r += n;
        }
        if r < end {
            out.push(Row::End { conn: self.number, reason: self.end.clone().unwrap_or_default() });
        }
    }

    /// Bytes before the first line kept.
    fn skipped_bytes(&self) -> u64 {
        let mut first = None;
        for b in &self.blocks {
            scan(&b.bytes, b.state_in, |i| {
                first.get_or_insert(b.offset + i as u64);
            });
            if first.is_some() {
                break;
            }
        }
        first.unwrap_or(self.len)
    }

    /// Body offsets where lines `first..first + n + 1` start (fewer at the end of the body).
    fn line_starts(&self, first: u64, n: usize) -> Vec<u64> {
        let mut starts = Vec::with_capacity(n + 1);
        let from = self.blocks.partition_point(|b| b.first_line + u64::from(b.lines) <= first);
        for b in self.blocks.range(from..) {
            let mut index = b.first_line;
            scan(&b.bytes, b.state_in, |i| {
                if index >= first && starts.len() <= n {
                    starts.push(b.offset + i as u64);
                }
                index += 1;
            });
            if starts.len() > n {
                break;
            }
        }
        starts
    }

    fn lines_into(&self, first: u64, n: usize, out: &mut Vec<Row>) {
        let starts = self.line_starts(first, n);
        for k in 0..n.min(starts.len()) {
            let end = starts.get(k + 1).copied().unwrap_or(self.len);
            out.push(Row::Line(self.line(starts[k], end)));
        }
    }

    /// The block holding body offset `at` (which must be kept).
    fn block_at(&self, at: u64) -> usize {
        self.blocks.partition_point(|b| b.offset <= at) - 1
    }

    fn byte(&self, at: u64) -> u8 {
        let b = &self.blocks[self.block_at(at)];
        b.bytes[(at - b.offset) as usize]
    }

    fn copy(&self, from: u64, to: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity((to - from) as usize);
        if from >= to {
            return out;
        }
        for b in self.blocks.range(self.block_at(from)..) {
            if b.offset >= to {
                break;
            }
            let s = from.saturating_sub(b.offset) as usize;
            let e = ((to - b.offset) as usize).min(b.bytes.len());
            out.extend_from_slice(&b.bytes[s..e]);
        }
        out
    }

    /// The line `start..end` (its line end included).
    fn line(&self, start: u64, end: u64) -> Line {
        let line_end = match self.byte(end - 1) {
            b'\n' if end - start >= 2 && self.byte(end - 2) == b'\r' => LineEnd::CrLf,
            b'\n' => LineEnd::Lf,
            b'\r' => LineEnd::Cr,
            _ => LineEnd::None,
        };
        let len = end - start - line_end.len();
        let bytes = self.copy(start, start + len.min(LINE_BYTES as u64));
        Line {
            conn: self.number,
            offset: start,
            kind: classify_line(&bytes, start == 0),
            bytes,
            len,
            end: line_end,
            record: self.record_at(start),
        }
    }

    /// The innermost record whose span holds the line starting at `start`.
    fn record_at(&self, start: u64) -> Option<RecordRef> {
        let i = self.lines.partition_point(|s| s.start < start);
        if let Some(s) = self.lines.get(i).filter(|s| s.start == start) {
            return Some(RecordRef { index: s.index, seq: None });
        }
        let i = self.events.partition_point(|s| s.end <= start);
        self.events.get(i).filter(|s| s.start <= start).map(|s| RecordRef { index: s.index, seq: Some(s.seq) })
    }

    /// Index of the line that holds body offset `at` (clamped to the lines kept).
    fn line_of(&self, at: u64) -> u64 {
        let first = self.first_line();
        let i = self.blocks.partition_point(|b| b.offset <= at);
        if i == 0 {
            return first;
        }
        let b = &self.blocks[i - 1];
        let mut n = 0u64;
        scan(&b.bytes, b.state_in, |k| n += u64::from(b.offset + k as u64 <= at));
        (b.first_line + n).saturating_sub(1).max(first)
    }

    /// The body span of the record with timeline index `index`, if it is this connection's.
    fn span_of(&self, index: u64) -> Option<(u64, u64)> {
        let i = self.events.partition_point(|s| s.index < index);
        if let Some(s) = self.events.get(i).filter(|s| s.index == index) {
            return Some((s.start, s.end));
        }
        let i = self.lines.partition_point(|s| s.index < index);
        self.lines.get(i).filter(|s| s.index == index).map(|s| (s.start, s.end))
    }
}

/// One feed's raw bytes, bounded by a cap (see the module doc). With the cap at 0 it keeps nothing.
#[derive(Debug)]
pub struct RawLog {
    cap: usize,
    conns: VecDeque<Conn>,
    /// Numbers the connections the log saw, from 1.
    numbered: u64,
    retained: usize,
    evicted_bytes: u64,
    evicted_connections: u64,
}

impl RawLog {
    pub fn new(cap_mib: u32) -> RawLog {
        RawLog {
            cap: cap_mib as usize * MIB,
            conns: VecDeque::new(),
            numbered: 0,
            retained: 0,
            evicted_bytes: 0,
            evicted_connections: 0,
        }
    }

    pub fn cap_mib(&self) -> u32 {
        (self.cap / MIB) as u32
    }

    /// A new cap; what no longer fits is evicted (all of it for 0).
    pub fn set_cap_mib(&mut self, mib: u32) {
        self.cap = mib as usize * MIB;
        self.evict();
    }

    /// Takes what a connection task sent with an emission whose first record gets timeline index
    /// `first_index`, of which `kept` records were kept (spans of the others are dropped).
    pub fn take(&mut self, raw: Raw, first_index: u64, kept: usize) {
        if self.cap == 0 {
            return;
        }
        match raw {
            Raw::Request(r) => {
                self.open(Some(r), 0);
            }
            Raw::Response(r) => {
                let cost = strings_cost(&r.headers) + r.version.len();
                if !self.conns.back().is_some_and(|c| c.response.is_none() && c.end.is_none() && c.len == 0) {
                    self.open(None, 0);
                }
                let conn = self.conns.back_mut().expect("a connection");
                conn.response = Some(r);
                conn.cost += cost;
                self.retained += cost;
            }
            Raw::Chunk(chunk) => {
                if !self.conns.back().is_some_and(|c| c.end.is_none() && c.len == chunk.offset) {
                    self.open(None, chunk.offset);
                }
                let conn = self.conns.back_mut().expect("a connection");
                let appended = conn.append(&chunk.bytes);
                let mut spans = 0;
                for s in chunk.spans.iter().filter(|s| s.record < kept && s.span.end > s.span.start) {
                    let index = first_index + s.record as u64;
                    let Span { start, end } = s.span;
                    match s.seq {
                        Some(seq) => {
                            conn.events.push_back(EventSpan { start, end, index, seq });
                            spans += EVENT_SPAN_COST;
                        }
                        None => {
                            conn.lines.push_back(LineSpan { start, end, index });
                            spans += LINE_SPAN_COST;
                        }
                    }
                }
                conn.cost += spans;
                self.retained += appended + spans;
            }
        }
        self.evict();
    }

    fn open(&mut self, request: Option<RawRequest>, offset: u64) {
        self.numbered += 1;
        let conn = Conn::new(self.numbered, request, offset);
        self.retained += conn.cost;
        self.conns.push_back(conn);
    }

    /// The current connection ended, for `reason`.
    pub fn end(&mut self, reason: &str) {
        if let Some(c) = self.conns.back_mut().filter(|c| c.end.is_none()) {
            c.end = Some(reason.to_owned());
            c.cost += reason.len();
            self.retained += reason.len();
        }
    }

    fn evict(&mut self) {
        while self.retained > self.cap {
            let only = self.conns.len() == 1;
            let Some(front) = self.conns.front_mut() else { break };
            if let Some((freed, bytes)) = front.pop_block() {
                self.retained -= freed;
                self.evicted_bytes += bytes;
            } else if !only || self.cap == 0 {
                // The current connection's head stays while the log is on: its next reads go there.
                let c = self.conns.pop_front().expect("a connection");
                self.retained -= c.cost;
                self.evicted_connections += 1;
            } else {
                break;
            }
        }
    }

    /// Forgets every byte kept (not counted as evicted); the current connection's head stays.
    pub fn clear(&mut self) {
        let keep = self.conns.pop_back().filter(|c| c.end.is_none());
        self.conns.clear();
        self.retained = 0;
        if let Some(mut c) = keep {
            while c.pop_block().is_some() {}
            c.events.clear();
            c.lines.clear();
            self.retained = c.cost;
            self.conns.push_back(c);
        }
    }

    pub fn stats(&self) -> RawStats {
        RawStats {
            cap_mib: self.cap_mib(),
            retained_bytes: self.retained as u64,
            body_bytes: self.conns.iter().map(Conn::body_bytes).sum(),
            connections: self.conns.len() as u64,
            evicted_bytes: self.evicted_bytes,
            evicted_connections: self.evicted_connections,
        }
    }

    /// Rows of the raw view: every connection's head, body lines and end.
    pub fn rows(&self) -> usize {
        self.conns.iter().map(Conn::rows).sum()
    }

    /// Rows `offset..offset + limit` (fewer at the end).
    pub fn page(&self, offset: usize, limit: usize) -> Vec<Row> {
        let mut out = Vec::with_capacity(limit.min(1024));
        let mut skip = offset;
        for c in &self.conns {
            if out.len() >= limit {
                break;
            }
            let n = c.rows();
            if skip >= n {
                skip -= n;
                continue;
            }
            c.rows_into(skip, limit - out.len(), &mut out);
            skip = 0;
        }
        out
    }

    /// The rows of the lines the record with timeline index `index` was parsed from, if kept.
    pub fn locate(&self, index: u64) -> Option<Range<usize>> {
        let mut base = 0;
        for c in &self.conns {
            if let Some((start, end)) = c.span_of(index) {
                let first = c.first_line();
                if end <= c.base() || c.next_line == first {
                    return None;
                }
                let row0 = base + c.head_len() + usize::from(c.has_skipped());
                let (a, b) = (c.line_of(start), c.line_of(end - 1));
                return Some(row0 + (a - first) as usize..row0 + (b - first) as usize + 1);
            }
            base += c.rows();
        }
        None
    }

    /// The record the line at `row` was parsed from, if that row is a line with one.
    pub fn record_at(&self, row: usize) -> Option<RecordRef> {
        match self.page(row, 1).pop()? {
            Row::Line(l) => l.record,
            _ => None,
        }
    }

    /// The kept body bytes as one `text/event-stream` body, for `feedscope replay`; and how many
    /// connections it holds. Each connection's bytes start at its first line kept whole and are
    /// exactly as received; from the second on, a comment line tells where one begins (after a
    /// line end, should the body before have stopped inside a line).
    pub fn to_sse(&self) -> (Vec<u8>, usize) {
        let mut out = Vec::with_capacity(self.conns.iter().map(|c| c.body_bytes() as usize + 128).sum());
        let mut written = 0;
        for c in self.conns.iter().filter(|c| c.next_line > c.first_line()) {
            if written > 0 {
                if !matches!(out.last(), Some(b'\n' | b'\r')) {
                    out.push(b'\n');
                }
                let mut note = format!(": feedscope: connection {}", c.number);
                if let Some(r) = &c.request {
                    note.push_str(&format!(" (attempt {}", r.attempt));
                    if !r.last_event_id.is_empty() {
                        note.push_str(&format!(", Last-Event-ID {:?}", r.last_event_id));
                    }
                    note.push(')');
                }
                // Nothing in it can end the line early: ids hold no CR or LF, numbers none.
                out.extend_from_slice(note.replace(['\r', '\n'], " ").as_bytes());
                out.push(b'\n');
            }
            let from = c.skipped_bytes();
            out.extend_from_slice(&c.copy(from, c.len));
            written += 1;
        }
        (out, written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::{Field, Item, Limits, Parser};

    fn request(attempt: u32, leid: &str) -> Raw {
        Raw::Request(RawRequest {
            ts: Timestamp(1000),
            attempt,
            method: "GET".into(),
            url: "http://127.0.0.1:1/s".into(),
            headers: vec![("accept".into(), "text/event-stream".into())],
            last_event_id: leid.into(),
            body: None,
        })
    }

    fn response() -> Raw {
        Raw::Response(RawResponse {
            ts: Timestamp(1001),
            status: 200,
            version: "HTTP/1.1".into(),
            headers: vec![("content-type".into(), "text/event-stream".into())],
        })
    }

    /// What a connection task does with `reads` of one body: parse them, number the records from
    /// `*next` (as the hub does), and hand the chunks over.
    fn feed(log: &mut RawLog, parser: &mut Parser, next: &mut u64, seq: &mut u64, reads: &[&[u8]]) {
        for read in reads {
            let offset = parser.body_offset();
            let mut spans = Vec::new();
            let mut n = 0;
            parser.push_spanned(read, &mut |item, span| {
                let seq = match item {
                    Item::Event { .. } => {
                        *seq += 1;
                        Some(*seq)
                    }
                    _ => None,
                };
                spans.push(RecordSpan { record: n, seq, span });
                n += 1;
            });
            log.take(Raw::Chunk(RawChunk { offset, bytes: Bytes::copy_from_slice(read), spans }), *next, n);
            *next += n as u64;
        }
    }

    fn lines(log: &RawLog) -> Vec<Line> {
        log.page(0, usize::MAX)
            .into_iter()
            .filter_map(|r| match r {
                Row::Line(l) => Some(l),
                _ => None,
            })
            .collect()
    }

    fn texts(log: &RawLog) -> Vec<(String, LineEnd)> {
        lines(log).into_iter().map(|l| (String::from_utf8_lossy(&l.bytes).into_owned(), l.end)).collect()
    }

    #[test]
    fn lines_keep_their_line_ends_cr_lf_and_crlf_even_split_across_reads() {
        let body = b"data: a\r\ndata: b\rdata: c\n\r\n: hb\r";
        for cut in 0..=body.len() {
            let mut log = RawLog::new(1);
            let (mut p, mut next, mut seq) = (Parser::default(), 0, 0);
            log.take(request(1, ""), 0, 0);
            feed(&mut log, &mut p, &mut next, &mut seq, &[&body[..cut], &body[cut..]]);
            assert_eq!(
                texts(&log),
                [
                    ("data: a".into(), LineEnd::CrLf),
                    ("data: b".into(), LineEnd::Cr),
                    ("data: c".into(), LineEnd::Lf),
                    ("".into(), LineEnd::CrLf),
                    (": hb".into(), LineEnd::Cr),
                ],
                "cut at {cut}"
            );
            let offsets: Vec<u64> = lines(&log).iter().map(|l| l.offset).collect();
            assert_eq!(offsets, [0, 9, 17, 25, 27]);
        }
    }

    #[test]
    fn a_cr_at_the_end_becomes_crlf_when_the_lf_comes() {
        let mut log = RawLog::new(1);
        let (mut p, mut next, mut seq) = (Parser::default(), 0, 0);
        feed(&mut log, &mut p, &mut next, &mut seq, &[b"data: x\r"]);
        assert_eq!(texts(&log), [("data: x".into(), LineEnd::Cr)]);
        feed(&mut log, &mut p, &mut next, &mut seq, &[b"\ndata"]);
        assert_eq!(texts(&log), [("data: x".into(), LineEnd::CrLf), ("data".into(), LineEnd::None)]);
    }

    #[test]
    fn lines_are_classified_by_the_parser() {
        let mut log = RawLog::new(1);
        let (mut p, mut next, mut seq) = (Parser::default(), 0, 0);
        feed(
            &mut log,
            &mut p,
            &mut next,
            &mut seq,
            &[b"\xef\xbb\xbf: c\nretry: 5x\nretry: 5\nid: a\0\nData: x\nevent\n\n"],
        );
        let kinds: Vec<LineKind> = lines(&log).iter().map(|l| l.kind).collect();
        assert_eq!(
            kinds,
            [
                LineKind::Comment,
                LineKind::Ignored(Field::Retry),
                LineKind::Field(Field::Retry),
                LineKind::Ignored(Field::Id),
                LineKind::Unknown,
                LineKind::Field(Field::Event),
                LineKind::Blank,
            ]
        );
    }

    #[test]
    fn each_line_maps_to_its_record_and_each_record_to_its_rows() {
        let mut log = RawLog::new(1);
        let (mut p, mut next, mut seq) = (Parser::default(), 100, 0);
        log.take(request(1, ""), 0, 0);
        log.take(response(), 0, 0);
        // Records: retry (100), comment (101), event 1 (102), comment (103), event 2 (104).
        let body = b"retry: 300\n: hello\n\nevent: a\nid: 1\ndata: x\n\n: inside\ndata: y\n\n";
        feed(&mut log, &mut p, &mut next, &mut seq, &[body]);
        let head = 1 + 1 + 1 + 1 + 1; // connection, request, 1 header sent, status, 1 header received
        let records: Vec<Option<(u64, Option<u64>)>> =
            lines(&log).iter().map(|l| l.record.map(|r| (r.index, r.seq))).collect();
        assert_eq!(
            records,
            [
                Some((100, None)),
                Some((101, None)),
                None,
                Some((102, Some(1))),
                Some((102, Some(1))),
                Some((102, Some(1))),
                Some((102, Some(1))),
                Some((103, None)),
                Some((104, Some(2))),
                Some((104, Some(2))),
            ]
        );
        assert_eq!(log.locate(100), Some(head..head + 1));
        assert_eq!(log.locate(102), Some(head + 3..head + 7));
        assert_eq!(log.locate(104), Some(head + 7..head + 10), "the comment inside is part of the event's block");
        assert_eq!(log.locate(103), Some(head + 7..head + 8));
        assert_eq!(log.locate(99), None);
        assert_eq!(log.record_at(head + 5), Some(RecordRef { index: 102, seq: Some(1) }));
        assert_eq!(log.record_at(0), None);
    }

    #[test]
    fn connections_are_blocks_of_rows_with_request_response_and_end() {
        let mut log = RawLog::new(1);
        let (mut p, mut next, mut seq) = (Parser::default(), 0, 0);
        log.take(request(1, ""), 0, 0);
        log.take(response(), 0, 0);
        feed(&mut log, &mut p, &mut next, &mut seq, &[b"id: 7\ndata: x\n\n"]);
        p.end_of_body();
        log.end("the server ended the stream");
        log.take(request(2, "7"), 0, 0);
        let rows = log.page(0, 100);
        assert_eq!(rows.len(), log.rows());
        assert_eq!(
            rows[0],
            Row::Connection {
                conn: 1,
                attempt: Some(1),
                ts: Some(Timestamp(1000)),
                last_event_id: Some(String::new())
            }
        );
        assert_eq!(rows[1], Row::Request { conn: 1, method: "GET".into(), url: "http://127.0.0.1:1/s".into() });
        assert!(matches!(&rows[2], Row::Header { sent: true, name, .. } if name == "accept"));
        assert_eq!(rows[3], Row::Status { conn: 1, version: "HTTP/1.1".into(), status: 200 });
        assert!(matches!(&rows[4], Row::Header { sent: false, name, .. } if name == "content-type"));
        assert!(matches!(&rows[5], Row::Line(l) if l.bytes == b"id: 7"));
        assert_eq!(rows[8], Row::End { conn: 1, reason: "the server ended the stream".into() });
        assert!(matches!(&rows[9], Row::Connection { conn: 2, last_event_id: Some(id), .. } if id == "7"));
        // Any page is the same rows as the whole.
        for from in 0..rows.len() {
            for n in 0..4 {
                assert_eq!(log.page(from, n), rows[from..(from + n).min(rows.len())], "page {from}+{n}");
            }
        }
    }

    #[test]
    fn the_cap_evicts_whole_blocks_then_old_connections_and_counts_them() {
        let mut log = RawLog::new(1);
        let (mut p, mut next, mut seq) = (Parser::default(), 0, 0);
        log.take(request(1, ""), 0, 0);
        let event = b"data: 0123456789012345678901234567890123456789012345678901234567890123456789012345678\n\n";
        let e = event.len() as u64;
        let reads: Vec<&[u8]> = std::iter::repeat_n(&event[..], 20_000).collect();
        feed(&mut log, &mut p, &mut next, &mut seq, &reads);
        let stats = log.stats();
        assert!(stats.retained_bytes <= MIB as u64, "{stats:?}");
        // Evicted a block at a time (with the spans that ended in it), no more than needed.
        assert!(stats.retained_bytes > (MIB - 2 * BLOCK) as u64, "{stats:?}");
        assert_eq!(stats.evicted_bytes + stats.body_bytes, 20_000 * e);
        assert_eq!((stats.connections, stats.evicted_connections), (1, 0));
        // The first rows: the head, then what was skipped, then whole lines with their events.
        let rows = log.page(0, 6);
        // (Connection, request line, its one header.)
        assert!(matches!(rows[3], Row::Skipped { bytes, .. } if bytes >= stats.evicted_bytes), "{rows:?}");
        let Row::Line(first) = &rows[4] else { panic!("{rows:?}") };
        assert!(first.bytes == event[..event.len() - 2] || first.bytes.is_empty(), "{first:?}");
        let last = lines(&log).pop().unwrap();
        assert_eq!((last.offset, last.record.unwrap().seq), (20_000 * e - 1, Some(20_000)));
        assert_eq!(log.locate(0), None, "the first event is gone");
        assert!(log.locate(19_999).is_some(), "the last is there");

        // A new connection: the old one goes whole once its bytes are gone.
        p.end_of_body();
        log.end("ended");
        log.take(request(2, ""), 0, 0);
        feed(&mut log, &mut p, &mut next, &mut seq, &reads);
        let stats = log.stats();
        assert_eq!((stats.connections, stats.evicted_connections), (1, 1), "{stats:?}");
        assert_eq!(stats.evicted_bytes + stats.body_bytes, 40_000 * e);

        // 0 is off: everything goes, and nothing more is kept.
        log.set_cap_mib(0);
        assert_eq!((log.rows(), log.stats().connections, log.stats().evicted_connections), (0, 0, 2));
        feed(&mut log, &mut p, &mut next, &mut seq, &[b"data: z\n\n"]);
        assert_eq!(log.rows(), 0);
        // On again in the middle of a body: the connection is joined where it is, and its first
        // line, which may have begun before, is not shown.
        log.set_cap_mib(1);
        feed(&mut log, &mut p, &mut next, &mut seq, &[b"data: w\n\n"]);
        let rows = log.page(0, 10);
        assert_eq!(rows[0], Row::Connection { conn: 3, attempt: None, ts: None, last_event_id: None });
        let joined = 20_000 * e + 9 + 8;
        assert!(matches!(rows[1], Row::Skipped { bytes, .. } if bytes == joined), "{rows:?}");
        assert!(matches!(&rows[2], Row::Line(l) if l.bytes.is_empty() && l.offset == joined), "{rows:?}");
        assert_eq!(rows.len(), 3);
    }

    #[test]
    fn a_long_line_is_cut_for_display_but_keeps_its_length() {
        let mut log = RawLog::new(1);
        let (mut p, mut next, mut seq) = (Parser::default(), 0, 0);
        let mut body = b"data: ".to_vec();
        body.resize(200_000, b'x');
        body.extend_from_slice(b"\n\n");
        feed(&mut log, &mut p, &mut next, &mut seq, &[&body]);
        let l = &lines(&log)[0];
        assert_eq!((l.bytes.len(), l.len, l.end), (LINE_BYTES, 200_000, LineEnd::Lf));
        assert_eq!(log.locate(0), Some(1..3));
    }

    #[test]
    fn the_sse_export_is_the_bytes_with_connection_notes_between() {
        let mut log = RawLog::new(1);
        let (mut p, mut next, mut seq) = (Parser::default(), 0, 0);
        log.take(request(1, ""), 0, 0);
        feed(&mut log, &mut p, &mut next, &mut seq, &[b"\xef\xbb\xbfid: 1\r\ndata: a\r\n\r\ndata: cut"]);
        p.end_of_body();
        log.end("ended");
        log.take(request(2, "1"), 0, 0);
        log.end("refused");
        log.take(request(3, "1"), 0, 0);
        feed(&mut log, &mut p, &mut next, &mut seq, &[b"data: b\n\n"]);
        let (sse, n) = log.to_sse();
        assert_eq!(n, 2);
        assert_eq!(
            String::from_utf8_lossy(&sse),
            "\u{feff}id: 1\r\ndata: a\r\n\r\ndata: cut\n: feedscope: connection 3 (attempt 3, Last-Event-ID \"1\")\ndata: b\n\n"
        );
        let (items, _) = crate::sse::parse_all(&sse, Limits::default());
        assert_eq!(items.iter().filter(|i| matches!(i, Item::Event { .. })).count(), 2);
    }

    #[test]
    fn clear_forgets_the_bytes_and_keeps_the_current_connection() {
        let mut log = RawLog::new(1);
        let (mut p, mut next, mut seq) = (Parser::default(), 0, 0);
        log.take(request(1, ""), 0, 0);
        feed(&mut log, &mut p, &mut next, &mut seq, &[b"data: a\n\n"]);
        log.clear();
        assert_eq!(log.stats().body_bytes, 0);
        feed(&mut log, &mut p, &mut next, &mut seq, &[b"data: b\n\n"]);
        assert_eq!(texts(&log), [("data: b".into(), LineEnd::Lf), ("".into(), LineEnd::Lf)]);
        assert!(matches!(log.page(0, 3)[1], Row::Request { .. }));
        assert_eq!(log.stats().evicted_bytes, 0, "a clear is not an eviction");
    }

    #[test]
    fn caps_are_checked_in_one_place() {
        assert!(check_cap_mib(0).is_ok() && check_cap_mib(MAX_CAP_MIB).is_ok());
        assert_eq!(check_cap_mib(MAX_CAP_MIB + 1), Err(CapError));
    }
}
