//! A conformance test service: exposes the engine through the REST interface that SSE client
//! contract suites (LaunchDarkly's `sse-contract-tests`) drive. See docs/conformance.md.

use std::collections::{BTreeMap, HashMap};
use std::future::IntoFuture as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use clap::Parser;
use feedscope_core::feed::error_chain;
use feedscope_core::{Body, Cause, FeedConfig, Header, HistoryLimits, Hub, Mode, Subscription};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What the engine supports, in the harness's words; docs/conformance.md says what each means.
/// Not `event-type-listeners`: every event reaches the callback whatever its type, so the harness
/// must not send `listen` commands.
const CAPABILITIES: &[&str] = &[
    "comments",
    "headers",
    "last-event-id",
    "post",
    "report",
    "read-timeout",
    "restart",
    "bom",
    "server-directed-shutdown-request",
    "204",
];

/// Records a stream's callback sender may lag behind before the feed's reader waits for it.
const QUEUE_CAPACITY: usize = 1 << 16;
/// The harness's callback endpoint should answer at once; a stuck one must not stall a stream forever.
const CALLBACK_TIMEOUT: Duration = Duration::from_secs(10);
/// After `DELETE /`, how long open HTTP connections may delay the exit.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

#[derive(Debug, clap::Parser)]
#[command(about = "SSE contract-test service: drives the Feedscope engine for a contract-test harness")]
struct Args {
    /// Port to listen on (0 picks a free one; the address is printed on stdout).
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Address or host name to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
}

/// `POST /`: the harness's stream parameters. Absent and `null` mean the same: the default.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateStream {
    stream_url: String,
    callback_url: String,
    tag: Option<String>,
    initial_delay_ms: Option<u64>,
    read_timeout_ms: Option<u64>,
    last_event_id: Option<String>,
    headers: Option<BTreeMap<String, String>>,
    method: Option<String>,
    body: Option<String>,
}

/// `POST /streams/{id}`.
#[derive(Debug, Deserialize)]
struct Command {
    command: String,
}

/// One client created by the harness: its feed in the hub and the task that reports to the harness.
struct Stream {
    feed: String,
    /// Stops the callback task before the feed itself, so a user's stop is never reported.
    cancel: CancellationToken,
    callbacks: JoinHandle<()>,
}

struct Service {
    hub: Arc<Hub>,
    http: reqwest::Client,
    streams: Mutex<HashMap<u64, Stream>>,
    next_id: AtomicU64,
    shutdown: CancellationToken,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sse-test-service: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(CALLBACK_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot build the HTTP client for callbacks: {}", error_chain(&e)))?;
    let service = Arc::new(Service {
        hub: Hub::new(),
        http,
        streams: Mutex::default(),
        next_id: AtomicU64::new(1),
        shutdown: CancellationToken::new(),
    });
    let app = Router::new()
        .route("/", get(status).post(create).delete(quit))
        .route("/streams/{id}", axum::routing::post(command).delete(close))
        .with_state(service.clone());

    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", args.host, args.port))?;
    let addr = listener.local_addr().map_err(|e| format!("cannot read the bound address: {e}"))?;
    let mut stdout = std::io::stdout();
    // The test harness (and our own tests with `--port 0`) read the port from this line.
    writeln!(stdout, "listening on http://{addr}")
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))?;

    let stop = service.shutdown.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(stop.clone().cancelled_owned());
    let forced = async {
        stop.cancelled().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        served = server.into_future() => served.map_err(|e| format!("server error: {e}"))?,
        () = forced => eprintln!("sse-test-service: connections still open after {SHUTDOWN_GRACE:?}; exiting anyway"),
    }

    let streams: Vec<Stream> = service.streams.lock().expect("streams lock").drain().map(|(_, s)| s).collect();
    for s in &streams {
        s.cancel.cancel();
    }
    service.hub.stop_all();
    Ok(())
}

/// `GET /`: the service is up, and what it can do.
async fn status() -> Json<Value> {
    Json(json!({
        "name": "feedscope",
        "clientVersion": env!("CARGO_PKG_VERSION"),
        "capabilities": CAPABILITIES,
    }))
}

