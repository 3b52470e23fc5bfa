//! One feed's subscription: request, open, parse, and reconnect the way `EventSource` does
//! (or, in `persistent` mode, the way a monitoring tool should), as a stream of [`Record`]s.

mod config;
mod decode;
mod ending;
mod policy;
mod response;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{
    HeaderMap, HeaderValue, ACCEPT, ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use config::{ConfigError, FeedConfig, Header, Mode};
pub use ending::{error_chain, ConnectFailure, Ending, Loss, STOPPED};
pub use policy::Backoff;
pub use response::{classify, is_event_stream, is_retryable, Verdict};

use crate::raw::{Raw, RawChunk, RawRequest, RawResponse, RecordSpan};
use crate::record::{Body, Record, Timestamp};
use crate::sse::{Item, Parser};

/// Records a connection task emits together, in order, and the body bytes they came from.
#[derive(Debug, Default)]
pub struct Emission {
    pub records: Vec<Record>,
    /// Response body bytes received since the previous emission.
    pub bytes: u64,
    /// For the raw view: the request about to be sent, a response, or the read of the body the
    /// records were parsed from (after content decoding) with where each came from.
    pub raw: Option<Raw>,
}

impl Emission {
    fn with_raw(mut self, raw: Raw) -> Emission {
        self.raw = Some(raw);
        self
    }
}

/// Where a connection task's records go.
pub trait Sink: Send {
    /// Takes records in order, and the body bytes they came from.
    fn emit(&mut self, emission: Emission);

    /// Resolves once what was emitted so far has room downstream. The connection reads no more of
    /// the body until then, so a consumer that is slower than the network slows the server down
    /// (TCP backpressure, as a browser's event loop would) instead of losing records.
    fn room(&self) -> impl std::future::Future<Output = ()> + Send;
}

/// Handles to steer a running feed from outside its task.
#[derive(Debug, Clone, Default)]
pub struct Control {
    /// Stops the feed: the connection and any pending reconnection end at once.
    pub cancel: CancellationToken,
    /// Drops the current connection and reconnects immediately.
    pub restart: Arc<Notify>,
}

/// Runs a feed until it closes (a fatal response, a 204, or `control.cancel`). Event `seq`
/// numbers continue from `seq`, which is shared so that a restarted feed never reuses one.
/// The last record emitted is always `closed`.
pub async fn run(feed: Arc<str>, config: FeedConfig, seq: Arc<AtomicU64>, control: Control, mut sink: impl Sink) {
    let closed = |ending: Ending| Emission {
        records: vec![Record::new(feed.clone(), Timestamp::now(), ending.closed())],
        bytes: 0,
        raw: None,
    };
    let client = match config.validate().map_err(Ending::Config).and_then(|_| build_client(&config)) {
        Ok(c) => c,
        Err(ending) => {
            sink.emit(closed(ending));
            return;
        }
    };
    let mut conn = Connection {
        parser: Parser::with_last_event_id(config.limits(), config.initial_last_event_id()),
        backoff: Backoff::new(&config),
        feed: feed.clone(),
        config,
        client,
        seq,
        attempt: 0,
    };
    let ending = tokio::select! {
        biased;
        _ = control.cancel.cancelled() => Ending::UserStop,
        end = conn.run(&control.restart, &mut sink) => end,
    };
    sink.emit(closed(ending));
}

/// One client per distinct TLS/timeout setting, shared by all feeds: building one loads the
/// system's root certificates, which is too slow to repeat for hundreds of feeds.
fn build_client(config: &FeedConfig) -> Result<reqwest::Client, Ending> {
    static CLIENTS: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<(bool, u64), reqwest::Client>>> =
        std::sync::OnceLock::new();
    let key = (config.insecure, config.connect_timeout_ms);
    let mut clients = CLIENTS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(c) = clients.get(&key) {
        return Ok(c.clone());
    }
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
        .danger_accept_invalid_certs(config.insecure)
        .user_agent(concat!("feedscope/", env!("CARGO_PKG_VERSION")))
        // No idle connections: a stream's connection is never reused, and a pooled one could
        // outlive the runtime that opened it (the client is shared across runtimes).
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|e| Ending::Client { chain: error_chain(&e) })?;
    clients.insert(key, client.clone());
    Ok(client)
}

struct Connection {
    feed: Arc<str>,
    config: FeedConfig,
    client: reqwest::Client,
    parser: Parser,
    backoff: Backoff,
    seq: Arc<AtomicU64>,
    attempt: u32,
}

/// How one request ended.
enum Outcome {
    /// Reconnect: at once for [`Ending::UserRestart`], else after the policy's delay (`hint` is a
    /// server's `Retry-After`).
    Reconnect { ending: Ending, hint: Option<Duration> },
    /// The feed closes for good.
    Close(Ending),
}

impl Outcome {
    fn reconnect(ending: Ending) -> Self {
        Outcome::Reconnect { ending, hint: None }
    }
}

