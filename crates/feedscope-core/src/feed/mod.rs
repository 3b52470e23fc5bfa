//! One feed's subscription: request, open, parse, and reconnect the way `EventSource` does
//! (or, in `persistent` mode, the way a monitoring tool should), as a stream of [`Record`]s.
//! An `mcp` feed is a client of MCP's Streamable HTTP transport besides: each connection first
//! initializes a session unless one is kept (docs/mcp.md).
//!
//! That is the `sse` transport, here; the others give the same records: a WebSocket
//! (`ws.rs`), long polling and polling (`poll.rs`). [`run`] picks one by `config.transport`.

mod config;
mod decode;
mod ending;
mod net;
mod policy;
mod poll;
mod response;
mod ws;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, ACCEPT, ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE,
    RETRY_AFTER,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use config::{ConfigError, FeedConfig, Header, Mode, Transport};
pub use ending::{close_code_name, error_chain, ConnectFailure, Ending, Loss, McpEnding, McpStep, STOPPED};
pub use policy::Backoff;
pub use response::{classify, classify_mcp, is_event_stream, is_json, is_retryable, SessionSent, Verdict};

use crate::jsonrpc;
use crate::raw::{Raw, RawChunk, RawRequest, RawResponse, RecordSpan};
use crate::record::{Body, Record, Timestamp};
use crate::sse::{Item, Parser, Span};

/// What the engine sends and expects as an MCP client (Streamable HTTP, protocol 2025-06-18;
/// docs/mcp.md).
pub mod mcp {
    use std::time::Duration;

    /// The protocol version `initialize` offers; the one the server answers is sent afterwards.
    pub const PROTOCOL_VERSION: &str = "2025-06-18";
    /// The id of the engine's `initialize` request as JSON text: a string, so that it never
    /// collides with the numeric ids a feed's body usually has.
    pub const INITIALIZE_ID: &str = "\"feedscope-initialize\"";
    /// The session header (lower case, as HTTP/2 sends header names).
    pub const SESSION_ID: &str = "mcp-session-id";
    /// The protocol version header.
    pub const PROTOCOL_VERSION_HEADER: &str = "mcp-protocol-version";
    /// The `Accept` of a POST: a Streamable HTTP server answers 406 without both types.
    pub const ACCEPT: &str = "application/json, text/event-stream";
    /// The notification that ends the handshake.
    pub const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    /// How long the DELETE that ends a session is given (nothing waits for it).
    pub const DELETE_WAIT: Duration = Duration::from_secs(2);

    /// The `initialize` request: this protocol version, no client capabilities, and feedscope
    /// with its version as the client.
    pub fn initialize_request() -> String {
        serde_json::json!({
            "jsonrpc": "2.0",
            "id": "feedscope-initialize",
            "method": "initialize",
            "params": {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": { "name": "feedscope", "version": env!("CARGO_PKG_VERSION") }
            }
        })
        .to_string()
    }

    /// Whether a session id can be sent back as the spec allows: visible ASCII (0x21 to 0x7E).
    pub fn is_valid_session_id(id: &[u8]) -> bool {
        !id.is_empty() && id.iter().all(|b| (0x21..=0x7e).contains(b))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn initialize_names_feedscope_and_its_id() {
            let v: serde_json::Value = serde_json::from_str(&initialize_request()).unwrap();
            assert_eq!(v["id"].to_string(), INITIALIZE_ID);
            assert_eq!(v["params"]["protocolVersion"], PROTOCOL_VERSION);
            assert_eq!(v["params"]["capabilities"], serde_json::json!({}));
            assert_eq!(v["params"]["clientInfo"]["name"], "feedscope");
            assert_eq!(v["params"]["clientInfo"]["version"], env!("CARGO_PKG_VERSION"));
            assert!(is_valid_session_id(b"1868a90c-AZ~!"));
            assert!(!is_valid_session_id(b"") && !is_valid_session_id(b"a b") && !is_valid_session_id(b"\x80"));
        }
    }
}