/// `DELETE /`: answer first, then stop serving; `run` returns and the process exits.
async fn quit(State(service): State<Arc<Service>>) -> StatusCode {
    eprintln!("sse-test-service: asked to exit");
    service.shutdown.cancel();
    StatusCode::NO_CONTENT
}

/// `POST /`: starts a client in `browser` mode and answers with its resource URL.
async fn create(State(service): State<Arc<Service>>, headers: HeaderMap, body: Bytes) -> Response {
    let params: CreateStream = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => return bad_request(format!("invalid stream parameters: {e}")),
    };
    let callback_base = match reqwest::Url::parse(params.callback_url.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => params.callback_url.trim().trim_end_matches('/').to_owned(),
        Ok(u) => return bad_request(format!("callbackUrl must be http or https, not {:?}", u.scheme())),
        Err(e) => return bad_request(format!("invalid callbackUrl {:?}: {e}", params.callback_url)),
    };
    let config = feed_config(&params);
    if let Err(e) = config.validate() {
        // Name the parameter as the harness spells it, not as FeedConfig does.
        let param = match e.field() {
            "url" => "streamUrl",
            "last_event_id" => "lastEventId",
            other => other,
        };
        return bad_request(format!("invalid {param}: {e}"));
    }

    let id = service.next_id.fetch_add(1, Ordering::Relaxed);
    let feed = format!("stream-{id}");
    if let Err(e) = service.hub.add(&feed, config, HistoryLimits::STREAMING) {
        return bad_request(format!("cannot create the stream: {e}"));
    }
    // Subscribe before starting so that not even the first record can be missed.
    let subscription = service.hub.subscribe(Some(&feed), QUEUE_CAPACITY);
    if let Err(e) = service.hub.start(&feed) {
        let _ = service.hub.remove(&feed);
        return (StatusCode::INTERNAL_SERVER_ERROR, format!("cannot start the stream: {e}")).into_response();
    }
    let cancel = CancellationToken::new();
    let sender = CallbackSender { http: service.http.clone(), base: callback_base, next: 1 };
    let callbacks = tokio::spawn(forward(subscription, sender, cancel.clone()));
    service.streams.lock().expect("streams lock").insert(id, Stream { feed, cancel, callbacks });
    eprintln!(
        "sse-test-service: stream {id} ({}) on {}",
        params.tag.as_deref().unwrap_or("untagged"),
        params.stream_url
    );

    let path = format!("/streams/{id}");
    // An absolute URL spares the harness from joining its base URL and our path.
    let location = match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        Some(host) if !host.is_empty() && !host.contains(['/', ' ']) => {
            format!("http://{host}{path}")
        }
        _ => path.clone(),
    };
    match HeaderValue::from_str(&location).or_else(|_| HeaderValue::from_str(&path)) {
        Ok(v) => (StatusCode::CREATED, [(header::LOCATION, v)]).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("cannot name the stream resource: {e}")).into_response(),
    }
}

/// The harness's parameters as a feed: `browser` mode, deterministic delays, no read timeout unless asked.
fn feed_config(p: &CreateStream) -> FeedConfig {
    let mut headers: Vec<Header> =
        p.headers.iter().flatten().map(|(name, value)| Header { name: name.clone(), value: value.clone() }).collect();
    let body = p.body.clone().filter(|b| !b.is_empty());
    // The suite lets a client pick text/plain when it sends a body without a Content-Type.
    if body.is_some() && !headers.iter().any(|h| h.name.eq_ignore_ascii_case("content-type")) {
        headers.push(Header { name: "content-type".into(), value: "text/plain; charset=utf-8".into() });
    }
    let defaults = FeedConfig::default();
    FeedConfig {
        url: p.stream_url.clone(),
        method: p.method.clone().filter(|m| !m.is_empty()).unwrap_or(defaults.method.clone()),
        headers,
        body,
        last_event_id: p.last_event_id.clone().unwrap_or_default(),
        mode: Mode::Browser,
        retry_ms: p.initial_delay_ms.unwrap_or(defaults.retry_ms),
        read_timeout_ms: p.read_timeout_ms.unwrap_or(0),
        jitter: false,
        ..defaults
    }
}