impl Connection {
    /// Requests and reconnects until the feed closes, and says why it closed.
    async fn run(&mut self, restart: &Notify, sink: &mut impl Sink) -> Ending {
        loop {
            let (ending, hint) = match self.request(restart, sink).await {
                Outcome::Reconnect { ending, hint } => (ending, hint),
                Outcome::Close(ending) => return ending,
            };
            let delay = match ending {
                Ending::UserRestart => Duration::ZERO,
                _ => self.backoff.next_delay(hint),
            };
            sink.emit(self.emission(vec![ending.disconnected(delay.as_millis() as u64)], 0));
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = restart.notified() => {}
            }
        }
    }

    fn emission(&self, bodies: Vec<Body>, bytes: u64) -> Emission {
        let ts = Timestamp::now();
        Emission {
            records: bodies.into_iter().map(|b| Record::new(self.feed.clone(), ts, b)).collect(),
            bytes,
            raw: None,
        }
    }

    /// The request headers: the user's, as given; `Accept`, `Cache-Control` and
    /// `Accept-Encoding` as a browser sends them only where the user set no such header (MCP
    /// servers and some gateways need `Accept: application/json, text/event-stream`);
    /// `Last-Event-ID` always the engine's own, which a user-set one seeded (see
    /// [`FeedConfig::initial_last_event_id`]). A browser also offers `br`, which the engine does
    /// not decode; a server that compresses for browsers still compresses for it.
    fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        for Header { name, value } in &self.config.headers {
            if let (Ok(n), Ok(v)) =
                (reqwest::header::HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value))
            {
                h.append(n, v);
            }
        }
        if !h.contains_key(ACCEPT) {
            h.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        }
        if !h.contains_key(CACHE_CONTROL) {
            h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        }
        if !h.contains_key(ACCEPT_ENCODING) {
            h.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip, deflate"));
        }
        h.remove("last-event-id");
        let id = self.parser.last_event_id();
        if !id.is_empty() {
            if let Ok(v) = HeaderValue::from_str(id) {
                h.insert("last-event-id", v);
            }
        }
        h
    }

    /// One request and, if it opens, its whole body.
    async fn request(&mut self, restart: &Notify, sink: &mut impl Sink) -> Outcome {
        self.attempt += 1;
        let url = self.config.url.trim().to_owned();
        let method = reqwest::Method::from_bytes(self.config.method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let headers = self.headers();
        let last_event_id = self.parser.last_event_id().to_string();
        let raw = Raw::Request(RawRequest {
            ts: Timestamp::now(),
            attempt: self.attempt,
            method: method.to_string(),
            url: url.clone(),
            headers: crate::raw::header_list(&headers),
            last_event_id: last_event_id.clone(),
            body: self.config.body.clone(),
        });
        sink.emit(
            self.emission(vec![Body::Connecting { attempt: self.attempt, url: url.clone(), last_event_id }], 0)
                .with_raw(raw),
        );
        let mut req = self.client.request(method, &url).headers(headers);
        if let Some(body) = &self.config.body {
            req = req.body(body.clone());
        }
        let timeout_ms = self.config.read_timeout_ms;
        let read_timeout = (timeout_ms > 0).then(|| Duration::from_millis(timeout_ms));
        let sent = tokio::select! {
            r = with_timeout(read_timeout, req.send()) => r,
            _ = restart.notified() => return Outcome::reconnect(Ending::UserRestart),
        };
        let resp = match sent {
            Some(Ok(resp)) => resp,
            Some(Err(e)) => return Outcome::reconnect(Ending::request_failed(&e, &url)),
            None => return Outcome::reconnect(Ending::NoResponse { timeout_ms }),
        };
        sink.emit(Emission::default().with_raw(Raw::Response(RawResponse {
            ts: Timestamp::now(),
            status: resp.status().as_u16(),
            version: decode::http_version(resp.version()).to_owned(),
            headers: crate::raw::header_list(resp.headers()),
        })));
        let content_type = resp.headers().get(CONTENT_TYPE).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        match classify(resp.status().as_u16(), content_type.as_deref(), self.config.mode) {
            Verdict::Accept => {}
            Verdict::Retry(ending) => {
                let hint = resp.headers().get(RETRY_AFTER).and_then(|v| policy::parse_retry_after(v.to_str().ok()?));
                return Outcome::Reconnect { ending, hint };
            }
            Verdict::Close(Ending::Status { code, .. }) => {
                // The body of a refusal usually says why ("Client must accept text/event-stream").
                return Outcome::Close(Ending::Status { code, excerpt: body_excerpt(resp).await });
            }
            Verdict::Close(ending) => return Outcome::Close(ending),
        }
        let headers: BTreeMap<String, String> = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let version = decode::http_version(resp.version()).to_owned();
        // reqwest decodes nothing (no compression feature), so the header stays in the record and
        // the body is decoded here, read by read.
        let mut decoder = decode::BodyDecoder::new(headers.get("content-encoding").map(String::as_str));
        sink.emit(self.emission(vec![Body::Open { status: 200, version, headers }], 0));

        let mut stream = resp.bytes_stream();
        let ending = loop {
            let next = tokio::select! {
                n = with_timeout(read_timeout, stream.next()) => n,
                _ = restart.notified() => break Ending::UserRestart,
            };
            match next {
                Some(Some(Ok(chunk))) => {
                    self.backoff.healthy();
                    let body = match decoder.decode(&chunk) {
                        Ok(body) => body,
                        Err(e) => {
                            let chain = format!("cannot decode the {} body: {e}", decoder.name());
                            break Ending::Lost { kind: Loss::Other, chain };
                        }
                    };
                    let mut emission = self.ingest(crate::raw::shared(&chunk, body));
                    // The body's bytes as they came over the network, before decoding.
                    emission.bytes = chunk.len() as u64;
                    sink.emit(emission);
                    // Backpressure: read on only when the subscribers have room. Time spent here
                    // is the consumer's, so the read timeout does not run meanwhile.
                    tokio::select! {
                        () = sink.room() => {}
                        _ = restart.notified() => break Ending::UserRestart,
                    }
                }
                Some(Some(Err(e))) => break Ending::body_failed(&e),
                Some(None) => break Ending::EndOfStream,
                None => break Ending::ReadTimeout { timeout_ms },
            }
        };
        let ending = match (ending, self.parser.end_of_body()) {
            (Ending::EndOfStream, Some(partial)) => Ending::EndInsideEvent { partial },
            (ending, _) => ending,
        };
        Outcome::reconnect(ending)
    }

    /// Parses one read into records; `retry:` takes effect here, before anything else can happen.
    /// The raw view gets the read and where in the body each event, comment and `retry:` was.
    fn ingest(&mut self, chunk: bytes::Bytes) -> Emission {
        let ts = Timestamp::now();
        // Sized for small events, so a burst's emission rarely grows.
        let mut records = Vec::with_capacity(chunk.len() / 64 + 1);
        let mut spans = Vec::with_capacity(records.capacity());
        let offset = self.parser.body_offset();
        let feed = &self.feed;
        let seq = &self.seq;
        let backoff = &mut self.backoff;
        self.parser.push_spanned(&chunk, &mut |item, span| {
            let body = match item {
                Item::Event { event_type, id, data } => {
                    let seq = seq.fetch_add(1, Ordering::Relaxed) + 1;
                    spans.push(RecordSpan { record: records.len(), seq: Some(seq), span });
                    Body::Event { seq, event_type, id, data }
                }
                Item::Comment(text) => {
                    spans.push(RecordSpan { record: records.len(), seq: None, span });
                    Body::Comment { text }
                }
                Item::Retry(ms) => {
                    backoff.set_retry(ms);
                    spans.push(RecordSpan { record: records.len(), seq: None, span });
                    Body::Retry { ms }
                }
                Item::TooLarge { what, limit } => Body::Error {
                    reason: format!(
                        "discarded {}: larger than the {limit}-byte limit; the stream goes on",
                        what.described()
                    ),
                },
            };
            records.push(Record::new(feed.clone(), ts, body));
        });
        let bytes = chunk.len() as u64;
        Emission { records, bytes, raw: Some(Raw::Chunk(RawChunk { offset, bytes: chunk, spans })) }
    }
}

