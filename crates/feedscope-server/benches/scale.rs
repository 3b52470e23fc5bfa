//! Scale soak: many demo feeds in one `Hub`, one lossless `Subscription` per feed, for minutes.
//!
//! `cargo bench -p feedscope-server --bench scale` runs `SCALE_FEEDS` (500) feeds of the demo
//! server's `/events?rate=SCALE_RATE` (20 events/s each) for `SCALE_SECS` (120) seconds on one
//! 2-worker tokio runtime, the demo server included. Each subscription is drained by its own task,
//! which checks as it goes that every event's `seq` is the previous one + 1 (and that the demo's
//! `id` equals the `seq`: nothing was lost between the server and the hub). Every
//! `SCALE_SAMPLE_SECS` (5) it prints the events so far, RSS, CPU and the subscribers' lag. At the end
//! it stops every feed, exports each feed's retained history as NDJSON, parses it back and checks
//! that its event seqs are contiguous and end where the subscription ended, and that the hub's
//! event counters agree. It prints `PASS`/`FAIL` lines and exits with 1 on a failure.
//!
//! Other settings: `SCALE_WARMUP_SECS` (30; RSS growth is measured from the first sample at or
//! after it), `SCALE_CAP` (history records kept per feed; by default about two thirds of the
//! warm-up's events, so every history is full and evicting before RSS is first measured: a cap
//! that holds the whole run would make RSS grow with the retained records by design),
//! `SCALE_CAPACITY` (4096, each subscription's queue), `SCALE_SERVER_THREAD=1` (the demo server on
//! its own single-threaded runtime in a thread of its own, so its CPU time can be told apart),
//! `SCALE_READ_TIMEOUT_MS` (the feeds' read timeout, 60000 as by default; 0 for none),
//! `SCALE_FIRST_ID` (1; the demo's first event id, asked for with a `Last-Event-ID`: 100001 keeps
//! every id and event text the same length for the whole run, so RSS does not step up when the
//! ids of the retained events gain a digit, as they do from id 1000 on, at 50 s).
//!
//! Without `--bench` (`cargo test --benches`, `cargo test --all-targets`) it runs a short smoke
//! version instead: 20 feeds, 2 s, no RSS verdict; the environment is then ignored.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use feedscope_core::export::write_records;
use feedscope_core::ExportFormat;
use feedscope_core::{Body, FeedConfig, HistoryLimits, Hub, Mode, Record, Timestamp};
use feedscope_server::demo::{router, DemoOptions};
use feedscope_server::serve;

/// Most records one drain takes from a subscription.
const DRAIN_MAX: usize = 1024;
/// A hang, not slowness: how long the feeds may take to open, or the subscribers to finish.
const HANG_GUARD: Duration = Duration::from_secs(60);
/// Thread names, to split CPU time by reading /proc/self/task/*/stat.
const RT_THREADS: &str = "scale-rt";
const SERVER_THREAD: &str = "demo-server";

struct Settings {
    feeds: usize,
    rate: u64,
    secs: u64,
    sample_secs: u64,
    warmup_secs: u64,
    cap: usize,
    capacity: usize,
    server_thread: bool,
    /// The feeds' read timeout; 0 waits forever.
    read_timeout_ms: u64,
    /// The demo's first event id (a `Last-Event-ID` of one less); seqs still start at 1.
    first_id: u64,
    /// A real run (`--bench`) rather than the smoke run of `cargo test`.
    measuring: bool,
}

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => {
            v.trim().parse().unwrap_or_else(|_| panic!("{name} must be a whole number, not {v:?}"))
        }
        _ => default,
    }
}