/// `POST /streams/{id}`: `restart` reconnects at once; `listen` is accepted and does nothing,
/// since every event type already reaches the callback.
async fn command(State(service): State<Arc<Service>>, Path(id): Path<String>, body: Bytes) -> Response {
    let Some(feed) = find(&service, &id) else {
        return (StatusCode::NOT_FOUND, format!("no stream {id:?}")).into_response();
    };
    let cmd: Command = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return bad_request(format!("invalid command: {e}")),
    };
    match cmd.command.as_str() {
        "restart" => match service.hub.restart(&feed) {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => (StatusCode::NOT_FOUND, e.to_string()).into_response(),
        },
        "listen" => StatusCode::NO_CONTENT.into_response(),
        other => bad_request(format!("unknown command {other:?}: this service knows `restart`")),
    }
}

/// `DELETE /streams/{id}`: stops that client; once this answers, it sends no more callbacks.
async fn close(State(service): State<Arc<Service>>, Path(id): Path<String>) -> Response {
    let stream = id.parse::<u64>().ok().and_then(|n| service.streams.lock().expect("streams lock").remove(&n));
    let Some(stream) = stream else {
        return (StatusCode::NOT_FOUND, format!("no stream {id:?}")).into_response();
    };
    stream.cancel.cancel();
    if let Err(e) = stream.callbacks.await {
        eprintln!("sse-test-service: the callback task of stream {id} failed: {e}");
    }
    if let Err(e) = service.hub.remove(&stream.feed) {
        eprintln!("sse-test-service: {e}");
    }
    eprintln!("sse-test-service: stream {id} closed");
    StatusCode::OK.into_response()
}

fn find(service: &Service, id: &str) -> Option<String> {
    let n = id.parse::<u64>().ok()?;
    service.streams.lock().expect("streams lock").get(&n).map(|s| s.feed.clone())
}

fn bad_request(message: String) -> Response {
    eprintln!("sse-test-service: 400: {message}");
    (StatusCode::BAD_REQUEST, message).into_response()
}

/// Posts a stream's messages to `{base}/1`, `{base}/2`, … one at a time, in order.
struct CallbackSender {
    http: reqwest::Client,
    base: String,
    next: u64,
}

impl CallbackSender {
    async fn send(&mut self, message: &Value) {
        let url = format!("{}/{}", self.base, self.next);
        self.next += 1;
        let sent = self
            .http
            .post(&url)
            .header(header::CONTENT_TYPE, "application/json")
            .body(message.to_string())
            .send()
            .await;
        match sent {
            Ok(resp) if resp.status().is_success() => {}
            Ok(resp) => eprintln!("sse-test-service: callback {url} answered HTTP {}", resp.status()),
            Err(e) => eprintln!("sse-test-service: callback {url} failed: {}", error_chain(&e)),
        }
    }
}

/// Turns the feed's records into callbacks until the feed closes or the stream is deleted.
async fn forward(subscription: Subscription, mut sender: CallbackSender, cancel: CancellationToken) {
    loop {
        let record = tokio::select! {
            biased;
            () = cancel.cancelled() => return,
            record = subscription.recv() => record,
        };
        let (message, last) = match &record.body {
            Body::Event { event_type, id, data, .. } => {
                (Some(json!({"kind": "event", "event": {"type": &**event_type, "data": data, "id": &**id}})), false)
            }
            Body::Comment { text } => (Some(json!({"kind": "comment", "comment": text})), false),
            // A restart the harness asked for is no error: it expects the next event.
            Body::Disconnected { cause: Cause::UserRestart, .. } => (None, false),
            Body::Disconnected { reason, .. } => (Some(json!({"kind": "error", "error": reason})), false),
            // A user's stop cancels this task first, so a `closed` seen here is the server's
            // doing: a failure, or a 204 (which a browser's EventSource reports as an error too).
            Body::Closed { reason, .. } => (Some(json!({"kind": "error", "error": reason})), true),
            Body::Connecting { .. }
            | Body::Open { .. }
            | Body::Retry { .. }
            | Body::Error { .. }
            | Body::Alert { .. }
            | Body::Binary { .. }
            | Body::Sent { .. } => (None, false),
        };
        if let Some(message) = message {
            tokio::select! {
                biased;
                () = cancel.cancelled() => return,
                () = sender.send(&message) => {}
            }
        }
        if last {
            return;
        }
    }
}
