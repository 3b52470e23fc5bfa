//! SSE servers for Feedscope: the live demo feed ([`demo`]) and the replay of a recorded NDJSON
//! log ([`replay`]), both plain [`axum::Router`]s that [`serve`] runs on a loopback port.
//!
//! The app starts the demo feed so a first launch shows live events; the CLI and the engine's
//! integration tests use the same servers as fixtures.

pub mod demo;
pub mod replay;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use futures_util::Stream;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};

/// How long [`Server::shutdown`] lets in-flight responses finish before dropping them. Event
/// streams never finish on their own, so this is kept short.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(100);

/// A running server bound to `addr`. Dropping it does not stop it (the server keeps running on
/// the runtime until the runtime ends); call [`Server::shutdown`] to stop it.
#[derive(Debug)]
pub struct Server {
    /// The bound address, with the real port when port 0 was asked for.
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Server {
    /// `http://{addr}{path}`; `path` should start with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stops accepting connections, closes idle ones, lets in-flight responses finish for a
    /// moment and then drops whatever is still open (event streams included). Returns once every
    /// connection is closed.
    pub async fn shutdown(self) {
        // The accept loop may already be gone if its task panicked; nothing is left to stop then.
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Binds `addr` (port 0 picks any free port) and serves `router` over HTTP/1.1 on the current
/// tokio runtime. Must be called from within a tokio runtime.
pub async fn serve(addr: SocketAddr, router: Router) -> io::Result<Server> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (stop, stop_rx) = oneshot::channel();
    let task = tokio::spawn(accept_loop(listener, router, stop_rx));
    Ok(Server { addr, stop, task })
}

async fn accept_loop(listener: TcpListener, router: Router, stop_rx: oneshot::Receiver<()>) {
    // A dropped `Server` must not stop the server: only an explicit send does.
    let stop = async move {
        if stop_rx.await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(stop);
    let (closing_tx, closing_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    conns.spawn(serve_connection(stream, router.clone(), closing_rx.clone()));
                }
                // Per-connection failures (reset before accept) and resource exhaustion (EMFILE)
                // are transient: back off briefly instead of spinning or giving up.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let _ = closing_tx.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async { while conns.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        conns.shutdown().await;
    }
}

async fn serve_connection(stream: TcpStream, router: Router, mut closing: watch::Receiver<bool>) {
    // Small event chunks should leave at once rather than wait for Nagle's algorithm.
    let _ = stream.set_nodelay(true);
    let service = TowerToHyperService::new(router);
    // With upgrades: the demo's `/ws` takes the connection over as a WebSocket.
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).with_upgrades();
    tokio::pin!(conn);
    // Connection errors (a client that went away, a body aborted on purpose by /flaky) are the
    // normal end of a connection here, not something to report.
    let closing = async move {
        // An error means the accept loop is gone: shut down just the same.
        let _ = closing.wait_for(|closing| *closing).await;
    };
    tokio::select! {
        _ = conn.as_mut() => return,
        () = closing => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

/// A `200 text/event-stream` response with `Cache-Control: no-cache` whose body is `chunks`; an
/// `Err` item aborts the connection without ending the body properly.
pub(crate) fn event_stream<S>(chunks: S) -> Response
where
    S: Stream<Item = Result<Bytes, io::Error>> + Send + 'static,
{
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        Body::from_stream(chunks),
    )
        .into_response()
}

/// A `400 Bad Request` with a plain-text explanation.
pub(crate) fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))], message)
        .into_response()
}
