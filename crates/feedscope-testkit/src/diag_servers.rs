//! Servers built to trigger one diagnostic each (or built not to), as scripts for
//! [`Fixture::start`](crate::Fixture::start), shared by the engine's and the CLI's tests of
//! `feedscope check`; and a gzip/zlib writer for compressed bodies.
//!
//! The writer emits stored (uncompressed) deflate blocks: a valid stream that every decoder must
//! take, which lets a test decide exactly which bytes leave in which read, with no compression
//! library in the fixture.

use std::time::Duration;

use crate::script::{Reply, Req, Step};

/// A gzip (RFC 1952) or zlib (RFC 1950, HTTP's `deflate`) body written piece by piece: each
/// [`Deflate::block`] is a stored block the decoder can hand over at once, as a sync flush does.
pub struct Deflate {
    gzip: bool,
    crc: u32,
    adler: (u32, u32),
    size: u32,
}

impl Deflate {
    /// A gzip body, and its 10-byte header to send first.
    pub fn gzip() -> (Deflate, Vec<u8>) {
        let header = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        (Deflate { gzip: true, crc: !0, adler: (1, 0), size: 0 }, header)
    }

    /// A zlib body (`Content-Encoding: deflate`), and its 2-byte header to send first.
    pub fn zlib() -> (Deflate, Vec<u8>) {
        (Deflate { gzip: false, crc: !0, adler: (1, 0), size: 0 }, vec![0x78, 0x01])
    }

    /// `data` as stored blocks that do not end the stream.
    pub fn block(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() + 5);
        for piece in data.chunks(0xffff) {
            let len = piece.len() as u16;
            out.push(0); // BFINAL 0, BTYPE 00 (stored), padded to the byte
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&(!len).to_le_bytes());
            out.extend_from_slice(piece);
        }
        for &b in data {
            self.crc ^= u32::from(b);
            for _ in 0..8 {
                self.crc = if self.crc & 1 == 1 { (self.crc >> 1) ^ 0xedb8_8320 } else { self.crc >> 1 };
            }
            self.adler.0 = (self.adler.0 + u32::from(b)) % 65_521;
            self.adler.1 = (self.adler.1 + self.adler.0) % 65_521;
        }
        self.size = self.size.wrapping_add(data.len() as u32);
        out
    }

    /// The last (empty) block and the trailer: the end of the compressed body.
    pub fn finish(self) -> Vec<u8> {
        let mut out = vec![1, 0, 0, 0xff, 0xff];
        if self.gzip {
            out.extend_from_slice(&(!self.crc).to_le_bytes());
            out.extend_from_slice(&self.size.to_le_bytes());
        } else {
            out.extend_from_slice(&((self.adler.1 << 16) | self.adler.0).to_be_bytes());
        }
        out
    }
}

/// The numeric `Last-Event-ID` of a request, or 0.
pub fn resume_after(req: &Req) -> u64 {
    req.header("last-event-id").and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// 200 `text/event-stream` with what a browser wants around it: `Cache-Control: no-cache` and
/// `Access-Control-Allow-Origin: *`.
pub fn good_reply(steps: Vec<Step>) -> Reply {
    Reply::sse_steps(steps).header("Cache-Control", "no-cache").header("Access-Control-Allow-Origin", "*")
}

/// A stream that does everything right: an event with an increasing id every `every` (resuming
/// after a numeric `Last-Event-ID`), a heartbeat comment between events, no-cache, CORS, no
/// compression, and the connection kept open. `every` stands for the 15 s of a real heartbeat.
pub fn well_behaved(every: Duration) -> impl Fn(usize, &Req) -> Reply + Send + Sync + 'static {
    move |_, req| {
        let first = resume_after(req) + 1;
        let mut steps = Vec::new();
        for id in first..first + 1000 {
            steps.push(Step::Send(format!("id: {id}\nevent: tick\ndata: {id}\n\n").into_bytes()));
            steps.push(Step::Wait(every / 2));
            steps.push(Step::Send(b": heartbeat\n\n".to_vec()));
            steps.push(Step::Wait(every / 2));
        }
        good_reply(steps)
    }
}

/// A server that ends the response after every event: polling in disguise (`reconnect-loop`).
pub fn closes_after_every_event() -> impl Fn(usize, &Req) -> Reply + Send + Sync + 'static {
    |_, req| {
        let id = resume_after(req) + 1;
        good_reply(vec![Step::Send(format!("id: {id}\ndata: tick {id}\n\n").into_bytes())])
    }
}

/// The same, but each response lasts `open` before it ends: not right after opening, so no
/// `reconnect-loop`.
pub fn closes_after_a_while(open: Duration) -> impl Fn(usize, &Req) -> Reply + Send + Sync + 'static {
    move |_, req| {
        let id = resume_after(req) + 1;
        good_reply(vec![Step::Send(format!("id: {id}\ndata: tick {id}\n\n").into_bytes()), Step::Wait(open)])
    }
}

/// An MCP-style resumable stream (SEP-1699): each response primes the client with an `id:` and
/// no data, sets `retry: retry_ms`, and closes; the client resumes with that id
/// (`server-polling`, not `reconnect-loop`).
pub fn mcp_priming(retry_ms: u64) -> impl Fn(usize, &Req) -> Reply + Send + Sync + 'static {
    move |_, req| {
        let id = resume_after(req) + 1;
        good_reply(vec![Step::Send(format!("id: {id}\n\nretry: {retry_ms}\n\n").into_bytes())])
    }
}

/// A gzip stream whose events are held back and let go `per_burst` at a time after `silence`,
/// `bursts` times, as a compressing proxy does (`compression`, and `buffering` when `per_burst`
/// is 3 or more); then it stays open. With `per_burst` 1 each event leaves on its own, flushed.
pub fn gzip_bursts(
    bursts: u32,
    per_burst: u32,
    silence: Duration,
) -> impl Fn(usize, &Req) -> Reply + Send + Sync + 'static {
    move |_, req| {
        let (mut gz, header) = Deflate::gzip();
        let mut steps = vec![Step::Send(header)];
        let mut id = resume_after(req);
        for _ in 0..bursts {
            let mut text = String::new();
            for _ in 0..per_burst {
                id += 1;
                text.push_str(&format!("id: {id}\ndata: tick {id}\n\n"));
            }
            steps.push(Step::Wait(silence));
            steps.push(Step::Send(gz.block(text.as_bytes())));
        }
        steps.push(Step::Hang);
        good_reply(steps).header("Content-Encoding", "gzip")
    }
}
