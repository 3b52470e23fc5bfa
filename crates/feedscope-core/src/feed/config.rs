//! What a feed subscribes to and how it reconnects, validated once at the boundary.

use serde::{Deserialize, Serialize};

use crate::sse::Limits;

/// How a feed reacts to failures.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Exactly what a browser's `EventSource` does: only EOF and network errors reconnect,
    /// always after the reconnection time.
    Browser,
    /// As `Browser`, and also retries 5xx, 408, 429 and read timeouts, with capped exponential
    /// backoff and jitter, honouring `Retry-After`. Each such divergence is named in the record.
    #[default]
    Persistent,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "browser" => Ok(Mode::Browser),
            "persistent" => Ok(Mode::Persistent),
            other => Err(format!("unknown mode {other:?}: expected `persistent` or `browser`")),
        }
    }
}

/// One request header.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub name: String,
    pub value: String,
}

impl Header {
    /// Parses `Name: value` (curl's `-H`): split at the first colon, both sides trimmed, and
    /// checked as [`FeedConfig::validate`] checks headers.
    pub fn parse(s: &str) -> Result<Header, ConfigError> {
        let (name, value) = s.split_once(':').ok_or_else(|| ConfigError::HeaderSyntax(s.to_owned()))?;
        let header = Header { name: name.trim().to_owned(), value: value.trim().to_owned() };
        header.check()?;
        Ok(header)
    }

    /// The name is an HTTP token and the value has no line breaks or other control characters.
    fn check(&self) -> Result<(), ConfigError> {
        if reqwest::header::HeaderName::from_bytes(self.name.as_bytes()).is_err() {
            return Err(ConfigError::HeaderName(self.name.clone()));
        }
        if reqwest::header::HeaderValue::from_str(&self.value).is_err() {
            return Err(ConfigError::HeaderValue(self.name.clone()));
        }
        Ok(())
    }
}

/// A feed's settings. `Default` gives a GET in `persistent` mode with the spec's 3 s reconnection
/// time; call [`FeedConfig::validate`] before use (the hub and the connection do).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeedConfig {
    /// http or https URL.
    pub url: String,
    /// Any HTTP method token; GET by default.
    pub method: String,
    pub headers: Vec<Header>,
    /// Sent with every request, the first and each reconnection.
    pub body: Option<String>,
    /// Sent as `Last-Event-ID` on the first request when non-empty (a resumed session). A
    /// `Last-Event-ID` in `headers` means the same when this is empty; see
    /// [`FeedConfig::initial_last_event_id`].
    pub last_event_id: String,
    pub mode: Mode,
    /// Initial reconnection time; a `retry:` field from the server replaces it.
    pub retry_ms: u64,
    /// Cap for the exponential backoff of `persistent` mode.
    pub max_backoff_ms: u64,
    pub connect_timeout_ms: u64,
    /// Reconnect when no byte arrives for this long (0 = wait forever, as a browser does).
    pub read_timeout_ms: u64,
    /// Accept any TLS certificate (self-signed test servers).
    pub insecure: bool,
    pub max_line_bytes: usize,
    pub max_event_bytes: usize,
    /// Randomize backoff delays (full jitter). Off makes the schedule deterministic.
    pub jitter: bool,
    /// The stall watchdog: open with no event for this many seconds shows as stalled (0: off).
    /// Watching only: the connection does not change.
    pub stall_secs: u64,
    /// Alert rules of this feed (see [`crate::alerts`]). Watching only, like `stall_secs`.
    pub alerts: Vec<crate::alerts::AlertRule>,
    /// Table columns the user added, each a query-language name (`data.symbol`, `data.a[0].b`;
    /// see [`crate::query::Field`]). Watching only.
    pub columns: Vec<String>,
    /// The events carry JSON-RPC 2.0 messages (MCP): the table shows `method`, the id and `result`
    /// or `error`, and a response is linked to the request this feed sent. Watching only.
    pub jsonrpc: bool,
    /// An MCP Streamable HTTP endpoint: each connection first sends `initialize` (and
    /// `notifications/initialized`), keeps the `Mcp-Session-Id` the server returns and sends it with
    /// the feed's own request. Implies `jsonrpc`.
    pub mcp: bool,
    /// How the feed gets its data: Server-Sent Events (the default), WebSocket, long polling or
    /// polling. Every transport gives the same records (docs/transports.md).
    pub transport: Transport,
    /// WebSocket: text messages sent after each open (subscriptions), again on every reconnection.
    pub send_on_open: Vec<String>,
    /// WebSocket, long polling, polling: the JSON path in a message whose string value is the
    /// event's type (`type`, `op`); empty: every event is a `message`.
    pub type_path: String,
    /// Long polling: the JSON path in a response whose value is the next request's cursor.
    pub cursor_from: String,
    /// Long polling: the query parameter the cursor is sent in (or `cursor_header`).
    pub cursor_param: String,
    /// Long polling: the request header the cursor is sent in.
    pub cursor_header: String,
    /// Long polling: a body that is a JSON array is one event per element.
    pub split_array: bool,
    /// Polling: milliseconds between two requests.
    pub poll_interval_ms: u64,
}

