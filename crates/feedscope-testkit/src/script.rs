//! A scripted HTTP/1.1 server on 127.0.0.1: each request gets the reply the test's script
//! returns, byte for byte, so tests control status, headers, pacing and drops. An interactive
//! fixture also hands each request to the test as a [`Conn`] that keeps writing to it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::HANG_GUARD;

/// A request as the server read it; header names are lower-case.
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
    /// The steps this channel delivers, as they come, until every sender is gone (then the steps
    /// after this one) or the client goes away (then nothing more). Dropping the receiver is how
    /// the sender learns the connection ended. [`Fixture::interactive`] ends each reply with one.
    Live(mpsc::UnboundedReceiver<Step>),
}

/// `bytes` one byte at a time, `every` apart (each byte its own chunk, so its own read).
pub fn drip(bytes: &[u8], every: Duration) -> Vec<Step> {
    bytes.iter().flat_map(|b| [Step::Send(vec![*b]), Step::Wait(every)]).collect()
}

/// What the server answers: a status line and headers (none when `status` is 0), then `steps`.
/// The body is chunked unless it is [`Reply::until_close`]; the server adds the framing headers.
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

/// One request to an interactive [`Fixture`], still open: what the test sends goes out after the
/// script's steps. Dropping it (or [`Conn::close`]) ends the reply.
pub struct Conn {
    pub req: Req,
    steps: mpsc::UnboundedSender<Step>,
}

impl Conn {
    /// Writes `text` to the body; fails the test if the connection has ended.
    pub fn send(&self, text: &str) {
        self.step(Step::Send(text.as_bytes().to_vec()));
    }

    /// Runs `step` on this connection; fails the test if the connection has ended.
    pub fn step(&self, step: Step) {
        assert!(self.steps.send(step).is_ok(), "the connection for {} has already ended", self.req.path);
    }

    /// Ends the response body (the client sees its end).
    pub fn close(self) {}

    /// Whether the connection has ended (the client went away, or the reply is over).
    pub fn is_closed(&self) -> bool {
        self.steps.is_closed()
    }

    /// Waits until the client has closed the connection (fails after [`HANG_GUARD`]).
    pub async fn closed_by_client(self) {
        tokio::time::timeout(HANG_GUARD, self.steps.closed()).await.expect("the client closed the connection");
    }
}

struct Shared {
    script: Box<Script>,
    requests: Mutex<Vec<Req>>,
}

/// The accept loop of one listening period (between [`Fixture::pause`] and [`Fixture::resume`]).
struct Serving {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// The server; it runs until the test's runtime ends, or [`Fixture::pause`].
pub struct Fixture {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    /// Interactive fixtures only: the requests not yet taken by [`Fixture::next`].
    conns: Option<tokio::sync::Mutex<mpsc::UnboundedReceiver<Conn>>>,
    serving: Mutex<Option<Serving>>,
}

impl Fixture {
    /// Serves request n (0-based, in arrival order) with `script(n, &req)`.
    pub async fn start(script: impl Fn(usize, &Req) -> Reply + Send + Sync + 'static) -> Fixture {
        Fixture::launch(Box::new(script), None).await
    }

    /// Serves request n with `script(n, &req)` and then with what the test sends through the
    /// request's [`Conn`], taken with [`Fixture::next`] in arrival order; the reply ends when
    /// the `Conn` is closed or dropped, or when the client goes away.
    pub async fn interactive(script: impl Fn(usize, &Req) -> Reply + Send + Sync + 'static) -> Fixture {
        let (conns_tx, conns) = mpsc::unbounded_channel();
        let steer = move |n: usize, req: &Req| {
            let mut reply = script(n, req);
            let (steps, live) = mpsc::unbounded_channel();
            reply.steps.push(Step::Live(live));
            // The test may have stopped taking requests: then the reply ends after the script's.
            let _ = conns_tx.send(Conn { req: req.clone(), steps });
            reply
        };
        Fixture::launch(Box::new(steer), Some(tokio::sync::Mutex::new(conns))).await
    }

    async fn launch(script: Box<Script>, conns: Option<tokio::sync::Mutex<mpsc::UnboundedReceiver<Conn>>>) -> Fixture {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared { script, requests: Mutex::new(Vec::new()) });
        let serving = Mutex::new(Some(Serving::spawn(listener, shared.clone())));
        Fixture { addr, shared, conns, serving }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Req> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The next request of an interactive fixture, waiting for it (fails after [`HANG_GUARD`]).
    pub async fn next(&self) -> Conn {
        tokio::time::timeout(HANG_GUARD, self.wait_next())
            .await
            .expect("a client sent a request to the fixture")
            .expect("the fixture is running")
    }

