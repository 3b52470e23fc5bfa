//! The demo feed: an endless, deterministic stream of several event types at a chosen rate,
//! with heartbeats, `Last-Event-ID` resumption and a flaky variant that drops its connection.
//!
//! Paths: `/` (a plain-text index), `/events`, `/flaky`, `/firehose`, `/burst`, `/llm`. Every
//! stream but `/llm` starts with `retry: 2000` and `: feedscope demo`, then cycles `tick`,
//! `price`, `chat` (multi-line data) and `message` events with ids 1, 2, 3… (or from N+1 when the request carries
//! `Last-Event-ID: N`). An event's type and text depend only on its id; the price walk is seeded
//! by the first id of the connection, so the same request always gives the same stream.
//!
//! `/burst?n=N` is for benchmarks: the same prelude, then `tick` events with ids 1..=N (after a
//! numeric `Last-Event-ID: K`, K+1..=N) of about 100 bytes each, one `data:` line of JSON such as
//! `{"seq":7,"symbol":"FSC","price":114.33,"change":-0.07,"src":"demo"}`, written as fast as the
//! client reads them in chunks of about [`BURST_CHUNK`] bytes, and then the body ends. With nothing
//! left to send it answers `204 No Content`, so an `EventSource` that reconnects stops there. It
//! sends `Access-Control-Allow-Origin: *` (and answers a CORS preflight), so a page from any
//! origin can open it.
//!
//! `/llm?preset=P` (GET or POST) plays an assistant's answer as an LLM API streams it: the same
//! [`LLM_ANSWER`] token by token, [`LLM_DELAY_MS`] apart (`?delay_ms=N` changes it), then one
//! `get_weather` tool call whose arguments come in fragments, then the provider's end marker, and
//! the body ends. `P` is `openai-chat` (the default: Chat Completions chunks, `data: [DONE]`),
//! `openai-responses` (Responses API events, `response.completed`) or `anthropic` (Messages
//! events, `message_stop`), the shapes `feedscope tail --assemble` reads.
//!
//! The live feed: one event source per server, shared by every client and served over four
//! transports, so that they can be compared side by side (`feedscope compare`,
//! docs/transports.md). It starts with the first request to one of its paths and then publishes
//! events n = 1, 2, 3… at the server's rate ([`DemoOptions::rate`]), the same types and data as
//! `/events` gives for those ids. Each event is one JSON object, in this key order:
//! `{"n":7,"type":"price","sent_at":1767225600123,"data":"{\"symbol\":\"FSC\",…}"}`, where
//! `sent_at` is when the server published it (milliseconds since the Unix epoch) and `data` is the
//! text `/events` sends for id `n`. The server keeps the last [`LIVE_BUFFER`] events.
//! - `/live`: Server-Sent Events, `event:` the type, `id:` n, `data:` the JSON; a numeric
//!   `Last-Event-ID` resumes after that event (as far as the buffer reaches), else it starts with
//!   the next event; `: heartbeat` comments as on `/events`.
//! - `/ws`: a WebSocket; each event is one text message (the JSON), from the next event on (or
//!   after `?cursor=N`). Each text or binary message the client sends is answered with
//!   `{"type":"ack","received":TEXT}` (or `"received_bytes":N`); a ping goes out every heartbeat.
//! - `/long-poll?cursor=N` (or the cursor in an `X-Cursor` header): answers at once with a JSON
//!   array of the events after N (at most [`LONG_POLL_MAX_BATCH`], oldest first) or, when there
//!   are none yet, waits for one for up to 25 s (`?timeout=SECS`) and then answers `204 No
//!   Content`. Without a cursor it starts with the next event. Each answer carries the cursor to
//!   send next (the newest n it holds, or N again) in its `X-Cursor` header; it is also the
//!   last element's `n`.
//! - `/poll`: the current state, at once: a JSON array of the events published in about the last
//!   10 s at the server's rate (`?seconds=S`: the last ⌈rate × S⌉ events), oldest first. The body
//!   changes only when an event is published, so a client polling more often than every 10 s
//!   sees every event. It has an `ETag`, and an `If-None-Match` with it gets `304 Not Modified`
//!   while no event was published.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::{Arc, Mutex, Once, Weak};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use feedscope_core::sse::{encode_comment, encode_event, encode_retry};
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::{bad_request, event_stream};

/// Highest rate a request may ask for, in events per second.
pub const MAX_RATE: f64 = 100_000.0;
/// Lowest rate a request may ask for: one event every 1000 s.
pub const MIN_RATE: f64 = 0.001;
/// The rate of `/firehose` when the request names none.
pub const FIREHOSE_RATE: f64 = 10_000.0;
/// The reconnection time every demo stream announces first.
pub const RETRY_MS: u64 = 2000;
/// Events in a `/burst` when the request names no `n`.
pub const BURST_DEFAULT: u64 = 500_000;
/// Most events a `/burst` may ask for.
pub const BURST_MAX: u64 = 10_000_000;
/// `/burst` encodes its events into body chunks of about this many bytes.
pub const BURST_CHUNK: usize = 256 << 10;

/// Events the live feed keeps for late readers: a `Last-Event-ID` on `/live`, a long poll's
/// cursor, `/poll`'s window.
pub const LIVE_BUFFER: usize = 4096;
/// How long a long poll waits for an event when the request names no `timeout`.
pub const LONG_POLL_WAIT: Duration = Duration::from_secs(25);
/// The longest wait `/long-poll?timeout=` may ask for, in seconds.
pub const LONG_POLL_MAX_WAIT_SECS: f64 = 120.0;
/// Most events in one answer of `/long-poll`.
pub const LONG_POLL_MAX_BATCH: usize = 1000;
/// The seconds of events `/poll` answers with when the request names no `seconds`.
pub const POLL_SECONDS: f64 = 10.0;
/// The header a long poll's answer carries its cursor in, and a request may send one in.
pub const CURSOR_HEADER: &str = "x-cursor";

/// Most events written in one body chunk: high rates are sent in batches per timer tick, and a
/// client that fell behind catches up in chunks of this size.
const MAX_BATCH: u64 = 1000;
/// Shortest sleep between two batches; at high rates each wake-up sends what became due.
const MIN_TICK: Duration = Duration::from_millis(4);
/// Pause between the last event of `/flaky` and the abort, so the last chunk leaves the server's
/// buffer before the connection is dropped.
const DROP_PAUSE: Duration = Duration::from_millis(50);

/// How the demo feed behaves when a request does not say otherwise.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Interval between `: heartbeat` comments; zero sends none. Default 15 s.
    pub heartbeat: Duration,
    /// Events per second on `/events` and `/flaky` (`?rate=N` overrides) and of the live feed
    /// (`/live`, `/ws`, `/long-poll`, `/poll`). Values outside [`MIN_RATE`]..=[`MAX_RATE`] are
    /// clamped; NaN gives the default. Default 4.0.
    pub rate: f64,
    /// `/flaky` drops the connection after this many events (`?drop_every=N` overrides); 0 is
    /// taken as 1. Default 10.
    pub drop_every: u64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions { heartbeat: Duration::from_secs(15), rate: 4.0, drop_every: 10 }
    }
}

impl DemoOptions {
    fn sanitized(mut self) -> Self {
        self.rate = if self.rate.is_nan() { DemoOptions::default().rate } else { self.rate.clamp(MIN_RATE, MAX_RATE) };
        self.drop_every = self.drop_every.max(1);
        self
    }
}

