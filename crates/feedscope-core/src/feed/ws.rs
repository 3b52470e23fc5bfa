//! The `websocket` transport: one WebSocket, each text message an `event`, each binary message a
//! `binary` record, the feed's subscriptions (`send_on_open`) and the user's messages `sent`
//! records; pings and pongs counted; a close frame's code and reason in the ending. `persistent`
//! mode reconnects with the SSE policy; `browser` mode never does, as a browser's WebSocket.
//!
//! The engine opens the TCP connection and the TLS session itself (the same rustls settings
//! as the HTTP client), so that it counts the connection and every byte of the handshake and the
//! frames; tungstenite does the handshake and the framing, and answers pings.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::header::{HeaderName, HeaderValue, RETRY_AFTER, USER_AGENT};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

use super::config::{FeedConfig, Header, Mode};
use super::ending::{error_chain, io_connect_failed, io_loss, ConnectFailure, Ending, Loss};
use super::net::{self, Alpn, CountingStream};
use super::policy::{self, Backoff};
use super::{closed_emission, emission_of, is_retryable, Control, Counts, Emission, Sink};
use crate::json_path::JsonPath;
use crate::raw::{Raw, RawRequest, RawResponse};
use crate::record::{Body, Timestamp};

/// The largest message tungstenite reads at all; one above the feed's event limit (and below
/// this) becomes an `error` record and the WebSocket goes on.
const MAX_MESSAGE: usize = 64 << 20;
/// How long a closing handshake may take (ours on a stop or restart, the reply to the server's).
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// The URL a WebSocket connects to: `ws` and `wss` as given, `http` and `https` mapped to them.
pub(super) fn ws_url(config: &FeedConfig) -> Result<url::Url, Ending> {
    let mut url = config.validate().map_err(Ending::Config)?;
    let scheme = match url.scheme() {
        "http" | "ws" => "ws",
        "https" | "wss" => "wss",
        other => return Err(Ending::Config(super::ConfigError::Scheme(other.to_owned()))),
    };
    if url.scheme() != scheme {
        url.set_scheme(scheme).map_err(|()| Ending::Config(super::ConfigError::Scheme(scheme.to_owned())))?;
    }
    Ok(url)
}

/// [`super::run`] for a WebSocket.
pub(super) async fn run(
    feed: Arc<str>,
    config: FeedConfig,
    seq: Arc<AtomicU64>,
    control: Control,
    mut sink: impl Sink,
) {
    let url = match ws_url(&config) {
        Ok(url) => url,
        Err(ending) => {
            sink.emit(closed_emission(&feed, &ending));
            return;
        }
    };
    let tls = match url.scheme() {
        "wss" => match net::tls_config(config.insecure, Alpn::Http1) {
            Ok(tls) => Some(tls),
            Err(ending) => {
                sink.emit(closed_emission(&feed, &ending));
                return;
            }
        },
        _ => None,
    };
    let type_path = type_path(&config);
    let mut conn = WsConn {
        backoff: Backoff::new(&config),
        feed: feed.clone(),
        config,
        url,
        tls,
        type_path,
        seq,
        attempt: 0,
        wire: Arc::new(AtomicU64::new(0)),
        message_type: Arc::from("message"),
    };
    let ending = conn.run(&control, &mut sink).await;
    control.outbox.close();
    sink.emit(closed_emission(&feed, &ending));
}

/// The feed's `type_path`, parsed (validation checked it); `None` when it has none.
pub(super) fn type_path(config: &FeedConfig) -> Option<JsonPath> {
    let path = config.type_path.trim();
    (!path.is_empty()).then(|| JsonPath::parse(path).ok()).flatten()
}

