//! `feedscope`: tail a live feed from the terminal (Server-Sent Events, a WebSocket, long polling
//! or polling), check an SSE feed for what would trouble a browser, compare the transports side by
//! side, serve the demo feed, replay a recorded log.
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
use feedscope_core::compare::{CompareFeed, CompareOptions, CompareReport};
use feedscope_core::diagnose::{DiagnoseOptions, Diagnoser, Finding, Seen, Severity};
use feedscope_core::{
    Body, ConfigError, ExportFormat, Exporter, FeedConfig, FeedForm, Filter, Header, HistoryLimits, Hub, JsonPath,
    Mode, Preset, Record, Timestamp, Transport,
};

#[derive(Parser)]
#[command(
    name = "feedscope",
    version,
    about = "Watch, record and replay live feeds: Server-Sent Events, WebSockets, long polling, polling"
)]
#[command(
    after_help = "Examples:\n  feedscope demo\n  feedscope tail http://127.0.0.1:8080/events\n  feedscope tail ws://127.0.0.1:8080/ws --type-path type --send '{\"op\":\"subscribe\"}'\n  feedscope tail http://127.0.0.1:8080/long-poll --transport long-poll --cursor-from n --cursor-param cursor --split-array\n  feedscope tail http://127.0.0.1:8080/poll --transport poll --interval 2\n  feedscope compare --duration 30\n  feedscope tail http://127.0.0.1:8080/llm --assemble openai-chat\n  feedscope tail --collection feeds.json --feed prices\n  feedscope check http://127.0.0.1:8080/events --duration 30\n  feedscope tail https://api.example.com/chat -X POST -H 'Authorization: Bearer …' -d '{\"stream\":true}' --format ndjson -o chat.ndjson\n  feedscope replay chat.ndjson --speed 2"
)]
struct CliArgs {
    #[command(subcommand)]
    command: CliCommand,
}

