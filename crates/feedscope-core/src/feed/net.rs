//! What the transports share below the records: TLS settings (a WebSocket's own, a polling
//! feed's keep-alive client), the count of connections opened and of bytes on the wire.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use reqwest::header::{HeaderMap, ACCEPT, CONTENT_LENGTH, HOST, USER_AGENT};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::config::FeedConfig;
use super::ending::{error_chain, Ending};

/// The `User-Agent` of every request and handshake.
pub(super) const USER_AGENT_VALUE: &str = concat!("feedscope/", env!("CARGO_PKG_VERSION"));

/// The roots a certificate is checked against, loaded once: the platform's (as reqwest's
/// `rustls-tls-native-roots`) and Mozilla's (as its `rustls-tls-webpki-roots`).
fn roots() -> Arc<rustls::RootCertStore> {
    static ROOTS: OnceLock<Arc<rustls::RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            // A platform store that fails to load (no certificates installed) leaves Mozilla's.
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
            Arc::new(roots)
        })
        .clone()
}

/// The TLS client settings: verified against [`roots`], or (`insecure`) accepting any
/// certificate; ALPN offers `alpn`, in order. Built once per combination.
pub(super) fn tls_config(insecure: bool, alpn: Alpn) -> Result<Arc<rustls::ClientConfig>, Ending> {
    type Cache = std::sync::Mutex<std::collections::HashMap<(bool, Alpn), Arc<rustls::ClientConfig>>>;
    static CONFIGS: OnceLock<Cache> = OnceLock::new();
    let mut configs = CONFIGS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(c) = configs.get(&(insecure, alpn)) {
        return Ok(c.clone());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Ending::Client { chain: error_chain(&e) })?;
    let mut config = if insecure {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider))).with_no_client_auth()
    } else {
        builder.with_root_certificates(roots()).with_no_client_auth()
    };
    config.alpn_protocols = match alpn {
        Alpn::Http => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        Alpn::Http1 => vec![b"http/1.1".to_vec()],
    };
    let config = Arc::new(config);
    configs.insert((insecure, alpn), config.clone());
    Ok(config)
}

/// What a TLS connection offers with ALPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Alpn {
    /// HTTP/2 or HTTP/1.1, as a browser's `fetch`.
    Http,
    /// HTTP/1.1 only: a WebSocket's handshake is an HTTP/1.1 upgrade.
    Http1,
}

/// The `insecure` setting: any certificate is taken, but the handshake's signatures are still
/// checked (a peer must hold the key of the certificate it shows).
#[derive(Debug)]
struct AcceptAnyCert(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The HTTP client of one polling or long-polling feed: it keeps connections alive, as a
/// browser's `fetch` does, and counts in `connections` every connection it opens. Its own (not
/// shared with other feeds), so that the count is the feed's; the TLS settings are shared, so
/// building one is cheap.
pub(super) fn keep_alive_client(config: &FeedConfig, connections: Arc<AtomicU64>) -> Result<reqwest::Client, Ending> {
    let tls = tls_config(config.insecure, Alpn::Http)?;
    reqwest::Client::builder()
        .use_preconfigured_tls(rustls::ClientConfig::clone(&tls))
        .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
        .user_agent(USER_AGENT_VALUE)
        .connector_layer(CountConnects(connections))
        .build()
        .map_err(|e| Ending::Client { chain: error_chain(&e) })
}

/// A connector layer that counts the connections made (those that succeed).
#[derive(Debug, Clone)]
struct CountConnects(Arc<AtomicU64>);

impl<S> tower_layer::Layer<S> for CountConnects {
    type Service = Counted<S>;
    fn layer(&self, inner: S) -> Counted<S> {
        Counted { inner, count: self.0.clone() }
    }
}

#[derive(Debug, Clone)]
struct Counted<S> {
    inner: S,
    count: Arc<AtomicU64>,
}

impl<S, R> tower_service::Service<R> for Counted<S>
where
    S: tower_service::Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        let connecting = self.inner.call(req);
        let count = self.count.clone();
        Box::pin(async move {
            let conn = connecting.await;
            if conn.is_ok() {
                count.fetch_add(1, Ordering::Relaxed);
            }
            conn
        })
    }
}

/// A stream that counts the bytes read from it and written to it: a WebSocket's handshake and
/// frames (its TLS records are below it, not counted).
pub(super) struct CountingStream<S> {
    inner: S,
    bytes: Arc<AtomicU64>,
}

