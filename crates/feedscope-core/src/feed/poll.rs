//! The `long-poll` and `poll` transports: HTTP requests in a loop, on a client that keeps its
//! connections alive as a browser's `fetch` does.
//!
//! - Long polling: each request (the feed's method, headers and body) waits for data up to the
//!   read timeout (30 s when it is 0). A 2xx body is one event, or one per element when
//!   `split_array` is set and the body is a JSON array; an empty body, a 204 or the timeout is
//!   none. The next request goes out at once, with the cursor taken from the last body
//!   (`cursor_from`) as a query parameter (`cursor_param`) or header (`cursor_header`).
//! - Polling: a request every `poll_interval_ms` (from the start of one to the next); a body
//!   that differs from the previous one is an event, an unchanged one (or a 304 to the
//!   `If-None-Match` / `If-Modified-Since` a browser's cache would send) is counted.
//!
//! The timeline gets `connecting` and `open` for the first request and the first after a
//! failure only (every request is counted in the feed's stats); a failure is a `disconnected`
//! record and a reconnection by the SSE policy, or a `closed` one where the policy stops.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, ACCEPT_ENCODING, CONTENT_ENCODING, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    LAST_MODIFIED, RETRY_AFTER,
};
use tokio::sync::Notify;

use super::config::{FeedConfig, Header, Mode, Transport};
use super::ending::{error_chain, Ending, Loss};
use super::net;
use super::policy::{self, Backoff};
use super::ws::{event_type, type_path};
use super::{closed_emission, decode, emission_of, is_retryable, with_timeout, Control, Counts, Emission, Sink};
use crate::json_path::JsonPath;
use crate::raw::{Raw, RawChunk, RawRequest, RawResponse, RecordSpan};
use crate::record::{Body, Timestamp};
use crate::sse::Span;

/// How long a long-polling request waits when the feed's read timeout is 0 (never).
pub const LONG_POLL_WAIT_MS: u64 = 30_000;
/// A long poll answered with nothing faster than this is not asked again at once: the next
/// request waits the reconnection time, so that a server that never holds a request is not
/// asked in a busy loop.
const QUICK_EMPTY: Duration = Duration::from_secs(1);
/// How many times the event limit a body split into events may be.
const SPLIT_BODY_FACTOR: usize = 64;
/// Bytes of a refused response's body quoted in the ending.
const EXCERPT_BYTES: usize = 200;

/// [`super::run`] for long polling and polling.
pub(super) async fn run(
    feed: Arc<str>,
    config: FeedConfig,
    seq: Arc<AtomicU64>,
    control: Control,
    mut sink: impl Sink,
) {
    let connections = Arc::new(AtomicU64::new(0));
    let client = match config
        .validate()
        .map_err(Ending::Config)
        .and_then(|_| net::keep_alive_client(&config, connections.clone()))
    {
        Ok(c) => c,
        Err(ending) => {
            sink.emit(closed_emission(&feed, &ending));
            return;
        }
    };
    let cursor_path = {
        let p = config.cursor_from.trim();
        (!p.is_empty()).then(|| JsonPath::parse(p).ok()).flatten()
    };
    let mut poller = Poller {
        long: config.transport == Transport::LongPoll,
        type_path: type_path(&config),
        cursor_path,
        backoff: Backoff::new(&config),
        feed: feed.clone(),
        config,
        client,
        seq,
        connections,
        attempt: 0,
        announce: true,
        unopened: true,
        cursor: None,
        previous: None,
        validators: Validators::default(),
        message_type: Arc::from("message"),
    };
    let ending = tokio::select! {
        biased;
        _ = control.cancel.cancelled() => Ending::UserStop,
        end = poller.run(&control.restart, &mut sink) => end,
    };
    sink.emit(closed_emission(&feed, &ending));
}

struct Poller {
    feed: Arc<str>,
    config: FeedConfig,
    long: bool,
    client: reqwest::Client,
    seq: Arc<AtomicU64>,
    backoff: Backoff,
    /// Connections the client opened, not yet emitted (its connector layer counts them).
    connections: Arc<AtomicU64>,
    attempt: u32,
    /// The next request is the first, or the first after a failure: it gets a `connecting`
    /// record.
    announce: bool,
    /// No answer came since the first request or the last failure: the next gets an `open`
    /// record (a long poll that waited in vain is no answer).
    unopened: bool,
    type_path: Option<JsonPath>,
    cursor_path: Option<JsonPath>,
    /// Long polling: the cursor the next request sends.
    cursor: Option<String>,
    /// Polling: the last body, to tell a change.
    previous: Option<String>,
    validators: Validators,
    message_type: Arc<str>,
}