#[derive(Subcommand)]
enum CliCommand {
    /// Subscribe to a feed and print what happens on it, reconnecting as a browser would
    Tail(Box<TailArgs>),
    /// Watch a feed for a while, then list what would trouble a browser (exit 1 on an error)
    Check(Box<CheckArgs>),
    /// Run the same live feed over SSE, WebSocket, long polling and polling side by side and
    /// compare them: events, latency, requests, connections, bytes per event, missed, duplicated
    Compare(Box<CompareArgs>),
    /// Serve the built-in demo feed (several event types, ids, heartbeats, a flaky path, and a
    /// live feed over SSE, WebSocket, long polling and polling)
    Demo {
        /// Address to listen on
        #[arg(long, default_value = "127.0.0.1")]
        host: IpAddr,
        /// Port (0 picks a free one)
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Events per second on /events and of the live feed (/live, /ws, /long-poll, /poll)
        #[arg(long, default_value_t = 4.0)]
        rate: f64,
    },
    /// Serve a recorded NDJSON log as an SSE endpoint, with its original pacing (or a .sse body as it is)
    Replay {
        /// The log, as written by `feedscope tail --format ndjson` or the app's export; or a `.sse`
        /// file (the app's raw export), served byte for byte
        log: PathBuf,
        #[arg(long, default_value = "127.0.0.1")]
        host: IpAddr,
        /// Port (0 picks a free one)
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Pacing factor: 2 plays twice as fast, 0 sends everything at once (a .sse file has no
        /// times: it is sent at once)
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

/// What to request, the same for `tail` and `check`.
#[derive(clap::Args)]
struct RequestArgs {
    /// The feed's http or https URL (ws or wss for a WebSocket)
    #[arg(required = true)]
    url: Option<String>,
    /// HTTP method [default: POST with -d or --data-file, as curl does; GET otherwise]
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    method: Option<String>,
    /// Request header, repeatable
    #[arg(short = 'H', long = "header", value_name = "'Name: value'")]
    headers: Vec<String>,
    /// Request body, sent again on every reconnection
    #[arg(short = 'd', long = "data", value_name = "BODY", conflicts_with = "data_file")]
    data: Option<String>,
    /// Read the request body from a file
    #[arg(long, value_name = "FILE")]
    data_file: Option<PathBuf>,
}

#[derive(clap::Args)]
// With --collection the file says what to request: the URL is not given then.
#[command(mut_arg("url", |url| url.required(false).required_unless_present("collection")))]
#[command(after_help = TAIL_AFTER_HELP)]
struct TailArgs {
    #[command(flatten)]
    request: RequestArgs,
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
    /// An MCP server (Streamable HTTP): send `initialize` first, keep the Mcp-Session-Id it returns
    /// and send it with the request (-d, POSTed) or, without -d, listen with GET (docs/mcp.md).
    /// The initialize result is printed as the feed's first event(s)
    #[arg(long)]
    mcp: bool,
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
    /// The feed's name in records [default: the collection feed's name, else "feed"]
    #[arg(long)]
    name: Option<String>,
    /// Write only the records matching this query, e.g. 'type == "price" && data.price > 100'
    /// (docs/query.md); with -n, count only matching events
    #[arg(long, value_name = "EXPR")]
    filter: Option<String>,
    /// Print the text an LLM token stream spells instead of the records, as it grows: openai-chat,
    /// openai-responses, anthropic, or json:PATH for the string at PATH in each event's JSON (e.g.
    /// json:choices[0].text). Tool calls are printed as JSON once complete; at the stream's end
    /// marker the feed stops and tail exits 0 (docs/assemble.md). -o still gets the records
    #[arg(long, value_name = "PRESET", conflicts_with = "format")]
    assemble: Option<String>,
    /// Run a feed saved in a collection file (the app's Export…) instead of a URL. Its settings are
    /// used as they are: the URL and the request and reconnection flags (-X, -H, -d, --data-file,
    /// --last-event-id, --mode, --retry-ms, --max-backoff-ms, --read-timeout, --connect-timeout,
    /// -k) are refused beside it; the output flags apply
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = [
            "url", "method", "headers", "data", "data_file", "last_event_id", "mode", "retry_ms",
            "max_backoff_ms", "read_timeout", "connect_timeout", "insecure", "mcp", "transport", "send",
            "type_path", "cursor_from", "cursor_param", "cursor_header", "split_array", "interval",
        ]
    )]
    collection: Option<PathBuf>,
    /// The collection's feed to run, by its exact name (may be left out when the file has one feed)
    // Checked in `tail`: clap's `requires` is skipped when the required arg conflicts with a
    // present one (clap-rs/clap#4520), here the URL.
    #[arg(long, value_name = "NAME")]
    feed: Option<String>,
    #[command(flatten)]
    transport: TransportArgs,
}

/// How `tail` gets the feed when it is not Server-Sent Events (docs/transports.md).
#[derive(clap::Args)]
#[command(next_help_heading = "Transports (docs/transports.md)")]
struct TransportArgs {
    /// How to get the feed: sse (Server-Sent Events), websocket (each message an event), long-poll
    /// (each request waits for data, the next goes out at once) or poll (a request every
    /// --interval, a changed answer an event) [default: websocket for a ws:// or wss:// URL, else
    /// sse]
    #[arg(long, value_name = "TRANSPORT", value_parser = ["sse", "websocket", "ws", "long-poll", "poll"])]
    transport: Option<String>,
    /// WebSocket: a text message to send after each open, such as a subscription; repeatable, sent
    /// in order, again after every reconnection. Each shows as a `sent` record
    #[arg(long = "send", value_name = "TEXT")]
    send: Vec<String>,
    /// WebSocket, long polling, polling: the JSON path of each message's event type (e.g. type,
    /// op, data.kind); without it every event is a `message`
    #[arg(long, value_name = "PATH")]
    type_path: Option<String>,
    /// Long polling: the JSON path of the cursor in each answer (for a JSON array, in its last
    /// element when the whole answer has none), sent with the next request
    #[arg(long, value_name = "PATH")]
    cursor_from: Option<String>,
    /// Long polling: send the cursor as this query parameter (e.g. cursor, since, offset)
    #[arg(long, value_name = "NAME", conflicts_with = "cursor_header")]
    cursor_param: Option<String>,
    /// Long polling: send the cursor in this request header
    #[arg(long, value_name = "NAME")]
    cursor_header: Option<String>,
    /// Long polling: an answer that is a JSON array is one event per element
    #[arg(long)]
    split_array: bool,
    /// Polling: seconds between two requests [default: 5]
    #[arg(long, value_name = "SECS")]
    interval: Option<f64>,
}

const TAIL_AFTER_HELP: &str = "\
Exit status: 0 when the feed ended normally (-n, --duration, Ctrl-C, a 204, the --assemble end
marker), 1 when it failed for good, 2 for a usage error (a bad flag, URL, query, preset or
collection).";

/// What `feedscope compare` prints.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum CompareFormat {
    /// One row per transport: events, latency p50 and p99, requests, connections, bytes per
    /// event, missed, duplicated
    Table,
    /// The whole report as one JSON object (docs/transports.md)
    Json,
}

#[derive(clap::Args)]
#[command(after_help = COMPARE_AFTER_HELP)]
struct CompareArgs {
    /// Seconds of events to measure (after a second of warm-up; the feeds then run on until the
    /// poll has had time to see the last events)
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    duration: f64,
    /// Seconds between two requests of the poll feed
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    interval: f64,
    /// Events per second of the in-process demo's live feed (without URLs)
    #[arg(long, value_name = "N", default_value_t = 10.0, conflicts_with_all = ["sse", "ws", "long_poll", "poll"])]
    rate: f64,
    /// An SSE URL to compare instead of the demo's (its events as the demo's: see below)
    #[arg(long, value_name = "URL")]
    sse: Option<String>,
    /// A WebSocket URL to compare
    #[arg(long, value_name = "URL")]
    ws: Option<String>,
    /// A long-polling URL to compare (the cursor: each event's n, sent as ?cursor=)
    #[arg(long = "long-poll", value_name = "URL")]
    long_poll: Option<String>,
    /// A polling URL to compare, requested every --interval
    #[arg(long, value_name = "URL")]
    poll: Option<String>,
    /// The URLs carry the same events (one source): an event that one feed got and another did
    /// not counts as missed by the other (always so for the demo)
    #[arg(long)]
    same_source: bool,
    /// What to print
    #[arg(long, value_enum, default_value = "table")]
    format: CompareFormat,
}

