//! What a feed subscribes to and how it reconnects, validated once at the boundary.

use serde::{Deserialize, Serialize};

use crate::sse::Limits;

/// How a feed reacts to failures.
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// A feed's settings. `Default` gives a GET in `persistent` mode with the spec's 3 s reconnection
/// time; call [`FeedConfig::validate`] before use (the hub and the connection do).
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
        }
    }
}

/// Why a [`FeedConfig`] was refused; [`ConfigError::field`] names the setting for a form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("URL scheme must be http or https, not {0:?}")]
    Scheme(String),
    #[error("invalid HTTP method {0:?}: use a token such as GET or POST")]
    Method(String),
    #[error("invalid header name {0:?}")]
    HeaderName(String),
    #[error("invalid value for header {0:?}: line breaks and control characters are not allowed")]
    HeaderValue(String),
    #[error("the last event ID cannot contain NUL, CR or LF")]
    LastEventId,
    #[error("{field} must be at least {min}")]
    TooSmall { field: &'static str, min: u64 },
}

impl ConfigError {
    /// The [`FeedConfig`] field this error is about.
    pub fn field(&self) -> &'static str {
        match self {
            ConfigError::Url { .. } | ConfigError::Scheme(_) => "url",
            ConfigError::Method(_) => "method",
            ConfigError::HeaderName(_) | ConfigError::HeaderValue(_) => "headers",
            ConfigError::LastEventId => "last_event_id",
            ConfigError::TooSmall { field, .. } => field,
        }
    }
}

impl FeedConfig {
    /// A default config for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        FeedConfig { url: url.into(), ..FeedConfig::default() }
    }

    /// Checks every field; the first problem found is returned.
    pub fn validate(&self) -> Result<url::Url, ConfigError> {
        let parsed = url::Url::parse(self.url.trim())
            .map_err(|e| ConfigError::Url { url: self.url.clone(), reason: e.to_string() })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ConfigError::Scheme(parsed.scheme().to_owned()));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(ConfigError::Url { url: self.url.clone(), reason: "no host".into() });
        }
        if reqwest::Method::from_bytes(self.method.as_bytes()).is_err() || self.method.is_empty() {
            return Err(ConfigError::Method(self.method.clone()));
        }
        for h in &self.headers {
            if reqwest::header::HeaderName::from_bytes(h.name.as_bytes()).is_err() {
                return Err(ConfigError::HeaderName(h.name.clone()));
            }
            if reqwest::header::HeaderValue::from_str(&h.value).is_err() {
                return Err(ConfigError::HeaderValue(h.name.clone()));
            }
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
        Ok(parsed)
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
    }

    #[test]
    fn config_deserializes_with_defaults_for_missing_fields() {
        let c: FeedConfig = serde_json::from_str(r#"{"url":"https://x.test/s","mode":"browser"}"#).unwrap();
        assert_eq!(c.mode, Mode::Browser);
        assert_eq!(c.retry_ms, 3000);
    }
}
