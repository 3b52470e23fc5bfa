//! Why a connection ended or a feed closed, as facts. A record's `cause` (for programs), `reason`
//! (short, for people) and `detail` (the full story) are all rendered from one [`Ending`].

use std::error::Error as StdError;
use std::io;

use super::config::ConfigError;
use crate::record::{Body, Cause};
use crate::text;

/// The `closed` reason of a feed the user stopped (its cause is [`Cause::UserStop`]).
pub const STOPPED: &str = "stopped by the user";

/// Characters of a refused response's body quoted in the reason; the detail has all of it.
const EXCERPT_CHARS: usize = 100;

/// Why a connection ended (a `disconnected` record) or a feed closed (a `closed` record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// No connection could be made to `host:port`. `chain` is the error and its causes.
    ConnectFailed { host: String, port: u16, kind: ConnectFailure, chain: String },
    /// Redirects could not be followed: a loop, too many, a bad `Location`.
    Redirect { chain: String },
    /// The request went out, and no response came within the read timeout.
    NoResponse { timeout_ms: u64 },
    /// A status other than 200 and 204. `excerpt` is the start of the body, on one line, read
    /// when the feed closes on it (a refusal usually says why).
    Status { code: u16, excerpt: Option<String> },
    /// A 200 whose Content-Type is not `text/event-stream`; `None` when there was none.
    ContentType { got: Option<String> },
    /// 204 No Content: the server asked the client to stop.
    NoContent,
    /// The connection broke after it was made, before or during the response body.
    Lost { kind: Loss, chain: String },
    /// The server ended the response body between events.
    EndOfStream,
    /// The server ended the response body inside an event; `partial` is what had arrived of it
    /// (discarded, as a browser discards it).
    EndInsideEvent { partial: String },
    /// No byte of the body arrived within the read timeout.
    ReadTimeout { timeout_ms: u64 },
    /// The user asked for a reconnection now.
    UserRestart,
    /// The user stopped the feed.
    UserStop,
    /// The feed's settings were refused.
    Config(ConfigError),
    /// The HTTP client could not be built; `chain` is the error and its causes.
    Client { chain: String },
    /// The MCP session of an `mcp` feed: its handshake failed, it expired, or the server has no
    /// stream to offer (see docs/mcp.md).
    Mcp(McpEnding),
    /// The server closed the WebSocket with a close frame: its code (1005 when the frame had
    /// none) and reason.
    WsClose { code: u16, reason: String },
    /// The server answered the WebSocket handshake with a status other than 101; `excerpt` as
    /// for [`Ending::Status`].
    WsRefused { code: u16, excerpt: Option<String> },
    /// The server's answer to the WebSocket handshake was not a valid one (no upgrade, a wrong
    /// `Sec-WebSocket-Accept`, not HTTP at all); `chain` says what was wrong.
    WsBadHandshake { chain: String },
    /// A browser-mode WebSocket ended: a browser's WebSocket never reconnects by itself, so the
    /// feed closes on what would otherwise have been a reconnection.
    NoReconnect(Box<Ending>),
}

/// The requests of an MCP feed, for its endings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum McpStep {
    /// The engine's `initialize` request.
    Initialize,
    /// The engine's `notifications/initialized` notification.
    Initialized,
    /// The feed's own request (its body, POSTed).
    Request,
    /// The GET that listens for the server's own messages (a feed without a body).
    Listen,
}

impl McpStep {
    /// What the request is, for a reason.
    pub fn name(self) -> &'static str {
        match self {
            McpStep::Initialize => "initialize",
            McpStep::Initialized => "notifications/initialized",
            McpStep::Request => "the request",
            McpStep::Listen => "the GET stream",
        }
    }
}

