//! `feedscope`: tail an SSE feed from the terminal, serve the demo feed, replay a recorded log.
//! Argument parsing and printing only; the engine (`feedscope-core`) and servers do the work.

mod pretty;

/// Records are allocated by the feed's reader and freed by the printer, hundreds of thousands a
/// second on a burst: mimalloc's thread-local free lists make that cross-thread traffic several
/// times cheaper than glibc's allocator (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use feedscope_core::{Body, ConfigError, ExportFormat, Exporter, FeedConfig, Header, HistoryLimits, Hub, Mode, Record};

#[derive(Parser)]
#[command(name = "feedscope", version, about = "Watch, record and replay Server-Sent Events feeds")]
#[command(
    after_help = "Examples:\n  feedscope demo\n  feedscope tail http://127.0.0.1:8080/events\n  feedscope tail https://api.example.com/chat -X POST -H 'Authorization: Bearer …' -d '{\"stream\":true}' --format ndjson -o chat.ndjson\n  feedscope replay chat.ndjson --speed 2"
)]
struct CliArgs {
    #[command(subcommand)]
    command: CliCommand,
}

#[derive(Subcommand)]
enum CliCommand {
    /// Subscribe to a feed and print what happens on it, reconnecting as a browser would
    Tail(Box<TailArgs>),
    /// Serve the built-in demo feed (several event types, ids, heartbeats, a flaky path)
    Demo {
        /// Address to listen on
        #[arg(long, default_value = "127.0.0.1")]
        host: IpAddr,
        /// Port (0 picks a free one)
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Events per second on /events
        #[arg(long, default_value_t = 4.0)]
        rate: f64,
    },
    /// Serve a recorded NDJSON log as an SSE endpoint, with its original pacing
    Replay {
        /// The log, as written by `feedscope tail --format ndjson` or the app's export
        log: PathBuf,
        #[arg(long, default_value = "127.0.0.1")]
        host: IpAddr,
        /// Port (0 picks a free one)
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Pacing factor: 2 plays twice as fast, 0 sends everything at once
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
    },
}

/// What `feedscope tail` prints on standard output.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum OutputFormat {
    /// Readable: time, type, id, data and state changes (default on a terminal)
    Pretty,
    /// The log records, one JSON object per line (default when piped)
    Ndjson,
}

#[derive(clap::Args)]
struct TailArgs {
    /// The feed's http or https URL
    url: String,
    /// HTTP method
    #[arg(short = 'X', long = "request", default_value = "GET", value_name = "METHOD")]
    method: String,
    /// Request header, repeatable
    #[arg(short = 'H', long = "header", value_name = "'Name: value'")]
    headers: Vec<String>,
    /// Request body, sent again on every reconnection
    #[arg(short = 'd', long = "data", value_name = "BODY", conflicts_with = "data_file")]
    data: Option<String>,
    /// Read the request body from a file
    #[arg(long, value_name = "FILE")]
    data_file: Option<PathBuf>,
    /// Resume after this event ID (sent as Last-Event-ID)
    #[arg(long, value_name = "ID")]
    last_event_id: Option<String>,
    /// `persistent` also retries 5xx/408/429 and read timeouts with backoff; `browser` does exactly what EventSource does
    #[arg(long, value_parser = ["persistent", "browser"], default_value = "persistent")]
    mode: String,
    /// Initial reconnection time (a server's retry: replaces it)
    #[arg(long, value_name = "MS", default_value_t = 3000)]
    retry_ms: u64,
    /// Cap for the backoff of persistent mode
    #[arg(long, value_name = "MS", default_value_t = 60_000)]
    max_backoff_ms: u64,
    /// Reconnect when no data arrives for this long (0 waits forever)
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    read_timeout: f64,
    /// Give up a connection attempt (and retry) after this long
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    connect_timeout: f64,
    /// Accept invalid TLS certificates
    #[arg(short = 'k', long)]
    insecure: bool,
    /// Stop after this many events
    #[arg(short = 'n', long, value_name = "N")]
    max_events: Option<u64>,
    /// Stop after this many seconds
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Output format [default: pretty on a terminal, ndjson otherwise]
    #[arg(long, value_enum)]
    format: Option<OutputFormat>,
    /// Also write the NDJSON log to this file
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The feed's name in records
    #[arg(long, default_value = "feed")]
    name: String,
}