impl Settings {
    fn get() -> Settings {
        let args: Vec<String> = std::env::args().collect();
        let measuring = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
        if !measuring {
            return Settings {
                feeds: 20,
                rate: 20,
                secs: 2,
                sample_secs: 1,
                warmup_secs: 1,
                cap: 100_000,
                capacity: 4096,
                server_thread: false,
                read_timeout_ms: FeedConfig::default().read_timeout_ms,
                first_id: 1,
                measuring,
            };
        }
        let rate: u64 = env_num("SCALE_RATE", 20);
        let secs: u64 = env_num("SCALE_SECS", 120);
        let warmup_secs: u64 = env_num("SCALE_WARMUP_SECS", 30.min(secs / 2));
        let default_cap = (rate * warmup_secs * 2 / 3) as usize + 8;
        Settings {
            feeds: env_num("SCALE_FEEDS", 500),
            rate,
            secs,
            sample_secs: env_num("SCALE_SAMPLE_SECS", 5).max(1),
            warmup_secs,
            cap: env_num("SCALE_CAP", default_cap).max(1),
            capacity: env_num("SCALE_CAPACITY", 4096),
            server_thread: env_num("SCALE_SERVER_THREAD", 0u8) != 0,
            read_timeout_ms: env_num("SCALE_READ_TIMEOUT_MS", FeedConfig::default().read_timeout_ms),
            first_id: env_num("SCALE_FIRST_ID", 1u64).max(1),
            measuring,
        }
    }
}

/// What one feed's subscriber saw, shared with the sampler.
#[derive(Default)]
struct Probe {
    events: AtomicU64,
    /// The last event's seq; 0 before the first.
    last_seq: AtomicU64,
    first_seq: AtomicU64,
    /// Events whose seq was not the previous one + 1.
    gaps: AtomicU64,
    /// Events whose id is not their seq (+ the id offset): the demo's ids count up as seqs do.
    id_mismatch: AtomicU64,
    reconnects: AtomicU64,
    /// When the response opened (ms since the epoch); 0 before.
    open_ms: AtomicI64,
    /// The feed closed by itself, not by the final stop.
    closed_early: AtomicBool,
}

/// Shared by all subscribers: the largest delay from a record's timestamp (taken when its bytes
/// were parsed) to its subscriber taking it, since the sampler last looked, and overall.
#[derive(Default)]
struct Lag {
    interval_ms: AtomicU64,
    max_ms: AtomicU64,
}

async fn drain(
    sub: feedscope_core::Subscription,
    id_offset: u64,
    probe: Arc<Probe>,
    lag: Arc<Lag>,
    stopping: Arc<AtomicBool>,
) {
    let mut buf: Vec<Arc<Record>> = Vec::with_capacity(DRAIN_MAX);
    let mut last = 0u64;
    let mut id_text = String::new();
    loop {
        buf.clear();
        sub.recv_many(&mut buf, DRAIN_MAX).await;
        let now = Timestamp::now().millis();
        let waited = now.saturating_sub(buf[0].ts.millis()).max(0) as u64;
        lag.interval_ms.fetch_max(waited, Ordering::Relaxed);
        lag.max_ms.fetch_max(waited, Ordering::Relaxed);
        let mut events = 0;
        let mut closed = false;
        for r in &buf {
            match &r.body {
                Body::Event { seq, id, .. } => {
                    if last == 0 {
                        probe.first_seq.store(*seq, Ordering::Relaxed);
                    } else if *seq != last + 1 {
                        probe.gaps.fetch_add(1, Ordering::Relaxed);
                    }
                    last = *seq;
                    id_text.clear();
                    id_text.push_str(&(seq + id_offset).to_string());
                    if **id != *id_text {
                        probe.id_mismatch.fetch_add(1, Ordering::Relaxed);
                    }
                    events += 1;
                }
                Body::Open { .. } => probe.open_ms.store(r.ts.millis(), Ordering::Relaxed),
                Body::Disconnected { .. } => {
                    probe.reconnects.fetch_add(1, Ordering::Relaxed);
                }
                Body::Closed { .. } => closed = true,
                _ => {}
            }
        }
        probe.last_seq.store(last, Ordering::Relaxed);
        probe.events.fetch_add(events, Ordering::Relaxed);
        if closed {
            if !stopping.load(Ordering::SeqCst) {
                probe.closed_early.store(true, Ordering::SeqCst);
            }
            return;
        }
    }
}

