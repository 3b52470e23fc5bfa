//! End-to-end ingest over loopback: a raw HTTP/1.1 server in this file streams pre-encoded
//! demo-style 100-byte events as fast as the socket takes them; a `Hub` feed (browser mode)
//! requests, parses and keeps them in its history. Timed from the server's first response byte
//! to the moment the hub has counted every event, so client setup and connect are not included.
//!
//! `cargo bench -p feedscope-core --bench ingest`; figures and their reading in docs/PERFORMANCE.md.

mod common;

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use feedscope_core::{FeedConfig, HistoryLimits, Hub, Mode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

/// The server hands the socket this much at a time.
const WRITE: usize = 256 << 10;

/// Events per run: 200 000 when measuring, a few thousand when criterion only checks that the
/// benchmark runs (`cargo test --benches`, or `cargo bench -- --test`).
fn event_count() -> usize {
    let args: Vec<String> = std::env::args().collect();
    let measuring = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
    if measuring {
        200_000
    } else {
        5_000
    }
}

/// Answers every request with `body` as a close-delimited `text/event-stream` response, and
/// reports on `started` the instant it began writing the response.
async fn serve(body: Arc<Vec<u8>>, started: mpsc::UnboundedSender<Instant>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let body = body.clone();
            let started = started.clone();
            tokio::spawn(async move {
                let _ = respond(sock, &body, &started).await;
            });
        }
    });
    addr
}

async fn respond(mut sock: TcpStream, body: &[u8], started: &mpsc::UnboundedSender<Instant>) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = sock.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    sock.set_nodelay(true)?;
    let _ = started.send(Instant::now());
    sock.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n",
    )
    .await?;
    for chunk in body.chunks(WRITE) {
        sock.write_all(chunk).await?;
    }
    sock.shutdown().await
}

/// How a run learns that every event is in.
#[derive(Clone, Copy)]
enum Watch {
    /// Polls `hub.stats(id).events` every millisecond: the engine alone.
    Stats,
    /// Drains a subscription as the app's IPC bridge does: the engine plus one live subscriber.
    Subscriber,
}

/// One run: a fresh hub, one feed, the whole body ingested. Returns the time from the server's
/// first response byte to the last event counted.
async fn ingest_once(
    addr: SocketAddr,
    started: &mut mpsc::UnboundedReceiver<Instant>,
    n: usize,
    watch: Watch,
) -> Duration {
    let hub = Hub::new();
    let config = FeedConfig {
        mode: Mode::Browser,
        // Longer than any run: the feed must not reconnect once the server closes.
        retry_ms: 3_600_000,
        read_timeout_ms: 0,
        jitter: false,
        ..FeedConfig::new(format!("http://{addr}/events"))
    };
    hub.add("bench", config, HistoryLimits { max_records: n + 16, max_bytes: 1 << 30 }).expect("valid feed");
    let sub = matches!(watch, Watch::Subscriber).then(|| hub.subscribe(Some("bench"), n + 16));
    hub.start("bench").expect("feed exists");
    let t0 = tokio::time::timeout(Duration::from_secs(30), started.recv())
        .await
        .expect("the feed connects within 30 s")
        .expect("server is running");
    let deadline = t0 + Duration::from_secs(120);
    match watch {
        Watch::Stats => {
            while hub.stats("bench").expect("feed exists").events < n as u64 {
                assert!(Instant::now() < deadline, "ingest stalled");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        Watch::Subscriber => {
            let sub = sub.expect("subscribed above");
            let mut events = 0;
            while events < n {
                tokio::time::timeout_at(deadline.into(), sub.ready()).await.expect("ingest stalled");
                for r in sub.drain(usize::MAX) {
                    if matches!(r.body, feedscope_core::Body::Event { .. }) {
                        events += 1;
                    }
                    black_box(r);
                }
            }
        }
    }
    let elapsed = t0.elapsed();
    hub.stop("bench").expect("feed exists");
    assert_eq!(hub.stats("bench").expect("feed exists").events, n as u64);
    elapsed
}

fn ingest(c: &mut Criterion) {
    let n = event_count();
    let body = Arc::new(common::small_events(n).0);
    let rt = Runtime::new().expect("tokio runtime");
    let (tx, mut started) = mpsc::unbounded_channel();
    let addr = rt.block_on(serve(body.clone(), tx));

    let mut group = c.benchmark_group("ingest_loopback_100B_events");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::ElementsAndBytes { elements: n as u64, bytes: body.len() as u64 });
    for (name, watch) in [("hub_stats", Watch::Stats), ("hub_and_subscriber", Watch::Subscriber)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += rt.block_on(ingest_once(addr, &mut started, n, watch));
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
