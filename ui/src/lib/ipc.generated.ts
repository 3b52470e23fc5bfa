// Generated from the Rust types by crates/feedscope-desktop/src/ipc.rs: do not edit.
// Regenerate: FEEDSCOPE_UPDATE_IPC=1 cargo test -p feedscope-desktop ipc

export type Mode = "browser" | "persistent";

export type Transport = "sse" | "websocket" | "long-poll" | "poll";

export type Header = { name: string, value: string, };

export type AlertRule = { "when": "closed" } | { "when": "stalled", secs: number, } | { "when": "reconnects", count: number, } | { "when": "event_type", event_type: string, } | { "when": "data_matches", text: string, regex: boolean, } | { "when": "matches", query: string, };

export type FeedConfig = { 
/**
 * http or https URL.
 */
url: string, 
/**
 * Any HTTP method token; GET by default.
 */
method: string, headers: Array<Header>, 
/**
 * Sent with every request, the first and each reconnection.
 */
body: string | null, 
/**
 * Sent as `Last-Event-ID` on the first request when non-empty (a resumed session). A
 * `Last-Event-ID` in `headers` means the same when this is empty; see
 * [`FeedConfig::initial_last_event_id`].
 */
last_event_id: string, mode: Mode, 
/**
 * Initial reconnection time; a `retry:` field from the server replaces it.
 */
retry_ms: number, 
/**
 * Cap for the exponential backoff of `persistent` mode.
 */
max_backoff_ms: number, connect_timeout_ms: number, 
/**
 * Reconnect when no byte arrives for this long (0 = wait forever, as a browser does).
 */
read_timeout_ms: number, 
/**
 * Accept any TLS certificate (self-signed test servers).
 */
insecure: boolean, max_line_bytes: number, max_event_bytes: number, 
/**
 * Randomize backoff delays (full jitter). Off makes the schedule deterministic.
 */
jitter: boolean, 
/**
 * The stall watchdog: open with no event for this many seconds shows as stalled (0: off).
 * Watching only: the connection does not change.
 */
stall_secs: number, 
/**
 * Alert rules of this feed (see [`crate::alerts`]). Watching only, like `stall_secs`.
 */
alerts: Array<AlertRule>, 
/**
 * Table columns the user added, each a query-language name (`data.symbol`, `data.a[0].b`;
 * see [`crate::query::Field`]). Watching only.
 */
columns: Array<string>, 
/**
 * The events carry JSON-RPC 2.0 messages (MCP): the table shows `method`, the id and `result`
 * or `error`, and a response is linked to the request this feed sent. Watching only.
 */
jsonrpc: boolean, 
/**
 * An MCP Streamable HTTP endpoint: each connection first sends `initialize` (and
 * `notifications/initialized`), keeps the `Mcp-Session-Id` the server returns and sends it with
 * the feed's own request. Implies `jsonrpc`.
 */
mcp: boolean, 
/**
 * How the feed gets its data: Server-Sent Events (the default), WebSocket, long polling or
 * polling. Every transport gives the same records (docs/transports.md).
 */
transport: Transport, 
/**
 * WebSocket: text messages sent after each open (subscriptions), again on every reconnection.
 */
send_on_open: Array<string>, 
/**
 * WebSocket, long polling, polling: the JSON path in a message whose string value is the
 * event's type (`type`, `op`); empty: every event is a `message`.
 */
type_path: string, 
/**
 * Long polling: the JSON path in a response whose value is the next request's cursor.
 */
cursor_from: string, 
/**
 * Long polling: the query parameter the cursor is sent in (or `cursor_header`).
 */
cursor_param: string, 
/**
 * Long polling: the request header the cursor is sent in.
 */
cursor_header: string, 
/**
 * Long polling: a body that is a JSON array is one event per element.
 */
split_array: boolean, 
/**
 * Polling: milliseconds between two requests.
 */
poll_interval_ms: number, };