const COMPARE_AFTER_HELP: &str = "\
Without URLs, compare starts the demo server on 127.0.0.1 (a free port) and compares its live feed
over /live (SSE), /ws, /long-poll and /poll. With URLs, it compares those given; their events must
be JSON objects with a whole number `n` (1, 2, 3…) and `sent_at` (when the server sent it, in ms
since the Unix epoch), as the demo's are, and latency is only right when the server's clock is this
machine's. Missed: events between the first and the last of the measured span that never arrived;
duplicated: events that arrived twice (a poll's overlapping answers are not counted).
docs/transports.md explains every figure.

Exit status: 0 when every feed delivered events, 1 when one delivered none (the reason is printed),
2 for a usage error.";

/// What `feedscope check` prints.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum CheckFormat {
    /// One line per finding (severity, code, rule and fix, what was seen), then a summary
    Text,
    /// One JSON object: {"url": …, "findings": [{"code", "severity", "message", "evidence"}]}
    Json,
}

#[derive(clap::Args)]
#[command(after_help = "Each finding has a stable code; docs/diagnostics.md gives its rule, threshold and fix.")]
struct CheckArgs {
    #[command(flatten)]
    request: RequestArgs,
    /// How long to watch the feed (in persistent mode) before judging it
    #[arg(long, value_name = "SECS", default_value_t = 20.0)]
    duration: f64,
    /// The `idle` finding: longest silence allowed while connected
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    idle_secs: f64,
    /// What to print
    #[arg(long, value_enum, default_value = "text")]
    format: CheckFormat,
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
            CliCommand::Check(args) => check(*args).await,
            CliCommand::Compare(args) => compare(*args).await,
            CliCommand::Demo { host, port, rate } => {
                let opts = feedscope_server::demo::DemoOptions { rate, ..Default::default() };
                serve_until_ctrl_c(SocketAddr::new(host, port), feedscope_server::demo::router(opts), |s| {
                    let ws = format!("ws://{}/ws", s.addr);
                    format!(
                        "Feedscope demo feed\n  {}  steady stream: tick, price, chat, message\n  {}  drops the connection every few events\n  {}  high rate (?rate=N)\n  {}  N events as fast as possible, then the end (?n=N)\n  {}  an LLM answer token by token (?preset=openai-chat|openai-responses|anthropic; tail it with --assemble)\nThe live feed, one source over four transports (feedscope compare):\n  {}  Server-Sent Events\n  {ws}  WebSocket (tail it with --type-path type)\n  {}  long polling (--transport long-poll --cursor-from n --cursor-param cursor --split-array)\n  {}  polling (--transport poll --interval 1)\nPress Ctrl-C to stop.",
                        s.url("/events"),
                        s.url("/flaky"),
                        s.url("/firehose"),
                        s.url("/burst"),
                        s.url("/llm"),
                        s.url("/live"),
                        s.url("/long-poll"),
                        s.url("/poll"),
                    )
                })
                .await
            }
            CliCommand::Replay { log, host, port, speed } => {
                let replay = match feedscope_server::replay::Replay::open(&log) {
                    Ok(r) => r,
                    Err(e) => return fail(1, &e.to_string()),
                };
                let n = replay.events();
                let router = replay.router(speed);
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

/// The request part of a feed config (URL, method, headers, body), or a one-line usage error.
/// The rules are core's ([`FeedConfig::validate_user_settings`], [`Header::parse`]); only what is
/// about a flag's own syntax (seconds as a float, a file to read) is checked here.
fn request_config(args: &RequestArgs) -> Result<FeedConfig, String> {
    let headers = args.headers.iter().map(|h| Header::parse(h)).collect::<Result<Vec<_>, _>>().map_err(usage)?;
    let body = match (&args.data, &args.data_file) {
        (Some(d), _) => Some(d.clone()),
        (None, Some(path)) => Some(
            std::fs::read_to_string(path).map_err(|e| format!("cannot read --data-file {}: {e}", path.display()))?,
        ),
        (None, None) => None,
    };
    let url = args.url.clone().unwrap_or_default();
    let method = match &args.method {
        Some(m) => m.to_ascii_uppercase(),
        None if body.is_some() => "POST".to_owned(),
        None => "GET".to_owned(),
    };
    Ok(FeedConfig { method, headers, body, ..FeedConfig::new(url) })
}

/// `tail`'s feed config: the request, the transport and how to reconnect.
fn tail_config(args: &TailArgs) -> Result<FeedConfig, String> {
    let request = request_config(&args.request)?;
    let read_timeout_ms = millis("--read-timeout", args.read_timeout)?;
    let connect_timeout_ms = millis("--connect-timeout", args.connect_timeout)?;
    let mut config = FeedConfig {
        last_event_id: args.last_event_id.clone().unwrap_or_default(),
        mode: args.mode.parse::<Mode>()?,
        retry_ms: args.retry_ms,
        max_backoff_ms: args.max_backoff_ms,
        read_timeout_ms,
        connect_timeout_ms,
        insecure: args.insecure,
        mcp: args.mcp,
        ..request
    };
    transport_settings(args, &mut config)?;
    config.validate_user_settings().map_err(usage)?;
    Ok(config)
}

/// `--interval SECS` in milliseconds: from the shortest interval a person may set up to a day.
fn poll_interval_ms(secs: f64) -> Result<u64, String> {
    let min = FeedConfig::MIN_POLL_INTERVAL_MS as f64 / 1000.0;
    if !secs.is_finite() || secs < min || secs > 86_400.0 {
        return Err(format!("invalid --interval {secs}: expected seconds between two polls, at least {min}"));
    }
    Ok((secs * 1000.0).round() as u64)
}

/// Whether `url` is a WebSocket URL (`ws://`, `wss://`).
fn is_ws_url(url: &str) -> bool {
    let scheme = url.trim().split_once("://").map_or("", |(scheme, _)| scheme);
    scheme.eq_ignore_ascii_case("ws") || scheme.eq_ignore_ascii_case("wss")
}

/// Sets the transport and its settings from `tail`'s flags, refusing a flag that the transport
/// does not use: a usage error names the flag and what it is for.
fn transport_settings(args: &TailArgs, config: &mut FeedConfig) -> Result<(), String> {
    let t = &args.transport;
    let ws_url = is_ws_url(&config.url);
    let transport = match t.transport.as_deref().map(str::parse::<Transport>).transpose()? {
        Some(transport) if ws_url && transport != Transport::WebSocket => {
            return Err(format!(
                "a ws:// or wss:// URL is a WebSocket, not --transport {}: give an http(s) URL for it",
                transport.as_str()
            ))
        }
        Some(transport) => transport,
        None if ws_url => Transport::WebSocket,
        None => Transport::Sse,
    };
    let only = |flag: &str, present: bool, wanted: &[Transport], what: &str| {
        if present && !wanted.contains(&transport) {
            Err(format!("{flag} is for {what}, not for a feed of --transport {}", transport.as_str()))
        } else {
            Ok(())
        }
    };
    use Transport::{LongPoll, Poll, Sse, WebSocket};
    only("--send", !t.send.is_empty(), &[WebSocket], "a WebSocket (a ws:// URL or --transport websocket)")?;
    only("--type-path", t.type_path.is_some(), &[WebSocket, LongPoll, Poll], "WebSocket, long-poll and poll feeds")?;
    only("--cursor-from", t.cursor_from.is_some(), &[LongPoll], "long polling (--transport long-poll)")?;
    only("--cursor-param", t.cursor_param.is_some(), &[LongPoll], "long polling (--transport long-poll)")?;
    only("--cursor-header", t.cursor_header.is_some(), &[LongPoll], "long polling (--transport long-poll)")?;
    only("--split-array", t.split_array, &[LongPoll], "long polling (--transport long-poll)")?;
    only("--interval", t.interval.is_some(), &[Poll], "polling (--transport poll)")?;
    only("--last-event-id", args.last_event_id.is_some(), &[Sse], "Server-Sent Events")?;
    only("--mcp", args.mcp, &[Sse], "Server-Sent Events (MCP's Streamable HTTP)")?;
    if transport == WebSocket {
        if args.request.data.is_some() || args.request.data_file.is_some() {
            return Err("a WebSocket has no request body: send messages with --send TEXT instead of -d".into());
        }
        if !config.method.eq_ignore_ascii_case("GET") {
            return Err(format!("a WebSocket opens with a GET, not -X {}", config.method));
        }
    }
    for (flag, path) in [("--type-path", &t.type_path), ("--cursor-from", &t.cursor_from)] {
        if let Some(path) = path {
            JsonPath::parse(path.trim()).map_err(|e| format!("{flag} {path:?}: {e}"))?;
        }
    }
    let sends_cursor = t.cursor_param.is_some() || t.cursor_header.is_some();
    match (&t.cursor_from, sends_cursor) {
        (Some(_), false) => {
            return Err(
                "--cursor-from needs --cursor-param NAME or --cursor-header NAME: how to send the cursor back".into()
            )
        }
        (None, true) => {
            let flag = if t.cursor_param.is_some() { "--cursor-param" } else { "--cursor-header" };
            return Err(format!("{flag} needs --cursor-from PATH: where in each answer the cursor is"));
        }
        _ => {}
    }
    for (flag, name) in [("--cursor-param", &t.cursor_param), ("--cursor-header", &t.cursor_header)] {
        if name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(format!("{flag} needs a name"));
        }
    }
    if let Some(secs) = t.interval {
        config.poll_interval_ms = poll_interval_ms(secs)?;
    }
    config.transport = transport;
    config.send_on_open = t.send.clone();
    config.type_path = t.type_path.as_deref().unwrap_or("").trim().to_owned();
    config.cursor_from = t.cursor_from.as_deref().unwrap_or("").trim().to_owned();
    config.cursor_param = t.cursor_param.as_deref().unwrap_or("").trim().to_owned();
    config.cursor_header = t.cursor_header.as_deref().unwrap_or("").trim().to_owned();
    config.split_array = t.split_array;
    Ok(())
}

/// The feed `--collection FILE [--feed NAME]` names: its config (checked as the app checks a
/// feed's settings) and its name, or a usage error that says what the file holds.
fn collection_feed(path: &std::path::Path, feed: Option<&str>) -> Result<(FeedConfig, String), String> {
    let at = format!("--collection {}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {at}: {e}"))?;
    let collection = feedscope_core::collection::parse(&text).map_err(|e| format!("{at}: {e}"))?;
    let names = || collection.feeds.iter().map(|f| format!("{:?}", f.name)).collect::<Vec<_>>().join(", ");
    let chosen: Vec<&FeedForm> = match feed {
        Some(name) => collection.feeds.iter().filter(|f| f.name == name).collect(),
        None => collection.feeds.iter().collect(),
    };
    let form = match (chosen.as_slice(), feed) {
        ([form], _) => *form,
        ([], _) if collection.feeds.is_empty() => return Err(format!("{at}: the collection has no feeds")),
        ([], Some(name)) => return Err(format!("{at}: no feed is named {name:?}; its feeds are {}", names())),
        (_, Some(name)) => {
            return Err(format!(
                "{at}: {} feeds are named {name:?}, so --feed cannot tell them apart; its feeds are {}",
                chosen.len(),
                names()
            ))
        }
        (_, None) => {
            return Err(format!(
                "{at}: the collection has {} feeds; pick one with --feed NAME: {}",
                chosen.len(),
                names()
            ))
        }
    };
    form.config.validate_user_settings().map_err(|e| format!("{at}: feed {:?}: {e}", form.name))?;
    Ok((form.config.clone(), form.name.clone()))
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
        "poll_interval_ms" => "--interval",
        _ => return e.to_string(),
    };
    format!("{flag}: {e}")
}

