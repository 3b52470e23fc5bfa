//! `feedscope`: tail an SSE feed from the terminal, serve the demo feed, replay a recorded log.
//! Argument parsing and printing only; the engine (`feedscope-core`) and servers do the work.

mod pretty;

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use feedscope_core::{Body, FeedConfig, Header, HistoryLimits, Hub, Mode, Record, SubscriptionItem};

#[derive(Parser)]
#[command(name = "feedscope", version, about = "Watch, record and replay Server-Sent Events feeds")]
#[command(
    after_help = "Examples:\n  feedscope demo\n  feedscope tail http://127.0.0.1:8080/events\n  feedscope tail https://api.example.com/chat -X POST -H 'Authorization: Bearer …' -d '{\"stream\":true}' --format ndjson -o chat.ndjson\n  feedscope replay chat.ndjson --speed 2"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
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
    format: Option<Format>,
    /// Also write the NDJSON log to this file
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The feed's name in records
    #[arg(long, default_value = "feed")]
    name: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(1, &format!("cannot start the runtime: {e}")),
    };
    runtime.block_on(async {
        match cli.command {
            Command::Tail(args) => tail(*args).await,
            Command::Demo { host, port, rate } => {
                let opts = feedscope_server::demo::DemoOptions { rate, ..Default::default() };
                serve_until_ctrl_c(SocketAddr::new(host, port), feedscope_server::demo::router(opts), |s| {
                    format!(
                        "Feedscope demo feed\n  {}  steady stream: tick, price, chat, message\n  {}  drops the connection every few events\n  {}  high rate (?rate=N)\nPress Ctrl-C to stop.",
                        s.url("/events"),
                        s.url("/flaky"),
                        s.url("/firehose")
                    )
                })
                .await
            }
            Command::Replay { log, host, port, speed } => {
                let records = match feedscope_server::replay::load(&log) {
                    Ok(r) => r,
                    Err(e) => return fail(1, &e.to_string()),
                };
                let n = records.iter().filter(|r| r.body.kind() == "event").count();
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

/// Turns the arguments into a feed config, or a one-line usage error.
fn tail_config(args: &TailArgs) -> Result<FeedConfig, String> {
    let mut headers = Vec::new();
    for h in &args.headers {
        let (name, value) =
            h.split_once(':').ok_or_else(|| format!("malformed header {h:?}: expected 'Name: value'"))?;
        headers.push(Header { name: name.trim().to_owned(), value: value.trim().to_owned() });
    }
    let body = match (&args.data, &args.data_file) {
        (Some(d), _) => Some(d.clone()),
        (None, Some(path)) => Some(
            std::fs::read_to_string(path).map_err(|e| format!("cannot read --data-file {}: {e}", path.display()))?,
        ),
        (None, None) => None,
    };
    if !args.read_timeout.is_finite() || args.read_timeout < 0.0 {
        return Err(format!("invalid --read-timeout {}: expected seconds, 0 or more", args.read_timeout));
    }
    if !args.connect_timeout.is_finite() || args.connect_timeout <= 0.0 {
        return Err(format!("invalid --connect-timeout {}: expected seconds", args.connect_timeout));
    }
    let config = FeedConfig {
        method: args.method.to_ascii_uppercase(),
        headers,
        body,
        last_event_id: args.last_event_id.clone().unwrap_or_default(),
        mode: args.mode.parse::<Mode>()?,
        retry_ms: args.retry_ms,
        max_backoff_ms: args.max_backoff_ms,
        read_timeout_ms: (args.read_timeout * 1000.0) as u64,
        connect_timeout_ms: (args.connect_timeout * 1000.0) as u64,
        insecure: args.insecure,
        ..FeedConfig::new(args.url.clone())
    };
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
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
        Some(path) => match File::create(path) {
            Ok(f) => Some(BufWriter::new(f)),
            Err(e) => return fail(1, &format!("cannot create {}: {e}", path.display())),
        },
        None => None,
    };
    let stdout = io::stdout();
    let tty = stdout.is_terminal();
    let format = args.format.unwrap_or(if tty { Format::Pretty } else { Format::Ndjson });
    let mut printer = pretty::Printer::new(tty && std::env::var_os("NO_COLOR").is_none());

    let hub = Hub::new();
    // The CLI streams records out as they come: the history need not keep many.
    let limits = HistoryLimits { max_records: 1024, max_bytes: 64 << 20 };
    if let Err(e) = hub.add(&args.name, config, limits) {
        return fail(2, &e.to_string());
    }
    let sub = hub.subscribe(Some(&args.name), 1 << 16);
    if let Err(e) = hub.start(&args.name) {
        return fail(1, &e.to_string());
    }
    let deadline = args.duration.map(|d| tokio::time::Instant::now() + Duration::from_secs_f64(d));
    let mut events = 0u64;
    let mut stopping = false;
    let mut out = BufWriter::new(stdout.lock());
    let stop = |hub: &Arc<Hub>, stopping: &mut bool| {
        if !*stopping {
            *stopping = true;
            let _ = hub.stop(&args.name);
        }
    };
    let mut exit = ExitCode::SUCCESS;
    loop {
        let item = tokio::select! {
            item = sub.recv() => item,
            _ = tokio::signal::ctrl_c(), if !stopping => { stop(&hub, &mut stopping); continue; }
            _ = sleep_until(deadline), if !stopping => { stop(&hub, &mut stopping); continue; }
        };
        let record = match item {
            SubscriptionItem::Record(r) => r,
            SubscriptionItem::Missed { count, .. } => {
                eprintln!("feedscope: output fell behind; {count} records were skipped");
                continue;
            }
        };
        if record.body.kind() == "event" {
            if stopping {
                continue; // past --max-events / --duration: the user asked for no more.
            }
            events += 1;
        }
        if write_record(&mut out, &mut log, format, &mut printer, &record).is_err() {
            // stdout closed (e.g. piped into `head`): end quietly.
            stop(&hub, &mut stopping);
            return ExitCode::SUCCESS;
        }
        if let Body::Closed { reason, fatal } = &record.body {
            if *fatal {
                let _ = out.flush();
                eprintln!("feedscope: {reason}");
                exit = ExitCode::from(1);
            }
            break;
        }
        if args.max_events.is_some_and(|m| events >= m) {
            stop(&hub, &mut stopping);
        }
    }
    let _ = out.flush();
    if let Some(mut f) = log {
        if let Err(e) = f.flush() {
            return fail(1, &format!("cannot write the log: {e}"));
        }
    }
    exit
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn write_record(
    out: &mut impl Write,
    log: &mut Option<BufWriter<File>>,
    format: Format,
    printer: &mut pretty::Printer,
    record: &Record,
) -> io::Result<()> {
    if let Some(f) = log {
        serde_json::to_writer(&mut *f, record)?;
        f.write_all(b"\n")?;
        f.flush()?;
    }
    match format {
        Format::Ndjson => {
            serde_json::to_writer(&mut *out, record)?;
            out.write_all(b"\n")?;
        }
        Format::Pretty => printer.print(out, record)?,
    }
    out.flush()
}