export type FeedInfo = { id: string, name: string, config: FeedConfig, 
/**
 * Records the history keeps ([`HistoryLimits::max_records`]).
 */
history_cap: number, 
/**
 * MiB of raw bytes kept for the raw view ([`Hub::set_raw_cap`]); 0 keeps none.
 */
raw_cap_mib: number, 
/**
 * A connection task exists (connecting, open, or waiting to reconnect).
 */
running: boolean, 
/**
 * Started and not stopped by the user since (stays true after the feed closed by itself).
 */
wanted: boolean, };

export type ConnState = "idle" | "connecting" | "open" | "reconnecting" | "closed";

export type FeedStats = { state: ConnState, 
/**
 * Why the feed last disconnected or closed.
 */
reason: string | null, 
/**
 * The feed closed on a failure.
 */
fatal: boolean, attempt: number, reconnects: number, status: number | null, headers: { [key in string]?: string }, url: string | null, last_event_id: string, 
/**
 * The reconnection time set by the server's last `retry:`, if any.
 */
retry_ms: number | null, 
/**
 * When a pending reconnection fires.
 */
reconnect_at: string | null, events: number, comments: number, errors: number, bytes: number, 
/**
 * Events per second over the last few seconds.
 */
rate: number, types: { [key in string]?: number }, last_record_at: string | null, retained: number, retained_bytes: number, evicted: number, 
/**
 * Index of the oldest retained record in the feed's timeline.
 */
first_index: number, 
/**
 * The last reason where `persistent` mode kept going and a browser's `EventSource` would
 * not have, followed by what the browser would have done ([`crate::Cause::browser_note`]);
 * kept after the feed reconnects, so the user can still see it.
 */
browser_note: string | null, browser_note_at: string | null, 
/**
 * When the last event, and the last byte of a body, arrived.
 */
last_event_at: string | null, last_byte_at: string | null, 
/**
 * Open, and no event for longer than the feed's stall watchdog allows.
 */
stalled: boolean, 
/**
 * Alert rules fired so far, and the last one (its record's sentence).
 */
alerts: number, last_alert: string | null, 
/**
 * Messages the feed sent (`sent` records).
 */
sent: number, 
/**
 * HTTP requests sent, or WebSocket handshakes.
 */
requests: number, 
/**
 * TCP connections opened.
 */
connections: number, 
/**
 * Bytes on the wire (estimated for HTTP, exact for a WebSocket; see [`crate::FeedStats`]).
 */
wire_bytes: number, 
/**
 * WebSocket pings received.
 */
pings: number, 
/**
 * WebSocket pongs received.
 */
pongs: number, 
/**
 * Polling responses whose body had not changed.
 */
unchanged: number, };

export type Counts = { 
/**
 * HTTP requests sent, or WebSocket handshakes.
 */
requests: number, 
/**
 * TCP connections opened.
 */
connections: number, 
/**
 * Bytes on the wire (estimated for HTTP, exact for a WebSocket; see [`crate::FeedStats`]).
 */
wire_bytes: number, 
/**
 * WebSocket pings received.
 */
pings: number, 
/**
 * WebSocket pongs received.
 */
pongs: number, 
/**
 * Polling responses whose body had not changed.
 */
unchanged: number, };

export type Query = { 
/**
 * Event types to keep; when non-empty, only events of these types match.
 */
types: Array<string>, 
/**
 * Text searched in data, type and id (and in the text of non-event records).
 */
text: string, 
/**
 * `text` is a regular expression.
 */
regex: boolean, 
/**
 * `text` is an expression of the record query language (docs/query.md); wins over `regex`.
 */
query: boolean, 
/**
 * Hide connection records, comments and errors.
 */
events_only: boolean, };

export type ExportFormat = "ndjson" | "json" | "csv" | "sse";

export type Kind = "connecting" | "open" | "event" | "comment" | "retry" | "error" | "disconnected" | "closed" | "alert" | "binary" | "sent";

export type RawStats = { cap_mib: number, 
/**
 * Memory counted against the cap: body bytes, headers, and which lines each record came from.
 */
retained_bytes: number, 
/**
 * Body bytes kept.
 */
body_bytes: number, connections: number, 
/**
 * Body bytes the cap evicted.
 */
evicted_bytes: number, 
/**
 * Whole connections (head and body) the cap evicted.
 */
evicted_connections: number, };