/// An event's type: the string (or number) at `path` in `data` when `data` is JSON and has one,
/// else `fallback` (`message`).
pub(super) fn event_type(path: Option<&JsonPath>, data: &str, fallback: &Arc<str>) -> Arc<str> {
    let Some(path) = path else { return fallback.clone() };
    let Ok(value) = serde_json::from_str::<serde_json::Value>(data) else { return fallback.clone() };
    match path.get(&value) {
        Some(serde_json::Value::String(s)) => Arc::from(s.as_str()),
        Some(n @ serde_json::Value::Number(_)) => Arc::from(n.to_string()),
        _ => fallback.clone(),
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

type Ws = WebSocketStream<CountingStream<Box<dyn Io>>>;

struct WsConn {
    feed: Arc<str>,
    config: FeedConfig,
    url: url::Url,
    tls: Option<Arc<rustls::ClientConfig>>,
    type_path: Option<JsonPath>,
    seq: Arc<AtomicU64>,
    backoff: Backoff,
    attempt: u32,
    /// Bytes read and written on the current connection (handshake and frames), not yet emitted.
    wire: Arc<AtomicU64>,
    message_type: Arc<str>,
}

/// How one connection ended: the ending, and a server's `Retry-After` if it gave one.
struct Ended {
    ending: Ending,
    hint: Option<Duration>,
}

impl From<Ending> for Ended {
    fn from(ending: Ending) -> Ended {
        Ended { ending, hint: None }
    }
}

impl WsConn {
    /// Connects and reconnects until the feed closes, and says why it closed.
    async fn run(&mut self, control: &Control, sink: &mut impl Sink) -> Ending {
        loop {
            let Ended { ending, hint } = self.connection(control, sink).await;
            match (&ending, self.config.mode) {
                (Ending::UserStop | Ending::Config(_) | Ending::Client { .. }, _) => return ending,
                (Ending::UserRestart, _) => {}
                // A browser's WebSocket fires `close` and is done: nothing reconnects it.
                (_, Mode::Browser) => return Ending::NoReconnect(Box::new(ending)),
                // The handshake was refused for good (a 401, a 404): retrying would not help.
                (Ending::WsRefused { code, .. }, Mode::Persistent) if !is_retryable(*code) => return ending,
                (_, Mode::Persistent) => {}
            }
            let delay = match ending {
                Ending::UserRestart => Duration::ZERO,
                _ => self.backoff.next_delay(hint),
            };
            sink.emit(emission_of(&self.feed, vec![ending.disconnected(delay.as_millis() as u64)], 0));
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = control.restart.notified() => {}
                _ = control.cancel.cancelled() => return Ending::UserStop,
            }
        }
    }

    /// The bytes on the wire since the last call.
    fn take_wire(&self) -> u64 {
        self.wire.swap(0, Ordering::Relaxed)
    }

    fn emit(&self, sink: &mut impl Sink, bodies: Vec<Body>, bytes: u64, counts: Counts) {
        let mut emission = emission_of(&self.feed, bodies, bytes);
        emission.counts = Counts { wire_bytes: counts.wire_bytes + self.take_wire(), ..counts };
        sink.emit(emission);
    }

    /// The handshake request: tungstenite's (`Host`, `Upgrade`, `Connection`,
    /// `Sec-WebSocket-Key`, `Sec-WebSocket-Version`), the user's headers, and a `User-Agent`
    /// where the user set none.
    fn handshake_request(&self) -> Result<tungstenite::handshake::client::Request, Ending> {
        let mut request = self.url.as_str().into_client_request().map_err(|e| {
            Ending::Config(super::ConfigError::Url { url: self.url.to_string(), reason: e.to_string() })
        })?;
        let headers = request.headers_mut();
        for Header { name, value } in &self.config.headers {
            let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) else {
                continue;
            };
            // The handshake's own headers are tungstenite's: a second one would break it.
            let own = ["host", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version"];
            if own.contains(&n.as_str()) {
                continue;
            }
            headers.append(n, v);
        }
        if !headers.contains_key(USER_AGENT) {
            headers.insert(USER_AGENT, HeaderValue::from_static(net::USER_AGENT_VALUE));
        }
        Ok(request)
    }

    /// Waits for `f` unless the user stops or restarts the feed first.
    async fn steered<F: std::future::Future>(control: &Control, f: F) -> Result<F::Output, Ending> {
        tokio::select! {
            biased;
            _ = control.cancel.cancelled() => Err(Ending::UserStop),
            _ = control.restart.notified() => Err(Ending::UserRestart),
            out = f => Ok(out),
        }
    }

    /// Opens the TCP connection (and TLS for `wss`), within the connect timeout.
    async fn open_stream(&self, control: &Control) -> Result<Box<dyn Io>, Ending> {
        let host = self.url.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']').to_owned();
        let port = self.url.port_or_known_default().unwrap_or(80);
        let timeout = Duration::from_millis(self.config.connect_timeout_ms);
        let timed_out = |what: &str| Ending::ConnectFailed {
            host: host.clone(),
            port,
            kind: ConnectFailure::Timeout,
            chain: format!("{what} took longer than the {} ms connect timeout", self.config.connect_timeout_ms),
        };
        let connect = async {
            let addrs = tokio::net::lookup_host((host.as_str(), port)).await.map_err(|e| Ending::ConnectFailed {
                host: host.clone(),
                port,
                kind: ConnectFailure::Dns,
                chain: error_chain(&e),
            })?;
            let mut last = None;
            for addr in addrs {
                match tokio::net::TcpStream::connect(addr).await {
                    Ok(tcp) => return Ok(tcp),
                    Err(e) => last = Some(e),
                }
            }
            let e = last.unwrap_or_else(|| std::io::Error::other("the host name resolved to no address"));
            Err(io_connect_failed(&e, &host, port, false))
        };
        let tcp = match Self::steered(control, tokio::time::timeout(timeout, connect)).await? {
            Ok(tcp) => tcp?,
            Err(_) => return Err(timed_out("the TCP connect")),
        };
        let _ = tcp.set_nodelay(true);
        let Some(tls) = &self.tls else { return Ok(Box::new(tcp)) };
        let name = rustls::pki_types::ServerName::try_from(host.clone()).map_err(|e| Ending::ConnectFailed {
            host: host.clone(),
            port,
            kind: ConnectFailure::Tls,
            chain: format!("not a name TLS can verify: {e}"),
        })?;
        let handshake = tokio_rustls::TlsConnector::from(tls.clone()).connect(name, tcp);
        match Self::steered(control, tokio::time::timeout(timeout, handshake)).await? {
            Ok(Ok(stream)) => Ok(Box::new(stream)),
            Ok(Err(e)) => Err(io_connect_failed(&e, &host, port, true)),
            Err(_) => Err(timed_out("the TLS handshake")),
        }
    }

    /// One connection: connect, handshake, subscribe, read until it ends.
    async fn connection(&mut self, control: &Control, sink: &mut impl Sink) -> Ended {
        self.attempt += 1;
        self.take_wire();
        let request = match self.handshake_request() {
            Ok(r) => r,
            Err(ending) => return ending.into(),
        };
        let connecting =
            Body::Connecting { attempt: self.attempt, url: self.url.to_string(), last_event_id: String::new() };
        let raw = Raw::Request(RawRequest {
            ts: Timestamp::now(),
            attempt: self.attempt,
            method: "GET".into(),
            url: self.url.to_string(),
            headers: crate::raw::header_list(request.headers()),
            last_event_id: String::new(),
            body: None,
        });
        let mut emission = emission_of(&self.feed, vec![connecting], 0);
        emission.raw = Some(raw);
        sink.emit(emission);

        let stream = match self.open_stream(control).await {
            Ok(s) => s,
            Err(ending) => return ending.into(),
        };
        // Connected: the handshake goes out now.
        let counts = Counts { requests: 1, connections: 1, ..Counts::default() };
        let stream = CountingStream::new(stream, self.wire.clone());
        let limit = self.config.max_event_bytes.max(MAX_MESSAGE);
        let ws_config = WebSocketConfig::default().max_message_size(Some(limit)).max_frame_size(Some(limit));
        let handshake = tokio_tungstenite::client_async_with_config(request, stream, Some(ws_config));
        let answered = match Self::steered(control, with_timeout(self.read_timeout(), handshake)).await {
            Ok(answered) => answered,
            Err(ending) => {
                self.emit(sink, Vec::new(), 0, counts);
                return ending.into();
            }
        };
        let (mut ws, response) = match answered {
            Some(Ok(done)) => done,
            Some(Err(e)) => {
                let ended = handshake_failed(e, sink, &self.feed);
                self.emit(sink, Vec::new(), 0, counts);
                return ended;
            }
            None => {
                self.emit(sink, Vec::new(), 0, counts);
                return Ending::NoResponse { timeout_ms: self.config.read_timeout_ms }.into();
            }
        };
        let headers: BTreeMap<String, String> = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let version = super::decode::http_version(response.version()).to_owned();
        sink.emit(Emission {
            raw: Some(Raw::Response(RawResponse {
                ts: Timestamp::now(),
                status: response.status().as_u16(),
                version: version.clone(),
                headers: crate::raw::header_list(response.headers()),
            })),
            ..Emission::default()
        });
        let open = Body::Open { status: response.status().as_u16(), version, headers };
        self.emit(sink, vec![open], 0, counts);

        // Messages the user sends from now on wait here until the subscriptions are out.
        let mut outbox = control.outbox.open();
        let ending = self.converse(&mut ws, &mut outbox, control, sink).await;
        control.outbox.close();
        outbox.close();
        let mut unsent = Vec::new();
        while let Ok(text) = outbox.try_recv() {
            unsent.push(Body::Error {
                reason: format!(
                    "not sent: the WebSocket closed before the message went out: {}",
                    crate::text::one_line(&text, 100)
                ),
            });
        }
        self.emit(sink, unsent, 0, Counts::default());
        ending.into()
    }

    fn read_timeout(&self) -> Option<Duration> {
        let ms = self.config.read_timeout_ms;
        (ms > 0).then(|| Duration::from_millis(ms))
    }

    /// Sends one text message and records it as `sent` (a stop does not wait for a server that
    /// reads nothing).
    async fn send_text(
        &self,
        ws: &mut Ws,
        text: String,
        control: &Control,
        sink: &mut impl Sink,
    ) -> Result<(), Ending> {
        tokio::select! {
            biased;
            _ = control.cancel.cancelled() => return Err(Ending::UserStop),
            sent = ws.send(Message::text(text.clone())) => sent.map_err(read_failed)?,
        }
        self.emit(sink, vec![Body::Sent { text }], 0, Counts::default());
        Ok(())
    }

    /// The open WebSocket: the subscriptions go out, then messages come in and the user's go
    /// out, until it ends.
    async fn converse(
        &mut self,
        ws: &mut Ws,
        outbox: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
        control: &Control,
        sink: &mut impl Sink,
    ) -> Ending {
        for text in self.config.send_on_open.clone() {
            if let Err(ending) = self.send_text(ws, text, control, sink).await {
                return ending;
            }
        }
        // A browser's WebSocket has no read timeout: in browser mode it waits forever.
        let read_timeout = if self.config.mode == Mode::Persistent { self.read_timeout() } else { None };
        loop {
            let next = tokio::select! {
                biased;
                _ = control.cancel.cancelled() => {
                    close_politely(ws).await;
                    return Ending::UserStop;
                }
                _ = control.restart.notified() => {
                    close_politely(ws).await;
                    return Ending::UserRestart;
                }
                Some(text) = outbox.recv() => {
                    if let Err(ending) = self.send_text(ws, text, control, sink).await {
                        return ending;
                    }
                    continue;
                }
                next = with_timeout(read_timeout, ws.next()) => next,
            };
            let message = match next {
                None => return Ending::ReadTimeout { timeout_ms: self.config.read_timeout_ms },
                Some(None) => {
                    return Ending::Lost { kind: Loss::NoCloseFrame, chain: "the connection closed".into() };
                }
                Some(Some(Err(e))) => return read_failed(e),
                Some(Some(Ok(message))) => message,
            };
            self.backoff.healthy();
            let mut counts = Counts::default();
            let (bodies, bytes) = match message {
                Message::Text(text) => (vec![self.text_record(text.as_str())], text.len() as u64),
                Message::Binary(data) => (vec![self.binary_record(&data)], data.len() as u64),
                Message::Ping(_) => {
                    counts.pings = 1;
                    (Vec::new(), 0)
                }
                Message::Pong(_) => {
                    counts.pongs = 1;
                    (Vec::new(), 0)
                }
                Message::Close(frame) => {
                    let (code, reason) = match frame {
                        Some(CloseFrame { code, reason }) => (u16::from(code), reason.as_str().to_owned()),
                        None => (u16::from(CloseCode::Status), String::new()),
                    };
                    // tungstenite queued the reply: let it go out, and the server close the socket.
                    let _ = tokio::time::timeout(CLOSE_WAIT, async { while ws.next().await.is_some() {} }).await;
                    self.emit(sink, Vec::new(), 0, counts);
                    return Ending::WsClose { code, reason };
                }
                Message::Frame(_) => (Vec::new(), 0),
            };
            let any = !bodies.is_empty();
            self.emit(sink, bodies, bytes, counts);
            if any {
                // Backpressure, as for SSE: read on only when the subscribers have room.
                tokio::select! {
                    biased;
                    _ = control.cancel.cancelled() => {
                        close_politely(ws).await;
                        return Ending::UserStop;
                    }
                    () = sink.room() => {}
                }
            }
        }
    }

    fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn text_record(&self, text: &str) -> Body {
        let limit = self.config.max_event_bytes;
        if text.len() > limit {
            return Body::Error {
                reason: format!(
                    "discarded a text message of {} bytes: larger than the {limit}-byte event limit; the WebSocket goes on",
                    text.len()
                ),
            };
        }
        let event_type = event_type(self.type_path.as_ref(), text, &self.message_type);
        Body::Event { seq: self.next_seq(), event_type, id: Arc::from(""), data: text.to_owned() }
    }

    fn binary_record(&self, data: &[u8]) -> Body {
        let limit = self.config.max_event_bytes;
        if data.len() > limit {
            return Body::Error {
                reason: format!(
                    "discarded a binary message of {} bytes: larger than the {limit}-byte event limit; the WebSocket goes on",
                    data.len()
                ),
            };
        }
        Body::binary(self.next_seq(), data)
    }
}

