//! A scripted HTTP/1.1 server on 127.0.0.1 for connection tests: each request gets the reply
//! the test's script returns, byte for byte, so tests control status, headers, pacing and drops.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use feedscope_core::{Hub, Record, Subscription};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Notify;

#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

pub enum Step {
    Send(Vec<u8>),
    Wait(Duration),
    /// Keep the connection open, sending nothing, until the client goes away.
    Hang,
    /// Close the socket mid-body (a chunked body without its last chunk: the client sees an error).
    Abort,
    /// Send a chunk header that promises more than `bytes`, then `bytes`, then close (FIN): a
    /// body cut in the middle of a chunk.
    AbortMidChunk(Vec<u8>),
    /// Reset the connection: `SO_LINGER` 0, then close, so the client gets a TCP RST, not a FIN.
    /// Anything still unsent is lost: put a [`Step::Gate`] before it to know the client has read all.
    Reset,
    /// Wait until the test calls `notify_one` on this (say, once the client has read what was sent).
    Gate(Arc<Notify>),
    /// Only as the first step (see [`Reply::until_close`]): the body has no chunked framing and no
    /// length; it ends when the server closes, and `Send` writes its bytes as they are.
    UntilClose,
}

/// `bytes` one byte at a time, `every` apart (each byte its own chunk, so its own read).
pub fn drip(bytes: &[u8], every: Duration) -> Vec<Step> {
    bytes.iter().flat_map(|b| [Step::Send(vec![*b]), Step::Wait(every)]).collect()
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub steps: Vec<Step>,
}

impl Reply {
    /// 200 `text/event-stream` with `body` in one piece, then the end of the body.
    pub fn sse(body: &str) -> Reply {
        Reply::sse_steps(vec![Step::Send(body.as_bytes().to_vec())])
    }

    pub fn sse_steps(steps: Vec<Step>) -> Reply {
        Reply { status: 200, headers: vec![("Content-Type".into(), "text/event-stream".into())], steps }
    }

    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            steps: vec![Step::Send(b"nope".to_vec())],
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn without_header(mut self, name: &str) -> Reply {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    /// The body is close-delimited (HTTP/1.1 with neither `Transfer-Encoding` nor
    /// `Content-Length`): when the steps run out the server closes, and that is a clean end of body.
    pub fn until_close(mut self) -> Reply {
        self.steps.insert(0, Step::UntilClose);
        self
    }

    /// No response at all, not even a status line: the request is read, then the connection stays
    /// open and silent until the client goes away.
    pub fn no_response() -> Reply {
        Reply { status: 0, headers: Vec::new(), steps: vec![Step::Hang] }
    }
}

type Script = dyn Fn(usize, &Req) -> Reply + Send + Sync;

pub struct Fixture {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Req>>>,
}

impl Fixture {
    /// Serves request n (0-based, in arrival order) with `script(n, &req)`.
    pub async fn start(script: impl Fn(usize, &Req) -> Reply + Send + Sync + 'static) -> Fixture {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let reqs = requests.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                // Each `Send` leaves at once, in its own segment.
                let _ = sock.set_nodelay(true);
                let script = script.clone();
                let reqs = reqs.clone();
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut sock).await else { return };
                    let n = {
                        let mut r = reqs.lock().unwrap();
                        r.push(req.clone());
                        r.len() - 1
                    };
                    let reply = script(n, &req);
                    let _ = write_reply(&mut sock, reply).await;
                });
            }
        });
        Fixture { addr, requests }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn requests(&self) -> Vec<Req> {
        self.requests.lock().unwrap().clone()
    }
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Req> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':').map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned())))
        .collect();
    let len: usize = headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    Some(Req { method, path, headers, body })
}