/// How the MCP session of a feed ended a connection or closed the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum McpEnding {
    /// A handshake request was answered with a status it does not take (`initialize`: other
    /// than 200; `notifications/initialized`: other than 2xx); `excerpt` as for [`Ending::Status`].
    Status { step: McpStep, code: u16, excerpt: Option<String> },
    /// `initialize` was answered 200 with neither `application/json` nor `text/event-stream`.
    ContentType { got: Option<String> },
    /// The response to `initialize` carried no JSON-RPC response to it; `excerpt` is the start
    /// of what it carried, on one line (`None`: an empty body).
    NoResult { excerpt: Option<String> },
    /// `initialize` was answered with a JSON-RPC error.
    Refused { code: Option<i64>, message: String },
    /// The `Mcp-Session-Id` the server sent is not visible ASCII, so it cannot be sent back.
    BadSessionId { got: String },
    /// A 404 to a request that carried the session id of an earlier connection: the session
    /// expired. The engine drops it and initializes a new one on the next connection.
    SessionExpired { step: McpStep },
    /// A 404 to a request that carried the session id the server had just created, on the same
    /// connection: initializing again would go round in circles (a server behind a balancer
    /// that does not keep a client on one instance does this).
    SessionRefused { step: McpStep },
    /// The GET for the server's own messages was answered 405: the server offers no such stream.
    NoGetStream,
    /// The feed's body is a notification or a response, and the server accepted it (202): there
    /// is no stream to read.
    Accepted,
}

impl McpEnding {
    fn cause(&self) -> Cause {
        match self {
            McpEnding::ContentType { .. } | McpEnding::NoResult { .. } => Cause::ContentType,
            McpEnding::Accepted => Cause::NoContent,
            McpEnding::Status { .. }
            | McpEnding::Refused { .. }
            | McpEnding::BadSessionId { .. }
            | McpEnding::SessionExpired { .. }
            | McpEnding::SessionRefused { .. }
            | McpEnding::NoGetStream => Cause::HttpStatus,
        }
    }

    fn reason(&self) -> String {
        match self {
            McpEnding::Status { step, code, excerpt } => {
                let mut s = format!("MCP {} failed: {}", step.name(), status_line(*code));
                if let Some(t) = excerpt {
                    s.push_str(": ");
                    s.push_str(&text::one_line(t, EXCERPT_CHARS));
                }
                s
            }
            McpEnding::ContentType { got } => format!(
                "MCP initialize failed: {}, not application/json or text/event-stream",
                match got {
                    Some(ct) => format!("content type {}", text::one_line(ct, EXCERPT_CHARS)),
                    None => "no content type".into(),
                }
            ),
            McpEnding::NoResult { excerpt: Some(t) } => {
                format!("MCP initialize failed: no result in the response: {}", text::one_line(t, EXCERPT_CHARS))
            }
            McpEnding::NoResult { excerpt: None } => "MCP initialize failed: the response was empty".into(),
            McpEnding::Refused { code, message } => {
                let message = text::one_line(message, EXCERPT_CHARS);
                match code {
                    Some(code) => format!("MCP initialize refused: error {code}: {message}"),
                    None => format!("MCP initialize refused: {message}"),
                }
            }
            McpEnding::BadSessionId { got } => {
                format!("the MCP server sent an invalid Mcp-Session-Id {:?}", text::one_line(got, EXCERPT_CHARS))
            }
            McpEnding::SessionExpired { step } => {
                format!("the MCP session expired (HTTP 404 to {}): a new one is initialized", step.name())
            }
            McpEnding::SessionRefused { step } => {
                format!("the MCP server did not know the session it had just created (HTTP 404 to {})", step.name())
            }
            McpEnding::NoGetStream => {
                "the MCP server offers no stream at GET (HTTP 405 Method Not Allowed): give the feed a body to send"
                    .into()
            }
            McpEnding::Accepted => "the MCP server accepted the message (HTTP 202): no response comes to it".into(),
        }
    }

    fn detail(&self) -> String {
        match self {
            McpEnding::Status { excerpt: Some(t), .. } | McpEnding::NoResult { excerpt: Some(t) }
                if t.chars().count() > EXCERPT_CHARS =>
            {
                t.clone()
            }
            McpEnding::Refused { message, .. } if message.chars().count() > EXCERPT_CHARS => message.clone(),
            _ => String::new(),
        }
    }
}

/// Why a connection could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectFailure {
    /// Nothing listens there: the host answered with a reset.
    Refused,
    /// The host name did not resolve.
    Dns,
    /// The connect timeout passed.
    Timeout,
    /// The TLS handshake failed (a bad certificate, or no TLS on that port).
    Tls,
    Other,
}

/// How an established connection broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// The peer (or something in between) reset the connection.
    Reset,
    /// The connection closed in the middle of the response (a body shorter than announced, a
    /// chunked body without its last chunk).
    CutShort,
    /// A WebSocket's connection ended without a close frame (what a browser reports as 1006).
    NoCloseFrame,
    /// The server broke the WebSocket protocol (a bad frame, text that is not UTF-8).
    Protocol,
    Other,
}