/// The start of a refused response's body, on one line: at most [`EXCERPT_BYTES`] bytes, read
/// for at most [`EXCERPT_WAIT`]; `None` when there is nothing to show.
async fn body_excerpt(mut resp: reqwest::Response) -> Option<String> {
    let mut bytes = Vec::new();
    // The request offered gzip and deflate, so a refusal may come compressed too.
    let encoding = resp.headers().get(CONTENT_ENCODING).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut decoder = decode::BodyDecoder::new(encoding.as_deref());
    let read = async {
        while bytes.len() < EXCERPT_BYTES {
            match resp.chunk().await.map(|c| c.map(|chunk| decoder.decode(&chunk).map(|b| b.into_owned()))) {
                Ok(Some(Ok(chunk))) => bytes.extend_from_slice(&chunk),
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(EXCERPT_WAIT, read).await;
    bytes.truncate(EXCERPT_BYTES);
    let text = String::from_utf8_lossy(&bytes).split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then(|| if bytes.len() == EXCERPT_BYTES { format!("{text}…") } else { text })
}

const EXCERPT_BYTES: usize = 200;
const EXCERPT_WAIT: Duration = Duration::from_secs(1);

async fn with_timeout<F: std::future::Future>(t: Option<Duration>, f: F) -> Option<F::Output> {
    match t {
        Some(t) => tokio::time::timeout(t, f).await.ok(),
        None => Some(f.await),
    }
}
