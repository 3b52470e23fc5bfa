//! The feed of the WebDriver specs (tests/e2e), served by the `feedscope-fixture` binary: on
//! `/stream`, `retry: 300` and then an event every 40 ms, types `alpha` and `beta` in turn with
//! ids 1, 2, 3…, resuming after the Last-Event-ID of the request. Two misbehaving feeds for the
//! diagnostics: `/buffered` sends its events four at a time after silences of [`BURST_EVERY`]
//! (what a buffering proxy does), `/quiet` sends one event and then nothing (a stall). `/llm`
//! streams [`LLM_TEXT`] as OpenAI Chat Completions chunks, one word each, then `[DONE]`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::{Reply, Req, Step};

/// The pace of the events.
pub const EVENT_EVERY: Duration = Duration::from_millis(40);

/// What every `/stream` reply starts with.
pub const PRELUDE: &str = "retry: 300\n: hello from the e2e fixture\n\n";

/// The script of the feed, for [`crate::Fixture::start`]. `report` sees each `/stream` request
/// before it is answered. Other paths get a 404; with `fail=503` in the query, the first such
/// request (the first only) gets a 503 with `Retry-After: 1`, which a browser gives up on.
pub fn stream(report: impl Fn(&Req) + Send + Sync + 'static) -> impl Fn(usize, &Req) -> Reply + Send + Sync + 'static {
    let failed_503 = AtomicBool::new(false);
    move |_, req| {
        if req.path.starts_with("/buffered") {
            let (steps, live) = mpsc::unbounded_channel();
            tokio::spawn(bursts(steps));
            return Reply::sse_steps(vec![Step::Send(PRELUDE.into()), Step::Live(live)]);
        }
        if req.path.starts_with("/quiet") {
            return Reply::sse_steps(vec![Step::Send(format!("{PRELUDE}{}", event(1)).into_bytes()), Step::Hang]);
        }
        if req.path.starts_with("/llm") {
            let (steps, live) = mpsc::unbounded_channel();
            tokio::spawn(llm(steps));
            return Reply::sse_steps(vec![Step::Live(live)]);
        }
        if !req.path.starts_with("/stream") {
            return Reply::status(404);
        }
        report(req);
        if req.path.contains("fail=503") && !failed_503.swap(true, Ordering::SeqCst) {
            let reply = Reply::status(503).header("Retry-After", "1");
            return Reply { steps: vec![Step::Send(b"try later".to_vec())], ..reply };
        }
        let last = req.header("last-event-id").and_then(|id| id.parse().ok()).unwrap_or(0);
        let (steps, live) = mpsc::unbounded_channel();
        tokio::spawn(tick(last, steps));
        Reply::sse_steps(vec![Step::Send(PRELUDE.into()), Step::Live(live)])
            .header("Cache-Control", "no-cache")
            .header("X-Fixture", "feedscope-e2e")
    }
}

/// Event `n` as it goes out; the data's keys in this order (the specs match on the text).
pub fn event(n: u64) -> String {
    let (event_type, parity) = if n % 2 == 1 { ("alpha", "odd") } else { ("beta", "even") };
    format!("event: {event_type}\nid: {n}\ndata: {{\"n\":{n},\"parity\":\"{parity}\",\"word\":\"{event_type}\"}}\n\n")
}

/// The silence between two bursts of `/buffered`.
pub const BURST_EVERY: Duration = Duration::from_millis(2300);

/// Sends four events at once after each silence, until the connection ends.
async fn bursts(steps: mpsc::UnboundedSender<Step>) {
    let mut n = 0;
    loop {
        tokio::time::sleep(BURST_EVERY).await;
        let burst: String = (0..4)
            .map(|_| {
                n += 1;
                event(n)
            })
            .collect();
        if steps.send(Step::Send(burst.into_bytes())).is_err() {
            return;
        }
    }
}

/// Sends the events after `last` until the connection ends.
async fn tick(mut last: u64, steps: mpsc::UnboundedSender<Step>) {
    loop {
        tokio::time::sleep(EVENT_EVERY).await;
        last += 1;
        if steps.send(Step::Send(event(last).into_bytes())).is_err() {
            return;
        }
    }
}

/// The answer `/llm` streams.
pub const LLM_TEXT: &str = "Server-Sent Events keep one HTTP response open and push text frames down it.";

/// `/llm`: a chunk per word of [`LLM_TEXT`] every 30 ms, OpenAI Chat Completions style, then
/// `data: [DONE]`; the connection then ends (after a `retry:` of a minute, so the answer is not
/// asked for again during a spec).
async fn llm(steps: mpsc::UnboundedSender<Step>) {
    let words: Vec<String> = LLM_TEXT.split_inclusive(' ').map(str::to_owned).collect();
    let chunk = |delta: serde_json::Value, finish: Option<&str>| {
        let v = serde_json::json!({
            "id": "chatcmpl-e2e", "object": "chat.completion.chunk", "model": "fixture",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        });
        format!("data: {v}\n\n")
    };
    let mut out =
        vec!["retry: 60000\n\n".to_owned(), chunk(serde_json::json!({"role": "assistant", "content": ""}), None)];
    out.extend(words.iter().map(|w| chunk(serde_json::json!({ "content": w }), None)));
    out.push(chunk(serde_json::json!({}), Some("stop")));
    out.push("data: [DONE]\n\n".to_owned());
    for frame in out {
        tokio::time::sleep(Duration::from_millis(30)).await;
        if steps.send(Step::Send(frame.into_bytes())).is_err() {
            return;
        }
    }
    // Dropping `steps` ends the response.
}