impl Ending {
    /// The stable code written as the record's `cause`.
    pub fn cause(&self) -> Cause {
        match self {
            Ending::ConnectFailed { .. } | Ending::Lost { .. } => Cause::Network,
            Ending::Redirect { .. } => Cause::Redirect,
            Ending::NoResponse { .. } | Ending::ReadTimeout { .. } => Cause::ReadTimeout,
            Ending::Status { .. } => Cause::HttpStatus,
            Ending::ContentType { .. } => Cause::ContentType,
            Ending::NoContent => Cause::NoContent,
            Ending::EndOfStream => Cause::EndOfStream,
            Ending::EndInsideEvent { .. } => Cause::EndInsideEvent,
            Ending::UserRestart => Cause::UserRestart,
            Ending::UserStop => Cause::UserStop,
            Ending::Config(_) | Ending::Client { .. } => Cause::Config,
            Ending::Mcp(m) => m.cause(),
            Ending::WsClose { .. } => Cause::WsClose,
            Ending::WsRefused { .. } => Cause::HttpStatus,
            Ending::WsBadHandshake { .. } => Cause::Network,
            Ending::NoReconnect(inner) => inner.cause(),
        }
    }

    /// One short, plain sentence for people (the record's `reason`).
    pub fn reason(&self) -> String {
        match self {
            Ending::ConnectFailed { host, port, kind, .. } => match kind {
                ConnectFailure::Refused => format!("connection refused by {host}:{port}"),
                ConnectFailure::Dns => format!("cannot resolve the host name {host}"),
                ConnectFailure::Timeout => format!("no connection to {host}:{port} (connect timeout)"),
                ConnectFailure::Tls => format!("TLS handshake with {host}:{port} failed"),
                ConnectFailure::Other => format!("cannot connect to {host}:{port}"),
            },
            Ending::Redirect { .. } => "cannot follow the redirects".into(),
            Ending::NoResponse { timeout_ms } => {
                format!("no response within {} (read timeout)", text::human_ms(*timeout_ms))
            }
            Ending::Status { code, excerpt } => {
                let mut s = status_line(*code);
                if let Some(t) = excerpt {
                    s.push_str(": ");
                    s.push_str(&text::one_line(t, EXCERPT_CHARS));
                }
                s
            }
            Ending::ContentType { got: Some(ct) } => {
                format!("content type {}, not text/event-stream", text::one_line(ct, EXCERPT_CHARS))
            }
            Ending::ContentType { got: None } => "no content type, not text/event-stream".into(),
            Ending::NoContent => "HTTP 204 No Content: the server asked to stop".into(),
            Ending::Lost { kind, .. } => match kind {
                Loss::Reset => "connection lost: reset".into(),
                Loss::CutShort => "connection lost: the response was cut short".into(),
                Loss::NoCloseFrame => "connection lost: the WebSocket ended without a close frame (1006)".into(),
                Loss::Protocol => "connection lost: the server broke the WebSocket protocol".into(),
                Loss::Other => "connection lost".into(),
            },
            Ending::EndOfStream => "the server ended the stream".into(),
            Ending::EndInsideEvent { partial } => {
                format!("the server ended the stream inside an event ({} bytes discarded)", partial.len())
            }
            Ending::ReadTimeout { timeout_ms } => {
                format!("no data for {} (read timeout)", text::human_ms(*timeout_ms))
            }
            Ending::UserRestart => "restarted by the user".into(),
            Ending::UserStop => STOPPED.into(),
            Ending::Config(e) => e.to_string(),
            Ending::Client { .. } => "cannot build the HTTP client".into(),
            Ending::Mcp(m) => m.reason(),
            Ending::WsClose { code, reason } => {
                let mut s = format!("the server closed the WebSocket: {code}");
                if let Some(name) = close_code_name(*code) {
                    s.push(' ');
                    s.push_str(name);
                }
                if !reason.is_empty() {
                    s.push_str(": ");
                    s.push_str(&text::one_line(reason, EXCERPT_CHARS));
                }
                s
            }
            Ending::WsRefused { code, excerpt } => {
                let mut s = format!("the WebSocket handshake was refused: {}", status_line(*code));
                if let Some(t) = excerpt {
                    s.push_str(": ");
                    s.push_str(&text::one_line(t, EXCERPT_CHARS));
                }
                s
            }
            Ending::WsBadHandshake { .. } => "the server's answer is not a WebSocket handshake".into(),
            Ending::NoReconnect(inner) => {
                format!("{}; a browser's WebSocket does not reconnect by itself", inner.reason())
            }
        }
    }