/// Polling: what a browser's cache sends to revalidate (`ETag`, `Last-Modified`).
#[derive(Debug, Default)]
struct Validators {
    etag: Option<HeaderValue>,
    last_modified: Option<HeaderValue>,
}

/// A response read whole.
struct Exchange {
    status: u16,
    version: String,
    headers: HeaderMap,
    /// The decoded body; `None` when it was larger than the limit (what came was discarded).
    body: Option<Vec<u8>>,
    /// Body bytes as received (before decoding).
    received: u64,
}

/// How one request went, when it did not fail.
enum Polled {
    /// A response with a body worth looking at (events, or for polling an unchanged body).
    Answered,
    /// Long polling: the server answered with nothing (an empty body, a 204).
    Nothing,
    /// Long polling: the request waited as long as it may, and nothing came.
    TimedOut,
}

/// How a request failed: reconnect after the policy's delay, or close.
enum Failed {
    Reconnect { ending: Ending, hint: Option<Duration> },
    Close(Ending),
}

impl From<Ending> for Failed {
    fn from(ending: Ending) -> Failed {
        Failed::Reconnect { ending, hint: None }
    }
}

impl Poller {
    async fn run(&mut self, restart: &Notify, sink: &mut impl Sink) -> Ending {
        loop {
            let started = tokio::time::Instant::now();
            let failed = match self.request(restart, sink).await {
                Ok(polled) => self.wait_after(polled, started, restart).await.err(),
                Err(failed) => Some(failed),
            };
            let Some(failed) = failed else { continue };
            let (ending, hint) = match failed {
                Failed::Close(ending) => return ending,
                Failed::Reconnect { ending, hint } => (ending, hint),
            };
            let delay = match ending {
                Ending::UserRestart => Duration::ZERO,
                _ => self.backoff.next_delay(hint),
            };
            (self.announce, self.unopened) = (true, true);
            sink.emit(emission_of(&self.feed, vec![ending.disconnected(delay.as_millis() as u64)], 0));
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = restart.notified() => {}
            }
        }
    }

    /// The wait before the next request: polling, until `poll_interval_ms` after the start of
    /// this one; long polling, none (the reconnection time after a quick empty answer).
    async fn wait_after(&self, polled: Polled, started: tokio::time::Instant, restart: &Notify) -> Result<(), Failed> {
        let until = if self.long {
            match polled {
                Polled::Nothing if started.elapsed() < QUICK_EMPTY => {
                    tokio::time::Instant::now() + Duration::from_millis(self.config.retry_ms)
                }
                _ => return Ok(()),
            }
        } else {
            started + Duration::from_millis(self.config.poll_interval_ms)
        };
        tokio::select! {
            _ = tokio::time::sleep_until(until) => Ok(()),
            _ = restart.notified() => Err(Ending::UserRestart.into()),
        }
    }

    /// The URL of the next request: the feed's, with the cursor as `cursor_param`.
    fn request_url(&self) -> String {
        let base = self.config.url.trim();
        let (Some(cursor), param) = (&self.cursor, self.config.cursor_param.trim()) else { return base.to_owned() };
        if param.is_empty() {
            return base.to_owned();
        }
        let Ok(mut url) = url::Url::parse(base) else { return base.to_owned() };
        let kept: Vec<(String, String)> =
            url.query_pairs().filter(|(k, _)| k != param).map(|(k, v)| (k.into(), v.into())).collect();
        {
            let mut q = url.query_pairs_mut();
            q.clear();
            q.extend_pairs(kept);
            q.append_pair(param, cursor);
        }
        url.to_string()
    }

    /// The request's headers: the user's; `Accept-Encoding` where the user set none (the engine
    /// decodes gzip and deflate); the cursor header; a polling feed's revalidation headers.
    fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        for Header { name, value } in &self.config.headers {
            if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
                h.append(n, v);
            }
        }
        if !h.contains_key(ACCEPT_ENCODING) {
            h.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip, deflate"));
        }
        let header = self.config.cursor_header.trim();
        if let (Some(cursor), false) = (&self.cursor, header.is_empty()) {
            if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(header.as_bytes()), HeaderValue::from_str(cursor)) {
                h.insert(n, v);
            }
        }
        if !self.long {
            if let Some(etag) = &self.validators.etag {
                h.insert(IF_NONE_MATCH, etag.clone());
            }
            if let Some(date) = &self.validators.last_modified {
                h.insert(IF_MODIFIED_SINCE, date.clone());
            }
        }
        h
    }

    /// How long a request may take: long polling, the feed's read timeout or
    /// [`LONG_POLL_WAIT_MS`]; polling, the read timeout (none when 0).
    fn wait(&self) -> Option<Duration> {
        match (self.long, self.config.read_timeout_ms) {
            (true, 0) => Some(Duration::from_millis(LONG_POLL_WAIT_MS)),
            (_, 0) => None,
            (_, ms) => Some(Duration::from_millis(ms)),
        }
    }

    fn limit(&self) -> usize {
        let event = self.config.max_event_bytes;
        if self.long && self.config.split_array {
            event.saturating_mul(SPLIT_BODY_FACTOR)
        } else {
            event
        }
    }

    fn take_connections(&self) -> u64 {
        self.connections.swap(0, Ordering::Relaxed)
    }

    /// One request and its whole response.
    async fn request(&mut self, restart: &Notify, sink: &mut impl Sink) -> Result<Polled, Failed> {
        let url = self.request_url();
        let headers = self.headers();
        let method = reqwest::Method::from_bytes(self.config.method.trim().as_bytes()).unwrap_or(reqwest::Method::GET);
        let body = self.config.body.clone();
        let mut bodies = Vec::new();
        if std::mem::take(&mut self.announce) {
            self.attempt += 1;
            bodies.push(Body::Connecting { attempt: self.attempt, url: url.clone(), last_event_id: String::new() });
        }
        let raw = Raw::Request(RawRequest {
            ts: Timestamp::now(),
            attempt: self.attempt,
            method: method.to_string(),
            url: url.clone(),
            headers: crate::raw::header_list(&headers),
            last_event_id: String::new(),
            body: body.clone(),
        });
        let mut emission = emission_of(&self.feed, bodies, 0);
        emission.raw = Some(raw);
        sink.emit(emission);

        let mut counts = Counts {
            requests: 1,
            wire_bytes: net::request_size(method.as_str(), &url, &headers, body.as_deref().map(str::len)),
            ..Counts::default()
        };
        let mut request = self.client.request(method, &url).headers(headers);
        if let Some(body) = body {
            request = request.body(body);
        }
        let limit = self.limit();
        let exchange = tokio::select! {
            r = with_timeout(self.wait(), exchange(request, &url, limit)) => r,
            _ = restart.notified() => {
                counts.connections = self.take_connections();
                sink.emit(Emission::counted(counts));
                return Err(Ending::UserRestart.into());
            }
        };
        counts.connections = self.take_connections();
        let exchange = match exchange {
            Some(Ok(exchange)) => exchange,
            Some(Err(ending)) => {
                if !matches!(ending, Ending::ConnectFailed { .. }) {
                    sink.emit(Emission::counted(counts));
                }
                return Err(ending.into());
            }
            // The request waited as long as a long poll may: nothing came, ask again.
            None if self.long => {
                sink.emit(Emission::counted(counts));
                return Ok(Polled::TimedOut);
            }
            None => {
                sink.emit(Emission::counted(counts));
                return Err(Ending::NoResponse { timeout_ms: self.config.read_timeout_ms }.into());
            }
        };
        counts.wire_bytes += net::response_head_size(exchange.status, &exchange.headers) + exchange.received;
        sink.emit(Emission::counted(counts).with_raw(Raw::Response(RawResponse {
            ts: Timestamp::now(),
            status: exchange.status,
            version: exchange.version.clone(),
            headers: crate::raw::header_list(&exchange.headers),
        })));
        let status = exchange.status;
        let answered = (200..300).contains(&status) || (status == 304 && !self.long);
        if !answered {
            let ending = Ending::Status { code: status, excerpt: None };
            if self.config.mode == Mode::Persistent && is_retryable(status) {
                let hint = exchange.headers.get(RETRY_AFTER).and_then(|v| policy::parse_retry_after(v.to_str().ok()?));
                return Err(Failed::Reconnect { ending, hint });
            }
            let excerpt = exchange.body.as_deref().and_then(excerpt);
            return Err(Failed::Close(Ending::Status { code: status, excerpt }));
        }
        self.backoff.healthy();
        if std::mem::take(&mut self.unopened) {
            let headers: BTreeMap<String, String> = exchange
                .headers
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect();
            let open = Body::Open { status, version: exchange.version.clone(), headers };
            sink.emit(emission_of(&self.feed, vec![open], 0));
        }
        if self.long {
            Ok(self.long_poll_answer(exchange, sink))
        } else {
            self.poll_answer(exchange, sink);
            Ok(Polled::Answered)
        }
    }

    fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn event(&self, data: String) -> Body {
        let event_type = event_type(self.type_path.as_ref(), &data, &self.message_type);
        Body::Event { seq: self.next_seq(), event_type, id: Arc::from(""), data }
    }

    /// The body was over the limit: an `error` record says so, and the feed goes on.
    fn too_large(&self, exchange: &Exchange, sink: &mut impl Sink) {
        let reason = format!(
            "discarded a response body of more than {} bytes: larger than the limit; the feed goes on",
            self.limit()
        );
        sink.emit(emission_of(&self.feed, vec![Body::Error { reason }], exchange.received));
    }

    /// A long poll's answer: its events and the next cursor.
    fn long_poll_answer(&mut self, exchange: Exchange, sink: &mut impl Sink) -> Polled {
        let Some(body) = &exchange.body else {
            self.too_large(&exchange, sink);
            return Polled::Answered;
        };
        let text = String::from_utf8_lossy(body);
        if exchange.status == 204 || text.trim().is_empty() {
            sink.emit(emission_of(&self.feed, Vec::new(), exchange.received));
            return Polled::Nothing;
        }
        let json = (self.config.split_array || self.cursor_path.is_some())
            .then(|| serde_json::from_str::<serde_json::Value>(&text).ok())
            .flatten();
        let elements = match (&json, self.config.split_array) {
            (Some(serde_json::Value::Array(_)), true) => array_elements(&text),
            _ => None,
        };
        let mut spans = Vec::new();
        let mut bodies = Vec::new();
        match &elements {
            Some(elements) => {
                for &(start, end) in elements {
                    let body = self.event(text[start..end].to_owned());
                    spans.push(span(bodies.len(), &body, start, end));
                    bodies.push(body);
                }
            }
            None => {
                let body = self.event(text.clone().into_owned());
                spans.push(span(0, &body, 0, text.len()));
                bodies.push(body);
            }
        }
        if let (Some(path), Some(json)) = (&self.cursor_path, &json) {
            let last = || match json {
                serde_json::Value::Array(items) if self.config.split_array => items.last(),
                _ => None,
            };
            if let Some(cursor) = path.get(json).or_else(|| last().and_then(|l| path.get(l))).and_then(cursor_text) {
                self.cursor = Some(cursor);
            }
        }
        let answered = if bodies.is_empty() { Polled::Nothing } else { Polled::Answered };
        let mut emission = emission_of(&self.feed, bodies, exchange.received);
        emission.raw = Some(Raw::Chunk(RawChunk { offset: 0, bytes: bytes::Bytes::from(body.clone()), spans }));
        sink.emit(emission);
        answered
    }

    /// A poll's answer: an event when the body changed, else counted as unchanged.
    fn poll_answer(&mut self, exchange: Exchange, sink: &mut impl Sink) {
        if exchange.status == 304 {
            sink.emit(Emission {
                bytes: exchange.received,
                ..Emission::counted(Counts { unchanged: 1, ..Counts::default() })
            });
            return;
        }
        let Some(body) = &exchange.body else {
            self.too_large(&exchange, sink);
            return;
        };
        self.validators = Validators {
            etag: exchange.headers.get(ETAG).cloned(),
            last_modified: exchange.headers.get(LAST_MODIFIED).cloned(),
        };
        let text = String::from_utf8_lossy(body).into_owned();
        if self.previous.as_deref() == Some(text.as_str()) {
            sink.emit(Emission {
                bytes: exchange.received,
                ..Emission::counted(Counts { unchanged: 1, ..Counts::default() })
            });
            return;
        }
        self.previous = Some(text.clone());
        let len = text.len();
        let event = self.event(text);
        let spans = vec![span(0, &event, 0, len)];
        let mut emission = emission_of(&self.feed, vec![event], exchange.received);
        emission.raw = Some(Raw::Chunk(RawChunk { offset: 0, bytes: bytes::Bytes::from(body.clone()), spans }));
        sink.emit(emission);
    }
}