/// Ends the WebSocket as a browser's `close()` does (1000), waiting briefly for the server's
/// reply; the connection is dropped either way.
async fn close_politely(ws: &mut Ws) {
    let frame = CloseFrame { code: CloseCode::Normal, reason: "".into() };
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        if ws.close(Some(frame)).await.is_ok() {
            while ws.next().await.is_some() {}
        }
    })
    .await;
}

/// The ending of a handshake that failed; a refusal's response goes to the raw view too.
fn handshake_failed(e: tungstenite::Error, sink: &mut impl Sink, feed: &Arc<str>) -> Ended {
    match e {
        tungstenite::Error::Http(response) => {
            let code = response.status().as_u16();
            sink.emit(Emission {
                raw: Some(Raw::Response(RawResponse {
                    ts: Timestamp::now(),
                    status: code,
                    version: super::decode::http_version(response.version()).to_owned(),
                    headers: crate::raw::header_list(response.headers()),
                })),
                ..emission_of(feed, Vec::new(), 0)
            });
            let excerpt = response.body().as_deref().and_then(|b| {
                let text = String::from_utf8_lossy(b).split_whitespace().collect::<Vec<_>>().join(" ");
                (!text.is_empty()).then_some(text)
            });
            let hint = response.headers().get(RETRY_AFTER).and_then(|v| policy::parse_retry_after(v.to_str().ok()?));
            Ended { ending: Ending::WsRefused { code, excerpt }, hint }
        }
        tungstenite::Error::Io(e) => {
            let kind = match io_loss(&e) {
                Loss::NoCloseFrame => Loss::CutShort,
                kind => kind,
            };
            Ending::Lost { kind, chain: error_chain(&e) }.into()
        }
        e => Ending::WsBadHandshake { chain: error_chain(&e) }.into(),
    }
}