    /// The full story for whoever digs (the record's `detail`): the error chain of a network
    /// failure, a refusal's body when the reason had to cut it; empty when the reason says it all.
    pub fn detail(&self) -> String {
        match self {
            Ending::ConnectFailed { chain, .. }
            | Ending::Redirect { chain }
            | Ending::Lost { chain, .. }
            | Ending::Client { chain }
            | Ending::WsBadHandshake { chain } => chain.clone(),
            Ending::EndInsideEvent { partial } => partial.clone(),
            Ending::Status { excerpt: Some(t), .. } | Ending::WsRefused { excerpt: Some(t), .. }
                if t.chars().count() > EXCERPT_CHARS =>
            {
                t.clone()
            }
            Ending::WsClose { reason, .. } if reason.chars().count() > EXCERPT_CHARS => reason.clone(),
            Ending::Mcp(m) => m.detail(),
            Ending::NoReconnect(inner) => inner.detail(),
            _ => String::new(),
        }
    }

    /// Whether a feed that closes here closed on a failure (`fatal`): every ending but a user's
    /// stop, a server's 204, and an MCP server's 202 to a notification.
    pub fn is_failure(&self) -> bool {
        match self {
            Ending::UserStop | Ending::NoContent | Ending::Mcp(McpEnding::Accepted) => false,
            // A normal closure: the server meant to end the conversation.
            Ending::WsClose { code, .. } => *code != 1000,
            Ending::NoReconnect(inner) => inner.is_failure(),
            _ => true,
        }
    }

    /// The `disconnected` record of this ending, with the reconnection delay scheduled.
    pub fn disconnected(&self, reconnect_in_ms: u64) -> Body {
        Body::Disconnected { reason: self.reason(), cause: self.cause(), reconnect_in_ms, detail: self.detail() }
    }

    /// The `closed` record of this ending.
    pub fn closed(&self) -> Body {
        Body::Closed { reason: self.reason(), cause: self.cause(), fatal: self.is_failure(), detail: self.detail() }
    }

    /// A request that got no response: why, from the error's kind and causes. `url` is the one
    /// requested (the error names the hop that failed, after redirects, when it knows it).
    pub(super) fn request_failed(e: &reqwest::Error, url: &str) -> Ending {
        let chain = error_chain(e);
        if e.is_redirect() {
            return Ending::Redirect { chain };
        }
        if !e.is_connect() && !e.is_timeout() {
            // Connected, then lost before the response headers.
            return Ending::Lost { kind: loss(e), chain };
        }
        let target = e.url().cloned().or_else(|| url::Url::parse(url).ok());
        let host = target.as_ref().and_then(|u| u.host_str()).unwrap_or("").to_owned();
        let port = target.as_ref().and_then(url::Url::port_or_known_default).unwrap_or(0);
        Ending::ConnectFailed { host, port, kind: connect_failure(e), chain }
    }

    /// The response body broke off.
    pub(super) fn body_failed(e: &reqwest::Error) -> Ending {
        Ending::Lost { kind: loss(e), chain: error_chain(e) }
    }
}

/// The name of a WebSocket close code (RFC 6455 section 7.4.1 and the IANA registry), in the
/// words a person reads; `None` for the codes applications choose (3000 and up).
pub fn close_code_name(code: u16) -> Option<&'static str> {
    Some(match code {
        1000 => "normal closure",
        1001 => "going away",
        1002 => "protocol error",
        1003 => "unsupported data",
        1005 => "no status code",
        1006 => "abnormal closure",
        1007 => "invalid payload data",
        1008 => "policy violation",
        1009 => "message too big",
        1010 => "mandatory extension",
        1011 => "internal error",
        1012 => "service restart",
        1013 => "try again later",
        1014 => "bad gateway",
        1015 => "TLS handshake failure",
        _ => return None,
    })
}