/// Where an event of a body came from, for the raw view.
fn span(record: usize, body: &Body, start: usize, end: usize) -> RecordSpan {
    let seq = match body {
        Body::Event { seq, .. } => Some(*seq),
        _ => None,
    };
    RecordSpan { record, seq, span: Span { start: start as u64, end: end as u64 } }
}

/// Sends the request and reads the whole response, decoding its body, keeping at most `limit`
/// bytes of it.
async fn exchange(request: reqwest::RequestBuilder, url: &str, limit: usize) -> Result<Exchange, Ending> {
    let resp = request.send().await.map_err(|e| Ending::request_failed(&e, url))?;
    let status = resp.status().as_u16();
    let version = decode::http_version(resp.version()).to_owned();
    let headers = resp.headers().clone();
    let encoding = headers.get(CONTENT_ENCODING).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut decoder = decode::BodyDecoder::new(encoding.as_deref());
    let mut body = Some(Vec::new());
    let mut received = 0u64;
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Ending::body_failed(&e))?;
        received += chunk.len() as u64;
        let decoded = decoder.decode(&chunk).map_err(|e| Ending::Lost {
            kind: Loss::Other,
            chain: format!("cannot decode the {} body: {}", decoder.name(), error_chain(&e)),
        })?;
        if let Some(b) = &mut body {
            if b.len() + decoded.len() > limit {
                // Over the limit: what came is dropped, and so is the rest (with the connection).
                body = None;
                break;
            }
            b.extend_from_slice(&decoded);
        }
    }
    Ok(Exchange { status, version, headers, body, received })
}