/// Records a connection task emits together, in order, and the body bytes they came from.
#[derive(Debug, Default)]
pub struct Emission {
    pub records: Vec<Record>,
    /// Response body bytes received since the previous emission (a WebSocket: the payload of
    /// its data messages).
    pub bytes: u64,
    /// For the raw view: the request about to be sent, a response, or the read of the body the
    /// records were parsed from (after content decoding) with where each came from.
    pub raw: Option<Raw>,
    /// What happened on the wire since the previous emission, besides records.
    pub counts: Counts,
}

/// What a connection task counts besides its records: as increments since its last emission, and
/// added up in [`crate::FeedStats`] (whose JSON has these fields at its top level).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Counts {
    /// HTTP requests sent, or WebSocket handshakes.
    pub requests: u64,
    /// TCP connections opened.
    pub connections: u64,
    /// Bytes on the wire (estimated for HTTP, exact for a WebSocket; see [`crate::FeedStats`]).
    pub wire_bytes: u64,
    /// WebSocket pings received.
    pub pings: u64,
    /// WebSocket pongs received.
    pub pongs: u64,
    /// Polling responses whose body had not changed.
    pub unchanged: u64,
}

impl Counts {
    /// Adds `other` to these.
    pub fn add(&mut self, other: &Counts) {
        self.requests += other.requests;
        self.connections += other.connections;
        self.wire_bytes += other.wire_bytes;
        self.pings += other.pings;
        self.pongs += other.pongs;
        self.unchanged += other.unchanged;
    }
}

impl Emission {
    /// An emission of counts alone.
    fn counted(counts: Counts) -> Emission {
        Emission { counts, ..Emission::default() }
    }
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
    /// Text messages for the feed's WebSocket, while one is open.
    pub outbox: Outbox,
}

/// Where text messages for a feed's open WebSocket wait to be sent ([`crate::Hub::send`]).
/// Open only while the WebSocket is: a message is either sent on it (and recorded as `sent`),
/// or refused here, or (when the connection ends just after taking it) reported by an `error`
/// record that says it was not sent.
#[derive(Debug, Clone, Default)]
pub struct Outbox(Arc<std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedSender<String>>>>);

impl Outbox {
    /// Queues `text` for the open WebSocket; gives it back when none is open.
    pub fn send(&self, text: String) -> Result<(), String> {
        let open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match open.as_ref() {
            Some(tx) => tx.send(text).map_err(|e| e.0),
            None => Err(text),
        }
    }

    /// Whether a WebSocket is open to take messages.
    pub fn is_open(&self) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).as_ref().is_some_and(|tx| !tx.is_closed())
    }

    /// Opens the outbox for a new connection: what is sent from now on comes out of the receiver.
    fn open(&self) -> tokio::sync::mpsc::UnboundedReceiver<String> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
        rx
    }

    /// Refuses messages from now on (the connection ended).
    fn close(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Runs a feed until it closes (a fatal response, a 204, or `control.cancel`). Event `seq`
/// numbers continue from `seq`, which is shared so that a restarted feed never reuses one.
/// The last record emitted is always `closed`; an MCP feed then ends its session with a DELETE
/// that goes out on its own (the feed is closed already, whatever the server does with it).
pub async fn run(feed: Arc<str>, config: FeedConfig, seq: Arc<AtomicU64>, control: Control, sink: impl Sink) {
    match config.transport {
        Transport::Sse => run_sse(feed, config, seq, control, sink).await,
        Transport::WebSocket => ws::run(feed, config, seq, control, sink).await,
        Transport::LongPoll | Transport::Poll => poll::run(feed, config, seq, control, sink).await,
    }
}

/// The `closed` emission of `ending`, the last of every run.
fn closed_emission(feed: &Arc<str>, ending: &Ending) -> Emission {
    Emission { records: vec![Record::new(feed.clone(), Timestamp::now(), ending.closed())], ..Emission::default() }
}

/// The records of `bodies`, all at one time, and the bytes they came from.
fn emission_of(feed: &Arc<str>, bodies: Vec<Body>, bytes: u64) -> Emission {
    let ts = Timestamp::now();
    Emission {
        records: bodies.into_iter().map(|b| Record::new(feed.clone(), ts, b)).collect(),
        bytes,
        ..Emission::default()
    }
}

/// The `sse` transport: [`run`] for Server-Sent Events (and MCP's Streamable HTTP).
async fn run_sse(feed: Arc<str>, config: FeedConfig, seq: Arc<AtomicU64>, control: Control, mut sink: impl Sink) {
    let closed = |ending: Ending| closed_emission(&feed, &ending);
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
        session: None,
    };
    let ending = tokio::select! {
        biased;
        _ = control.cancel.cancelled() => Ending::UserStop,
        end = conn.run(&control.restart, &mut sink) => end,
    };
    sink.emit(closed(ending));
    conn.end_session();
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
    /// An `mcp` feed's initialized session, kept across reconnections until it expires.
    session: Option<Session>,
}