fn main() -> ExitCode {
    let cli = CliArgs::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(1, &format!("cannot start the runtime: {e}")),
    };
    runtime.block_on(async {
        match cli.command {
            CliCommand::Tail(args) => tail(*args).await,
            CliCommand::Demo { host, port, rate } => {
                let opts = feedscope_server::demo::DemoOptions { rate, ..Default::default() };
                serve_until_ctrl_c(SocketAddr::new(host, port), feedscope_server::demo::router(opts), |s| {
                    format!(
                        "Feedscope demo feed\n  {}  steady stream: tick, price, chat, message\n  {}  drops the connection every few events\n  {}  high rate (?rate=N)\n  {}  N events as fast as possible, then the end (?n=N)\nPress Ctrl-C to stop.",
                        s.url("/events"),
                        s.url("/flaky"),
                        s.url("/firehose"),
                        s.url("/burst")
                    )
                })
                .await
            }
            CliCommand::Replay { log, host, port, speed } => {
                let records = match feedscope_server::replay::load(&log) {
                    Ok(r) => r,
                    Err(e) => return fail(1, &e.to_string()),
                };
                let n = records.iter().filter(|r| matches!(r.body, Body::Event { .. })).count();
                let router = feedscope_server::replay::router(records, speed);
                serve_until_ctrl_c(SocketAddr::new(host, port), router, |s| {
                    format!("Replaying {n} events from {} at {}\nPress Ctrl-C to stop.", log.display(), s.url("/"))
                })
                .await
            }
        }
    })
}

fn fail(code: u8, msg: &str) -> ExitCode {
    eprintln!("feedscope: {msg}");
    ExitCode::from(code)
}

async fn serve_until_ctrl_c(
    addr: SocketAddr,
    router: axum::Router,
    banner: impl FnOnce(&feedscope_server::Server) -> String,
) -> ExitCode {
    let server = match feedscope_server::serve(addr, router).await {
        Ok(s) => s,
        Err(e) => return fail(1, &format!("cannot listen on {addr}: {e}")),
    };
    // A closed stdout (the banner's reader went away) must not take the server down.
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{}", banner(&server)).and_then(|_| out.flush());
    drop(out);
    let _ = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    ExitCode::SUCCESS
}

/// Turns the arguments into a feed config, or a one-line usage error. The rules are core's
/// ([`FeedConfig::validate_user_settings`], [`Header::parse`]); only what is about a flag's own
/// syntax (seconds as a float) is checked here.
fn tail_config(args: &TailArgs) -> Result<FeedConfig, String> {
    let headers = args.headers.iter().map(|h| Header::parse(h)).collect::<Result<Vec<_>, _>>().map_err(usage)?;
    let body = match (&args.data, &args.data_file) {
        (Some(d), _) => Some(d.clone()),
        (None, Some(path)) => Some(
            std::fs::read_to_string(path).map_err(|e| format!("cannot read --data-file {}: {e}", path.display()))?,
        ),
        (None, None) => None,
    };
    let read_timeout_ms = millis("--read-timeout", args.read_timeout)?;
    let connect_timeout_ms = millis("--connect-timeout", args.connect_timeout)?;
    let config = FeedConfig {
        method: args.method.to_ascii_uppercase(),
        headers,
        body,
        last_event_id: args.last_event_id.clone().unwrap_or_default(),
        mode: args.mode.parse::<Mode>()?,
        retry_ms: args.retry_ms,
        max_backoff_ms: args.max_backoff_ms,
        read_timeout_ms,
        connect_timeout_ms,
        insecure: args.insecure,
        ..FeedConfig::new(args.url.clone())
    };
    config.validate_user_settings().map_err(usage)?;
    Ok(config)
}

/// A flag's seconds as milliseconds: a finite number, 0 or more.
fn millis(flag: &str, secs: f64) -> Result<u64, String> {
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("invalid {flag} {secs}: expected seconds, 0 or more"));
    }
    Ok((secs * 1000.0) as u64)
}

/// A refused setting as a usage error; a number is named by the flag that set it (the other
/// messages say what they are about).
fn usage(e: ConfigError) -> String {
    let flag = match e.field() {
        "retry_ms" => "--retry-ms",
        "max_backoff_ms" => "--max-backoff-ms",
        "read_timeout_ms" => "--read-timeout",
        "connect_timeout_ms" => "--connect-timeout",
        _ => return e.to_string(),
    };
    format!("{flag}: {e}")
}