export type LineEnd = "none" | "lf" | "cr" | "crlf";

export type Severity = "error" | "warning" | "info";

export type Code = "status" | "content-type" | "unreachable" | "reconnect-loop" | "compression" | "buffering" | "idle" | "no-id" | "id-order" | "retry-low" | "truncated-event" | "server-polling" | "cache-control" | "cors" | "http1";

export type Finding = { code: Code, severity: Severity, message: string, evidence: string, };

export type ActivityWindow = { 
/**
 * Milliseconds since the Unix epoch of the first second.
 */
start_ms: number, events: Array<number>, bytes: Array<number>, 
/**
 * Events per type per second, the busiest types first; `other` gathers the types past
 * [`Activity::MAX_TYPES`].
 */
types: Array<TypeSeries>, };

export type TypeSeries = { 
/**
 * As the server sent it (`None` for the types counted together as "other").
 */
name: string | null, counts: Array<number>, };

export type FeedForm = { name: string, config: FeedConfig, history_cap: number, 
/**
 * MiB of raw bytes kept for the raw view; 0 keeps none.
 */
raw_cap_mib: number, };

export type AppError = { field: string | null, message: string, };

export type Row = { 
/**
 * The record's index in the feed's timeline (stable while retained; `get_record` takes it).
 */
index: number, kind: Kind, 
/**
 * Milliseconds since the Unix epoch; the window formats it in local time.
 */
ts: number, 
/**
 * Events only: the event's number in the feed, from 1, never reused.
 */
seq?: number, 
/**
 * Events only, like `event_id`: made safe to show ([`one_line`]).
 */
event_type?: string, 
/**
 * The SSE `id:` in force for the event (the Last-Event-ID a reconnection would send).
 */
event_id?: string, 
/**
 * Bytes of data (events, comments) or of the record's text.
 */
size: number, 
/**
 * One line, control characters replaced by visible symbols.
 */
text: string, 
/**
 * The values of the feed's added columns, in order, each one safe line (empty when missing).
 */
columns: Array<string>, 
/**
 * A JSON-RPC feed's event: the message's kind, method, id and result or error.
 */
rpc?: RpcColumns, 
/**
 * The merged timeline of all feeds: the feed the record is from (`index` is in its history).
 */
feed?: string, };

export type RecordDetail = { index: number, 
/**
 * The record as the log writes it (`kind`, `feed`, `ts`, then the body's fields).
 */
record: Record<string, unknown>, 
/**
 * What the pane shows, made safe to read ([`visible`]): the event's type and id, and its
 * data (pretty-printed when it is a JSON object or array), or the record's sentence.
 */
shown: Shown, 
/**
 * The JSON fields of the event's data, each one a column the user may add.
 */
fields: Array<FieldEntry>, 
/**
 * A polled feed's event: what changed since the feed's previous event (see
 * [`crate::diff::line_diff`]); `None` for other feeds, or when the previous one is gone.
 */
diff: Array<DiffLine> | null, };

export type Shown = { event_type: string | null, event_id: string | null, text: string, 
/**
 * The data was JSON and is shown pretty-printed.
 */
pretty: boolean, 
/**
 * Bytes of the event's data (UTF-8), or of the record's sentence.
 */
size: number, };

export type FieldEntry = { 
/**
 * The query-language name (`data.choices[0].delta.content`): what a column or a query takes.
 */
name: string, shown_name: string, value: string, };

export type DiffLine = { 
/**
 * `+` added, `-` removed, ` ` unchanged context, `…` unchanged lines left out.
 */
op: string, 
/**
 * Made safe to show.
 */
text: string, };

export type Sort = { 
/**
 * A query-language name: `type`, `id`, `seq`, `kind`, `data` or `data.PATH`.
 */
column: string, descending: boolean, };

export type RpcKind = "request" | "notification" | "response" | "error" | "batch";