/// An initialized MCP session: what every request after `initialize` sends.
#[derive(Debug, Clone)]
struct Session {
    /// The `Mcp-Session-Id` the server gave; `None` when it gave none (then none is sent).
    id: Option<HeaderValue>,
    /// The protocol version the server answered, sent as `MCP-Protocol-Version`.
    version: HeaderValue,
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

/// One HTTP request of a connection attempt (an MCP feed's attempt may send three).
struct HttpRequest<'a> {
    method: reqwest::Method,
    url: &'a str,
    headers: HeaderMap,
    body: Option<String>,
    /// The `Last-Event-ID` it sends, for the raw view.
    last_event_id: String,
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
        emission_of(&self.feed, bodies, bytes)
    }

    fn read_timeout(&self) -> Option<Duration> {
        let ms = self.config.read_timeout_ms;
        (ms > 0).then(|| Duration::from_millis(ms))
    }

    /// The user's headers, as given; an MCP feed leaves out the session and protocol version
    /// headers, which are the engine's.
    fn user_headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        for Header { name, value } in &self.config.headers {
            if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
                h.append(n, v);
            }
        }
        if self.config.mcp {
            h.remove(mcp::SESSION_ID);
            h.remove(mcp::PROTOCOL_VERSION_HEADER);
        }
        h
    }

    /// The feed's own request headers: the user's, as given; `Accept`, `Cache-Control` and
    /// `Accept-Encoding` as a browser sends them only where the user set no such header (MCP
    /// servers and some gateways need `Accept: application/json, text/event-stream`, which an
    /// `mcp` feed with a body sends by default, with `Content-Type: application/json`);
    /// `Last-Event-ID` always the engine's own, which a user-set one seeded (see
    /// [`FeedConfig::initial_last_event_id`]); an MCP session's headers. A browser also offers
    /// `br`, which the engine does not decode; a server that compresses for browsers still
    /// compresses for it.
    fn headers(&self) -> HeaderMap {
        let mut h = self.user_headers();
        let post_mcp = self.config.mcp && self.config.body.is_some();
        if !h.contains_key(ACCEPT) {
            h.insert(ACCEPT, HeaderValue::from_static(if post_mcp { mcp::ACCEPT } else { "text/event-stream" }));
        }
        if post_mcp && !h.contains_key(CONTENT_TYPE) {
            h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
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
        if let Some(session) = &self.session {
            session.add_to(&mut h);
        }
        h
    }

    /// The headers of a handshake POST (`initialize`, `notifications/initialized`): the user's,
    /// the defaults a Streamable HTTP server needs where the user set none, and `session`'s.
    fn handshake_headers(&self, session: Option<&Session>) -> HeaderMap {
        let mut h = self.user_headers();
        if !h.contains_key(ACCEPT) {
            h.insert(ACCEPT, HeaderValue::from_static(mcp::ACCEPT));
        }
        if !h.contains_key(CONTENT_TYPE) {
            h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        if !h.contains_key(ACCEPT_ENCODING) {
            h.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip, deflate"));
        }
        // The handshake's responses are other streams than the feed's: they do not resume it.
        h.remove("last-event-id");
        if let Some(session) = session {
            session.add_to(&mut h);
        }
        h
    }

    /// Sends one request of this attempt and waits for its response head. The raw view gets the
    /// request and the response; the attempt's first request also makes its `connecting` record.
    async fn send(
        &mut self,
        req: HttpRequest<'_>,
        first: &mut bool,
        restart: &Notify,
        sink: &mut impl Sink,
    ) -> Result<reqwest::Response, Outcome> {
        let raw = Raw::Request(RawRequest {
            ts: Timestamp::now(),
            attempt: self.attempt,
            method: req.method.to_string(),
            url: req.url.to_owned(),
            headers: crate::raw::header_list(&req.headers),
            last_event_id: req.last_event_id,
            body: req.body.clone(),
        });
        let mut records = Vec::new();
        if std::mem::take(first) {
            records.push(Body::Connecting {
                attempt: self.attempt,
                url: req.url.to_owned(),
                last_event_id: self.parser.last_event_id().to_string(),
            });
        }
        sink.emit(self.emission(records, 0).with_raw(raw));
        let request_bytes =
            net::request_size(req.method.as_str(), req.url, &req.headers, req.body.as_deref().map(str::len));
        // The client keeps no idle connection: each request that gets through opens its own.
        let sent_counts = Counts { requests: 1, connections: 1, wire_bytes: request_bytes, ..Counts::default() };
        let mut request = self.client.request(req.method, req.url).headers(req.headers);
        if let Some(body) = req.body {
            request = request.body(body);
        }
        let sent = tokio::select! {
            r = with_timeout(self.read_timeout(), request.send()) => r,
            _ = restart.notified() => return Err(Outcome::reconnect(Ending::UserRestart)),
        };
        let resp = match sent {
            Some(Ok(resp)) => resp,
            Some(Err(e)) => {
                let ending = Ending::request_failed(&e, req.url);
                if !matches!(ending, Ending::ConnectFailed { .. }) {
                    sink.emit(Emission::counted(sent_counts));
                }
                return Err(Outcome::reconnect(ending));
            }
            None => {
                sink.emit(Emission::counted(sent_counts));
                return Err(Outcome::reconnect(Ending::NoResponse { timeout_ms: self.config.read_timeout_ms }));
            }
        };
        let status = resp.status().as_u16();
        let counts = Counts {
            wire_bytes: sent_counts.wire_bytes + net::response_head_size(status, resp.headers()),
            ..sent_counts
        };
        sink.emit(Emission::counted(counts).with_raw(Raw::Response(RawResponse {
            ts: Timestamp::now(),
            status,
            version: decode::http_version(resp.version()).to_owned(),
            headers: crate::raw::header_list(resp.headers()),
        })));
        Ok(resp)
    }

    /// A reconnection for a response: with its `Retry-After`, and without the MCP session when
    /// it expired.
    fn retry(&mut self, ending: Ending, resp: &reqwest::Response) -> Outcome {
        if let Ending::Mcp(McpEnding::SessionExpired { .. }) = ending {
            self.session = None;
        }
        let hint = resp.headers().get(RETRY_AFTER).and_then(|v| policy::parse_retry_after(v.to_str().ok()?));
        Outcome::Reconnect { ending, hint }
    }

    /// One connection attempt: an MCP feed's handshake if it has no session, then the feed's
    /// request and, if it opens, its whole body.
    async fn request(&mut self, restart: &Notify, sink: &mut impl Sink) -> Outcome {
        self.attempt += 1;
        let url = self.config.url.trim().to_owned();
        let mut first = true;
        let mut fresh = false;
        if self.config.mcp && self.session.is_none() {
            if let Err(outcome) = self.initialize(&url, &mut first, restart, sink).await {
                return outcome;
            }
            fresh = true;
        }
        let (method, step) = match (&self.config.body, self.config.mcp) {
            // An MCP feed without a body listens for the server's own messages.
            (None, true) => (reqwest::Method::GET, McpStep::Listen),
            _ => (
                reqwest::Method::from_bytes(self.config.method.as_bytes()).unwrap_or(reqwest::Method::GET),
                McpStep::Request,
            ),
        };
        let req = HttpRequest {
            method,
            url: &url,
            headers: self.headers(),
            body: self.config.body.clone(),
            last_event_id: self.parser.last_event_id().to_string(),
        };
        let resp = match self.send(req, &mut first, restart, sink).await {
            Ok(resp) => resp,
            Err(outcome) => return outcome,
        };
        let status = resp.status().as_u16();
        let content_type = content_type(&resp);
        let verdict = if self.config.mcp {
            let sent = match &self.session {
                Some(Session { id: Some(_), .. }) if fresh => SessionSent::Fresh,
                Some(Session { id: Some(_), .. }) => SessionSent::Kept,
                _ => SessionSent::None,
            };
            classify_mcp(step, status, content_type.as_deref(), self.config.mode, sent)
        } else {
            classify(status, content_type.as_deref(), self.config.mode)
        };
        let mut json = match verdict {
            Verdict::Accept => None,
            Verdict::AcceptJson => Some(JsonBody::new(self.config.max_event_bytes)),
            Verdict::Retry(ending) => return self.retry(ending, &resp),
            // The body of a refusal usually says why ("Client must accept text/event-stream").
            Verdict::Close(ending) => return Outcome::Close(with_excerpt(ending, resp).await),
        };
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

        let timeout_ms = self.config.read_timeout_ms;
        let read_timeout = self.read_timeout();
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
                    let body = crate::raw::shared(&chunk, body);
                    let mut emission = match &mut json {
                        Some(json) => json.push(body),
                        None => ingest(&mut self.parser, &self.feed, &self.seq, &mut self.backoff, body),
                    };
                    // The body's bytes as they came over the network, before decoding.
                    emission.bytes = chunk.len() as u64;
                    emission.counts.wire_bytes = chunk.len() as u64;
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
        if let (Some(json), Ending::EndOfStream) = (json, &ending) {
            let id = self.parser.last_event_id().clone();
            sink.emit(self.json_event(json, id));
        }
        let ending = match (ending, self.parser.end_of_body()) {
            (Ending::EndOfStream, Some(partial)) => Ending::EndInsideEvent { partial },
            (ending, _) => ending,
        };
        Outcome::reconnect(ending)
    }

    /// The MCP handshake: `initialize` (its response becomes event records, as the feed's own
    /// would), then `notifications/initialized` with the session id, if the server gave one,
    /// and the negotiated protocol version. The session is kept once both went through.
    async fn initialize(
        &mut self,
        url: &str,
        first: &mut bool,
        restart: &Notify,
        sink: &mut impl Sink,
    ) -> Result<(), Outcome> {
        let req = HttpRequest {
            method: reqwest::Method::POST,
            url,
            headers: self.handshake_headers(None),
            body: Some(mcp::initialize_request()),
            last_event_id: String::new(),
        };
        let resp = self.send(req, first, restart, sink).await?;
        let ct = content_type(&resp);
        let step = McpStep::Initialize;
        match classify_mcp(step, resp.status().as_u16(), ct.as_deref(), self.config.mode, SessionSent::None) {
            Verdict::Accept | Verdict::AcceptJson => {}
            Verdict::Retry(ending) => return Err(self.retry(ending, &resp)),
            Verdict::Close(ending) => return Err(Outcome::Close(with_excerpt(ending, resp).await)),
        }
        let id = match resp.headers().get(mcp::SESSION_ID) {
            None => None,
            Some(v) if mcp::is_valid_session_id(v.as_bytes()) => Some(v.clone()),
            Some(v) => {
                let got = String::from_utf8_lossy(v.as_bytes()).into_owned();
                return Err(Outcome::Close(Ending::Mcp(McpEnding::BadSessionId { got })));
            }
        };
        let reply = self.read_initialize(resp, restart, sink).await?;
        let result = match (reply.kind, reply.result, reply.error) {
            (jsonrpc::RpcKind::Response, Some(result), _) => result,
            (_, _, error) => {
                let (code, message) = error.map_or((None, String::new()), |e| (e.code, e.message));
                return Err(Outcome::Close(Ending::Mcp(McpEnding::Refused { code, message })));
            }
        };
        // The version the server chose; one that cannot be a header value (or none at all, which
        // the spec does not allow) leaves the one offered.
        let version = serde_json::from_str::<serde_json::Value>(&result)
            .ok()
            .and_then(|r| HeaderValue::from_str(r.get("protocolVersion")?.as_str()?).ok())
            .unwrap_or(HeaderValue::from_static(mcp::PROTOCOL_VERSION));
        let session = Session { id, version };

        let req = HttpRequest {
            method: reqwest::Method::POST,
            url,
            headers: self.handshake_headers(Some(&session)),
            body: Some(mcp::INITIALIZED.to_owned()),
            last_event_id: String::new(),
        };
        let resp = self.send(req, first, restart, sink).await?;
        let sent = if session.id.is_some() { SessionSent::Fresh } else { SessionSent::None };
        let ct = content_type(&resp);
        let step = McpStep::Initialized;
        match classify_mcp(step, resp.status().as_u16(), ct.as_deref(), self.config.mode, sent) {
            Verdict::Accept | Verdict::AcceptJson => {
                self.session = Some(session);
                Ok(())
            }
            Verdict::Retry(ending) => Err(self.retry(ending, &resp)),
            Verdict::Close(ending) => Err(Outcome::Close(with_excerpt(ending, resp).await)),
        }
    }

    /// Reads the response to `initialize` until the JSON-RPC response to it: an event stream
    /// (through a parser of its own: it is another stream than the feed's, with its own event
    /// ids) or one JSON body. Every event it carries is emitted as the feed's events are.
    async fn read_initialize(
        &mut self,
        resp: reqwest::Response,
        restart: &Notify,
        sink: &mut impl Sink,
    ) -> Result<jsonrpc::Message, Outcome> {
        let sse = content_type(&resp).is_some_and(|ct| is_event_stream(&ct));
        let encoding = resp.headers().get(CONTENT_ENCODING).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let mut decoder = decode::BodyDecoder::new(encoding.as_deref());
        let mut parser = Parser::new(self.config.limits());
        let mut json = JsonBody::new(self.config.max_event_bytes);
        // The start of the body, for the reason when no answer comes.
        let mut start = Vec::new();
        let timeout_ms = self.config.read_timeout_ms;
        let read_timeout = self.read_timeout();
        let mut stream = resp.bytes_stream();
        loop {
            let next = tokio::select! {
                n = with_timeout(read_timeout, stream.next()) => n,
                _ = restart.notified() => return Err(Outcome::reconnect(Ending::UserRestart)),
            };
            let chunk = match next {
                Some(Some(Ok(chunk))) => chunk,
                Some(Some(Err(e))) => return Err(Outcome::reconnect(Ending::body_failed(&e))),
                Some(None) => break,
                None => return Err(Outcome::reconnect(Ending::ReadTimeout { timeout_ms })),
            };
            let body = match decoder.decode(&chunk) {
                Ok(body) => body,
                Err(e) => {
                    let chain = format!("cannot decode the {} body: {e}", decoder.name());
                    return Err(Outcome::reconnect(Ending::Lost { kind: Loss::Other, chain }));
                }
            };
            let body = crate::raw::shared(&chunk, body);
            start.extend_from_slice(&body[..body.len().min(EXCERPT_BYTES.saturating_sub(start.len()))]);
            let mut emission =
                if sse { ingest(&mut parser, &self.feed, &self.seq, &mut self.backoff, body) } else { json.push(body) };
            emission.bytes = chunk.len() as u64;
            emission.counts.wire_bytes = chunk.len() as u64;
            let reply = emission.records.iter().find_map(initialize_reply);
            sink.emit(emission);
            if let Some(reply) = reply {
                // Read no further: the server should end the stream after the response anyway.
                return Ok(reply);
            }
            tokio::select! {
                () = sink.room() => {}
                _ = restart.notified() => return Err(Outcome::reconnect(Ending::UserRestart)),
            }
        }
        if !sse {
            let emission = self.json_event(json, Arc::from(""));
            let reply = emission.records.iter().find_map(initialize_reply);
            sink.emit(emission);
            if let Some(reply) = reply {
                return Ok(reply);
            }
        }
        let text = String::from_utf8_lossy(&start).split_whitespace().collect::<Vec<_>>().join(" ");
        let excerpt = (!text.is_empty()).then_some(text);
        Err(Outcome::Close(Ending::Mcp(McpEnding::NoResult { excerpt })))
    }

    /// The one event of a whole `application/json` body (type `message`, the stream's last
    /// event ID as for any event), or an `error` record when it was larger than the event limit.
    fn json_event(&self, json: JsonBody, id: Arc<str>) -> Emission {
        let len = json.len;
        let (body, spans) = match json.data {
            Some(data) => {
                let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
                let data = String::from_utf8_lossy(&data).into_owned();
                let span = RecordSpan { record: 0, seq: Some(seq), span: Span { start: 0, end: len } };
                (Body::Event { seq, event_type: Arc::from("message"), id, data }, vec![span])
            }
            None => (
                Body::Error {
                    reason: format!(
                        "discarded the application/json response: larger than the {}-byte event limit",
                        json.limit
                    ),
                },
                Vec::new(),
            ),
        };
        let raw = Raw::Chunk(RawChunk { offset: len, bytes: bytes::Bytes::new(), spans });
        self.emission(vec![body], 0).with_raw(raw)
    }

    /// Ends an MCP session the feed no longer needs: a DELETE with its id (the spec's SHOULD),
    /// sent by a task of its own that gives up after [`mcp::DELETE_WAIT`], so that nothing waits
    /// for it (a feed started again at once starts a session of its own). What the server answers
    /// changes nothing (405: it lets sessions expire by themselves).
    fn end_session(&mut self) {
        let Some(session @ Session { id: Some(_), .. }) = self.session.take() else { return };
        let mut headers = self.user_headers();
        session.add_to(&mut headers);
        let request = self.client.delete(self.config.url.trim()).headers(headers).send();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(mcp::DELETE_WAIT, request).await;
        });
    }
}