async fn write_reply(sock: &mut tokio::net::TcpStream, reply: Reply) -> std::io::Result<()> {
    // Status 0: no head at all, the steps write raw bytes.
    let until_close = reply.status == 0 || matches!(reply.steps.first(), Some(Step::UntilClose));
    if reply.status != 0 {
        let mut head = format!("HTTP/1.1 {} Scripted\r\n", reply.status);
        for (n, v) in &reply.headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        let has_body = reply.status != 204 && reply.status != 304 && !(300..400).contains(&reply.status);
        if !has_body {
            head.push_str("Content-Length: 0\r\n");
        } else if !until_close {
            head.push_str("Transfer-Encoding: chunked\r\n");
        }
        head.push_str("Connection: close\r\n\r\n");
        sock.write_all(head.as_bytes()).await?;
        if !has_body {
            return sock.shutdown().await;
        }
    }
    for step in reply.steps {
        match step {
            Step::Send(bytes) if bytes.is_empty() => {}
            Step::Send(bytes) if until_close => {
                sock.write_all(&bytes).await?;
                sock.flush().await?;
            }
            Step::Send(bytes) => {
                let mut chunk = format!("{:x}\r\n", bytes.len()).into_bytes();
                chunk.extend_from_slice(&bytes);
                chunk.extend_from_slice(b"\r\n");
                sock.write_all(&chunk).await?;
                sock.flush().await?;
            }
            Step::Wait(d) => tokio::time::sleep(d).await,
            Step::Hang => {
                let mut tmp = [0u8; 64];
                while sock.read(&mut tmp).await? > 0 {}
                return Ok(());
            }
            Step::Abort => return Ok(()),
            Step::AbortMidChunk(bytes) => {
                let mut chunk = format!("{:x}\r\n", bytes.len() + 100).into_bytes();
                chunk.extend_from_slice(&bytes);
                sock.write_all(&chunk).await?;
                sock.flush().await?;
                return Ok(());
            }
            Step::Reset => {
                sock.set_zero_linger()?;
                return Ok(());
            }
            Step::Gate(gate) => gate.notified().await,
            Step::UntilClose => {}
        }
    }
    if !until_close {
        sock.write_all(b"0\r\n\r\n").await?;
    }
    sock.shutdown().await
}

/// Collects records until `done` says so (or fails after 20 s, which means the engine hung).
pub async fn collect_until(sub: &Subscription, mut done: impl FnMut(&[Record]) -> bool) -> Vec<Record> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done(&out) {
        match tokio::time::timeout_at(deadline, sub.recv()).await {
            Ok(r) => out.push((*r).clone()),
            Err(_) => {
                panic!("timed out; records so far:\n{}", out.iter().map(|r| r.to_json()).collect::<Vec<_>>().join("\n"))
            }
        }
    }
    out
}

/// A hub with one feed `f` on `config`, subscribed, started.
pub fn start_feed(config: feedscope_core::FeedConfig) -> (Arc<Hub>, Subscription) {
    let hub = Hub::new();
    hub.add("f", config, Default::default()).expect("valid config");
    let sub = hub.subscribe(Some("f"), 1 << 20);
    hub.start("f").expect("feed exists");
    (hub, sub)
}

pub fn is_closed(rs: &[Record]) -> bool {
    rs.iter().any(|r| r.body.kind() == "closed")
}

pub fn count_kind(rs: &[Record], kind: &str) -> usize {
    rs.iter().filter(|r| r.body.kind() == kind).count()
}

/// A feed config for connection tests: quick, deterministic reconnections.
pub fn cfg(url: String, mode: feedscope_core::Mode) -> feedscope_core::FeedConfig {
    feedscope_core::FeedConfig { retry_ms: 20, jitter: false, mode, ..feedscope_core::FeedConfig::new(url) }
}

/// (type, id, data) of each event.
pub fn events(rs: &[Record]) -> Vec<(String, String, String)> {
    rs.iter()
        .filter_map(|r| match &r.body {
            feedscope_core::Body::Event { event_type, id, data, .. } => {
                Some((event_type.to_string(), id.to_string(), data.clone()))
            }
            _ => None,
        })
        .collect()
}