/// The start of a refused response's body on one line, as for SSE.
fn excerpt(body: &[u8]) -> Option<String> {
    let cut = body.len() > EXCERPT_BYTES;
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_BYTES)]);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then(|| if cut { format!("{text}…") } else { text })
}

/// A cursor as sent: a string as it is, a number or boolean as written, an object or array as
/// compact JSON; `null` is no cursor.
fn cursor_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The byte ranges of the elements of `text`, a JSON array (checked by the caller), each as the
/// server wrote it, without the whitespace around it.
fn array_elements(text: &str) -> Option<Vec<(usize, usize)>> {
    let b = text.as_bytes();
    let open = b.iter().position(|c| !c.is_ascii_whitespace()).filter(|&i| b[i] == b'[')?;
    let mut out = Vec::new();
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let mut start = open + 1;
    for (i, &c) in b.iter().enumerate().skip(open + 1) {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' if depth > 0 => depth -= 1,
            b',' | b']' if depth == 0 => {
                let element = text[start..i].trim();
                if !element.is_empty() {
                    let lead = text[start..i].len() - text[start..i].trim_start().len();
                    out.push((start + lead, start + lead + element.len()));
                }
                if c == b']' {
                    return Some(out);
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_elements_are_the_servers_text() {
        let text = r#" [ {"a":[1,2],"s":"x,]\"y"} , 2,"three" ,[4] ] "#;
        let got: Vec<&str> = array_elements(text).unwrap().into_iter().map(|(s, e)| &text[s..e]).collect();
        assert_eq!(got, [r#"{"a":[1,2],"s":"x,]\"y"}"#, "2", r#""three""#, "[4]"]);
        assert_eq!(array_elements("[]"), Some(vec![]));
        assert_eq!(array_elements("  [ ]"), Some(vec![]));
        assert_eq!(array_elements(r#"{"a":1}"#), None);
    }

    #[test]
    fn cursors_are_sent_as_text() {
        assert_eq!(cursor_text(&serde_json::json!("abc")), Some("abc".into()));
        assert_eq!(cursor_text(&serde_json::json!(42)), Some("42".into()));
        assert_eq!(cursor_text(&serde_json::json!({"t":1})), Some(r#"{"t":1}"#.into()));
        assert_eq!(cursor_text(&serde_json::Value::Null), None);
    }

    #[test]
    fn a_refusal_is_quoted_on_one_line() {
        assert_eq!(excerpt(b"  no\n  such   feed "), Some("no such feed".into()));
        assert_eq!(excerpt(b" \n"), None);
        assert_eq!(excerpt(&[b'x'; 300]).unwrap().chars().count(), 201);
    }
}