/// How a feed gets its data; serde names `sse`, `websocket`, `long-poll`, `poll`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// Server-Sent Events: one long response, parsed as `text/event-stream`.
    #[default]
    Sse,
    /// A WebSocket (`ws://`, `wss://`): each text message is an event.
    #[serde(rename = "websocket")]
    WebSocket,
    /// Each request waits for data (or a timeout); the next one goes out at once.
    LongPoll,
    /// A GET every `poll_interval_ms`; a changed body is an event.
    Poll,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Sse => "sse",
            Transport::WebSocket => "websocket",
            Transport::LongPoll => "long-poll",
            Transport::Poll => "poll",
        }
    }
}

impl std::str::FromStr for Transport {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sse" => Ok(Transport::Sse),
            "websocket" | "ws" => Ok(Transport::WebSocket),
            "long-poll" => Ok(Transport::LongPoll),
            "poll" => Ok(Transport::Poll),
            other => Err(format!("unknown transport {other:?}: expected sse, websocket, long-poll or poll")),
        }
    }
}

impl Default for FeedConfig {
    fn default() -> Self {
        let limits = Limits::default();
        FeedConfig {
            url: String::new(),
            method: "GET".into(),
            headers: Vec::new(),
            body: None,
            last_event_id: String::new(),
            mode: Mode::Persistent,
            retry_ms: 3000,
            max_backoff_ms: 60_000,
            connect_timeout_ms: 10_000,
            read_timeout_ms: 60_000,
            insecure: false,
            max_line_bytes: limits.max_line_bytes,
            max_event_bytes: limits.max_event_bytes,
            jitter: true,
            stall_secs: 0,
            alerts: Vec::new(),
            columns: Vec::new(),
            jsonrpc: false,
            mcp: false,
            transport: Transport::Sse,
            send_on_open: Vec::new(),
            type_path: String::new(),
            cursor_from: String::new(),
            cursor_param: String::new(),
            cursor_header: String::new(),
            split_array: false,
            poll_interval_ms: 5000,
        }
    }
}

impl FeedConfig {
    /// Whether `other` connects the same way: it differs at most in what is only watched (the
    /// stall watchdog, the alert rules), so a running feed need not reconnect for it.
    pub fn connects_like(&self, other: &FeedConfig) -> bool {
        let strip = |c: &FeedConfig| FeedConfig {
            stall_secs: 0,
            alerts: Vec::new(),
            columns: Vec::new(),
            jsonrpc: false,
            ..c.clone()
        };
        strip(self) == strip(other)
    }
}