export type RpcColumns = { kind: RpcKind, 
/**
 * A request's or notification's method; for a response or an error, the method of the
 * request the feed sent with that id ([`RpcColumns::linked`]), `None` when it sent none.
 * A batch lists its methods, each once, comma-separated.
 */
method: string | null, 
/**
 * The id as JSON text (`1`, `"abc"`), `None` for a notification; a batch's comma-separated.
 */
id: string | null, 
/**
 * One line: a response's result as compact JSON, an error's `code: message`, a request's or
 * notification's params as compact JSON (empty when it has none). A batch joins its
 * messages' summaries with `; `. At most [`SUMMARY_CHARS`] characters, a cut ends in `…`.
 */
summary: string, 
/**
 * The method was found by linking a response to a request the feed sent.
 */
linked: boolean, 
/**
 * Messages in the event: 1, or the length of the batch.
 */
count: number, };

export type AssembledView = { 
/**
 * The answer of the latest connection that sent anything: text, tool calls (arguments
 * pretty-printed once complete), time to first token, deltas per second. Server text made
 * safe to show.
 */
answer: Assembled, 
/**
 * Answers in the retained history (one per connection that sent a delta or an end marker).
 */
answers: number, };

export type CompareReport = { 
/**
 * When the feeds started.
 */
started: string, duration_ms: number, warmup_ms: number, drain_ms: number, shared_source: boolean, transports: Array<TransportReport>, };

export type TransportReport = { name: string, transport: Transport, url: string, 
/**
 * Events of the measured span that arrived (each counted once).
 */
events: number, 
/**
 * The span's first and last event numbers this feed was measured against (`None`: no
 * event of the span arrived anywhere).
 */
first_n: number | null, last_n: number | null, 
/**
 * Events of the span that never arrived.
 */
missed: number, 
/**
 * Arrivals of an event of the span that had already arrived.
 */
duplicated: number, latency: Latency, 
/**
 * HTTP requests or WebSocket handshakes sent, over the whole run.
 */
requests: number, 
/**
 * TCP connections opened, over the whole run.
 */
connections: number, 
/**
 * Bytes on the wire both ways, over the whole run (the engine's estimate: request and
 * status lines, headers, bodies, WebSocket frames).
 */
wire_bytes: number, 
/**
 * `wire_bytes` over the events published since the start that arrived.
 */
bytes_per_event: number | null, 
/**
 * Polling: answers that were the same as the one before.
 */
unchanged: number, 
/**
 * Event records that carried no `n` and `sent_at` (another message of the server).
 */
other: number, 
/**
 * Connections that ended and were made again.
 */
reconnects: number, 
/**
 * Why the feed stopped for good before the end, or the last reason it disconnected.
 */
problem: string | null, };

export type Latency = { p50_ms: number | null, p99_ms: number | null, max_ms: number | null, mean_ms: number | null, };

export type Assembled = { 
/**
 * The preset's name, as [`Preset::from_str`] reads it.
 */
preset: string, text: string, tool_calls: Array<ToolCall>, 
/**
 * Events that added text or tool-call arguments.
 */
deltas: number, 
/**
 * Milliseconds from the first record seen to the first delta (time to first token).
 */
first_token_ms: number | null, 
/**
 * Deltas per second from the first delta to the last (the deltas after the first over that
 * time); none before two deltas a millisecond or more apart.
 */
deltas_per_second: number | null, 
/**
 * The end marker arrived.
 */
done: boolean, };

export type ToolCall = { 
/**
 * The provider's id for the call (`call_…`, `toolu_…`); empty until it arrives.
 */
id: string, 
/**
 * The function's name; empty until it arrives.
 */
name: string, 
/**
 * The arguments' JSON text as streamed so far (for Responses, replaced by the full text of
 * its `done` event).
 */
arguments: string, 
/**
 * The call's stop event or the stream's end marker arrived; then exactly one of
 * `arguments_json` and `arguments_error` is set.
 */
complete: boolean, 
/**
 * The arguments parsed, once complete. A call with no argument text at all has `{}`.
 */
arguments_json: unknown, 
/**
 * Why the complete arguments are not JSON (they stay in `arguments` as they came).
 */
arguments_error: string | null, };