/// A connection the engine opened itself (a WebSocket's) that could not be made: from the I/O
/// error of the connect (or the TLS handshake, `tls`).
pub(super) fn io_connect_failed(e: &io::Error, host: &str, port: u16, tls: bool) -> Ending {
    let kind = match e.kind() {
        io::ErrorKind::ConnectionRefused => ConnectFailure::Refused,
        io::ErrorKind::TimedOut => ConnectFailure::Timeout,
        _ if tls => ConnectFailure::Tls,
        _ => ConnectFailure::Other,
    };
    Ending::ConnectFailed { host: host.to_owned(), port, kind, chain: error_chain(e) }
}

/// How a connection the engine reads itself broke, from the I/O error.
pub(super) fn io_loss(e: &io::Error) -> Loss {
    match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe => Loss::Reset,
        io::ErrorKind::UnexpectedEof => Loss::NoCloseFrame,
        _ => Loss::Other,
    }
}

/// `HTTP 503 Service Unavailable` (or just `HTTP 599` for a code with no standard name).
fn status_line(code: u16) -> String {
    match reqwest::StatusCode::from_u16(code).ok().and_then(|s| s.canonical_reason()) {
        Some(name) => format!("HTTP {code} {name}"),
        None => format!("HTTP {code}"),
    }
}

/// The errors in `e`'s chain, `e` first.
fn chain_of<'a>(e: &'a (dyn StdError + 'static)) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(e), |&e| e.source())
}

/// The kinds of the I/O errors in `e`'s chain, outermost first. An `io::Error` that wraps
/// another shows the inner one's text but not the error itself as its source, so those are
/// unwrapped here.
fn io_kinds(e: &reqwest::Error) -> Vec<io::ErrorKind> {
    let mut kinds = Vec::new();
    for err in chain_of(e) {
        let mut io = err.downcast_ref::<io::Error>();
        while let Some(x) = io {
            kinds.push(x.kind());
            io = x.get_ref().and_then(|inner| inner.downcast_ref::<io::Error>());
        }
    }
    kinds
}

fn connect_failure(e: &reqwest::Error) -> ConnectFailure {
    // hyper-util's connector labels a failed name lookup "dns error" and exposes no type for it;
    // the label is the library's constant, matched whole.
    if chain_of(e).any(|e| e.to_string() == "dns error") {
        return ConnectFailure::Dns;
    }
    let kinds = io_kinds(e);
    if kinds.contains(&io::ErrorKind::ConnectionRefused) {
        ConnectFailure::Refused
    } else if kinds.contains(&io::ErrorKind::TimedOut) || e.is_timeout() {
        ConnectFailure::Timeout
    } else if kinds.contains(&io::ErrorKind::InvalidData) {
        // tokio-rustls reports every failed handshake (a certificate refused, no TLS on the
        // port) as InvalidData; nothing else on the way to a connection does.
        ConnectFailure::Tls
    } else {
        ConnectFailure::Other
    }
}

fn loss(e: &reqwest::Error) -> Loss {
    let kinds = io_kinds(e);
    let any = |k: &[io::ErrorKind]| kinds.iter().any(|x| k.contains(x));
    if any(&[io::ErrorKind::ConnectionReset, io::ErrorKind::ConnectionAborted, io::ErrorKind::BrokenPipe]) {
        Loss::Reset
    } else if any(&[io::ErrorKind::UnexpectedEof]) {
        Loss::CutShort
    } else {
        Loss::Other
    }
}