/// The ending of a read or write on an open WebSocket that failed.
fn read_failed(e: tungstenite::Error) -> Ending {
    use tungstenite::error::ProtocolError;
    let chain = error_chain(&e);
    match e {
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            Ending::Lost { kind: Loss::NoCloseFrame, chain }
        }
        tungstenite::Error::Io(io) => Ending::Lost { kind: io_loss(&io), chain },
        tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            Ending::Lost { kind: Loss::NoCloseFrame, chain }
        }
        tungstenite::Error::Protocol(_) | tungstenite::Error::Utf8(_) => Ending::Lost { kind: Loss::Protocol, chain },
        _ => Ending::Lost { kind: Loss::Other, chain },
    }
}

async fn with_timeout<F: std::future::Future>(t: Option<Duration>, f: F) -> Option<F::Output> {
    match t {
        Some(t) => tokio::time::timeout(t, f).await.ok(),
        None => Some(f.await),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_urls_map_to_websocket_urls() {
        let url = |u: &str| {
            let c = FeedConfig { transport: super::super::Transport::WebSocket, ..FeedConfig::new(u) };
            ws_url(&c).map(|u| u.to_string()).map_err(|e| e.reason())
        };
        assert_eq!(url("http://x.test/a?b=1"), Ok("ws://x.test/a?b=1".into()));
        assert_eq!(url("https://x.test:8443/a"), Ok("wss://x.test:8443/a".into()));
        assert_eq!(url("ws://x.test/"), Ok("ws://x.test/".into()));
        assert_eq!(url("wss://x.test/"), Ok("wss://x.test/".into()));
        assert!(url("ftp://x.test/").unwrap_err().contains("ftp"));
    }

    #[test]
    fn the_type_comes_from_the_path_when_the_message_has_one() {
        let message: Arc<str> = Arc::from("message");
        let path = JsonPath::parse("type").unwrap();
        let t = |data: &str| event_type(Some(&path), data, &message).to_string();
        assert_eq!(t(r#"{"type":"trade","p":1}"#), "trade");
        assert_eq!(t(r#"{"type":7}"#), "7", "a number is a type too");
        assert_eq!(t(r#"{"type":{"a":1}}"#), "message");
        assert_eq!(t(r#"{"kind":"x"}"#), "message");
        assert_eq!(t("not json"), "message");
        assert_eq!(&*event_type(None, r#"{"type":"trade"}"#, &message), "message");
        let nested = JsonPath::parse("data.e").unwrap();
        assert_eq!(&*event_type(Some(&nested), r#"{"data":{"e":"kline"}}"#, &message), "kline");
    }
}
