//! Times the merged timeline (every feed's records in arrival order) with 100 live feeds in one
//! hub, each filled to its history cap of 10,000 records (about 1M records in all), then fed about
//! 20 events a second each while the queries run. The server is the test kit's loopback fixture
//! (one HTTP/1.1 connection per feed, demo-like events: `tick`, `price` with JSON data, `chat`,
//! `message`); the hub runs on a 2-worker tokio runtime, the queries on the main thread.
//! The figures go in docs/PERFORMANCE.md.
//! Run: `cargo run --release -p feedscope-core --example merged_100 [FEEDS] [CAP] [RATE]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use feedscope_core::hub::MergedPage;
use feedscope_core::{FeedConfig, HistoryLimits, Hub, Matcher, Mode, Query};
use feedscope_testkit::{Conn, Fixture, Reply};

/// Events the server sends each feed at once, before its steady rate: a little past the cap, so
/// every history is full and has evicted some.
fn prefill(cap: usize) -> u64 {
    cap as u64 + cap as u64 / 20
}

fn event(seq: u64) -> String {
    let data = match seq % 4 {
        0 => format!(r#"{{"seq":{seq},"n":{seq}}}"#),
        1 => {
            let cents = 9_000 + (seq * 7_919) % 4_000; // 90.00 ..= 129.99
            format!(
                r#"{{"seq":{seq},"symbol":"FSC","price":{}.{:02},"change":-0.07,"src":"demo"}}"#,
                cents / 100,
                cents % 100
            )
        }
        2 => format!(r#"{{"seq":{seq},"user":"ada","text":"hello number {seq}"}}"#),
        _ => format!("plain message {seq}"),
    };
    let ty = ["tick", "price", "chat", "message"][(seq % 4) as usize];
    format!("id: {seq}\nevent: {ty}\ndata: {data}\n\n")
}

/// One feed's connection: the prefill in 64-event chunks, then `rate` events a second.
async fn serve(conn: Conn, cap: usize, rate: f64) {
    let mut seq = 0;
    while seq < prefill(cap) {
        let mut chunk = String::new();
        for _ in 0..64 {
            seq += 1;
            chunk.push_str(&event(seq));
        }
        conn.send(&chunk);
        tokio::task::yield_now().await;
    }
    let mut every = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    loop {
        every.tick().await;
        if conn.is_closed() {
            return;
        }
        seq += 1;
        conn.send(&event(seq));
    }
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Runs `f` once (the first call), then `n` more times `pause` apart while the feeds go on;
/// prints the first call, the median and the slowest of the rest.
fn time(name: &str, n: usize, pause: Duration, mut f: impl FnMut() -> MergedPage) {
    let started = Instant::now();
    let page = f();
    let first = started.elapsed();
    let mut times = Vec::with_capacity(n);
    let mut last = page.clone();
    for _ in 0..n {
        std::thread::sleep(pause);
        let started = Instant::now();
        last = f();
        times.push(started.elapsed());
    }
    times.sort();
    let median = times.get(n / 2).copied().unwrap_or_default();
    let max = times.last().copied().unwrap_or_default();
    println!(
        "{name:<58} first {:>8.3} ms | then median {:>7.3} ms, max {:>7.3} ms ({n} calls) | total {} → {}, {} rows",
        ms(first),
        ms(median),
        ms(max),
        page.total,
        last.total,
        last.rows.len()
    );
}

fn compile(q: Query) -> Matcher {
    q.compile().expect("a valid query")
}

fn main() {
    let arg = |n: usize, default: f64| std::env::args().nth(n).and_then(|a| a.parse().ok()).unwrap_or(default);
    let feeds = arg(1, 100.0) as usize;
    let cap = arg(2, 10_000.0) as usize;
    let rate = arg(3, 20.0);
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    let hub = Hub::with_runtime(runtime.handle().clone());
    let started = Instant::now();
    runtime.block_on(async {
        let fixture = Arc::new(Fixture::interactive(|_, _| Reply::sse_steps(Vec::new())).await);
        let limits = HistoryLimits { max_records: cap, max_bytes: 256 << 20 };
        for k in 0..feeds {
            let id = format!("feed{k:03}");
            let config = FeedConfig { mode: Mode::Persistent, ..FeedConfig::new(fixture.url(&format!("/{k}"))) };
            hub.add(&id, config, limits).expect("a valid feed");
            hub.start(&id).expect("added");
        }
        for _ in 0..feeds {
            let conn = fixture.next().await;
            tokio::spawn(serve(conn, cap, rate));
        }
        // The fixture serves until the runtime ends.
        std::mem::forget(fixture);
    });
    let full = feeds * cap;
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let page = hub.query_merged_tail(None, 0);
        // Each history also holds its connecting/open records: full at the cap.
        if page.total >= full {
            println!(
                "{feeds} feeds filled: {} records retained, {} evicted, in {:.1} s; RSS {:.0} MiB",
                page.total,
                page.evicted,
                started.elapsed().as_secs_f64(),
                rss_mib()
            );
            break;
        }
    }
    let events = |hub: &Hub| hub.ids().iter().map(|f| hub.stats(f).unwrap().events).sum::<u64>();
    let (events_before, measure) = (events(&hub), Instant::now());

    let pause = Duration::from_millis(100);
    let text = compile(Query { text: "hello number 1".into(), ..Query::default() });
    let lang =
        compile(Query { text: r#"type == "price" && data.price > 100"#.into(), query: true, ..Query::default() });
    time("query_merged_tail(None, 200)", 50, pause, || hub.query_merged_tail(None, 200));
    time("query_merged_tail(text \"hello number 1\", 200)", 50, pause, || hub.query_merged_tail(Some(&text), 200));
    time("query_merged_tail(query `type == \"price\" && data.price > 100`, 200)", 50, pause, || {
        hub.query_merged_tail(Some(&lang), 200)
    });
    // The same filter compiled anew at every call, as the app does: its cached matches are reused.
    time("query_merged_tail(query, compiled at each call, 200)", 20, pause, || {
        let lang =
            compile(Query { text: r#"type == "price" && data.price > 100"#.into(), query: true, ..Query::default() });
        hub.query_merged_tail(Some(&lang), 200)
    });
    let half = hub.query_merged_tail(None, 0).total / 2;
    time(&format!("query_merged(None, offset {half}, 200)"), 20, pause, || hub.query_merged(None, half, 200));
    let half_lang = hub.query_merged_tail(Some(&lang), 0).total / 2;
    time(&format!("query_merged(query, offset {half_lang}, 200)"), 20, pause, || {
        hub.query_merged(Some(&lang), half_lang, 200)
    });
    time("query_merged(None, offset 0, 200)", 20, pause, || hub.query_merged(None, 0, 200));
    // Back to the text filter: its matches were dropped for the query's, so it scans again.
    time("query_merged_tail(text, again after another filter, 200)", 5, pause, || {
        hub.query_merged_tail(Some(&text), 200)
    });

    let page = hub.query_merged(Some(&lang), half_lang, 1);
    let (feed, index, _) = page.rows[0].clone();
    let started = Instant::now();
    let at = hub.merged_position(&feed, index, Some(&lang));
    println!("merged_position(query) of {feed}/{index}: {at:?} in {:.3} ms", ms(started.elapsed()));
    let page = hub.query_merged(None, half, 1);
    let (feed, index, _) = page.rows[0].clone();
    let started = Instant::now();
    let at = hub.merged_position(&feed, index, None);
    println!("merged_position(None) of {feed}/{index}: {at:?} in {:.3} ms", ms(started.elapsed()));
    let started = Instant::now();
    let snapshot = hub.merged_snapshot();
    println!("merged_snapshot(): {} records in {:.1} ms", snapshot.len(), ms(started.elapsed()));
    drop(snapshot);

    let took = measure.elapsed().as_secs_f64();
    println!(
        "while measuring: {:.0} events/s over {feeds} feeds ({took:.1} s); RSS {:.0} MiB",
        (events(&hub) - events_before) as f64 / took,
        rss_mib()
    );
    hub.stop_all();
    drop(hub);
    runtime.shutdown_timeout(Duration::from_secs(1));
}