    /// The next request of an interactive fixture, however long it takes; `None` once the server
    /// has stopped for good.
    pub async fn wait_next(&self) -> Option<Conn> {
        let conns = self.conns.as_ref().expect("only a Fixture::interactive hands out connections");
        conns.lock().await.recv().await
    }

    /// Watches for `quiet` and fails the test if a request arrives meanwhile, or (interactive)
    /// if one came earlier and was never taken with [`Fixture::next`].
    pub async fn assert_no_new_request(&self, quiet: Duration) {
        let before = self.requests().len();
        tokio::time::sleep(quiet).await;
        let requests = self.requests();
        assert_eq!(requests.len(), before, "unexpected request to the fixture: {:?}", requests.last());
        if let Some(conns) = &self.conns {
            if let Ok(conn) = conns.lock().await.try_recv() {
                panic!("unexpected request to the fixture: {:?}", conn.req);
            }
        }
    }

    /// Goes down like a crashed server: stops listening (new connections are refused) and cuts
    /// every open connection. Returns once all of them are closed.
    pub async fn pause(&self) {
        let serving = self.serving.lock().unwrap().take();
        if let Some(serving) = serving {
            serving.stop.cancel();
            let _ = serving.task.await;
        }
    }

    /// Listens again on the same address after [`Fixture::pause`].
    pub async fn resume(&self) {
        assert!(self.serving.lock().unwrap().is_none(), "the fixture is already listening");
        // Tokio sets SO_REUSEADDR, so the connections the pause left in TIME_WAIT do not hold the port.
        let listener = TcpListener::bind(self.addr).await.expect("listen again on the same port");
        *self.serving.lock().unwrap() = Some(Serving::spawn(listener, self.shared.clone()));
    }
}

impl Serving {
    fn spawn(listener: TcpListener, shared: Arc<Shared>) -> Serving {
        let stop = CancellationToken::new();
        let task = tokio::spawn(accept_loop(listener, shared, stop.clone()));
        Serving { stop, task }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, stop: CancellationToken) {
    // The connections are owned here, so that a pause can cut them all and wait until it has.
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((sock, _)) => {
                    // Each `Send` leaves at once, in its own segment.
                    let _ = sock.set_nodelay(true);
                    conns.spawn(serve(sock, shared.clone()));
                }
                Err(_) => break,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    tokio::select! {
        _ = stop.cancelled() => {}
        _ = async { while conns.join_next().await.is_some() {} } => {}
    }
    conns.shutdown().await;
}

async fn serve(mut sock: TcpStream, shared: Arc<Shared>) {
    let Some(req) = read_request(&mut sock).await else { return };
    let n = {
        let mut r = shared.requests.lock().unwrap();
        r.push(req.clone());
        r.len() - 1
    };
    let reply = (shared.script)(n, &req);
    let _ = write_reply(&mut sock, reply).await;
}

async fn read_request(sock: &mut TcpStream) -> Option<Req> {
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

/// What comes next on a connection whose reply is running a [`Step::Live`].
enum Next {
    Step(Step),
    /// Every sender is gone: go on with the steps after the live one.
    LiveEnded,
    /// The client sent bytes after its request; they are ignored.
    Ignored,
    ClientGone,
}

async fn write_reply(sock: &mut TcpStream, reply: Reply) -> std::io::Result<()> {
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
    let mut steps = reply.steps.into_iter();
    let mut live: Option<mpsc::UnboundedReceiver<Step>> = None;
    let mut scratch = [0u8; 64];
    loop {
        let next = match live.as_mut() {
            // While waiting for the test, watch the socket: the request was read whole, so
            // reading now only ends when the client goes away.
            Some(rx) => tokio::select! {
                step = rx.recv() => step.map_or(Next::LiveEnded, Next::Step),
                n = sock.read(&mut scratch) => if matches!(n, Ok(n) if n > 0) { Next::Ignored } else { Next::ClientGone },
            },
            None => match steps.next() {
                Some(step) => Next::Step(step),
                None => break,
            },
        };
        let step = match next {
            Next::Step(step) => step,
            Next::LiveEnded => {
                live = None;
                continue;
            }
            Next::Ignored => continue,
            Next::ClientGone => return Ok(()),
        };
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
            // A live step sent live takes over from the one that sent it.
            Step::Live(rx) => live = Some(rx),
        }
    }
    if !until_close {
        sock.write_all(b"0\r\n\r\n").await?;
    }
    sock.shutdown().await
}