/// VmRSS of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// utime + stime, in clock ticks, from a /proc `stat` file; and the thread or process name.
fn stat_ticks(path: &str) -> Option<(String, u64)> {
    let stat = std::fs::read_to_string(path).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat[open + 1..close].to_owned();
    // After the name: state is field 3, utime field 14, stime field 15.
    let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

/// CPU ticks of the whole process (threads that ended included), of the hub runtime's threads,
/// and of the demo server's thread.
#[derive(Clone, Copy, Default)]
struct Cpu {
    process: u64,
    runtime: u64,
    server: u64,
}

fn cpu() -> Cpu {
    let mut c = Cpu { process: stat_ticks("/proc/self/stat").map_or(0, |(_, t)| t), ..Cpu::default() };
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let Some((name, ticks)) = stat_ticks(&format!("{}/stat", task.path().display())) else { continue };
            if name == RT_THREADS {
                c.runtime += ticks;
            } else if name == SERVER_THREAD {
                c.server += ticks;
            }
        }
    }
    c
}

fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// The soft limit on open files, if /proc says.
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Thousands separators, for the reader.
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Where the demo server runs: on the bench's runtime, or on a thread of its own.
enum DemoServer {
    Shared(feedscope_server::Server),
    Thread { stop: tokio::sync::oneshot::Sender<()>, thread: std::thread::JoinHandle<()> },
}

impl DemoServer {
    async fn start(on_own_thread: bool) -> (DemoServer, SocketAddr) {
        let addr: SocketAddr = "127.0.0.1:0".parse().expect("loopback address");
        // Plain streams: no heartbeat comments, only the prelude and the events.
        let app = router(DemoOptions { heartbeat: Duration::ZERO, ..DemoOptions::default() });
        if !on_own_thread {
            let server = serve(addr, app).await.expect("bind the demo server");
            let addr = server.addr;
            return (DemoServer::Shared(server), addr);
        }
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(SERVER_THREAD.into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("server runtime");
                rt.block_on(async move {
                    let server = serve(addr, app).await.expect("bind the demo server");
                    let _ = addr_tx.send(server.addr);
                    let _ = stop_rx.await;
                    server.shutdown().await;
                });
            })
            .expect("spawn the server thread");
        let addr = addr_rx.await.expect("the demo server started");
        (DemoServer::Thread { stop, thread }, addr)
    }

    async fn shutdown(self) {
        match self {
            DemoServer::Shared(server) => server.shutdown().await,
            DemoServer::Thread { stop, thread } => {
                let _ = stop.send(());
                let _ = tokio::task::spawn_blocking(move || thread.join()).await;
            }
        }
    }
}

/// One row of the table.
struct Sample {
    t: f64,
    rss_kib: u64,
}

fn main() {
    let s = Settings::get();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(RT_THREADS)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let ok = rt.block_on(run(&s));
    drop(rt);
    if !ok {
        std::process::exit(1);
    }
}

