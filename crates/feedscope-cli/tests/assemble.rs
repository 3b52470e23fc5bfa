//! `feedscope tail --assemble PRESET` against loopback servers shaped like the providers' streams:
//! the answer's text on stdout as it grows, tool calls as JSON once complete, exit 0 at the end
//! marker (even while the server keeps the connection open), tail's usual rules without it, and
//! usage errors for bad presets. Also the demo's `/llm` route, end to end.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use feedscope_core::{Body, Record};
use feedscope_server::demo::{LLM_ANSWER, LLM_PRESETS};
use feedscope_testkit::{Fixture, Reply, Step, HANG_GUARD};
use serde_json::json;

mod common;
use common::{args, run, stderr, stdout, BIN};

/// What every stream below answers, and the tool call after it.
const ANSWER: &str = "It's 18 °C and sunny in Paris.";
const CALL_ID: &str = "call_Qm3b7XgkLz0ytW5xEsNcPv1A";
const TOOL_USE_ID: &str = "toolu_01A09q90qw90lq917835lq9";

/// How tail prints the `get_weather` call with this id.
fn tool_call(id: &str) -> String {
    format!("[tool call get_weather id={id}]\n{{\n  \"location\": \"Paris, France\",\n  \"unit\": \"celsius\"\n}}\n")
}
const TOKENS: [&str; 9] = ["It's", " 18", " °C", " and", " sunny", " in", " Paris", ".", ""];
const ARGUMENTS: [&str; 5] = ["{\"loc", "ation\": ", "\"Paris, France\", ", "\"unit\": \"cel", "sius\"}"];

fn data(event: &str, value: serde_json::Value) -> String {
    if event == "message" {
        format!("data: {value}\n\n")
    } else {
        format!("event: {event}\ndata: {value}\n\n")
    }
}

fn chat_chunk(delta: serde_json::Value, finish: serde_json::Value) -> String {
    data(
        "message",
        json!({"id":"chatcmpl-AbC123","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-mini",
               "system_fingerprint":"fp_06737a9306","choices":[{"index":0,"delta":delta,"logprobs":null,"finish_reason":finish}]}),
    )
}

/// Chat Completions: role, text, a tool call in fragments, the finish reason; `[DONE]` if `done`.
fn chat_stream(done: bool) -> String {
    let mut body = chat_chunk(json!({"role":"assistant","content":"","refusal":null}), json!(null));
    for t in TOKENS {
        body += &chat_chunk(json!({ "content": t }), json!(null));
    }
    body += &chat_chunk(
        json!({"tool_calls":[{"index":0,"id":CALL_ID,"type":"function","function":{"name":"get_weather","arguments":""}}]}),
        json!(null),
    );
    for a in ARGUMENTS {
        body += &chat_chunk(json!({"tool_calls":[{"index":0,"function":{"arguments":a}}]}), json!(null));
    }
    body += &chat_chunk(json!({}), json!("tool_calls"));
    if done {
        body += "data: [DONE]\n\n";
    }
    body
}