/// Why a [`FeedConfig`] (or a history cap, see [`crate::HistoryLimits::validate`]) was refused;
/// [`ConfigError::field`] names the setting for a form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("URL scheme must be http or https (ws or wss for a WebSocket), not {0:?}")]
    Scheme(String),
    #[error("invalid HTTP method {0:?}: use a token such as GET or POST")]
    Method(String),
    #[error("malformed header {0:?}: expected 'Name: value'")]
    HeaderSyntax(String),
    #[error("invalid header name {0:?}")]
    HeaderName(String),
    #[error("invalid value for header {0:?}: line breaks and control characters are not allowed")]
    HeaderValue(String),
    #[error("the last event ID cannot contain NUL, CR or LF")]
    LastEventId,
    #[error("{field} must be at least {min}")]
    TooSmall { field: &'static str, min: u64 },
    #[error("the read timeout must be 0 (never) or at least {min} ms")]
    ReadTimeout { min: u64 },
    #[error("the backoff cap must be at least the reconnection time (or 1000 ms)")]
    BackoffBelowRetry,
    #[error("the history cap must be between {min} and {max} records")]
    HistoryCap { min: usize, max: usize },
    #[error("alert rule {index}: {reason}")]
    Alert { index: usize, reason: String },
    #[error("column {index}: {reason}")]
    Column { index: usize, reason: String },
    #[error("{0}")]
    Mcp(String),
    /// A setting that does not fit the feed's transport, or a transport setting that is wrong.
    #[error("{reason}")]
    Transport { field: &'static str, reason: String },
}

impl ConfigError {
    /// The [`FeedConfig`] field this error is about (`history_cap` for a history cap).
    pub fn field(&self) -> &'static str {
        match self {
            ConfigError::Url { .. } | ConfigError::Scheme(_) => "url",
            ConfigError::Method(_) => "method",
            ConfigError::HeaderSyntax(_) | ConfigError::HeaderName(_) | ConfigError::HeaderValue(_) => "headers",
            ConfigError::LastEventId => "last_event_id",
            ConfigError::TooSmall { field, .. } => field,
            ConfigError::ReadTimeout { .. } => "read_timeout_ms",
            ConfigError::BackoffBelowRetry => "max_backoff_ms",
            ConfigError::HistoryCap { .. } => "history_cap",
            ConfigError::Alert { .. } => "alerts",
            ConfigError::Column { .. } => "columns",
            ConfigError::Mcp(_) => "mcp",
            ConfigError::Transport { field, .. } => field,
        }
    }
}

impl FeedConfig {
    /// The shortest read timeout a person may set ([`FeedConfig::validate_user_settings`]):
    /// servers send a heartbeat every ~15 s, and a shorter timeout would drop healthy feeds.
    pub const MIN_READ_TIMEOUT_MS: u64 = 1000;
    /// The shortest polling interval a person may set ([`FeedConfig::validate_user_settings`]).
    pub const MIN_POLL_INTERVAL_MS: u64 = 250;
    /// The shortest polling interval the engine runs (tests go below a person's minimum).
    pub const MIN_ENGINE_POLL_INTERVAL_MS: u64 = 10;