/// An error and its causes on one line: reqwest's top-level message alone rarely says what failed.
pub fn error_chain(e: &dyn StdError) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(cause) = src {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
        src = cause.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect(kind: ConnectFailure) -> Ending {
        Ending::ConnectFailed { host: "127.0.0.1".into(), port: 9, kind, chain: "tcp connect error".into() }
    }

    #[test]
    fn each_ending_has_its_cause_reason_and_detail() {
        let lost = |kind| Ending::Lost { kind, chain: "error decoding response body".into() };
        let long = "x".repeat(150);
        let table: Vec<(Ending, Cause, &str, String)> = vec![
            (
                connect(ConnectFailure::Refused),
                Cause::Network,
                "connection refused by 127.0.0.1:9",
                "tcp connect error".into(),
            ),
            (
                connect(ConnectFailure::Dns),
                Cause::Network,
                "cannot resolve the host name 127.0.0.1",
                "tcp connect error".into(),
            ),
            (
                connect(ConnectFailure::Timeout),
                Cause::Network,
                "no connection to 127.0.0.1:9 (connect timeout)",
                "tcp connect error".into(),
            ),
            (
                connect(ConnectFailure::Tls),
                Cause::Network,
                "TLS handshake with 127.0.0.1:9 failed",
                "tcp connect error".into(),
            ),
            (
                connect(ConnectFailure::Other),
                Cause::Network,
                "cannot connect to 127.0.0.1:9",
                "tcp connect error".into(),
            ),
            (
                Ending::Redirect { chain: "too many redirects".into() },
                Cause::Redirect,
                "cannot follow the redirects",
                "too many redirects".into(),
            ),
            (
                Ending::NoResponse { timeout_ms: 300 },
                Cause::ReadTimeout,
                "no response within 300 ms (read timeout)",
                String::new(),
            ),
            (
                Ending::Status { code: 503, excerpt: None },
                Cause::HttpStatus,
                "HTTP 503 Service Unavailable",
                String::new(),
            ),
            (
                Ending::Status { code: 406, excerpt: Some("nope".into()) },
                Cause::HttpStatus,
                "HTTP 406 Not Acceptable: nope",
                String::new(),
            ),
            (Ending::Status { code: 599, excerpt: None }, Cause::HttpStatus, "HTTP 599", String::new()),
            (
                Ending::ContentType { got: Some("text/html".into()) },
                Cause::ContentType,
                "content type text/html, not text/event-stream",
                String::new(),
            ),
            (
                Ending::ContentType { got: None },
                Cause::ContentType,
                "no content type, not text/event-stream",
                String::new(),
            ),
            (Ending::NoContent, Cause::NoContent, "HTTP 204 No Content: the server asked to stop", String::new()),
            (lost(Loss::Reset), Cause::Network, "connection lost: reset", "error decoding response body".into()),
            (
                lost(Loss::CutShort),
                Cause::Network,
                "connection lost: the response was cut short",
                "error decoding response body".into(),
            ),
            (lost(Loss::Other), Cause::Network, "connection lost", "error decoding response body".into()),
            (Ending::EndOfStream, Cause::EndOfStream, "the server ended the stream", String::new()),
            (
                Ending::ReadTimeout { timeout_ms: 30_000 },
                Cause::ReadTimeout,
                "no data for 30.0 s (read timeout)",
                String::new(),
            ),
            (Ending::UserRestart, Cause::UserRestart, "restarted by the user", String::new()),
            (Ending::UserStop, Cause::UserStop, "stopped by the user", String::new()),
            (
                Ending::Config(ConfigError::LastEventId),
                Cause::Config,
                "the last event ID cannot contain NUL, CR or LF",
                String::new(),
            ),
            (
                Ending::Client { chain: "no roots".into() },
                Cause::Config,
                "cannot build the HTTP client",
                "no roots".into(),
            ),
        ];
        for (ending, cause, reason, detail) in table {
            assert_eq!(
                (ending.cause(), ending.reason(), ending.detail()),
                (cause, reason.to_string(), detail),
                "{ending:?}"
            );
        }
        let e = Ending::Status { code: 500, excerpt: Some(long.clone()) };
        assert_eq!(e.reason(), format!("HTTP 500 Internal Server Error: {}…", &long[..EXCERPT_CHARS]));
        assert_eq!(e.detail(), long, "the detail keeps what the reason cut");
    }

    #[test]
    fn each_mcp_ending_has_its_cause_reason_and_detail() {
        use McpStep::{Initialize, Initialized, Listen, Request};
        let mcp = Ending::Mcp;
        let long = "y".repeat(150);
        let table: Vec<(McpEnding, Cause, &str, bool)> = vec![
            (
                McpEnding::Status {
                    step: Initialize,
                    code: 406,
                    excerpt: Some("Not Acceptable: Client must accept".into()),
                },
                Cause::HttpStatus,
                "MCP initialize failed: HTTP 406 Not Acceptable: Not Acceptable: Client must accept",
                true,
            ),
            (
                McpEnding::Status { step: Initialized, code: 400, excerpt: None },
                Cause::HttpStatus,
                "MCP notifications/initialized failed: HTTP 400 Bad Request",
                true,
            ),
            (
                McpEnding::ContentType { got: Some("text/html".into()) },
                Cause::ContentType,
                "MCP initialize failed: content type text/html, not application/json or text/event-stream",
                true,
            ),
            (
                McpEnding::ContentType { got: None },
                Cause::ContentType,
                "MCP initialize failed: no content type, not application/json or text/event-stream",
                true,
            ),
            (
                McpEnding::NoResult { excerpt: Some("{\"hello\":1}".into()) },
                Cause::ContentType,
                "MCP initialize failed: no result in the response: {\"hello\":1}",
                true,
            ),
            (
                McpEnding::NoResult { excerpt: None },
                Cause::ContentType,
                "MCP initialize failed: the response was empty",
                true,
            ),
            (
                McpEnding::Refused { code: Some(-32602), message: "Unsupported protocol version".into() },
                Cause::HttpStatus,
                "MCP initialize refused: error -32602: Unsupported protocol version",
                true,
            ),
            (
                McpEnding::Refused { code: None, message: "no".into() },
                Cause::HttpStatus,
                "MCP initialize refused: no",
                true,
            ),
            (
                McpEnding::BadSessionId { got: "a b".into() },
                Cause::HttpStatus,
                "the MCP server sent an invalid Mcp-Session-Id \"a b\"",
                true,
            ),
            (
                McpEnding::SessionExpired { step: Request },
                Cause::HttpStatus,
                "the MCP session expired (HTTP 404 to the request): a new one is initialized",
                true,
            ),
            (
                McpEnding::SessionRefused { step: Listen },
                Cause::HttpStatus,
                "the MCP server did not know the session it had just created (HTTP 404 to the GET stream)",
                true,
            ),
            (
                McpEnding::NoGetStream,
                Cause::HttpStatus,
                "the MCP server offers no stream at GET (HTTP 405 Method Not Allowed): give the feed a body to send",
                true,
            ),
            (
                McpEnding::Accepted,
                Cause::NoContent,
                "the MCP server accepted the message (HTTP 202): no response comes to it",
                false,
            ),
        ];
        for (ending, cause, reason, failure) in table {
            let e = mcp(ending);
            assert_eq!(
                (e.cause(), e.reason(), e.detail(), e.is_failure()),
                (cause, reason.into(), String::new(), failure)
            );
        }
        let e = mcp(McpEnding::Status { step: Initialize, code: 500, excerpt: Some(long.clone()) });
        assert_eq!(
            e.reason(),
            format!("MCP initialize failed: HTTP 500 Internal Server Error: {}…", &long[..EXCERPT_CHARS])
        );
        assert_eq!(e.detail(), long, "the detail keeps what the reason cut");
        let e = mcp(McpEnding::Refused { code: Some(1), message: long.clone() });
        assert_eq!(e.detail(), long);
    }

    #[test]
    fn websocket_endings_name_the_close_code_and_a_browser_mode_close() {
        let close = |code, reason: &str| Ending::WsClose { code, reason: reason.into() };
        let table: Vec<(Ending, Cause, &str, bool)> = vec![
            (close(1001, "restarting"), Cause::WsClose, "the server closed the WebSocket: 1001 going away: restarting", true),
            (close(1000, ""), Cause::WsClose, "the server closed the WebSocket: 1000 normal closure", false),
            (close(4000, "bye"), Cause::WsClose, "the server closed the WebSocket: 4000: bye", true),
            (close(1005, ""), Cause::WsClose, "the server closed the WebSocket: 1005 no status code", true),
            (
                Ending::WsRefused { code: 403, excerpt: Some("no token".into()) },
                Cause::HttpStatus,
                "the WebSocket handshake was refused: HTTP 403 Forbidden: no token",
                true,
            ),
            (
                Ending::WsBadHandshake { chain: "missing Sec-WebSocket-Accept".into() },
                Cause::Network,
                "the server's answer is not a WebSocket handshake",
                true,
            ),
            (
                Ending::Lost { kind: Loss::NoCloseFrame, chain: String::new() },
                Cause::Network,
                "connection lost: the WebSocket ended without a close frame (1006)",
                true,
            ),
            (
                Ending::Lost { kind: Loss::Protocol, chain: String::new() },
                Cause::Network,
                "connection lost: the server broke the WebSocket protocol",
                true,
            ),
            (
                Ending::NoReconnect(Box::new(close(1000, "done"))),
                Cause::WsClose,
                "the server closed the WebSocket: 1000 normal closure: done; a browser's WebSocket does not reconnect by itself",
                false,
            ),
            (
                Ending::NoReconnect(Box::new(close(1011, ""))),
                Cause::WsClose,
                "the server closed the WebSocket: 1011 internal error; a browser's WebSocket does not reconnect by itself",
                true,
            ),
        ];
        for (ending, cause, reason, failure) in table {
            assert_eq!(
                (ending.cause(), ending.reason(), ending.is_failure()),
                (cause, reason.into(), failure),
                "{ending:?}"
            );
        }
        let wrapped = Ending::NoReconnect(Box::new(Ending::WsBadHandshake { chain: "why".into() }));
        assert_eq!(wrapped.detail(), "why", "the wrapper keeps the detail");
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(io_connect_failed(&refused, "h", 1, false).reason(), "connection refused by h:1");
        let tls = std::io::Error::new(std::io::ErrorKind::InvalidData, "bad certificate");
        assert_eq!(io_connect_failed(&tls, "h", 443, true).reason(), "TLS handshake with h:443 failed");
        assert_eq!(io_loss(&std::io::Error::from(std::io::ErrorKind::ConnectionReset)), Loss::Reset);
    }

    #[test]
    fn server_text_in_a_reason_is_made_visible() {
        let e = Ending::Status { code: 400, excerpt: Some("bad\u{1b}[2J\nrequest".into()) };
        assert_eq!(e.reason(), "HTTP 400 Bad Request: bad\\x1b[2J⏎request");
        let e = Ending::ContentType { got: Some("text/html\r".into()) };
        assert_eq!(e.reason(), "content type text/html\\r, not text/event-stream");
    }

    #[test]
    fn only_a_user_stop_and_a_204_close_without_failure() {
        assert!(!Ending::UserStop.is_failure());
        assert!(!Ending::NoContent.is_failure());
        for e in [Ending::Status { code: 404, excerpt: None }, Ending::ContentType { got: None }, Ending::EndOfStream] {
            assert!(e.is_failure(), "{e:?}");
        }
        assert_eq!(
            Ending::NoContent.closed(),
            Body::Closed {
                reason: "HTTP 204 No Content: the server asked to stop".into(),
                cause: Cause::NoContent,
                fatal: false,
                detail: String::new(),
            }
        );
        assert_eq!(
            connect(ConnectFailure::Refused).disconnected(20),
            Body::Disconnected {
                reason: "connection refused by 127.0.0.1:9".into(),
                cause: Cause::Network,
                reconnect_in_ms: 20,
                detail: "tcp connect error".into(),
            }
        );
    }

    async fn send_error(url: &str) -> reqwest::Error {
        let client = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(std::time::Duration::from_secs(5))
            .build()
            .expect("client");
        client.get(url).send().await.expect_err("the request fails")
    }

    #[tokio::test]
    async fn a_refused_connection_is_named_with_host_and_port() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("http://127.0.0.1:{port}/");
        let e = Ending::request_failed(&send_error(&url).await, &url);
        let Ending::ConnectFailed { host, port: p, kind, chain } = &e else { panic!("{e:?}") };
        assert_eq!((host.as_str(), *p, *kind), ("127.0.0.1", port, ConnectFailure::Refused));
        assert!(chain.contains("Connection refused") || chain.contains("refused"), "{chain}");
        assert_eq!(e.reason(), format!("connection refused by 127.0.0.1:{port}"));
    }

    #[tokio::test]
    async fn a_name_that_does_not_resolve_is_a_dns_failure() {
        // `.invalid` never resolves (RFC 6761).
        let url = "http://feedscope-no-such-host.invalid/";
        let e = Ending::request_failed(&send_error(url).await, url);
        assert!(matches!(e, Ending::ConnectFailed { kind: ConnectFailure::Dns, .. }), "{e:?}");
        assert_eq!(e.reason(), "cannot resolve the host name feedscope-no-such-host.invalid");
    }

    #[tokio::test]
    async fn no_tls_on_the_port_is_a_tls_failure() {
        // A plain TCP listener that answers the TLS hello with HTTP.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                use tokio::io::AsyncWriteExt;
                let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").await;
            }
        });
        let url = format!("https://127.0.0.1:{port}/");
        let e = Ending::request_failed(&send_error(&url).await, &url);
        assert!(matches!(e, Ending::ConnectFailed { kind: ConnectFailure::Tls, .. }), "{e:?}");
    }
}