impl Session {
    fn add_to(&self, h: &mut HeaderMap) {
        if let Some(id) = &self.id {
            h.insert(mcp::SESSION_ID, id.clone());
        }
        h.insert(mcp::PROTOCOL_VERSION_HEADER, self.version.clone());
    }
}

/// The JSON-RPC response (or error) to the engine's `initialize` in a record, if it is one.
fn initialize_reply(record: &Record) -> Option<jsonrpc::Message> {
    let Body::Event { data, .. } = &record.body else { return None };
    jsonrpc::parse(data)?.into_messages().into_iter().find(|m| {
        matches!(m.kind, jsonrpc::RpcKind::Response | jsonrpc::RpcKind::Error)
            && m.id.as_deref() == Some(mcp::INITIALIZE_ID)
    })
}

/// An `application/json` response body (MCP), kept whole up to the event limit: it becomes one
/// event when it ends. The raw view gets it read by read.
struct JsonBody {
    /// `None` once it outgrew `limit`.
    data: Option<Vec<u8>>,
    /// Bytes received.
    len: u64,
    limit: usize,
}

impl JsonBody {
    fn new(limit: usize) -> JsonBody {
        JsonBody { data: Some(Vec::new()), len: 0, limit }
    }

    fn push(&mut self, read: bytes::Bytes) -> Emission {
        let offset = self.len;
        self.len += read.len() as u64;
        if let Some(data) = &mut self.data {
            if data.len() + read.len() > self.limit {
                self.data = None;
            } else {
                data.extend_from_slice(&read);
            }
        }
        Emission::default().with_raw(Raw::Chunk(RawChunk { offset, bytes: read, spans: Vec::new() }))
    }
}