    /// A default config for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        FeedConfig { url: url.into(), ..FeedConfig::default() }
    }

    /// Checks every rule the engine needs; the first problem found is returned. The hub calls it
    /// on every feed, whoever made the config (the app, the CLI, a contract-test harness).
    pub fn validate(&self) -> Result<url::Url, ConfigError> {
        let parsed = url::Url::parse(self.url.trim())
            .map_err(|e| ConfigError::Url { url: self.url.clone(), reason: e.to_string() })?;
        let schemes: &[&str] =
            if self.transport == Transport::WebSocket { &["ws", "wss", "http", "https"] } else { &["http", "https"] };
        if !schemes.contains(&parsed.scheme()) {
            return Err(ConfigError::Scheme(parsed.scheme().to_owned()));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(ConfigError::Url { url: self.url.clone(), reason: "no host".into() });
        }
        if reqwest::Method::from_bytes(self.method.as_bytes()).is_err() || self.method.is_empty() {
            return Err(ConfigError::Method(self.method.clone()));
        }
        for h in &self.headers {
            h.check()?;
        }
        if self.last_event_id.contains(['\0', '\r', '\n']) {
            return Err(ConfigError::LastEventId);
        }
        if self.max_line_bytes < 1024 {
            return Err(ConfigError::TooSmall { field: "max_line_bytes", min: 1024 });
        }
        if self.max_event_bytes < 1024 {
            return Err(ConfigError::TooSmall { field: "max_event_bytes", min: 1024 });
        }
        if self.connect_timeout_ms < 100 {
            return Err(ConfigError::TooSmall { field: "connect_timeout_ms", min: 100 });
        }
        if self.max_backoff_ms < self.retry_ms.min(1000) {
            return Err(ConfigError::BackoffBelowRetry);
        }
        for (i, rule) in self.alerts.iter().enumerate() {
            rule.validate().map_err(|reason| ConfigError::Alert { index: i + 1, reason })?;
        }
        for (i, column) in self.columns.iter().enumerate() {
            crate::query::Field::parse(column).map_err(|e| ConfigError::Column { index: i + 1, reason: e.message })?;
        }
        self.validate_mcp()?;
        self.validate_transport()?;
        Ok(parsed)
    }

    /// The settings of the feed's transport (docs/log-format.md#transports).
    fn validate_transport(&self) -> Result<(), ConfigError> {
        let bad = |field: &'static str, reason: String| Err(ConfigError::Transport { field, reason });
        let transport = self.transport;
        if transport != Transport::Sse && self.mcp {
            return bad(
                "mcp",
                format!(
                    "MCP runs over Server-Sent Events: turn MCP off or use the sse transport, not {}",
                    transport.as_str()
                ),
            );
        }
        if transport == Transport::WebSocket {
            if !self.method.trim().eq_ignore_ascii_case("GET") {
                return bad(
                    "method",
                    format!(
                        "a WebSocket opens with GET, not {}: send messages with send_on_open instead",
                        self.method.trim()
                    ),
                );
            }
            if self.body.is_some() {
                return bad(
                    "body",
                    "a WebSocket handshake has no body: put the messages to send in send_on_open".into(),
                );
            }
        }
        for (field, path) in [("type_path", &self.type_path), ("cursor_from", &self.cursor_from)] {
            if !path.trim().is_empty() {
                if let Err(e) = crate::json_path::JsonPath::parse(path.trim()) {
                    return bad(field, format!("{field} {:?}: {e}", path.trim()));
                }
            }
        }
        if transport == Transport::LongPoll
            && !self.cursor_from.trim().is_empty()
            && self.cursor_param.trim().is_empty()
            && self.cursor_header.trim().is_empty()
        {
            return bad(
                "cursor_param",
                "a cursor needs somewhere to go: set cursor_param (a query parameter) or cursor_header".into(),
            );
        }
        let header = self.cursor_header.trim();
        if !header.is_empty() && reqwest::header::HeaderName::from_bytes(header.as_bytes()).is_err() {
            return bad("cursor_header", format!("invalid header name {header:?} for the cursor"));
        }
        if transport == Transport::Poll && self.poll_interval_ms < Self::MIN_ENGINE_POLL_INTERVAL_MS {
            return Err(ConfigError::TooSmall { field: "poll_interval_ms", min: Self::MIN_ENGINE_POLL_INTERVAL_MS });
        }
        Ok(())
    }

    /// An MCP feed POSTs its body (a JSON-RPC message) or, without one, listens with a GET: the
    /// method must say the same (docs/mcp.md).
    fn validate_mcp(&self) -> Result<(), ConfigError> {
        if !self.mcp {
            return Ok(());
        }
        let method = self.method.trim();
        match &self.body {
            Some(_) if !method.eq_ignore_ascii_case("POST") => Err(ConfigError::Mcp(format!(
                "an MCP feed POSTs its body to the server: use the method POST, not {method}, or turn MCP off"
            ))),
            None if !method.eq_ignore_ascii_case("GET") => Err(ConfigError::Mcp(format!(
                "an MCP feed without a body listens for the server's messages with GET: use the method GET, \
                 not {method}, or give it a body to POST"
            ))),
            _ => Ok(()),
        }
    }

    /// Whether the table shows JSON-RPC columns for this feed: `jsonrpc`, or `mcp` (which implies it
    /// for display without setting it).
    pub fn shows_jsonrpc(&self) -> bool {
        self.jsonrpc || self.mcp
    }

    /// The requests this feed sends, to link responses to them ([`crate::jsonrpc::columns`]): those
    /// in its body, and for an MCP feed the engine's `initialize` too.
    pub fn sent_requests(&self) -> crate::jsonrpc::SentRequests {
        let sent = crate::jsonrpc::SentRequests::from_body(self.body.as_deref());
        if self.mcp {
            sent.with(super::mcp::INITIALIZE_ID, "initialize")
        } else {
            sent
        }
    }

    /// [`FeedConfig::validate`], and the rules for settings a person chose (the app's feed editor,
    /// `feedscope tail`): a read timeout of 0 (never) or at least [`Self::MIN_READ_TIMEOUT_MS`].
    /// A program that drives the engine (a contract-test harness, a test) may go below.
    pub fn validate_user_settings(&self) -> Result<url::Url, ConfigError> {
        let url = self.validate()?;
        if self.read_timeout_ms != 0 && self.read_timeout_ms < Self::MIN_READ_TIMEOUT_MS {
            return Err(ConfigError::ReadTimeout { min: Self::MIN_READ_TIMEOUT_MS });
        }
        if self.transport == Transport::Poll && self.poll_interval_ms < Self::MIN_POLL_INTERVAL_MS {
            return Err(ConfigError::TooSmall { field: "poll_interval_ms", min: Self::MIN_POLL_INTERVAL_MS });
        }
        Ok(url)
    }

    /// The last event ID the first request sends: `last_event_id`, or else the value of a
    /// `Last-Event-ID` header the user set. After that the stream's own `id:` fields take over,
    /// as in a browser: every reconnection sends the engine's last event ID, which starts as this
    /// value and changes only when the stream sets one.
    pub fn initial_last_event_id(&self) -> &str {
        if !self.last_event_id.is_empty() {
            return &self.last_event_id;
        }
        self.headers.iter().find(|h| h.name.eq_ignore_ascii_case("last-event-id")).map_or("", |h| h.value.as_str())
    }

    pub fn limits(&self) -> Limits {
        Limits { max_line_bytes: self.max_line_bytes, max_event_bytes: self.max_event_bytes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_spec() {
        let c = FeedConfig::new("http://127.0.0.1:1/x");
        assert_eq!(c.retry_ms, 3000);
        assert_eq!(c.method, "GET");
        assert_eq!(c.mode, Mode::Persistent);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn bad_input_names_the_field() {
        let bad = |f: fn(&mut FeedConfig)| {
            let mut c = FeedConfig::new("http://example.test/");
            f(&mut c);
            c.validate().unwrap_err().field()
        };
        assert_eq!(bad(|c| c.url = "ftp://x/".into()), "url");
        assert_eq!(bad(|c| c.url = "not a url".into()), "url");
        assert_eq!(bad(|c| c.method = "GE T".into()), "method");
        assert_eq!(bad(|c| c.headers = vec![Header { name: "a b".into(), value: "x".into() }]), "headers");
        assert_eq!(bad(|c| c.headers = vec![Header { name: "a".into(), value: "x\r\ny".into() }]), "headers");
        assert_eq!(bad(|c| c.last_event_id = "a\nb".into()), "last_event_id");
        assert_eq!(bad(|c| c.connect_timeout_ms = 0), "connect_timeout_ms");
        assert_eq!(bad(|c| c.max_line_bytes = 10), "max_line_bytes");
        assert_eq!(bad(|c| c.max_event_bytes = 10), "max_event_bytes");
        assert_eq!(bad(|c| (c.retry_ms, c.max_backoff_ms) = (3000, 999)), "max_backoff_ms");
    }

    #[test]
    fn the_backoff_cap_must_reach_the_reconnection_time_or_a_second() {
        let ok = |retry_ms, max_backoff_ms| {
            FeedConfig { retry_ms, max_backoff_ms, ..FeedConfig::new("http://example.test/") }.validate().is_ok()
        };
        assert!(ok(20, 20) && ok(500, 500) && ok(3000, 1000) && ok(0, 0) && ok(3_600_000, 60_000));
        assert!(!ok(20, 19) && !ok(3000, 999) && !ok(1000, 0));
    }

    #[test]
    fn a_person_may_set_no_read_timeout_or_one_of_a_second_or_more() {
        let check = |read_timeout_ms| FeedConfig { read_timeout_ms, ..FeedConfig::new("http://example.test/") };
        for ms in [0, 1000, 60_000] {
            assert!(check(ms).validate_user_settings().is_ok(), "{ms}");
        }
        for ms in [1, 300, 999] {
            let e = check(ms).validate_user_settings().unwrap_err();
            assert_eq!(
                (e.field(), e.to_string().as_str()),
                ("read_timeout_ms", "the read timeout must be 0 (never) or at least 1000 ms")
            );
            // The engine itself runs with any read timeout (contract-test suites use 200 ms).
            assert!(check(ms).validate().is_ok(), "{ms}");
        }
        let bad_url = FeedConfig { url: "ftp://x/".into(), ..check(0) };
        assert_eq!(bad_url.validate_user_settings().unwrap_err().field(), "url");
    }

    #[test]
    fn headers_parse_like_curl_and_are_checked() {
        let h = Header::parse("Authorization: Bearer abc").unwrap();
        assert_eq!((h.name.as_str(), h.value.as_str()), ("Authorization", "Bearer abc"));
        let h = Header::parse("X-Trace:1").unwrap();
        assert_eq!((h.name.as_str(), h.value.as_str()), ("X-Trace", "1"));
        let h = Header::parse("X-Url: http://a:b@c/").unwrap();
        assert_eq!(h.value, "http://a:b@c/", "split at the first colon");
        let h = Header::parse("X-Empty:").unwrap();
        assert_eq!(h.value, "");
        let e = Header::parse("NoColonHere").unwrap_err();
        assert_eq!(e, ConfigError::HeaderSyntax("NoColonHere".into()));
        assert_eq!(e.field(), "headers");
        assert!(e.to_string().starts_with("malformed header \"NoColonHere\""), "{e}");
        assert_eq!(Header::parse("a b: x").unwrap_err(), ConfigError::HeaderName("a b".into()));
        assert_eq!(Header::parse(": x").unwrap_err(), ConfigError::HeaderName("".into()));
        assert_eq!(Header::parse("a: x\u{7}y").unwrap_err(), ConfigError::HeaderValue("a".into()));
    }

    #[test]
    fn an_mcp_feed_posts_its_body_or_listens_with_get() {
        let mcp = |method: &str, body: Option<&str>| FeedConfig {
            mcp: true,
            method: method.into(),
            body: body.map(str::to_owned),
            ..FeedConfig::new("http://example.test/mcp")
        };
        let call = Some(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#);
        assert!(mcp("POST", call).validate().is_ok());
        assert!(mcp("post", call).validate().is_ok(), "a method's case does not matter here");
        assert!(mcp("GET", None).validate().is_ok());
        let e = mcp("GET", call).validate().unwrap_err();
        assert_eq!(e.field(), "mcp");
        assert_eq!(
            e.to_string(),
            "an MCP feed POSTs its body to the server: use the method POST, not GET, or turn MCP off"
        );
        let e = mcp("POST", None).validate().unwrap_err();
        assert_eq!(e.field(), "mcp");
        assert_eq!(
            e.to_string(),
            "an MCP feed without a body listens for the server's messages with GET: use the method GET, not POST, \
             or give it a body to POST"
        );
        assert_eq!(mcp("PUT", call).validate().unwrap_err().field(), "mcp");
        // Without `mcp`, any method goes with any body.
        let plain = FeedConfig { mcp: false, ..mcp("PUT", call) };
        assert!(plain.validate().is_ok());
    }

    #[test]
    fn mcp_implies_json_rpc_columns_and_links_its_initialize() {
        let mut c = FeedConfig::new("http://example.test/mcp");
        assert!(!c.shows_jsonrpc());
        c.jsonrpc = true;
        assert!(c.shows_jsonrpc());
        c = FeedConfig {
            mcp: true,
            method: "POST".into(),
            body: Some(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#.into()),
            ..c
        };
        c.jsonrpc = false;
        assert!(c.shows_jsonrpc(), "mcp shows the columns without setting jsonrpc");
        assert!(!c.jsonrpc);
        let sent = c.sent_requests();
        assert_eq!(sent.method_of("1"), Some("tools/call"));
        assert_eq!(sent.method_of(super::super::mcp::INITIALIZE_ID), Some("initialize"));
        assert_eq!(FeedConfig { mcp: false, ..c }.sent_requests().method_of(super::super::mcp::INITIALIZE_ID), None);
        // mcp changes the connection; jsonrpc only what is shown.
        let base = FeedConfig::new("http://example.test/mcp");
        assert!(base.connects_like(&FeedConfig { jsonrpc: true, ..base.clone() }));
        assert!(!base.connects_like(&FeedConfig { mcp: true, ..base.clone() }));
    }

    #[test]
    fn transport_settings_are_checked_and_name_their_field() {
        let with = |transport: Transport, f: fn(&mut FeedConfig)| {
            let mut c = FeedConfig { transport, ..FeedConfig::new("http://example.test/x") };
            f(&mut c);
            c.validate().map(|_| ()).map_err(|e| (e.field(), e.to_string()))
        };
        use Transport::{LongPoll, Poll, Sse, WebSocket};
        assert_eq!(with(WebSocket, |c| c.url = "wss://example.test/ws".into()), Ok(()));
        assert_eq!(with(WebSocket, |c| c.url = "ws://example.test/ws".into()), Ok(()));
        assert_eq!(with(Sse, |c| c.url = "ws://example.test/ws".into()).unwrap_err().0, "url");
        assert_eq!(with(LongPoll, |c| c.url = "wss://example.test/ws".into()).unwrap_err().0, "url");
        assert_eq!(
            with(WebSocket, |c| c.method = "POST".into()),
            Err(("method", "a WebSocket opens with GET, not POST: send messages with send_on_open instead".into()))
        );
        assert_eq!(with(WebSocket, |c| c.body = Some("{}".into())).unwrap_err().0, "body");
        assert_eq!(
            with(WebSocket, |c| (c.mcp, c.method) = (true, "GET".into())).unwrap_err().0,
            "mcp",
            "MCP is an SSE feed"
        );
        assert_eq!(with(LongPoll, |c| c.body = Some("{}".into())), Ok(()), "long polling may POST a body");
        assert_eq!(with(Poll, |c| c.type_path = "a[".into()).unwrap_err().0, "type_path");
        assert_eq!(with(Poll, |c| c.type_path = "event.type".into()), Ok(()));
        assert_eq!(
            with(LongPoll, |c| c.cursor_from = "next".into()),
            Err((
                "cursor_param",
                "a cursor needs somewhere to go: set cursor_param (a query parameter) or cursor_header".into()
            ))
        );
        assert_eq!(with(LongPoll, |c| (c.cursor_from, c.cursor_param) = ("next".into(), "since".into())), Ok(()));
        assert_eq!(
            with(LongPoll, |c| (c.cursor_from, c.cursor_header) = ("next".into(), "bad header".into())).unwrap_err().0,
            "cursor_header"
        );
        assert_eq!(with(Poll, |c| c.poll_interval_ms = 5).unwrap_err().0, "poll_interval_ms");
        assert_eq!(with(Sse, |c| c.poll_interval_ms = 5), Ok(()), "only a polling feed polls");
        let fast = FeedConfig { transport: Poll, poll_interval_ms: 100, ..FeedConfig::new("http://example.test/x") };
        assert!(fast.validate().is_ok());
        assert_eq!(fast.validate_user_settings().unwrap_err().field(), "poll_interval_ms");
        let c: FeedConfig = serde_json::from_str(r#"{"url":"ws://x.test/","transport":"websocket"}"#).unwrap();
        assert_eq!(c.transport, WebSocket);
        let c: FeedConfig = serde_json::from_str(r#"{"url":"http://x.test/","transport":"long-poll"}"#).unwrap();
        assert_eq!((c.transport, c.poll_interval_ms), (LongPoll, 5000));
        assert_eq!("ws".parse::<Transport>(), Ok(WebSocket));
        assert!("carrier-pigeon".parse::<Transport>().is_err());
    }

    #[test]
    fn config_deserializes_with_defaults_for_missing_fields() {
        let c: FeedConfig = serde_json::from_str(r#"{"url":"https://x.test/s","mode":"browser"}"#).unwrap();
        assert_eq!(c.mode, Mode::Browser);
        assert_eq!(c.retry_ms, 3000);
    }
}