/// The demo server's routes: `/`, `/events`, `/flaky`, `/firehose`, `/burst`, `/llm`, and the
/// live feed's `/live`, `/ws`, `/long-poll` and `/poll` (see the module doc).
pub fn router(opts: DemoOptions) -> Router {
    let opts = opts.sanitized();
    let live = Arc::new(Live::new(opts.rate));
    Router::new()
        .route("/", get(index))
        .route("/events", get(events))
        .route("/flaky", get(flaky))
        .route("/firehose", get(firehose))
        .route("/burst", get(burst).options(burst_preflight))
        .route("/llm", get(llm).post(llm))
        .route("/live", get(live_sse))
        .route("/ws", get(live_ws))
        .route("/long-poll", get(long_poll))
        .route("/poll", get(poll))
        .with_state(Arc::new(Demo { opts, live }))
}

/// The router's state: the options, and the live feed every client shares.
struct Demo {
    opts: DemoOptions,
    live: Arc<Live>,
}

type Params = Query<HashMap<String, String>>;

async fn index(State(demo): State<Arc<Demo>>) -> Response {
    let opts = &demo.opts;
    let text = format!(
        "Feedscope demo server\n\
         \n\
         GET /events    tick, price, chat and message events, {rate} per second (?rate=N)\n\
         GET /flaky     the same, but the connection drops after {drop} events (?drop_every=N)\n\
         GET /firehose  the same at {fire} events per second (?rate=N, up to {max})\n\
         GET /burst     {burst} tick events of ~100 bytes as fast as they are read, then the\n\
         \x20              end of the body (?n=N, up to {burst_max}; open to any origin)\n\
         GET /llm       an assistant's answer streamed token by token, {llm_delay} ms apart, with a\n\
         \x20              tool call, then the end marker (?preset=openai-chat|openai-responses|\n\
         \x20              anthropic, ?delay_ms=N); try `feedscope tail URL --assemble openai-chat`\n\
         \n\
         Each stream above but /llm sends `retry: {RETRY_MS}` first and resumes after a numeric\n\
         Last-Event-ID; all but /burst and /llm send a `: heartbeat` comment every {hb:?}.\n\
         \n\
         The live feed: one source shared by every client, {rate} events per second, each a JSON\n\
         object {{\"n\":N,\"type\":T,\"sent_at\":MS,\"data\":TEXT}} (sent_at: when the server published\n\
         it, in ms since the Unix epoch), over four transports (`feedscope compare` runs them side\n\
         by side):\n\
         GET /live       Server-Sent Events: event: type, id: n, data: the JSON (resumes after a\n\
         \x20               numeric Last-Event-ID)\n\
         GET /ws         WebSocket: one text message per event; messages sent to it are acknowledged\n\
         GET /long-poll  ?cursor=N (or an X-Cursor header): a JSON array of the events after N, at\n\
         \x20               once or as soon as there is one; 204 after {wait} s without (?timeout=SECS);\n\
         \x20               the next cursor is in the X-Cursor header and the last element's n\n\
         GET /poll       the current state: a JSON array of the events of about the last {poll} s\n\
         \x20               (?seconds=S), so a poll every few seconds misses none\n",
        rate = opts.rate,
        drop = opts.drop_every,
        fire = FIREHOSE_RATE,
        max = MAX_RATE,
        burst = BURST_DEFAULT,
        burst_max = BURST_MAX,
        llm_delay = LLM_DELAY_MS,
        hb = opts.heartbeat,
        wait = LONG_POLL_WAIT.as_secs(),
        poll = POLL_SECONDS,
    );
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))], text).into_response()
}

async fn events(State(demo): State<Arc<Demo>>, Query(params): Params, headers: HeaderMap) -> Response {
    start_stream(&demo.opts, &params, &headers, demo.opts.rate, None)
}

async fn flaky(State(demo): State<Arc<Demo>>, Query(params): Params, headers: HeaderMap) -> Response {
    let opts = &demo.opts;
    let drop_every = match params.get("drop_every") {
        None => opts.drop_every,
        Some(text) => match text.trim().parse::<u64>() {
            Ok(n) if n >= 1 => n,
            _ => {
                return bad_request(format!("drop_every must be a whole number of events, at least 1, not {text:?}\n"))
            }
        },
    };
    start_stream(opts, &params, &headers, opts.rate, Some(drop_every))
}

async fn firehose(State(demo): State<Arc<Demo>>, Query(params): Params, headers: HeaderMap) -> Response {
    start_stream(&demo.opts, &params, &headers, FIREHOSE_RATE, None)
}

async fn burst(Query(params): Params, headers: HeaderMap) -> Response {
    let n = match params.get("n") {
        None => BURST_DEFAULT,
        Some(text) => match text.trim().parse::<u64>() {
            Ok(n) if n <= BURST_MAX => n,
            _ => {
                return bad_request(format!("n must be a whole number of events from 0 to {BURST_MAX}, not {text:?}\n"))
            }
        },
    };
    let first_id = resume_id(&headers);
    let mut response = if first_id > n {
        // Nothing left: 204 tells an EventSource not to reconnect.
        StatusCode::NO_CONTENT.into_response()
    } else {
        event_stream(burst_stream(first_id, n))
    };
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

/// The CORS preflight a browser may send before a cross-origin request with `Last-Event-ID`.
async fn burst_preflight() -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*")),
            (header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET")),
            (header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("last-event-id, cache-control, accept")),
            (header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600")),
        ],
    )
        .into_response()
}

/// The prelude, then events `first_id..=last_id` in chunks of about [`BURST_CHUNK`] bytes.
fn burst_stream(first_id: u64, last_id: u64) -> impl Stream<Item = Result<Bytes, io::Error>> + Send + 'static {
    let mut prelude = String::new();
    encode_retry(&mut prelude, RETRY_MS);
    encode_comment(&mut prelude, " feedscope demo");
    let prelude = futures_util::stream::once(std::future::ready(Ok(Bytes::from(prelude))));
    let mut writer = BurstWriter { next_id: first_id, last_id, id: String::new(), data: String::new() };
    let events = futures_util::stream::poll_fn(move |_| {
        let chunk = writer.next_chunk();
        std::task::Poll::Ready(chunk.map(|c| Ok(Bytes::from(c))))
    });
    prelude.chain(events)
}

/// Encodes `/burst` events, reusing its id and data buffers.
struct BurstWriter {
    next_id: u64,
    last_id: u64,
    id: String,
    data: String,
}

impl BurstWriter {
    /// The next body chunk, or `None` once `last_id` has been written.
    fn next_chunk(&mut self) -> Option<String> {
        if self.next_id > self.last_id {
            return None;
        }
        // Events are ~100 bytes; room for one more past the threshold avoids a reallocation.
        let mut out = String::with_capacity(BURST_CHUNK + 256);
        while out.len() < BURST_CHUNK && self.next_id <= self.last_id {
            let i = self.next_id;
            self.next_id += 1;
            self.id.clear();
            push_u64(&mut self.id, i);
            burst_data(&mut self.data, i);
            encode_event(&mut out, "tick", Some(&self.id), &self.data);
        }
        Some(out)
    }
}