async fn tail(args: TailArgs) -> ExitCode {
    let config = match tail_config(&args) {
        Ok(c) => c,
        Err(e) => return fail(2, &e),
    };
    if let Some(d) = args.duration {
        if !d.is_finite() || d < 0.0 {
            return fail(2, &format!("invalid --duration {d}: expected seconds"));
        }
    }
    let mut log = match &args.output {
        Some(path) => match File::create(path).and_then(|f| Exporter::new(ExportFormat::Ndjson, f)) {
            Ok(log) => Some(log),
            Err(e) => return fail(1, &format!("cannot create {}: {e}", path.display())),
        },
        None => None,
    };
    let stdout = io::stdout();
    let tty = stdout.is_terminal();
    let format = args.format.unwrap_or(if tty { OutputFormat::Pretty } else { OutputFormat::Ndjson });
    let mut printer = pretty::Printer::new(tty && std::env::var_os("NO_COLOR").is_none());

    let hub = Hub::new();
    if let Err(e) = hub.add(&args.name, config, HistoryLimits::STREAMING) {
        return fail(2, &e.to_string());
    }
    // Lossless: when the output is slower than the feed, the feed's reader waits (backpressure).
    let sub = hub.subscribe(Some(&args.name), SUBSCRIPTION_CAPACITY);
    if let Some(n) = args.max_events {
        if n == 0 {
            return ExitCode::SUCCESS;
        }
        // The engine stops right after the Nth event: no record past it, no further request.
        if let Err(e) = hub.stop_after(&args.name, n) {
            return fail(1, &e.to_string());
        }
    }
    if let Err(e) = hub.start(&args.name) {
        return fail(1, &e.to_string());
    }
    let deadline = sleep_until(args.duration.map(|d| tokio::time::Instant::now() + Duration::from_secs_f64(d)));
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(deadline, ctrl_c);
    let mut events = 0u64;
    let mut stopping = false;
    let Ok(mut out) = Output::new(format, stdout.lock()) else {
        return fail(1, "cannot write to standard output");
    };
    let stop = |hub: &Arc<Hub>, stopping: &mut bool| {
        if !*stopping {
            *stopping = true;
            let _ = hub.stop(&args.name);
        }
    };
    let mut exit = ExitCode::SUCCESS;
    let mut batch = Vec::with_capacity(BATCH);
    'feed: loop {
        tokio::select! {
            _ = sub.recv_many(&mut batch, BATCH) => {}
            _ = &mut ctrl_c, if !stopping => { stop(&hub, &mut stopping); continue; }
            () = &mut deadline, if !stopping => { stop(&hub, &mut stopping); continue; }
        };
        for record in batch.drain(..) {
            if let Body::Event { .. } = record.body {
                if stopping {
                    continue; // past --max-events / --duration: the user asked for no more.
                }
                events += 1;
            }
            if write_record(&mut out, &mut log, &mut printer, &record).is_err() {
                // stdout closed (e.g. piped into `head`): end quietly.
                stop(&hub, &mut stopping);
                return ExitCode::SUCCESS;
            }
            if let Body::Closed { reason, fatal, detail, .. } = &record.body {
                if *fatal {
                    let _ = out.flush();
                    // The reason is short; the URL and the detail say where and what exactly.
                    eprintln!("feedscope: {}: {reason}", args.url.trim());
                    if !detail.is_empty() {
                        eprintln!("  {}", feedscope_core::text::visible(detail));
                    }
                    exit = ExitCode::from(1);
                }
                break 'feed;
            }
            if args.max_events.is_some_and(|m| events >= m) {
                stop(&hub, &mut stopping);
            }
        }
        // One flush per batch: a burst costs a few large writes, a quiet feed shows each record
        // as it comes.
        if flush(&mut out, &mut log).is_err() {
            stop(&hub, &mut stopping);
            return ExitCode::SUCCESS;
        }
    }
    let _ = out.flush();
    if let Some(log) = log {
        if let Err(e) = log.finish() {
            return fail(1, &format!("cannot write the log: {e}"));
        }
    }
    exit
}

/// Records the printer may lag behind the feed before the feed's reader waits for it.
const SUBSCRIPTION_CAPACITY: usize = 1 << 16;
/// Records taken from the subscription at once.
const BATCH: usize = 4096;
const OUTPUT_BUFFER: usize = 1 << 16;

type Log = Exporter<File>;

/// Standard output: the NDJSON log (core's exporter, the one writer of the format) or the
/// pretty lines.
enum Output<W: Write> {
    Ndjson(Exporter<W>),
    Pretty(BufWriter<W>),
}

impl<W: Write> Output<W> {
    fn new(format: OutputFormat, w: W) -> io::Result<Self> {
        Ok(match format {
            OutputFormat::Ndjson => Output::Ndjson(Exporter::new(ExportFormat::Ndjson, w)?),
            OutputFormat::Pretty => Output::Pretty(BufWriter::with_capacity(OUTPUT_BUFFER, w)),
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Ndjson(x) => x.flush(),
            Output::Pretty(w) => w.flush(),
        }
    }
}

fn flush(out: &mut Output<impl Write>, log: &mut Option<Log>) -> io::Result<()> {
    if let Some(f) = log {
        f.flush()?;
    }
    out.flush()
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn write_record(
    out: &mut Output<impl Write>,
    log: &mut Option<Log>,
    printer: &mut pretty::Printer,
    record: &Record,
) -> io::Result<()> {
    if let Some(f) = log {
        f.write(record)?;
    }
    match out {
        Output::Ndjson(x) => x.write(record),
        Output::Pretty(w) => printer.print(w, record),
    }
}