fn content_type(resp: &reqwest::Response) -> Option<String> {
    resp.headers().get(CONTENT_TYPE).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// `ending` with the start of `resp`'s body when it quotes one (a refusal usually says why).
async fn with_excerpt(ending: Ending, resp: reqwest::Response) -> Ending {
    match ending {
        Ending::Status { code, .. } => Ending::Status { code, excerpt: body_excerpt(resp).await },
        Ending::Mcp(McpEnding::Status { step, code, .. }) => {
            Ending::Mcp(McpEnding::Status { step, code, excerpt: body_excerpt(resp).await })
        }
        ending => ending,
    }
}

/// Parses one read into records; `retry:` takes effect here, before anything else can happen.
/// The raw view gets the read and where in the body each event, comment and `retry:` was.
fn ingest(
    parser: &mut Parser,
    feed: &Arc<str>,
    seq: &AtomicU64,
    backoff: &mut Backoff,
    chunk: bytes::Bytes,
) -> Emission {
    let ts = Timestamp::now();
    // Sized for small events, so a burst's emission rarely grows.
    let mut records = Vec::with_capacity(chunk.len() / 64 + 1);
    let mut spans = Vec::with_capacity(records.capacity());
    let offset = parser.body_offset();
    parser.push_spanned(&chunk, &mut |item, span| {
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
    Emission {
        records,
        bytes,
        raw: Some(Raw::Chunk(RawChunk { offset, bytes: chunk, spans })),
        counts: Counts::default(),
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