/// The JSON of `/burst` event `i` into `data`, the same shape as the engine's benchmark events:
/// `{"seq":i,"symbol":"FSC","price":D.CC,"change":-0.CC,"src":"demo"}`.
fn burst_data(data: &mut String, i: u64) {
    let cents = 10_000 + (i % 2000 * 7919) % 2000;
    data.clear();
    data.push_str(r#"{"seq":"#);
    push_u64(data, i);
    data.push_str(r#","symbol":"FSC","price":"#);
    push_u64(data, cents / 100);
    data.push('.');
    push_two_digits(data, cents % 100);
    data.push_str(r#","change":-0."#);
    push_two_digits(data, i % 100);
    data.push_str(r#","src":"demo"}"#);
}

/// Appends `n` in decimal without going through `fmt`.
fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or("0"));
}

fn push_two_digits(out: &mut String, n: u64) {
    out.push((b'0' + (n / 10 % 10) as u8) as char);
    out.push((b'0' + (n % 10) as u8) as char);
}

fn start_stream(
    opts: &DemoOptions,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
    default_rate: f64,
    drop_after: Option<u64>,
) -> Response {
    let rate = match params.get("rate") {
        None => default_rate,
        Some(text) => match text.trim().parse::<f64>() {
            Ok(r) if (MIN_RATE..=MAX_RATE).contains(&r) => r,
            _ => {
                return bad_request(format!(
                    "rate must be a number of events per second from {MIN_RATE} to {MAX_RATE}, not {text:?}\n"
                ))
            }
        },
    };
    let first_id = resume_id(headers);
    event_stream(DemoStream::new(first_id, rate, opts.heartbeat, drop_after).into_stream())
}

/// The answer `/llm` streams, whatever the preset.
pub const LLM_ANSWER: &str = "Server-Sent Events keep one HTTP response open and send each event down it as it \
happens. An event ends with a blank line; when the connection drops, the browser reconnects by itself and sends \
Last-Event-ID, so the server can resume. Let me check the weather in Paris for you.";
/// The tool call that follows the answer: its function and its arguments' JSON.
pub const LLM_TOOL_NAME: &str = "get_weather";
pub const LLM_TOOL_ARGUMENTS: &str = r#"{"location":"Paris, France","unit":"celsius"}"#;
/// The default pause between two events of `/llm`.
pub const LLM_DELAY_MS: u64 = 30;
/// The longest pause `?delay_ms=` may ask for.
pub const LLM_MAX_DELAY_MS: u64 = 10_000;
/// What `?preset=` accepts; the first is the default.
pub const LLM_PRESETS: [&str; 3] = ["openai-chat", "openai-responses", "anthropic"];

async fn llm(Query(params): Params) -> Response {
    let preset = params.get("preset").map_or(LLM_PRESETS[0], |p| p.trim());
    let Some(events) = llm_events(preset) else {
        return bad_request(format!("preset must be one of {}, not {preset:?}\n", LLM_PRESETS.join(", ")));
    };
    let delay = match params.get("delay_ms") {
        None => LLM_DELAY_MS,
        Some(text) => match text.trim().parse::<u64>() {
            Ok(ms) if ms <= LLM_MAX_DELAY_MS => ms,
            _ => {
                return bad_request(format!(
                    "delay_ms must be a whole number of milliseconds from 0 to {LLM_MAX_DELAY_MS}, not {text:?}\n"
                ))
            }
        },
    };
    let delay = Duration::from_millis(delay);
    let stream = futures_util::stream::unfold(events.into_iter().enumerate(), move |mut events| async move {
        let (n, event) = events.next()?;
        if n > 0 && !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Some((Ok::<_, io::Error>(Bytes::from(event)), events))
    });
    event_stream(stream)
}

/// `text` in the pieces a tokenizer might give: each word with the space before it, and each
/// punctuation mark on its own.
fn llm_tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        let punct = matches!(c, '.' | ',' | ';' | '-');
        if i > start && (c == ' ' || punct) {
            out.push(&text[start..i]);
            start = i;
        }
        if punct {
            out.push(&text[i..i + 1]);
            start = i + 1;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// The tool call's arguments in fragments of about 8 bytes, as models stream them.
fn llm_argument_fragments() -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut rest = LLM_TOOL_ARGUMENTS;
    while !rest.is_empty() {
        let mut cut = rest.len().min(8);
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        out.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    out
}

/// A JSON object with its keys in the order given, as the providers write them (`serde_json`'s
/// `Value` would sort them); the values are JSON already.
fn obj(fields: &[(&str, String)]) -> String {
    let fields: Vec<String> = fields.iter().map(|(k, v)| format!("{}:{v}", q(k))).collect();
    format!("{{{}}}", fields.join(","))
}

/// A JSON string.
fn q(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// Every event block of `/llm` for `preset`, in order, or `None` for an unknown preset.
fn llm_events(preset: &str) -> Option<Vec<String>> {
    let block = |event_type: &str, data: &str| {
        let mut out = String::new();
        encode_event(&mut out, event_type, None, data);
        out
    };
    let null = || "null".to_owned();
    let n = |n: u64| n.to_string();
    let tokens = llm_tokens(LLM_ANSWER);
    let fragments = llm_argument_fragments();
    let (call_id, tool_use_id) = ("call_Fz8kXbq3TmD2pR1nWc7YhLs0", "toolu_01FeedscopeDemoWeather");
    let mut events = Vec::new();
    match preset {
        "openai-chat" => {
            let chunk = |delta: String, finish: String| {
                let choice = obj(&[("index", n(0)), ("delta", delta), ("logprobs", null()), ("finish_reason", finish)]);
                let data = obj(&[
                    ("id", q("chatcmpl-FeedscopeDemo0001")),
                    ("object", q("chat.completion.chunk")),
                    ("created", n(1_767_225_600)),
                    ("model", q("feedscope-demo")),
                    ("system_fingerprint", q("fp_feedscope")),
                    ("choices", format!("[{choice}]")),
                ]);
                block("message", &data)
            };
            events.push(chunk(obj(&[("role", q("assistant")), ("content", q("")), ("refusal", null())]), null()));
            events.extend(tokens.iter().map(|t| chunk(obj(&[("content", q(t))]), null())));
            let function = obj(&[("name", q(LLM_TOOL_NAME)), ("arguments", q(""))]);
            let call = obj(&[("index", n(0)), ("id", q(call_id)), ("type", q("function")), ("function", function)]);
            events.push(chunk(obj(&[("tool_calls", format!("[{call}]"))]), null()));
            for f in &fragments {
                let call = obj(&[("index", n(0)), ("function", obj(&[("arguments", q(f))]))]);
                events.push(chunk(obj(&[("tool_calls", format!("[{call}]"))]), null()));
            }
            events.push(chunk(obj(&[]), q("tool_calls")));
            events.push(block("message", "[DONE]"));
        }
        "openai-responses" => {
            let response = |status: &str| {
                obj(&[
                    ("id", q("resp_FeedscopeDemo0001")),
                    ("object", q("response")),
                    ("created_at", n(1_767_225_600)),
                    ("status", q(status)),
                    ("model", q("feedscope-demo")),
                    ("output", "[]".to_owned()),
                ])
            };
            let (msg, fc) = (q("msg_FeedscopeDemo0001"), q("fc_FeedscopeDemo0001"));
            let mut seq = 0;
            // Each event: its type, its number, then its own fields.
            let mut ev = |event_type: &str, fields: &[(&str, String)]| {
                let mut all = vec![("type", q(event_type)), ("sequence_number", n(seq))];
                all.extend_from_slice(fields);
                seq += 1;
                events.push(block(event_type, &obj(&all)));
            };
            ev("response.created", &[("response", response("in_progress"))]);
            ev("response.in_progress", &[("response", response("in_progress"))]);
            let message = |status: &str| {
                obj(&[
                    ("id", msg.clone()),
                    ("type", q("message")),
                    ("status", q(status)),
                    ("role", q("assistant")),
                    ("content", "[]".to_owned()),
                ])
            };
            ev("response.output_item.added", &[("output_index", n(0)), ("item", message("in_progress"))]);
            let part = obj(&[("type", q("output_text")), ("text", q("")), ("annotations", "[]".to_owned())]);
            let at_text = [("item_id", msg.clone()), ("output_index", n(0)), ("content_index", n(0))];
            ev("response.content_part.added", &[at_text.as_slice(), &[("part", part)]].concat());
            for t in &tokens {
                ev("response.output_text.delta", &[at_text.as_slice(), &[("delta", q(t))]].concat());
            }
            ev("response.output_text.done", &[at_text.as_slice(), &[("text", q(LLM_ANSWER))]].concat());
            ev("response.output_item.done", &[("output_index", n(0)), ("item", message("completed"))]);
            let call = |status: &str, arguments: &str| {
                obj(&[
                    ("id", fc.clone()),
                    ("type", q("function_call")),
                    ("status", q(status)),
                    ("arguments", q(arguments)),
                    ("call_id", q(call_id)),
                    ("name", q(LLM_TOOL_NAME)),
                ])
            };
            ev("response.output_item.added", &[("output_index", n(1)), ("item", call("in_progress", ""))]);
            let at_call = [("item_id", fc.clone()), ("output_index", n(1))];
            for f in &fragments {
                ev("response.function_call_arguments.delta", &[at_call.as_slice(), &[("delta", q(f))]].concat());
            }
            let done = [at_call.as_slice(), &[("arguments", q(LLM_TOOL_ARGUMENTS))]].concat();
            ev("response.function_call_arguments.done", &done);
            let item = call("completed", LLM_TOOL_ARGUMENTS);
            ev("response.output_item.done", &[("output_index", n(1)), ("item", item)]);
            ev("response.completed", &[("response", response("completed"))]);
        }
        "anthropic" => {
            // Each event: its type, then its own fields.
            let mut ev = |event_type: &str, fields: &[(&str, String)]| {
                let mut all = vec![("type", q(event_type))];
                all.extend_from_slice(fields);
                events.push(block(event_type, &obj(&all)));
            };
            let usage = obj(&[("input_tokens", n(24)), ("output_tokens", n(1))]);
            let message = obj(&[
                ("id", q("msg_01FeedscopeDemo")),
                ("type", q("message")),
                ("role", q("assistant")),
                ("model", q("feedscope-demo")),
                ("content", "[]".to_owned()),
                ("stop_reason", null()),
                ("stop_sequence", null()),
                ("usage", usage),
            ]);
            ev("message_start", &[("message", message)]);
            let text = obj(&[("type", q("text")), ("text", q(""))]);
            ev("content_block_start", &[("index", n(0)), ("content_block", text)]);
            ev("ping", &[]);
            for t in &tokens {
                let delta = obj(&[("type", q("text_delta")), ("text", q(t))]);
                ev("content_block_delta", &[("index", n(0)), ("delta", delta)]);
            }
            ev("content_block_stop", &[("index", n(0))]);
            let tool = obj(&[
                ("type", q("tool_use")),
                ("id", q(tool_use_id)),
                ("name", q(LLM_TOOL_NAME)),
                ("input", "{}".to_owned()),
            ]);
            ev("content_block_start", &[("index", n(1)), ("content_block", tool)]);
            for f in std::iter::once(&"").chain(&fragments) {
                let delta = obj(&[("type", q("input_json_delta")), ("partial_json", q(f))]);
                ev("content_block_delta", &[("index", n(1)), ("delta", delta)]);
            }
            ev("content_block_stop", &[("index", n(1))]);
            let delta = obj(&[("stop_reason", q("tool_use")), ("stop_sequence", null())]);
            ev("message_delta", &[("delta", delta), ("usage", obj(&[("output_tokens", n(87))]))]);
            ev("message_stop", &[]);
        }
        _ => return None,
    }
    Some(events)
}

/// The id to start from: N+1 after a numeric `Last-Event-ID: N`, else 1.
fn resume_id(headers: &HeaderMap) -> u64 {
    last_event_id(headers).and_then(|n| n.checked_add(1)).unwrap_or(1)
}

/// Multi-line chat messages (2 or 3 lines each), picked by event id.
const CHAT: &[&str] = &[
    "ana: is the deploy done?\nben: rolling out now",
    "ben: the price feed looks jumpy\nana: it is a random walk\nben: of course it is",
    "cy: lunch at noon?\nana: make it half past",
    "ana: heartbeats every 15 s, right?\ncy: yes, a comment line\nben: and browsers never see them",
    "ben: who broke the build?\ncy: not me\nana: the flaky endpoint, on purpose",
];

/// The demo's events as a pure function of their ids, except the price, which walks.
#[derive(Debug)]
struct Generator {
    next_id: u64,
    price_cents: i64,
    rng: u64,
}

#[derive(Serialize)]
struct Quote {
    symbol: &'static str,
    price: f64,
    change: f64,
}

impl Generator {
    fn new(first_id: u64) -> Self {
        let mut rng = first_id ^ 0x5EED_F33D_C0DE_0001;
        let offset = (splitmix64(&mut rng) % 2001) as i64 - 1000;
        Generator { next_id: first_id, price_cents: 10_000 + offset, rng }
    }

    /// Appends the next event block to `out`.
    fn push_event(&mut self, out: &mut String) {
        let (id, event_type, data) = self.next_event();
        encode_event(out, event_type, Some(&id.to_string()), &data);
    }

    /// The next event: its id, type and data.
    fn next_event(&mut self) -> (u64, &'static str, String) {
        let id = self.next_id;
        self.next_id = id.checked_add(1).unwrap_or(1);
        let round = id / 4;
        match id % 4 {
            1 => (id, "tick", (round + 1).to_string()),
            2 => {
                let step = (splitmix64(&mut self.rng) % 51) as i64 - 25;
                let next = (self.price_cents + step).max(100);
                let quote = Quote {
                    symbol: "FSC",
                    price: next as f64 / 100.0,
                    change: (next - self.price_cents) as f64 / 100.0,
                };
                self.price_cents = next;
                (id, "price", serde_json::to_string(&quote).unwrap_or_default())
            }
            3 => (id, "chat", CHAT[(round % CHAT.len() as u64) as usize].to_owned()),
            _ => (id, "message", format!("hello from the feedscope demo, event {id}")),
        }
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Keeps a steady rate: event k of the schedule is due at `start + k / rate`, the first at once.
#[derive(Debug)]
struct Pacer {
    rate: f64,
    start: Instant,
    sent: u64,
}

impl Pacer {
    /// Events due now and not yet sent. A client that reads slower than the rate makes the debt
    /// grow; past a second's worth it is forgiven, so a slow reader is not flooded later.
    fn owed(&mut self, now: Instant) -> u64 {
        let due = (now.saturating_duration_since(self.start).as_secs_f64() * self.rate) as u64 + 1;
        let owed = due.saturating_sub(self.sent);
        if owed as f64 > self.rate.max(MAX_BATCH as f64) {
            self.start = now;
            self.sent = 0;
            return 1;
        }
        owed
    }

    fn next_due(&self, now: Instant) -> Instant {
        Duration::try_from_secs_f64(self.sent as f64 / self.rate)
            .ok()
            .and_then(|d| self.start.checked_add(d))
            .unwrap_or(now + Duration::from_secs(86_400))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Prelude,
    Running,
    Dropping,
    Done,
}

/// One connection's stream: prelude, then paced event batches and heartbeats, and for `/flaky`
/// an abort after `remaining` events.
#[derive(Debug)]
struct DemoStream {
    phase: Phase,
    generator: Generator,
    pacer: Pacer,
    heartbeat: Option<(Duration, Instant)>,
    remaining: Option<u64>,
}

impl DemoStream {
    fn new(first_id: u64, rate: f64, heartbeat: Duration, drop_after: Option<u64>) -> Self {
        let now = Instant::now();
        DemoStream {
            phase: Phase::Prelude,
            generator: Generator::new(first_id),
            pacer: Pacer { rate, start: now, sent: 0 },
            heartbeat: (!heartbeat.is_zero()).then(|| (heartbeat, now + heartbeat)),
            remaining: drop_after,
        }
    }

    fn into_stream(self) -> impl Stream<Item = Result<Bytes, io::Error>> + Send + 'static {
        futures_util::stream::unfold(self, |mut s| async move {
            let chunk = s.next_chunk().await?;
            Some((chunk, s))
        })
    }

    async fn next_chunk(&mut self) -> Option<Result<Bytes, io::Error>> {
        loop {
            match self.phase {
                Phase::Prelude => {
                    self.phase = Phase::Running;
                    let mut out = String::new();
                    encode_retry(&mut out, RETRY_MS);
                    encode_comment(&mut out, " feedscope demo");
                    return Some(Ok(Bytes::from(out)));
                }
                Phase::Dropping => {
                    tokio::time::sleep(DROP_PAUSE).await;
                    self.phase = Phase::Done;
                    return Some(Err(io::Error::other("the demo's /flaky stream drops its connection on purpose")));
                }
                Phase::Done => return None,
                Phase::Running => {}
            }
            let now = Instant::now();
            let mut out = String::new();
            if let Some((every, at)) = &mut self.heartbeat {
                if now >= *at {
                    encode_comment(&mut out, " heartbeat");
                    *at = (*at + *every).max(now);
                }
            }
            let mut n = self.pacer.owed(now).min(MAX_BATCH);
            if let Some(left) = self.remaining {
                n = n.min(left);
            }
            for _ in 0..n {
                self.generator.push_event(&mut out);
            }
            self.pacer.sent += n;
            if let Some(left) = &mut self.remaining {
                *left -= n;
                if *left == 0 {
                    self.phase = Phase::Dropping;
                }
            }
            if !out.is_empty() {
                return Some(Ok(Bytes::from(out)));
            }
            let mut wake = self.pacer.next_due(now).max(now + MIN_TICK);
            if let Some((_, at)) = self.heartbeat {
                wake = wake.min(at);
            }
            tokio::time::sleep_until(wake).await;
        }
    }
}

/// One event of the live feed: its number, type, and its JSON as every transport sends it.
#[derive(Debug)]
struct LiveEvent {
    n: u64,
    event_type: &'static str,
    json: String,
}

/// The JSON of a live event, in this key order.
#[derive(Serialize)]
struct LiveJson<'a> {
    n: u64,
    #[serde(rename = "type")]
    event_type: &'a str,
    sent_at: i64,
    data: &'a str,
}

impl LiveEvent {
    fn new((n, event_type, data): (u64, &'static str, String), sent_at: i64) -> Self {
        let json = serde_json::to_string(&LiveJson { n, event_type, sent_at, data: &data }).unwrap_or_default();
        LiveEvent { n, event_type, json }
    }
}

/// The live feed's one source: a task publishes events at the server's rate into a bounded
/// buffer, and `newest` wakes every reader that waits for the next. Readers keep their own
/// cursor (the last n they sent), so a slow one skips what left the buffer and never holds the
/// source back.
struct Live {
    rate: f64,
    started: Once,
    buffer: Mutex<VecDeque<Arc<LiveEvent>>>,
    /// The newest published n (0 before the first).
    newest: watch::Sender<u64>,
}

impl Live {
    fn new(rate: f64) -> Self {
        Live { rate, started: Once::new(), buffer: Mutex::default(), newest: watch::Sender::new(0) }
    }

    /// Starts the publishing task on the first call (inside a tokio runtime: from a handler).
    /// The task ends once the server's router is gone.
    fn ensure_started(self: &Arc<Self>) {
        self.started.call_once(|| {
            let mut publisher = Publisher {
                generator: Generator::new(1),
                pacer: Pacer { rate: self.rate, start: Instant::now(), sent: 0 },
            };
            // The first event is due at once: the request that started the feed sees it.
            publisher.publish_due(self, Instant::now());
            tokio::spawn(publisher.run(Arc::downgrade(self)));
        });
    }

    /// A receiver that wakes when an event is published; take it before reading the buffer, so
    /// that nothing published in between goes unnoticed.
    fn subscribe(&self) -> watch::Receiver<u64> {
        self.newest.subscribe()
    }

    fn newest(&self) -> u64 {
        *self.newest.borrow()
    }

    fn publish(&self, events: Vec<LiveEvent>) {
        let Some(last) = events.last().map(|e| e.n) else { return };
        let mut buffer = self.buffer.lock().expect("live buffer");
        buffer.extend(events.into_iter().map(Arc::new));
        let excess = buffer.len().saturating_sub(LIVE_BUFFER);
        buffer.drain(..excess);
        drop(buffer);
        self.newest.send_replace(last);
    }

    /// The buffered events after `cursor`, oldest first, at most `max`.
    fn after(&self, cursor: u64, max: usize) -> Vec<Arc<LiveEvent>> {
        let buffer = self.buffer.lock().expect("live buffer");
        let Some(first) = buffer.front().map(|e| e.n) else { return Vec::new() };
        // The buffer holds consecutive numbers: event n is at n - first.
        let skip = usize::try_from(cursor.saturating_add(1).saturating_sub(first)).unwrap_or(usize::MAX);
        buffer.iter().skip(skip).take(max).cloned().collect()
    }

    /// The newest `count` buffered events, oldest first.
    fn last(&self, count: usize) -> Vec<Arc<LiveEvent>> {
        let buffer = self.buffer.lock().expect("live buffer");
        buffer.iter().skip(buffer.len().saturating_sub(count)).cloned().collect()
    }

    /// Where a reader starts: after `resume` when it names an event that was published, else
    /// with the next event.
    fn start_cursor(&self, resume: Option<u64>) -> u64 {
        let newest = self.newest();
        resume.filter(|&n| n <= newest).unwrap_or(newest)
    }
}

/// The live feed's publisher: event k of the schedule at `start + k / rate`, all of a batch
/// stamped with the time they were published.
struct Publisher {
    generator: Generator,
    pacer: Pacer,
}

impl Publisher {
    /// Publishes the events due at `now`.
    fn publish_due(&mut self, live: &Live, now: Instant) {
        let n = self.pacer.owed(now).min(MAX_BATCH);
        if n > 0 {
            let sent_at = feedscope_core::Timestamp::now().millis();
            live.publish((0..n).map(|_| LiveEvent::new(self.generator.next_event(), sent_at)).collect());
            self.pacer.sent += n;
        }
    }

    /// Publishes on schedule for as long as the feed exists (its router holds it).
    async fn run(mut self, live: Weak<Live>) {
        loop {
            let now = Instant::now();
            tokio::time::sleep_until(self.pacer.next_due(now).max(now + MIN_TICK)).await;
            let Some(source) = live.upgrade() else { return };
            self.publish_due(&source, Instant::now());
        }
    }
}

/// `Some(n)` for a numeric `Last-Event-ID: n`.
fn last_event_id(headers: &HeaderMap) -> Option<u64> {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse::<u64>().ok())
}

/// The cursor of `?cursor=N` or an `X-Cursor: N` header (`None` when absent or empty), or what
/// was wrong with it (for a `400`).
fn cursor_param(params: &HashMap<String, String>, headers: &HeaderMap) -> Result<Option<u64>, String> {
    let text = match (params.get("cursor"), headers.get(CURSOR_HEADER)) {
        (Some(text), _) => text.as_str(),
        (None, Some(value)) => value.to_str().unwrap_or("?"),
        (None, None) => return Ok(None),
    };
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<u64>().map(Some).map_err(|_| {
        format!(
            "cursor must be the whole number of the last event received (or left out to start with the next), \
             not {text:?}\n"
        )
    })
}

/// Seconds from a query parameter: `default` when absent, else a number in `min..=max`; or what
/// was wrong with it (for a `400`).
fn seconds_param(
    params: &HashMap<String, String>,
    name: &str,
    default: f64,
    (min, max): (f64, f64),
) -> Result<f64, String> {
    match params.get(name) {
        None => Ok(default),
        Some(text) => match text.trim().parse::<f64>() {
            Ok(s) if (min..=max).contains(&s) => Ok(s),
            _ => Err(format!("{name} must be a number of seconds from {min} to {max}, not {text:?}\n")),
        },
    }
}

/// `200 application/json`: `events` as a JSON array, with the cursor to send next.
fn json_events(events: &[Arc<LiveEvent>], cursor: u64) -> Response {
    let mut body = String::with_capacity(2 + events.iter().map(|e| e.json.len() + 1).sum::<usize>());
    body.push('[');
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&e.json);
    }
    body.push(']');
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        [(CURSOR_HEADER, cursor.to_string())],
        body,
    )
        .into_response()
}

/// `/live`: the live feed as Server-Sent Events.
async fn live_sse(State(demo): State<Arc<Demo>>, headers: HeaderMap) -> Response {
    let live = demo.live.clone();
    live.ensure_started();
    let wake = live.subscribe();
    let cursor = live.start_cursor(last_event_id(&headers));
    let heartbeat = demo.opts.heartbeat;
    let stream = LiveSse {
        live,
        wake,
        cursor,
        prelude: true,
        heartbeat: (!heartbeat.is_zero()).then(|| (heartbeat, Instant::now() + heartbeat)),
    };
    event_stream(futures_util::stream::unfold(stream, |mut s| async move {
        let chunk = s.next_chunk().await?;
        Some((chunk, s))
    }))
}

/// One `/live` connection: the prelude, then each event after its cursor as it is published,
/// and heartbeats.
struct LiveSse {
    live: Arc<Live>,
    wake: watch::Receiver<u64>,
    cursor: u64,
    prelude: bool,
    heartbeat: Option<(Duration, Instant)>,
}

impl LiveSse {
    async fn next_chunk(&mut self) -> Option<Result<Bytes, io::Error>> {
        let mut out = String::new();
        if std::mem::take(&mut self.prelude) {
            encode_retry(&mut out, RETRY_MS);
            encode_comment(&mut out, " feedscope demo: the live feed");
            return Some(Ok(Bytes::from(out)));
        }
        loop {
            let events = self.live.after(self.cursor, MAX_BATCH as usize);
            if let Some(last) = events.last() {
                self.cursor = last.n;
                for e in &events {
                    encode_event(&mut out, e.event_type, Some(&e.n.to_string()), &e.json);
                }
                return Some(Ok(Bytes::from(out)));
            }
            let beat = self.heartbeat.map(|(_, at)| at);
            tokio::select! {
                changed = self.wake.changed() => changed.ok()?,
                () = sleep_until_some(beat) => {
                    if let Some((every, at)) = &mut self.heartbeat {
                        *at = (*at + *every).max(Instant::now());
                    }
                    encode_comment(&mut out, " heartbeat");
                    return Some(Ok(Bytes::from(out)));
                }
            }
        }
    }
}

async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// `/ws`: the live feed over a WebSocket.
async fn live_ws(State(demo): State<Arc<Demo>>, Query(params): Params, upgrade: WebSocketUpgrade) -> Response {
    let resume = match cursor_param(&params, &HeaderMap::new()) {
        Ok(c) => c,
        Err(message) => return bad_request(message),
    };
    demo.live.ensure_started();
    let wake = demo.live.subscribe();
    let cursor = demo.live.start_cursor(resume);
    // The session holds the feed weakly: once the server is shut down (its router dropped), the
    // feed goes and the session says goodbye, though upgraded connections outlive the server's.
    let live = Arc::downgrade(&demo.live);
    let heartbeat = demo.opts.heartbeat;
    upgrade.on_upgrade(move |socket| ws_session(socket, live, wake, cursor, heartbeat))
}

/// One `/ws` session: each event after `cursor` as a text message, an answer to each message
/// from the client, a ping every `heartbeat`; a close frame when the server goes away.
async fn ws_session(
    mut socket: WebSocket,
    live: Weak<Live>,
    mut wake: watch::Receiver<u64>,
    mut cursor: u64,
    heartbeat: Duration,
) {
    let mut ping_at = (!heartbeat.is_zero()).then(|| Instant::now() + heartbeat);
    loop {
        let Some(source) = live.upgrade() else { break };
        let events = source.after(cursor, MAX_BATCH as usize);
        drop(source);
        for e in &events {
            if socket.send(Message::text(e.json.clone())).await.is_err() {
                return; // the client went away.
            }
            cursor = e.n;
        }
        tokio::select! {
            changed = wake.changed() => if changed.is_err() { break },
            message = socket.recv() => {
                let answer = match message {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                    Some(Ok(Message::Text(text))) => format!(r#"{{"type":"ack","received":{}}}"#, q(text.as_str())),
                    Some(Ok(Message::Binary(bytes))) => format!(r#"{{"type":"ack","received_bytes":{}}}"#, bytes.len()),
                    // Pings are answered by the socket itself.
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                };
                if socket.send(Message::text(answer)).await.is_err() {
                    return;
                }
            }
            () = sleep_until_some(ping_at) => {
                ping_at = Some(Instant::now() + heartbeat);
                if socket.send(Message::Ping(Bytes::from_static(b"feedscope demo"))).await.is_err() {
                    return;
                }
            }
        }
    }
    let bye =
        CloseFrame { code: axum::extract::ws::close_code::AWAY, reason: "the demo server is shutting down".into() };
    let _ = socket.send(Message::Close(Some(bye))).await;
}

/// `/long-poll`: the events after the cursor, at once or as soon as there is one; `204` when
/// none came within the timeout.
async fn long_poll(State(demo): State<Arc<Demo>>, Query(params): Params, headers: HeaderMap) -> Response {
    let resume = match cursor_param(&params, &headers) {
        Ok(c) => c,
        Err(message) => return bad_request(message),
    };
    let wait = match seconds_param(&params, "timeout", LONG_POLL_WAIT.as_secs_f64(), (0.0, LONG_POLL_MAX_WAIT_SECS)) {
        Ok(s) => Duration::from_secs_f64(s),
        Err(message) => return bad_request(message),
    };
    let live = &demo.live;
    live.ensure_started();
    let mut wake = live.subscribe();
    let cursor = live.start_cursor(resume);
    let deadline = Instant::now() + wait;
    loop {
        let events = live.after(cursor, LONG_POLL_MAX_BATCH);
        if let Some(last) = events.last() {
            return json_events(&events, last.n);
        }
        match tokio::time::timeout_at(deadline, wake.changed()).await {
            Ok(Ok(())) => {}
            // Timed out, or the server is going away: nothing new, ask again.
            Ok(Err(_)) | Err(_) => {
                return (StatusCode::NO_CONTENT, [(CURSOR_HEADER, cursor.to_string())]).into_response();
            }
        }
    }
}

/// `/poll`: the newest events, about the last `seconds` of them at the server's rate, with an
/// `ETag`; `304 Not Modified` to an `If-None-Match` that names the state as it still is.
async fn poll(State(demo): State<Arc<Demo>>, Query(params): Params, headers: HeaderMap) -> Response {
    let seconds = match seconds_param(&params, "seconds", POLL_SECONDS, (0.001, 86_400.0)) {
        Ok(s) => s,
        Err(message) => return bad_request(message),
    };
    let live = &demo.live;
    live.ensure_started();
    let count = ((live.rate * seconds).ceil() as usize).clamp(1, LIVE_BUFFER);
    let events = live.last(count);
    let newest = events.last().map_or(0, |e| e.n);
    // The state is the newest n and how many events it shows.
    let etag = format!("\"{newest}-{}\"", events.len());
    let cached = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok());
    if cached.is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag)) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)], [(CURSOR_HEADER, newest.to_string())])
            .into_response();
    }
    let mut response = json_events(&events, newest);
    if let Ok(v) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use feedscope_core::sse::{parse_all, Item, Limits};

    fn events(first_id: u64, count: usize) -> Vec<Item> {
        let mut generator = Generator::new(first_id);
        let mut out = String::new();
        for _ in 0..count {
            generator.push_event(&mut out);
        }
        parse_all(out.as_bytes(), Limits::default()).0
    }

    #[test]
    fn generator_cycles_tick_price_chat_message_with_ids_from_the_first() {
        let items = events(41, 8);
        let got: Vec<(String, String)> = items
            .iter()
            .map(|item| match item {
                Item::Event { event_type, id, .. } => (event_type.to_string(), id.to_string()),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        let want: Vec<(String, String)> = [
            ("tick", 41),
            ("price", 42),
            ("chat", 43),
            ("message", 44),
            ("tick", 45),
            ("price", 46),
            ("chat", 47),
            ("message", 48),
        ]
        .iter()
        .map(|(t, id)| (t.to_string(), id.to_string()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn same_first_id_gives_the_same_events() {
        assert_eq!(events(7, 50), events(7, 50));
    }

    #[test]
    fn price_is_json_with_symbol_price_and_change() {
        for item in events(1, 40) {
            if let Item::Event { event_type, data, .. } = item {
                if &*event_type == "price" {
                    assert!(data.starts_with(r#"{"symbol":"FSC","price":"#), "{data}");
                    let v: serde_json::Value = serde_json::from_str(&data).expect("price data is JSON");
                    assert!(v["price"].as_f64().is_some_and(|p| p >= 1.0));
                    assert!(v["change"].as_f64().is_some_and(|c| c.abs() <= 0.25 + 1e-9));
                }
            }
        }
    }

    #[test]
    fn chat_data_has_two_or_three_lines() {
        assert!(CHAT.iter().all(|m| (2..=3).contains(&m.lines().count())));
    }

    #[test]
    fn resume_id_follows_a_numeric_last_event_id_only() {
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert("last-event-id", HeaderValue::from_static(v));
            resume_id(&h)
        };
        assert_eq!(resume_id(&HeaderMap::new()), 1);
        assert_eq!(with("41"), 42);
        assert_eq!(with("abc"), 1);
        assert_eq!(with("+5"), 1);
        assert_eq!(with("18446744073709551615"), 1);
    }

    #[test]
    fn burst_writer_gives_contiguous_100_byte_ticks_in_large_chunks() {
        let mut writer = BurstWriter { next_id: 9_990, last_id: 14_000, id: String::new(), data: String::new() };
        let mut body = String::new();
        let mut chunks = 0;
        while let Some(chunk) = writer.next_chunk() {
            assert!(chunk.len() <= BURST_CHUNK + 256, "{}", chunk.len());
            body.push_str(&chunk);
            chunks += 1;
        }
        assert!(writer.next_chunk().is_none());
        assert_eq!(chunks, 2);
        let items = parse_all(body.as_bytes(), Limits::default()).0;
        assert_eq!(items.len(), 14_000 - 9_990 + 1);
        let per_event = body.len() / items.len();
        assert!((90..=110).contains(&per_event), "{per_event} bytes per event");
        for (item, want) in items.iter().zip(9_990u64..) {
            let Item::Event { event_type, id, data } = item else { panic!("unexpected {item:?}") };
            assert_eq!((&**event_type, &**id), ("tick", want.to_string().as_str()));
            let v: serde_json::Value = serde_json::from_str(data).expect("burst data is JSON");
            assert_eq!(v["seq"], want);
            assert_eq!(v["src"], "demo");
        }
    }

    #[test]
    fn burst_numbers_are_plain_decimals() {
        for n in [0, 7, 10, 99, 100, 12_345, u64::MAX] {
            let mut s = String::new();
            push_u64(&mut s, n);
            assert_eq!(s, n.to_string());
        }
        let mut data = String::new();
        burst_data(&mut data, 7);
        assert_eq!(data, r#"{"seq":7,"symbol":"FSC","price":114.33,"change":-0.07,"src":"demo"}"#);
    }

    #[test]
    fn llm_events_are_json_in_the_providers_key_order() {
        for preset in LLM_PRESETS {
            for block in llm_events(preset).unwrap() {
                let Item::Event { data, .. } = &parse_all(block.as_bytes(), Limits::default()).0[0] else {
                    panic!("{block:?}")
                };
                if data == "[DONE]" {
                    continue;
                }
                let v: serde_json::Value = serde_json::from_str(data).unwrap_or_else(|e| panic!("{data}: {e}"));
                assert!(v.is_object(), "{data}");
                let first = if preset == "openai-chat" { r#"{"id":"# } else { r#"{"type":"# };
                assert!(data.starts_with(first), "{data}");
            }
        }
    }

    #[test]
    fn llm_answer_is_40_to_80_tokens_that_spell_it() {
        let tokens = llm_tokens(LLM_ANSWER);
        assert!((40..=80).contains(&tokens.len()), "{} tokens", tokens.len());
        assert_eq!(tokens.concat(), LLM_ANSWER);
        assert!(tokens.iter().all(|t| !t.is_empty()));
        assert_eq!(llm_argument_fragments().concat(), LLM_TOOL_ARGUMENTS);
        assert!(llm_argument_fragments().len() > 3);
    }

    #[test]
    fn each_llm_preset_assembles_into_the_answer_and_the_tool_call() {
        use feedscope_core::assemble::Assembler;
        use feedscope_core::record::{Body, Record, Timestamp};
        for preset in LLM_PRESETS {
            let body = llm_events(preset).expect("a known preset").concat();
            let mut a = Assembler::new(preset.parse().expect("the assembler knows the preset"));
            let items = parse_all(body.as_bytes(), Limits::default()).0;
            for (n, item) in items.into_iter().enumerate() {
                let Item::Event { event_type, id, data } = item else { panic!("{preset}: unexpected {item:?}") };
                let body = Body::Event { seq: n as u64 + 1, event_type, id, data };
                assert!(!a.is_done(), "{preset}: nothing after the end marker");
                a.push(&Record::new(Arc::from("llm"), Timestamp(n as i64), body));
            }
            assert!(a.is_done(), "{preset} ends with its end marker");
            assert_eq!(a.text(), LLM_ANSWER, "{preset}");
            assert_eq!(a.tool_calls().len(), 1, "{preset}");
            let call = &a.tool_calls()[0];
            assert_eq!(call.name, LLM_TOOL_NAME);
            assert!(!call.id.is_empty());
            assert_eq!(
                call.arguments_json,
                Some(serde_json::json!({"location": "Paris, France", "unit": "celsius"})),
                "{preset}"
            );
        }
        assert!(llm_events("gemini").is_none());
    }

    #[tokio::test]
    async fn llm_route_paces_an_event_stream_and_refuses_bad_parameters() {
        let server = feedscope_testkit::serve_loopback(router(DemoOptions::default())).await;
        let started = std::time::Instant::now();
        let got = feedscope_testkit::fetch_all(&server.url("/llm?delay_ms=2"), None).await;
        let elapsed = started.elapsed();
        assert_eq!((got.status, got.content_type()), (200, "text/event-stream"));
        assert!(got.ended);
        let events = got.events();
        let want = llm_events("openai-chat").unwrap().len();
        assert_eq!(events.len(), want);
        assert_eq!(events.last().map(|(_, _, data)| data.as_str()), Some("[DONE]"));
        assert!(elapsed >= Duration::from_millis(2 * (want as u64 - 1)), "{elapsed:?} for {want} events");

        let got = feedscope_testkit::fetch_all(&server.url("/llm?preset=anthropic&delay_ms=0"), None).await;
        assert_eq!(got.events().last().map(|(t, _, _)| t.as_str()), Some("message_stop"));
        for query in ["preset=gemini", "delay_ms=-1", "delay_ms=10001"] {
            let response = reqwest::get(server.url(&format!("/llm?{query}"))).await.unwrap();
            assert_eq!(response.status(), 400, "{query}");
            let text = response.text().await.unwrap();
            assert!(
                text.contains(if query.starts_with("preset") {
                    "openai-chat, openai-responses, anthropic"
                } else {
                    "delay_ms"
                }),
                "{text}"
            );
        }
        server.shutdown().await;
    }

    fn live_with(first: u64, last: u64) -> Live {
        let live = Live::new(4.0);
        let mut generator = Generator::new(first);
        live.publish((first..=last).map(|_| LiveEvent::new(generator.next_event(), 1_767_225_600_000)).collect());
        live
    }

    fn ns(events: &[Arc<LiveEvent>]) -> Vec<u64> {
        events.iter().map(|e| e.n).collect()
    }

    #[test]
    fn a_live_event_is_json_with_n_type_sent_at_and_the_events_data() {
        let mut generator = Generator::new(1);
        let e = LiveEvent::new(generator.next_event(), 1_767_225_600_123);
        assert_eq!(e.json, r#"{"n":1,"type":"tick","sent_at":1767225600123,"data":"1"}"#);
        let e = LiveEvent::new(Generator::new(3).next_event(), 5);
        assert_eq!((e.n, e.event_type), (3, "chat"));
        let v: serde_json::Value = serde_json::from_str(&e.json).unwrap();
        assert_eq!(v["data"], CHAT[0], "the chat's lines in one JSON string");
        // The same event as /events sends for that id.
        let Item::Event { data, .. } = &events(3, 1)[0] else { panic!() };
        assert_eq!(v["data"], data.as_str());
    }

    #[test]
    fn the_live_buffer_gives_the_events_after_a_cursor_and_the_newest() {
        let live = live_with(1, 10);
        assert_eq!(live.newest(), 10);
        assert_eq!(ns(&live.after(0, 100)), (1..=10).collect::<Vec<_>>());
        assert_eq!(ns(&live.after(7, 100)), [8, 9, 10]);
        assert_eq!(ns(&live.after(2, 3)), [3, 4, 5]);
        assert!(live.after(10, 100).is_empty());
        assert!(live.after(u64::MAX, 100).is_empty());
        assert_eq!(ns(&live.last(3)), [8, 9, 10]);
        assert_eq!(ns(&live.last(50)).len(), 10);
        // A reader starts after a published event it names, else with the next one.
        assert_eq!(live.start_cursor(Some(4)), 4);
        assert_eq!(live.start_cursor(Some(0)), 0);
        assert_eq!(live.start_cursor(Some(11)), 10);
        assert_eq!(live.start_cursor(None), 10);
        assert!(Live::new(1.0).after(0, 10).is_empty());
        assert_eq!(Live::new(1.0).start_cursor(Some(3)), 0);
    }

    #[test]
    fn the_live_buffer_keeps_the_newest_events_and_a_late_reader_skips_ahead() {
        let live = live_with(1, LIVE_BUFFER as u64 + 5);
        let after = live.after(0, usize::MAX);
        assert_eq!(after.len(), LIVE_BUFFER);
        assert_eq!(after[0].n, 6, "the oldest five left the buffer");
        assert_eq!(ns(&live.after(3, 2)), [6, 7]);
    }

    #[tokio::test]
    async fn the_live_feed_publishes_at_its_rate_and_stops_with_its_router() {
        let live = Arc::new(Live::new(200.0));
        let mut wake = live.subscribe();
        live.ensure_started();
        live.ensure_started();
        tokio::time::timeout(Duration::from_secs(10), wake.wait_for(|&n| n >= 20)).await.unwrap().unwrap();
        let events = live.after(0, 100);
        assert_eq!(ns(&events)[..20], (1..=20).collect::<Vec<_>>());
        let weak = Arc::downgrade(&live);
        drop((live, events));
        // The publisher holds the feed only while publishing: it goes, and `newest` with it.
        tokio::time::timeout(Duration::from_secs(10), async {
            while weak.strong_count() > 0 {
                tokio::task::yield_now().await;
            }
            while wake.changed().await.is_ok() {}
        })
        .await
        .expect("the feed is dropped");
    }

    #[test]
    fn options_are_clamped_at_the_boundary() {
        let o = DemoOptions { heartbeat: Duration::ZERO, rate: f64::NAN, drop_every: 0 }.sanitized();
        assert_eq!((o.rate, o.drop_every), (4.0, 1));
        assert_eq!(DemoOptions { rate: 1e9, ..Default::default() }.sanitized().rate, MAX_RATE);
        assert_eq!(DemoOptions { rate: -1.0, ..Default::default() }.sanitized().rate, MIN_RATE);
    }
}