export type StatsShown = { last_event_id: string, 
/**
 * The response headers, sorted by name.
 */
headers: Array<[string, string]>, 
/**
 * The event types seen, most frequent first (then by name).
 */
types: Array<TypeCount>, };

export type TypeCount = { 
/**
 * As the server sent it: what a type filter takes.
 */
name: string, 
/**
 * Made safe to show.
 */
shown: string, count: number, };

export type FeedChange = { id: string, stats: FeedStats, 
/**
 * Server-sent values of the stats, made safe to show ([`visible`]).
 */
shown: StatsShown, 
/**
 * The newest rows of the feed, oldest first (may be fewer than arrived since the last update).
 */
tail: Array<Row>, };

export type LiveUpdate = { 
/**
 * Counts the updates sent, from 1.
 */
serial: number, 
/**
 * Every feed, in order, when the list changed (a feed added, removed, renamed, reconfigured,
 * started or stopped; and in the bridge's first update). A window gets the list from `init`.
 */
listing: Array<FeedInfo> | null, feeds: Array<FeedChange>, 
/**
 * Records this update stands for (for the window's own throughput display).
 */
records: number, };

export type RowPage = { 
/**
 * Matching records in the feed's history.
 */
total: number, 
/**
 * Position of the first row among the matches.
 */
offset: number, rows: Array<Row>, };

export type InitInfo = { feeds: Array<FeedInfo>, 
/**
 * The window's own preferences, as it saved them (`null` at first start).
 */
settings: Record<string, unknown> | null, 
/**
 * Messages for the user gathered before the window opened.
 */
notices: Array<string>, 
/**
 * The feed to show first (the first URL named on the command line).
 */
select: string | null, version: string, 
/**
 * What the editor starts from for a new feed: the engine's defaults.
 */
defaults: FeedForm, 
/**
 * Alert rules applied to every feed.
 */
global_alerts: Array<AlertRule>, };

export type ExportDone = { path: string, 
/**
 * Records written.
 */
count: number, 
/**
 * Size of the file.
 */
bytes: number, };

export type Inspection = { findings: Array<Finding>, activity: ActivityWindow, 
/**
 * The names of `activity.types`, in order, made safe to show (`other` for the rest).
 */
type_names: Array<string>, };

export type RawRow = { "kind": "connection", conn: number, attempt: number | null, 
/**
 * Milliseconds since the Unix epoch.
 */
ts: number | null, 
/**
 * What the request sent as `Last-Event-ID` (empty: none).
 */
last_event_id: string | null, } | { "kind": "request", conn: number, method: string, url: string, } | { "kind": "header", conn: number, sent: boolean, name: string, value: string, } | { "kind": "request_body", conn: number, body: string, } | { "kind": "status", conn: number, version: string, status: number, } | { "kind": "skipped", conn: number, bytes: number, } | { "kind": "line", conn: number, 
/**
 * Body offset of the line's first byte.
 */
offset: number, text: string, 
/**
 * Bytes of the line without its line end.
 */
len: number, 
/**
 * `text` shows only the start of the line.
 */
cut: boolean, end: LineEnd, class: LineClass, 
/**
 * Timeline index of the record the line was parsed into (what the table selects).
 */
record: number | null, 
/**
 * That record's event `seq`, when it is an event.
 */
seq: number | null, } | { "kind": "end", conn: number, reason: string, };

export type LineClass = "blank" | "comment" | "data" | "event" | "id" | "retry" | "ignored_id" | "ignored_retry" | "unknown";

export type RawPage = { total: number, offset: number, rows: Array<RawRow>, stats: RawStats, };

export type RawRange = { first: number, count: number, };

export type RawExportDone = { path: string, 
/**
 * Connections whose bytes are in the file.
 */
connections: number, bytes: number, };

export type CollectionExportDone = { path: string, feeds: number, 
/**
 * The secrets left out, as `feed name: header Authorization`; empty when none or included.
 */
left_out: Array<string>, };

export type CollectionImportDone = { path: string, 
/**
 * Added with fresh ids, not connected.
 */
added: Array<FeedInfo>, };