fn responses_stream() -> String {
    let mut body = String::new();
    let mut seq = 0;
    let mut ev = |name: &str, mut v: serde_json::Value| {
        v["type"] = json!(name);
        v["sequence_number"] = json!(seq);
        seq += 1;
        body += &data(name, v);
    };
    let response = |status: &str| json!({"id":"resp_6820f382ee1c8191bc096bee70894d040ac5ba57aafcbac7","object":"response","status":status,"model":"gpt-4.1-2025-04-14","output":[]});
    let msg = "msg_6820f3835d5c8191a5d3e7d2b2c7c1b20ac5ba57aafcbac7";
    ev("response.created", json!({ "response": response("in_progress") }));
    ev("response.in_progress", json!({ "response": response("in_progress") }));
    ev(
        "response.output_item.added",
        json!({"output_index":0,"item":{"id":msg,"type":"message","status":"in_progress","content":[],"role":"assistant"}}),
    );
    ev(
        "response.content_part.added",
        json!({"item_id":msg,"output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"text":""}}),
    );
    for t in TOKENS {
        ev("response.output_text.delta", json!({"item_id":msg,"output_index":0,"content_index":0,"delta":t}));
    }
    ev("response.output_text.done", json!({"item_id":msg,"output_index":0,"content_index":0,"text":ANSWER}));
    ev(
        "response.output_item.done",
        json!({"output_index":0,"item":{"id":msg,"type":"message","status":"completed","role":"assistant"}}),
    );
    let call = |status: &str, arguments: &str| {
        json!({"id":"fc_6820f3a1b2c48191","type":"function_call","status":status,"arguments":arguments,
               "call_id":CALL_ID,"name":"get_weather"})
    };
    ev("response.output_item.added", json!({"output_index":1,"item":call("in_progress", "")}));
    for a in ARGUMENTS {
        ev(
            "response.function_call_arguments.delta",
            json!({"item_id":"fc_6820f3a1b2c48191","output_index":1,"delta":a}),
        );
    }
    let full = ARGUMENTS.concat();
    ev(
        "response.function_call_arguments.done",
        json!({"item_id":"fc_6820f3a1b2c48191","output_index":1,"arguments":full}),
    );
    ev("response.output_item.done", json!({"output_index":1,"item":call("completed", &full)}));
    ev("response.completed", json!({ "response": response("completed") }));
    body
}

fn anthropic_stream() -> String {
    let mut body = data(
        "message_start",
        json!({"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","content":[],
               "model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}),
    );
    body += &data(
        "content_block_start",
        json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
    );
    body += &data("ping", json!({"type":"ping"}));
    for t in TOKENS {
        body += &data(
            "content_block_delta",
            json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":t}}),
        );
    }
    body += &data("content_block_stop", json!({"type":"content_block_stop","index":0}));
    body += &data(
        "content_block_start",
        json!({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":TOOL_USE_ID,"name":"get_weather","input":{}}}),
    );
    for a in ARGUMENTS {
        body += &data(
            "content_block_delta",
            json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":a}}),
        );
    }
    body += &data("content_block_stop", json!({"type":"content_block_stop","index":1}));
    body += &data(
        "message_delta",
        json!({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":42}}),
    );
    body + &data("message_stop", json!({"type":"message_stop"}))
}

/// Serves `body`, then keeps the connection open: only the end marker can end the run.
async fn hanging(body: String) -> Fixture {
    Fixture::start(move |_, _| Reply::sse_steps(vec![Step::Send(body.clone().into_bytes()), Step::Hang])).await
}

#[tokio::test]
async fn openai_chat_prints_the_answer_then_the_tool_call_and_exits_0_at_done() {
    let fx = hanging(chat_stream(true)).await;
    let out = run(args(&["tail", &fx.url("/v1/chat/completions"), "--assemble", "openai-chat"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{ANSWER}\n{}", tool_call(CALL_ID)));
    assert_eq!(stderr(&out), "");
    assert_eq!(fx.requests().len(), 1);
}

#[tokio::test]
async fn openai_responses_prints_the_answer_then_the_function_call_and_exits_0() {
    let fx = hanging(responses_stream()).await;
    let out = run(args(&["tail", &fx.url("/v1/responses"), "--assemble", "openai-responses"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{ANSWER}\n{}", tool_call(CALL_ID)));
}

#[tokio::test]
async fn anthropic_prints_the_answer_then_the_tool_use_and_exits_0_at_message_stop() {
    let fx = hanging(anthropic_stream()).await;
    let out = run(args(&["tail", &fx.url("/v1/messages"), "--assemble", "anthropic"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{ANSWER}\n{}", tool_call(TOOL_USE_ID)));
}

#[tokio::test]
async fn without_the_end_marker_tail_reconnects_as_usual() {
    // The first response ends without [DONE]; the reconnection gets 204, which ends tail (exit 0).
    let body = chat_stream(false);
    let fx = Fixture::start(move |n, _| if n == 0 { Reply::sse(&body) } else { Reply::status(204) }).await;
    let out = run(args(&["tail", &fx.url("/"), "--assemble", "openai-chat", "--retry-ms", "10"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The finish reason completed the tool call; the text's line is ended at exit.
    assert_eq!(stdout(&out), format!("{ANSWER}\n{}", tool_call(CALL_ID)));
    assert_eq!(fx.requests().len(), 2, "reconnected once");
    let err = stderr(&out);
    assert!(err.contains("the server ended the stream before the answer's end; reconnecting in"), "{err}");
}

#[tokio::test]
async fn a_fatal_end_before_the_marker_exits_1_with_the_text_so_far() {
    let body = chat_chunk(json!({"content":"partial"}), json!(null));
    let fx = Fixture::start(move |n, _| if n == 0 { Reply::sse(&body) } else { Reply::status(404) }).await;
    let out = run(args(&["tail", &fx.url("/chat"), "--assemble", "openai-chat", "--retry-ms", "10"])).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "partial\n");
    assert!(stderr(&out).contains("404"), "{}", stderr(&out));
}

#[tokio::test]
async fn a_json_path_answer_ends_with_the_body() {
    // A stream with no end marker: the body's end is the answer's end, with no reconnection.
    let body: String = ["Once", " upon", " a", " time"].iter().map(|t| data("token", json!({ "token": t }))).collect();
    let fx = Fixture::start(move |_, _| Reply::sse(&body)).await;
    let out = run(args(&["tail", &fx.url("/generate"), "--assemble", "json:token"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Once upon a time\n");
    fx.assert_no_new_request(Duration::from_millis(200)).await;
    assert_eq!(fx.requests().len(), 1);
}

#[tokio::test]
async fn the_filter_applies_before_assembling_and_the_log_gets_the_matching_records() {
    let mut body = chat_chunk(json!({"content":"kept"}), json!(null));
    body += "event: debug\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" DROPPED\"}}]}\n\n";
    body += &chat_chunk(json!({"content":" too"}), json!(null));
    body += "data: [DONE]\n\n";
    let fx = hanging(body).await;
    let log = std::env::temp_dir().join(format!("feedscope-assemble-{}.ndjson", std::process::id()));
    let out = run(args(&[
        "tail",
        &fx.url("/"),
        "--assemble",
        "openai-chat",
        "--filter",
        // Connection records have no type: without `kind != "event"` they would be left out too.
        r#"kind != "event" || type != "debug""#,
        "-o",
        log.to_str().unwrap(),
    ]))
    .await;
    let written = std::fs::read_to_string(&log).unwrap();
    std::fs::remove_file(&log).ok();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "kept too\n");
    let records: Vec<Record> = written.lines().map(|l| Record::from_json(l).expect("a record")).collect();
    let datas: Vec<&str> = records
        .iter()
        .filter_map(|r| if let Body::Event { data, .. } = &r.body { Some(data.as_str()) } else { None })
        .collect();
    assert_eq!(datas.len(), 3, "the debug event is filtered out of the log too: {datas:?}");
    assert_eq!(datas[2], "[DONE]");
    assert_eq!(records.last().unwrap().body.kind(), feedscope_core::Kind::Closed);
}

#[tokio::test]
async fn the_text_is_printed_as_it_grows() {
    let fx = Fixture::interactive(|_, _| Reply::sse_steps(vec![])).await;
    let url = fx.url("/");
    let mut child = Command::new(BIN)
        .args(["tail", &url, "--assemble", "anthropic"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn feedscope");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut child_out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        while let Ok(n) = child_out.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let conn = fx.next().await;
    let delta = |t: &str| {
        data(
            "content_block_delta",
            json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":t}}),
        )
    };
    conn.send(&delta("Hel"));
    stdout_reaches(&mut rx, &mut seen, "Hel").await;
    conn.send(&delta("lo,"));
    stdout_reaches(&mut rx, &mut seen, "Hello,").await;
    conn.send(&delta(" world"));
    stdout_reaches(&mut rx, &mut seen, "Hello, world").await;
    conn.send(&data("message_stop", json!({"type":"message_stop"})));
    stdout_reaches(&mut rx, &mut seen, "Hello, world\n").await;
    let status = tokio::task::spawn_blocking(move || child.wait().expect("exit")).await.unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn bad_presets_are_usage_errors() {
    let out = run(args(&["tail", "http://127.0.0.1:9/", "--assemble", "gpt"])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr(&out),
        "feedscope: --assemble: unknown preset `gpt`: expected openai-chat, openai-responses, anthropic or json:PATH (such as json:choices[0].text)\n"
    );
    let out = run(args(&["tail", "http://127.0.0.1:9/", "--assemble", "json:choices[x]"])).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "feedscope: --assemble: bad JSON path: expected an index or a quoted name at column 14\njson:choices[x]\n             ^\n"
    );
    let out = run(args(&["tail", "http://127.0.0.1:9/", "--assemble", "anthropic", "--format", "ndjson"])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("'--assemble <PRESET>' cannot be used with '--format <FORMAT>'"), "{}", stderr(&out));
}

/// Reads the child's stdout until it is `want`, failing if it shows anything else first.
async fn stdout_reaches(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>, seen: &mut String, want: &str) {
    while seen != want {
        let bytes = tokio::time::timeout(HANG_GUARD, rx.recv()).await.expect("stdout grows").expect("stdout open");
        seen.push_str(std::str::from_utf8(&bytes).unwrap());
        assert!(want.starts_with(seen.as_str()), "{seen:?} is not a start of {want:?}");
    }
}

/// Starts `feedscope demo` and returns it with its base URL.
fn spawn_demo() -> (std::process::Child, String) {
    let mut child = Command::new(BIN)
        .args(["demo", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn feedscope demo");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("the demo printed its URLs").expect("read");
        if let Some(i) = line.find("http://") {
            let url = line[i..].split_whitespace().next().unwrap();
            break url.trim_end_matches("/events").to_owned();
        }
    };
    (child, base)
}

#[tokio::test]
async fn the_demo_llm_route_assembles_for_every_preset() {
    let (mut demo, base) = spawn_demo();
    for preset in LLM_PRESETS {
        let url = format!("{base}/llm?preset={preset}&delay_ms=1");
        let out = run(args(&["tail", &url, "--assemble", preset])).await;
        assert_eq!(out.status.code(), Some(0), "{preset}: {}", stderr(&out));
        let text = stdout(&out);
        let id = if preset == "anthropic" { "toolu_01FeedscopeDemoWeather" } else { "call_Fz8kXbq3TmD2pR1nWc7YhLs0" };
        assert_eq!(
            text,
            format!("{LLM_ANSWER}\n[tool call get_weather id={id}]\n{{\n  \"location\": \"Paris, France\",\n  \"unit\": \"celsius\"\n}}\n"),
            "{preset}"
        );
    }
    assert!(demo.try_wait().unwrap().is_none(), "the demo is still serving");
    demo.kill().ok();
    demo.wait().ok();
}