impl<S> CountingStream<S> {
    pub(super) fn new(inner: S, bytes: Arc<AtomicU64>) -> Self {
        CountingStream { inner, bytes }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for CountingStream<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len().saturating_sub(before);
        self.bytes.fetch_add(read as u64, Ordering::Relaxed);
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for CountingStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = polled {
            self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The size of a request's head and body in its HTTP/1.1 form: the request line, the headers the
/// engine sets and those the client adds (`Host`, `User-Agent`, `Accept: */*` when none was set,
/// `Content-Length` with a body), the blank line, the body. HTTP/2 compresses headers, so there it
/// is an upper bound.
pub(super) fn request_size(method: &str, url: &str, headers: &HeaderMap, body_len: Option<usize>) -> u64 {
    let parsed = url::Url::parse(url).ok();
    let target = parsed.as_ref().map_or(1, |u| u.path().len() + u.query().map_or(0, |q| q.len() + 1));
    let host = parsed
        .as_ref()
        .map_or(0, |u| u.host_str().map_or(0, str::len) + u.port().map_or(0, |p| 1 + p.to_string().len()));
    // "GET /path HTTP/1.1\r\n"
    let mut n = method.len() + 1 + target + " HTTP/1.1\r\n".len();
    let header = |name: &str, value_len: usize| name.len() + 2 + value_len + 2;
    n += header(HOST.as_str(), host);
    if !headers.contains_key(USER_AGENT) {
        n += header(USER_AGENT.as_str(), USER_AGENT_VALUE.len());
    }
    if !headers.contains_key(ACCEPT) {
        n += header(ACCEPT.as_str(), 3);
    }
    if let Some(len) = body_len {
        if !headers.contains_key(CONTENT_LENGTH) {
            n += header(CONTENT_LENGTH.as_str(), len.to_string().len());
        }
        n += len;
    }
    n += headers.iter().map(|(k, v)| header(k.as_str(), v.len())).sum::<usize>();
    (n + 2) as u64
}

/// The size of a response's head in its HTTP/1.1 form: `HTTP/1.1 200 OK\r\n`, each header as
/// `name: value\r\n`, the blank line. The body is counted as it arrives.
pub(super) fn response_head_size(status: u16, headers: &HeaderMap) -> u64 {
    let reason = reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).map_or(0, str::len);
    let line = "HTTP/1.1 200 ".len() + reason + 2;
    let fields: usize = headers.iter().map(|(k, v)| k.as_str().len() + 2 + v.len() + 2).sum();
    (line + fields + 2) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn a_request_is_counted_in_its_http1_form() {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        let ua = USER_AGENT_VALUE.len();
        // GET /s?a=1 HTTP/1.1 | host: x.test:8080 | user-agent | accept | blank line
        let want = "GET /s?a=1 HTTP/1.1\r\n".len()
            + "host: x.test:8080\r\n".len()
            + "user-agent: \r\n".len()
            + ua
            + "accept: text/event-stream\r\n".len()
            + 2;
        assert_eq!(request_size("GET", "http://x.test:8080/s?a=1", &h, None), want as u64);
        let with_body = request_size("POST", "http://x.test:8080/s?a=1", &h, Some(10));
        assert_eq!(with_body, want as u64 + 1 + "content-length: 10\r\n".len() as u64 + 10);
        let plain = request_size("GET", "https://x.test/", &HeaderMap::new(), None);
        assert_eq!(plain, ("GET / HTTP/1.1\r\nhost: x.test\r\naccept: */*\r\nuser-agent: \r\n".len() + ua + 2) as u64);
    }

    #[test]
    fn a_response_head_is_counted_in_its_http1_form() {
        let mut h = HeaderMap::new();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        let want = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n".len();
        assert_eq!(response_head_size(200, &h), want as u64);
        assert_eq!(response_head_size(599, &HeaderMap::new()), "HTTP/1.1 599 \r\n\r\n".len() as u64);
    }

    #[test]
    fn tls_settings_are_built_once_and_offer_the_right_protocols() {
        let a = tls_config(false, Alpn::Http).unwrap();
        let b = tls_config(false, Alpn::Http).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
        assert_eq!(tls_config(true, Alpn::Http1).unwrap().alpn_protocols, [b"http/1.1".to_vec()]);
    }
}