async fn run(s: &Settings) -> bool {
    let tck = clock_ticks_per_second();
    let load_before = loadavg();
    if let Some(limit) = open_files_limit() {
        // Each feed holds two sockets here: the hub's and the demo server's end.
        let needed = 2 * s.feeds as u64 + 64;
        assert!(limit >= needed, "{} feeds need about {needed} open files; the limit is {limit} (ulimit -n)", s.feeds);
    }
    println!(
        "scale: {} feeds x {} events/s x {} s in one hub (persistent mode), one subscription per feed \
         (capacity {}), history cap {} records/feed, read timeout {} ms, first id {}, demo server {}; {}",
        s.feeds,
        s.rate,
        s.secs,
        s.capacity,
        s.cap,
        s.read_timeout_ms,
        s.first_id,
        if s.server_thread { "on its own thread" } else { "on the same 2-worker runtime" },
        if s.measuring { "measuring" } else { "smoke run (cargo test): small and short, no RSS verdict" },
    );
    println!("load average before: {load_before}");

    let (server, addr) = DemoServer::start(s.server_thread).await;
    let url = format!("http://{addr}/events?rate={}", s.rate);
    let hub = Hub::new();
    let limits = HistoryLimits { max_records: s.cap, ..HistoryLimits::default() };
    let lag = Arc::new(Lag::default());
    let stopping = Arc::new(AtomicBool::new(false));
    let mut ids = Vec::with_capacity(s.feeds);
    let mut probes = Vec::with_capacity(s.feeds);
    let mut drainers = tokio::task::JoinSet::new();
    for i in 0..s.feeds {
        let id = format!("feed-{i:04}");
        let config = FeedConfig {
            mode: Mode::Persistent,
            jitter: false,
            read_timeout_ms: s.read_timeout_ms,
            last_event_id: if s.first_id > 1 { (s.first_id - 1).to_string() } else { String::new() },
            ..FeedConfig::new(url.clone())
        };
        hub.add(&id, config, limits).expect("add a feed");
        let probe = Arc::new(Probe::default());
        drainers.spawn(drain(
            hub.subscribe(Some(&id), s.capacity),
            s.first_id - 1,
            probe.clone(),
            lag.clone(),
            stopping.clone(),
        ));
        ids.push(id);
        probes.push(probe);
    }

    let cpu_start = cpu();
    let t0 = Instant::now();
    for id in &ids {
        hub.start(id).expect("start a feed");
    }
    let all_open = tokio::time::timeout(HANG_GUARD, async {
        while probes.iter().any(|p| p.open_ms.load(Ordering::Relaxed) == 0) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    match all_open {
        Ok(()) => println!("all {} feeds open after {} ms", s.feeds, t0.elapsed().as_millis()),
        Err(_) => println!(
            "only {} of {} feeds opened within {HANG_GUARD:?}",
            probes.iter().filter(|p| p.open_ms.load(Ordering::Relaxed) != 0).count(),
            s.feeds
        ),
    }

    println!();
    println!(
        "{:>6} {:>11} {:>9} {:>8} {:>6} {:>8} {:>8} {:>10} {:>6}",
        "t (s)", "events", "events/s", "RSS MiB", "CPU %", "server %", "lag ms", "behind", "load1"
    );
    let sample = Duration::from_secs(s.sample_secs);
    let end = t0 + Duration::from_secs(s.secs);
    let mut ticker = tokio::time::interval_at((t0 + sample).into(), sample);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut samples: Vec<Sample> = Vec::new();
    let (mut prev_t, mut prev_events, mut prev_cpu) = (0.0, 0u64, cpu_start);
    let mut max_behind = 0i64;
    loop {
        let at = ticker.tick().await.into_std();
        let last = at >= end;
        let t = t0.elapsed().as_secs_f64();
        let events: u64 = probes.iter().map(|p| p.events.load(Ordering::Relaxed)).sum();
        let rss = rss_kib();
        let c = cpu();
        let dt = (t - prev_t).max(1e-9);
        let cpu_pct = (c.process - prev_cpu.process) as f64 / tck / dt * 100.0;
        let server_pct = if s.server_thread {
            format!("{:.1}", (c.server - prev_cpu.server) as f64 / tck / dt * 100.0)
        } else {
            "-".into()
        };
        // How many events each feed is behind the demo's schedule (one at the open, then `rate`
        // per second), from the subscriber's point of view; the largest over all feeds.
        let now_ms = Timestamp::now().millis();
        let behind = probes
            .iter()
            .filter_map(|p| {
                let open = p.open_ms.load(Ordering::Relaxed);
                (open != 0).then(|| {
                    let due = (now_ms - open).max(0) as u64 * s.rate / 1000 + 1;
                    due as i64 - p.last_seq.load(Ordering::Relaxed) as i64
                })
            })
            .max()
            .unwrap_or(0);
        max_behind = max_behind.max(behind);
        println!(
            "{:>6.1} {:>11} {:>9.0} {:>8.1} {:>6.1} {:>8} {:>8} {:>10} {:>6}",
            t,
            thousands(events),
            (events - prev_events) as f64 / dt,
            mib(rss),
            cpu_pct,
            server_pct,
            lag.interval_ms.swap(0, Ordering::Relaxed),
            behind,
            loadavg().split(' ').next().unwrap_or("?"),
        );
        samples.push(Sample { t, rss_kib: rss });
        (prev_t, prev_events, prev_cpu) = (t, events, c);
        if last {
            break;
        }
    }

    // Stop every feed: each gets its `closed` record, which ends its subscriber.
    let stop_ms = Timestamp::now().millis();
    stopping.store(true, Ordering::SeqCst);
    hub.stop_all();
    let finished = tokio::time::timeout(HANG_GUARD, async {
        while let Some(r) = drainers.join_next().await {
            r.expect("a subscriber task panicked");
        }
    })
    .await;
    assert!(finished.is_ok(), "subscribers did not all see their feed's `closed` within {HANG_GUARD:?}");
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu_end = cpu();
    server.shutdown().await;

    // The subscriptions.
    let total: u64 = probes.iter().map(|p| p.events.load(Ordering::Relaxed)).sum();
    let sub_gaps = probes.iter().filter(|p| p.gaps.load(Ordering::Relaxed) > 0).count();
    let id_mismatch = probes.iter().filter(|p| p.id_mismatch.load(Ordering::Relaxed) > 0).count();
    let not_from_one = probes.iter().filter(|p| p.first_seq.load(Ordering::Relaxed) != 1).count();
    let empty = probes.iter().filter(|p| p.events.load(Ordering::Relaxed) == 0).count();
    let reconnects: u64 = probes.iter().map(|p| p.reconnects.load(Ordering::Relaxed)).sum();
    let closed_early = probes.iter().filter(|p| p.closed_early.load(Ordering::Relaxed)).count();
    // What the demo should have sent each feed: one event at the open, then `rate` per second.
    let due: u64 = probes
        .iter()
        .map(|p| match p.open_ms.load(Ordering::Relaxed) {
            0 => 0,
            open => (stop_ms - open).max(0) as u64 * s.rate / 1000 + 1,
        })
        .sum();
    let nominal = s.feeds as u64 * s.rate * s.secs;

    // The exports: every feed's retained history as NDJSON, parsed back.
    let export_start = Instant::now();
    let (mut export_gaps, mut export_mismatch, mut stats_mismatch, mut two_closed) = (0usize, 0usize, 0usize, 0usize);
    let (mut exported_records, mut exported_events, mut exported_bytes, mut evicted) = (0u64, 0u64, 0u64, 0u64);
    let mut out = Vec::new();
    for (id, probe) in ids.iter().zip(&probes) {
        let snapshot = hub.snapshot(id).expect("the feed exists");
        out.clear();
        let n = write_records(ExportFormat::Ndjson, snapshot.iter().map(|r| &**r), None, &[], &mut out)
            .expect("export to memory")
            .1;
        drop(snapshot);
        exported_records += n;
        exported_bytes += out.len() as u64;
        let (mut seqs, mut closed) = (Vec::new(), 0);
        for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let line = std::str::from_utf8(line).expect("NDJSON is UTF-8");
            match Record::from_json(line).expect("an exported record parses back").body {
                Body::Event { seq, .. } => seqs.push(seq),
                Body::Closed { .. } => closed += 1,
                _ => {}
            }
        }
        if closed > 1 {
            two_closed += 1;
        }
        exported_events += seqs.len() as u64;
        if seqs.windows(2).any(|w| w[1] != w[0] + 1) {
            export_gaps += 1;
        }
        // The export ends where the subscription ended, and starts at 1 unless records were evicted.
        let stats = hub.stats(id).expect("the feed exists");
        evicted += stats.evicted;
        let last_sub = probe.last_seq.load(Ordering::Relaxed);
        let ends_right = seqs.last().copied().unwrap_or(0) == last_sub;
        let starts_right = stats.evicted > 0 || seqs.first().copied().unwrap_or(0) == last_sub.min(1);
        if !ends_right || !starts_right {
            export_mismatch += 1;
        }
        if stats.events != probe.events.load(Ordering::Relaxed) {
            stats_mismatch += 1;
        }
    }
    let export_secs = export_start.elapsed().as_secs_f64();
    drop(out);
    let rss_after_export = rss_kib();
    let load_after = loadavg();

    println!();
    println!(
        "events: {} received in {:.1} s; nominal {} (feeds x rate x secs); {} due by the demo's schedule \
         from each feed's open to the stop ({:.2}% of due)",
        thousands(total),
        elapsed,
        thousands(nominal),
        thousands(due),
        total as f64 / due.max(1) as f64 * 100.0
    );
    println!(
        "subscriptions: feeds with a seq gap {sub_gaps}, with id != seq {id_mismatch}, not starting at seq 1 \
         {not_from_one}, with no event {empty}; reconnects {reconnects}; closed before the stop {closed_early}; \
         max lag (record parsed -> taken by its subscriber) {} ms; max behind the schedule {max_behind} events",
        lag.max_ms.load(Ordering::Relaxed)
    );
    println!(
        "export: {} feeds, {} records ({} events, {} evicted before), {:.1} MiB of NDJSON, written and parsed \
         back in {:.2} s; feeds with a seq gap {export_gaps}, not ending at the subscription's last seq \
         {export_mismatch}; hub stats.events != subscription's count {stats_mismatch}",
        ids.len(),
        thousands(exported_records),
        thousands(exported_events),
        thousands(evicted),
        exported_bytes as f64 / (1 << 20) as f64,
        export_secs
    );

    // RSS: from the first sample at or after the warm-up to the last one before the stop.
    let warm = samples.iter().find(|x| x.t >= s.warmup_secs as f64).or(samples.first());
    let last = samples.last();
    let peak = samples.iter().map(|x| x.rss_kib).max().unwrap_or(0);
    let (growth, slope) = match (warm, last) {
        (Some(w), Some(l)) => {
            let after: Vec<&Sample> = samples.iter().filter(|x| x.t >= w.t).collect();
            // Least-squares trend of RSS over the samples after warm-up, MiB per minute.
            let n = after.len() as f64;
            let (mt, mr) =
                (after.iter().map(|x| x.t).sum::<f64>() / n, after.iter().map(|x| mib(x.rss_kib)).sum::<f64>() / n);
            let var: f64 = after.iter().map(|x| (x.t - mt).powi(2)).sum();
            let cov: f64 = after.iter().map(|x| (x.t - mt) * (mib(x.rss_kib) - mr)).sum();
            let slope = if var > 0.0 { cov / var * 60.0 } else { 0.0 };
            ((l.rss_kib as f64 - w.rss_kib as f64) / w.rss_kib.max(1) as f64 * 100.0, slope)
        }
        _ => (0.0, 0.0),
    };
    if let (Some(w), Some(l)) = (warm, last) {
        println!(
            "RSS: {:.1} MiB at {:.0} s (after warm-up), {:.1} MiB at {:.0} s (end): {:+.1}%; trend after warm-up \
             {:+.2} MiB/min; peak {:.1} MiB; {:.1} MiB after the stop and the exports",
            mib(w.rss_kib),
            w.t,
            mib(l.rss_kib),
            l.t,
            growth,
            slope,
            mib(peak),
            mib(rss_after_export)
        );
    }
    let secs = |ticks: u64| ticks as f64 / tck;
    let process = secs(cpu_end.process - cpu_start.process);
    let server_cpu = secs(cpu_end.server - cpu_start.server);
    println!(
        "CPU: {:.1} s for the run ({:.1}% of one core, {:.1}% of the 2); runtime threads {:.1} s, demo server {}, \
         rest {:.1} s; {:.1} us per event",
        process,
        process / elapsed * 100.0,
        process / elapsed * 50.0,
        secs(cpu_end.runtime - cpu_start.runtime),
        if s.server_thread {
            format!("thread {server_cpu:.1} s ({:.0}% of the process)", server_cpu / process.max(1e-9) * 100.0)
        } else {
            "shares the runtime (SCALE_SERVER_THREAD=1 to separate it)".into()
        },
        process - secs(cpu_end.runtime - cpu_start.runtime) - server_cpu,
        process / total.max(1) as f64 * 1e6,
    );
    println!("load average: before {load_before}, after {load_after}");

    let contiguous = sub_gaps == 0
        && id_mismatch == 0
        && not_from_one == 0
        && empty == 0
        && export_gaps == 0
        && export_mismatch == 0
        && stats_mismatch == 0
        && closed_early == 0;
    println!(
        "{} contiguity: {} feeds, every subscription saw seqs 1..k (k > 0) with id = seq + {}, every export's seqs \
         are contiguous and end at k, and the hub's counts agree",
        if contiguous { "PASS" } else { "FAIL" },
        s.feeds,
        s.first_id - 1
    );
    println!(
        "{} one `closed` per feed: {two_closed} feeds end with more than one",
        if two_closed == 0 { "PASS" } else { "FAIL" }
    );
    let rss_ok = growth < 10.0;
    if s.measuring {
        println!("{} RSS growth after warm-up: {growth:+.1}% (limit +10%)", if rss_ok { "PASS" } else { "FAIL" });
    } else {
        println!("SKIP RSS growth after warm-up: {growth:+.1}% (a smoke run is too short to judge)");
    }
    contiguous && two_closed == 0 && (rss_ok || !s.measuring)
}