async fn tail(args: TailArgs) -> ExitCode {
    let (config, feed_name) = match &args.collection {
        Some(path) => match collection_feed(path, args.feed.as_deref()) {
            Ok(found) => found,
            Err(e) => return fail(2, &e),
        },
        None if args.feed.is_some() => return fail(2, "--feed picks a feed of --collection FILE: give the file too"),
        None => match tail_config(&args) {
            Ok(c) => (c, "feed".to_owned()),
            Err(e) => return fail(2, &e),
        },
    };
    let name = args.name.clone().unwrap_or(feed_name);
    let url = config.url.trim().to_owned();
    let filter = match args.filter.as_deref().map(Filter::parse).transpose() {
        Ok(f) => f,
        Err(e) => return fail(2, &format!("--filter: {e}\n{}", e.caret(args.filter.as_deref().unwrap_or("")))),
    };
    let preset = match args.assemble.as_deref().map(str::parse::<Preset>).transpose() {
        Ok(p) => p,
        Err(e) => {
            let caret = e.caret(args.assemble.as_deref().unwrap_or(""));
            return fail(2, &format!("--assemble: {e}{}{caret}", if caret.is_empty() { "" } else { "\n" }));
        }
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
    if let Err(e) = hub.add(&name, config, HistoryLimits::STREAMING) {
        return fail(2, &e.to_string());
    }
    // Lossless: when the output is slower than the feed, the feed's reader waits (backpressure).
    let sub = hub.subscribe(Some(&name), SUBSCRIPTION_CAPACITY);
    if let Some(n) = args.max_events {
        if n == 0 {
            return ExitCode::SUCCESS;
        }
        // The engine stops right after the Nth event: no record past it, no further request.
        // With a filter, the Nth matching event is counted below instead.
        if filter.is_none() {
            if let Err(e) = hub.stop_after(&name, n) {
                return fail(1, &e.to_string());
            }
        }
    }
    if let Err(e) = hub.start(&name) {
        return fail(1, &e.to_string());
    }
    let deadline = sleep_until(args.duration.map(|d| tokio::time::Instant::now() + Duration::from_secs_f64(d)));
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(deadline, ctrl_c);
    let mut events = 0u64;
    let mut stopping = false;
    let out = match preset {
        Some(preset) => Ok(Output::Answer(BufWriter::new(stdout.lock()), Box::new(pretty::AnswerPrinter::new(preset)))),
        None => Output::new(format, stdout.lock()),
    };
    let Ok(mut out) = out else {
        return fail(1, "cannot write to standard output");
    };
    let stop = |hub: &Arc<Hub>, stopping: &mut bool| {
        if !*stopping {
            *stopping = true;
            let _ = hub.stop(&name);
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
            let shown = filter.as_ref().is_none_or(|f| f.matches(&record));
            if let Body::Event { .. } = record.body {
                if stopping {
                    continue; // past --max-events / --duration: the user asked for no more.
                }
                events += u64::from(shown);
            }
            if write_record(&mut out, &mut log, &mut printer, &record, shown).is_err() {
                // stdout closed (e.g. piped into `head`): end quietly.
                stop(&hub, &mut stopping);
                return ExitCode::SUCCESS;
            }
            if let Output::Answer(_, answer) = &out {
                if answer.is_done() {
                    // The end marker: the answer is whole, the feed has nothing more to say.
                    stop(&hub, &mut stopping);
                } else if let Body::Disconnected { reason, reconnect_in_ms, .. } = &record.body {
                    // Only stdout's answer is shown: say on stderr why it stalls.
                    eprintln!(
                        "feedscope: {} before the answer's end; reconnecting in {}",
                        feedscope_core::text::one_line(reason, 200),
                        feedscope_core::text::human_ms(*reconnect_in_ms)
                    );
                }
            }
            if let Body::Closed { reason, fatal, detail, .. } = &record.body {
                if *fatal {
                    let _ = out.finish();
                    // The reason is short; the URL and the detail say where and what exactly.
                    eprintln!("feedscope: {url}: {reason}");
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
    let _ = out.finish();
    if let Some(log) = log {
        if let Err(e) = log.finish() {
            return fail(1, &format!("cannot write the log: {e}"));
        }
    }
    exit
}

/// `feedscope check`: watches the feed in persistent mode for `--duration` (or until it closes, or
/// Ctrl-C), diagnosing every record, then prints the findings. Exit 1 when one is an error.
async fn check(args: CheckArgs) -> ExitCode {
    let config = match request_config(&args.request).and_then(|c| c.validate_user_settings().map_err(usage).map(|_| c))
    {
        Ok(c) => c,
        Err(e) => return fail(2, &e),
    };
    let duration = match positive_secs("--duration", args.duration) {
        Ok(d) => d,
        Err(e) => return fail(2, &e),
    };
    let idle_ms = match positive_secs("--idle-secs", args.idle_secs) {
        Ok(d) => d.as_millis() as u64,
        Err(e) => return fail(2, &e),
    };
    let hub = Hub::new();
    if let Err(e) = hub.add(CHECKED, config, HistoryLimits::STREAMING) {
        return fail(2, &e.to_string());
    }
    let sub = hub.subscribe(Some(CHECKED), SUBSCRIPTION_CAPACITY);
    if let Err(e) = hub.start(CHECKED) {
        return fail(1, &e.to_string());
    }
    let started = tokio::time::Instant::now();
    let deadline = tokio::time::sleep(duration);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(deadline, ctrl_c);
    let mut diagnoser = Diagnoser::new(DiagnoseOptions { idle_ms, ..DiagnoseOptions::default() });
    let mut stopping = false;
    let mut batch = Vec::with_capacity(BATCH);
    'feed: loop {
        tokio::select! {
            _ = sub.recv_many(&mut batch, BATCH) => {}
            _ = &mut ctrl_c, if !stopping => { stopping = true; let _ = hub.stop(CHECKED); continue; }
            () = &mut deadline, if !stopping => { stopping = true; let _ = hub.stop(CHECKED); continue; }
        };
        for record in batch.drain(..) {
            diagnoser.observe(&record);
            if let Body::Closed { .. } = record.body {
                break 'feed;
            }
        }
    }
    let findings = diagnoser.findings(Timestamp::now());
    let url = args.request.url.as_deref().unwrap_or("").trim();
    let mut out = io::stdout().lock();
    let written = match args.format {
        CheckFormat::Json => {
            let report = CheckReport { url, findings: &findings };
            serde_json::to_writer(&mut out, &report).map_err(io::Error::from).and_then(|()| writeln!(out))
        }
        CheckFormat::Text => write_check_text(&mut out, url, &findings, diagnoser.seen(), started.elapsed()),
    };
    if written.and_then(|()| out.flush()).is_err() {
        return fail(1, "cannot write to standard output");
    }
    if findings.iter().any(|f| f.severity == Severity::Error) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `feedscope compare`: the demo's live feed (started here, on loopback) or the given URLs, over
/// their transports side by side in one hub; then one row per transport, or the JSON report.
async fn compare(args: CompareArgs) -> ExitCode {
    let duration = match positive_secs("--duration", args.duration) {
        Ok(d) => d,
        Err(e) => return fail(2, &e),
    };
    let interval_ms = match poll_interval_ms(args.interval) {
        Ok(ms) => ms,
        Err(e) => return fail(2, &e),
    };
    let interval = Duration::from_millis(interval_ms);
    let given: Vec<(&str, &str, Transport, &str)> = [
        ("sse", "--sse", Transport::Sse, &args.sse),
        ("websocket", "--ws", Transport::WebSocket, &args.ws),
        ("long-poll", "--long-poll", Transport::LongPoll, &args.long_poll),
        ("poll", "--poll", Transport::Poll, &args.poll),
    ]
    .into_iter()
    .filter_map(|(name, flag, transport, url)| Some((name, flag, transport, url.as_deref()?)))
    .collect();
    let mut server = None;
    let (feeds, shared_source, source) = if given.is_empty() {
        use feedscope_server::demo::{DemoOptions, MAX_RATE, MIN_RATE};
        if !(MIN_RATE..=MAX_RATE).contains(&args.rate) {
            return fail(
                2,
                &format!("invalid --rate {}: expected events per second from {MIN_RATE} to {MAX_RATE}", args.rate),
            );
        }
        let opts = DemoOptions { rate: args.rate, ..DemoOptions::default() };
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        let demo = match feedscope_server::serve(addr, feedscope_server::demo::router(opts)).await {
            Ok(s) => s,
            Err(e) => return fail(1, &format!("cannot start the demo server on {addr}: {e}")),
        };
        let feeds = match feedscope_core::compare::demo_feeds(&demo.url(""), interval) {
            Ok(f) => f,
            Err(e) => return fail(1, &format!("the demo's feeds: {e}")),
        };
        let source = format!("the demo's live feed, {} events/s, on {}", args.rate, demo.url(""));
        server = Some(demo);
        (feeds, true, source)
    } else {
        let mut feeds = Vec::with_capacity(given.len());
        for (name, flag, transport, url) in given {
            let mut config = feedscope_core::compare::demo_feed(url.trim().to_owned(), transport);
            if transport == Transport::Poll {
                config.poll_interval_ms = interval_ms;
            }
            if let Err(e) = config.validate_user_settings() {
                return fail(2, &format!("{flag} {url}: {}", usage(e)));
            }
            feeds.push(CompareFeed { name: name.to_owned(), config });
        }
        (feeds, args.same_source, "the given URLs".to_owned())
    };
    let options = CompareOptions {
        duration_ms: duration.as_millis() as u64,
        warmup_ms: COMPARE_WARMUP_MS,
        drain_ms: None,
        shared_source,
    };
    if io::stderr().is_terminal() {
        eprintln!(
            "feedscope: comparing {} for {} (and {} of warm-up)…",
            feeds.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", "),
            feedscope_core::text::human_ms(options.duration_ms),
            feedscope_core::text::human_ms(options.warmup_ms)
        );
    }
    let report = feedscope_core::compare::run(feeds, options).await;
    if let Some(demo) = server {
        demo.shutdown().await;
    }
    let report = match report {
        Ok(r) => r,
        Err(e) => return fail(1, &e.to_string()),
    };
    let mut out = io::stdout().lock();
    let written = match args.format {
        CompareFormat::Json => {
            serde_json::to_writer(&mut out, &report).map_err(io::Error::from).and_then(|()| writeln!(out))
        }
        CompareFormat::Table => write_compare_table(&mut out, &report, &source, interval_ms),
    };
    if written.and_then(|()| out.flush()).is_err() {
        return fail(1, "cannot write to standard output");
    }
    let mut exit = ExitCode::SUCCESS;
    for t in report.transports.iter().filter(|t| t.events == 0) {
        let why =
            t.problem.as_deref().map_or(String::new(), |p| format!(": {}", feedscope_core::text::one_line(p, 300)));
        eprintln!("feedscope: {} ({}) delivered no event of the measured span{why}", t.name, t.url);
        exit = ExitCode::from(1);
    }
    exit
}

/// The warm-up of `compare`: connections open before events count.
const COMPARE_WARMUP_MS: u64 = 1000;

/// `compare`'s table: a line on what was compared, then one row per transport.
fn write_compare_table(
    out: &mut impl Write,
    report: &CompareReport,
    source: &str,
    poll_interval_ms: u64,
) -> io::Result<()> {
    use feedscope_core::text::human_ms;
    let polled = report.transports.iter().any(|t| t.transport == Transport::Poll);
    writeln!(
        out,
        "{}: {} measured after {} of warm-up{}",
        feedscope_core::text::one_line(source, 300),
        human_ms(report.duration_ms),
        human_ms(report.warmup_ms),
        if polled { format!(", poll every {}", human_ms(poll_interval_ms)) } else { String::new() }
    )?;
    let ms = |v: Option<i64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
    let header =
        ["transport", "events", "p50 ms", "p99 ms", "requests", "connections", "bytes/event", "missed", "duplicated"];
    let rows: Vec<[String; 9]> = report
        .transports
        .iter()
        .map(|t| {
            [
                feedscope_core::text::one_line(&t.name, 40),
                t.events.to_string(),
                ms(t.latency.p50_ms),
                ms(t.latency.p99_ms),
                t.requests.to_string(),
                t.connections.to_string(),
                t.bytes_per_event.map_or_else(|| "-".to_owned(), |b| format!("{b:.1}")),
                t.missed.to_string(),
                t.duplicated.to_string(),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).chain([header[i].len()]).max().unwrap_or(0))
        .collect();
    let line = |cells: [&str; 9]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i == 0 {
                s.push_str(&format!("{cell:<w$}", w = widths[0]));
            } else {
                s.push_str(&format!("  {cell:>w$}", w = widths[i]));
            }
        }
        s
    };
    writeln!(out, "{}", line(header))?;
    for r in &rows {
        writeln!(out, "{}", line(std::array::from_fn(|i| r[i].as_str())))?;
    }
    for t in report.transports.iter().filter(|t| t.problem.is_some() || t.other > 0) {
        if let Some(p) = &t.problem {
            writeln!(out, "{}: {}", t.name, feedscope_core::text::one_line(p, 300))?;
        }
        if t.other > 0 {
            writeln!(out, "{}: {} messages without `n` and `sent_at` were not counted", t.name, t.other)?;
        }
    }
    Ok(())
}

/// What `check --format json` prints, in this order.
#[derive(serde::Serialize)]
struct CheckReport<'a> {
    url: &'a str,
    findings: &'a [Finding],
}

/// The name of the one feed `check` runs.
const CHECKED: &str = "check";

/// A flag's seconds: a finite number above 0.
fn positive_secs(flag: &str, secs: f64) -> Result<Duration, String> {
    if !secs.is_finite() || secs <= 0.0 || secs > 1e9 {
        return Err(format!("invalid {flag} {secs}: expected seconds, more than 0"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// One line per finding (severity, code, rule and fix, what was seen), then a summary line.
fn write_check_text(
    out: &mut impl Write,
    url: &str,
    findings: &[Finding],
    seen: Seen,
    watched: Duration,
) -> io::Result<()> {
    for f in findings {
        writeln!(out, "{:<7} {:<15} {} Seen: {}", f.severity.as_str(), f.code.as_str(), f.message, f.evidence)?;
    }
    let count = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let of = |severity: Severity| findings.iter().filter(|f| f.severity == severity).count();
    let verdict = if findings.iter().any(|f| f.severity != Severity::Info) {
        ""
    } else {
        ": a browser would be happy with this stream"
    };
    writeln!(
        out,
        "{}: {}, {}, {}{verdict} (watched {}: {}, {} opened, {})",
        feedscope_core::text::one_line(url, 200),
        count(of(Severity::Error), "error", "errors"),
        count(of(Severity::Warning), "warning", "warnings"),
        count(of(Severity::Info), "info", "infos"),
        feedscope_core::text::human_ms(watched.as_millis() as u64),
        count(seen.requests as usize, "request", "requests"),
        seen.opened,
        count(seen.events as usize, "event", "events"),
    )
}

/// Records the printer may lag behind the feed before the feed's reader waits for it.
const SUBSCRIPTION_CAPACITY: usize = 1 << 16;
/// Records taken from the subscription at once.
const BATCH: usize = 4096;
const OUTPUT_BUFFER: usize = 1 << 16;

type Log = Exporter<File>;

/// Standard output: the NDJSON log (core's exporter, the one writer of the format), the
/// pretty lines, or the answer `--assemble` puts together.
enum Output<W: Write> {
    Ndjson(Exporter<W>),
    Pretty(BufWriter<W>),
    Answer(BufWriter<W>, Box<pretty::AnswerPrinter>),
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
            Output::Pretty(w) | Output::Answer(w, _) => w.flush(),
        }
    }

    /// The last write: an answer ends its last line.
    fn finish(&mut self) -> io::Result<()> {
        if let Output::Answer(w, answer) = self {
            answer.finish(w)?;
        }
        self.flush()
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

/// Writes a record where it goes: when `shown` (it matches the filter), to the log and stdout's
/// records. The answer assembles the shown events, and sees every connection record (they start
/// its clock, and the body's end ends a `json:PATH` answer).
fn write_record(
    out: &mut Output<impl Write>,
    log: &mut Option<Log>,
    printer: &mut pretty::Printer,
    record: &Record,
    shown: bool,
) -> io::Result<()> {
    if let (true, Some(f)) = (shown, log.as_mut()) {
        f.write(record)?;
    }
    match out {
        Output::Ndjson(x) if shown => x.write(record),
        Output::Pretty(w) if shown => printer.print(w, record),
        Output::Answer(w, answer) if shown || !matches!(record.body, Body::Event { .. }) => answer.print(w, record),
        _ => Ok(()),
    }
}
