//! `assemble::Assembler` on whole scripted streams, shaped like the providers' documented ones:
//! SSE bodies go through the real parser, become records 20 ms apart after a `connecting`, and
//! are assembled one at a time, as the CLI and the app do.

use std::sync::Arc;

use feedscope_core::assemble::{Assembler, Preset, Update};
use feedscope_core::sse::{parse_all, Item, Limits};
use feedscope_core::{Body, Cause, Record, Timestamp};
use proptest::strategy::Strategy;
use serde_json::json;

/// The request starts at 1 000 ms; the body's n-th item (from 1) arrives at 1 100 + 20·n ms.
fn records(body: &str) -> Vec<Record> {
    let feed: Arc<str> = Arc::from("llm");
    let connecting =
        Body::Connecting { attempt: 1, url: "https://api.example.test/v1".into(), last_event_id: "".into() };
    let mut out = vec![Record::new(feed.clone(), Timestamp(1000), connecting)];
    let (items, _) = parse_all(body.as_bytes(), Limits::default());
    let mut seq = 0;
    for item in items {
        let body = match item {
            Item::Event { event_type, id, data } => {
                seq += 1;
                Body::Event { seq, event_type, id, data }
            }
            Item::Comment(text) => Body::Comment { text },
            other => panic!("unexpected {other:?}"),
        };
        out.push(Record::new(feed.clone(), Timestamp(1100 + 20 * out.len() as i64), body));
    }
    out
}

/// Every record through a new assembler; the updates, in order.
fn assemble(preset: &str, body: &str) -> (Assembler, Vec<Update>) {
    let mut a = Assembler::new(preset.parse::<Preset>().expect("a preset"));
    let updates = records(body).iter().map(|r| a.push(r)).collect();
    (a, updates)
}

/// The text fragments, in order, as a CLI prints them.
fn fragments(preset: &str, body: &str) -> Vec<String> {
    let mut a = Assembler::new(preset.parse::<Preset>().unwrap());
    let mut out = Vec::new();
    for r in records(body) {
        let u = a.push(&r);
        if !u.text.is_empty() {
            out.push(a.fragment(&u).to_owned());
        }
    }
    out
}

fn chat_chunk(delta: &str, finish: &str) -> String {
    format!(
        "data: {{\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\",\"object\":\"chat.completion.chunk\",\"created\":1741569952,\"model\":\"gpt-4o-2024-08-06\",\"service_tier\":\"default\",\"system_fingerprint\":\"fp_eb9dce56a8\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\"finish_reason\":{finish}}}]}}\n\n"
    )
}

fn chat_text_stream(tokens: &[&str]) -> String {
    let mut body = chat_chunk(r#"{"role":"assistant","content":"","refusal":null}"#, "null");
    for t in tokens {
        body += &chat_chunk(&format!("{{\"content\":{}}}", serde_json::to_string(t).unwrap()), "null");
    }
    body += &chat_chunk("{}", "\"stop\"");
    // With stream_options.include_usage, a last chunk has no choices, only the usage.
    body += "data: {\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\",\"object\":\"chat.completion.chunk\",\"created\":1741569952,\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10,\"total_tokens\":29}}\n\n";
    body + "data: [DONE]\n\n"
}

#[test]
fn openai_chat_text_grows_token_by_token_and_ends_at_done() {
    let tokens = ["Hello", "!", " How", " can", " I", " assist", " you", " today", "?"];
    let body = chat_text_stream(&tokens);
    assert_eq!(fragments("openai-chat", &body), tokens);
    let (a, updates) = assemble("openai-chat", &body);
    assert_eq!(a.text(), "Hello! How can I assist you today?");
    assert!(a.is_done() && a.tool_calls().is_empty());
    assert_eq!(a.deltas(), 9);
    // Records: connecting at 1000, the role chunk at 1120, the first token at 1140.
    assert_eq!(a.first_token_ms(), Some(140));
    // Nine deltas 20 ms apart: eight intervals in 160 ms.
    assert_eq!(a.deltas_per_second(), Some(50.0));
    let last = updates.last().unwrap();
    assert!(last.done && last.text.is_empty());
    assert_eq!(updates.iter().filter(|u| u.done).count(), 1);
}

#[test]
fn openai_chat_parallel_tool_calls_are_joined_per_index() {
    let mut body = chat_chunk(r#"{"role":"assistant","content":"Checking both cities."}"#, "null");
    let call = |index: u32, id: &str, city: &str| {
        chat_chunk(
            &format!(
                r#"{{"tool_calls":[{{"index":{index},"id":"{id}","type":"function","function":{{"name":"get_weather","arguments":""}}}}]}}"#
            ),
            "null",
        ) + &[r#"{\"lo"#, r#"cation\": \""#, city, r#"\", \"unit\": \"c"#, r#"elsius\"}"#]
            .iter()
            .map(|part| {
                chat_chunk(
                    &format!(r#"{{"tool_calls":[{{"index":{index},"function":{{"arguments":"{part}"}}}}]}}"#),
                    "null",
                )
            })
            .collect::<String>()
    };
    body += &call(0, "call_DdmO9pD3xa9XTPNJ32zg2hcA", "Paris, France");
    body += &call(1, "call_ABZWXbmoIv0u4rKSOcqXxUzJ", "Tokyo, Japan");
    body += &chat_chunk("{}", r#""tool_calls""#);
    body += "data: [DONE]\n\n";

    let (a, updates) = assemble("openai-chat", &body);
    assert_eq!(a.text(), "Checking both cities.");
    let calls: Vec<(&str, &str, serde_json::Value)> =
        a.tool_calls().iter().map(|c| (c.id.as_str(), c.name.as_str(), c.arguments_json.clone().unwrap())).collect();
    assert_eq!(
        calls,
        [
            ("call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather", json!({"location": "Paris, France", "unit": "celsius"})),
            ("call_ABZWXbmoIv0u4rKSOcqXxUzJ", "get_weather", json!({"location": "Tokyo, Japan", "unit": "celsius"})),
        ]
    );
    assert_eq!(a.tool_calls()[0].arguments, r#"{"location": "Paris, France", "unit": "celsius"}"#);
    // Both complete at the finish reason, before [DONE].
    let completing: Vec<&Update> = updates.iter().filter(|u| !u.tools_completed.is_empty()).collect();
    assert_eq!(completing.len(), 1);
    assert_eq!(completing[0].tools_completed, [0, 1]);
    assert!(!completing[0].done);
    assert!(updates.last().unwrap().done);
    // 1 text chunk + 2 × 5 argument chunks.
    assert_eq!(a.deltas(), 11);
}

fn sse(event: &str, data: serde_json::Value) -> String {
    format!("event: {event}\ndata: {data}\n\n")
}

fn responses_stream() -> String {
    let resp = |status: &str| {
        json!({"id":"resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654","object":"response","created_at":1741290958,
               "status":status,"model":"gpt-4.1-2025-04-14","output":[]})
    };
    let msg = "msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654";
    let fc = "fc_12345xyz";
    let mut body = String::new();
    let mut n = 0;
    let mut ev = |name: &str, mut data: serde_json::Value| {
        data["type"] = json!(name);
        data["sequence_number"] = json!(n);
        n += 1;
        body += &sse(name, data);
    };
    ev("response.created", json!({"response": resp("in_progress")}));
    ev("response.in_progress", json!({"response": resp("in_progress")}));
    ev(
        "response.output_item.added",
        json!({"output_index":0,"item":{"id":msg,"type":"message","status":"in_progress","role":"assistant","content":[]}}),
    );
    ev(
        "response.content_part.added",
        json!({"item_id":msg,"output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}}),
    );
    for d in ["I'll", " look", " up", " the", " weather", " in", " Paris", "."] {
        ev("response.output_text.delta", json!({"item_id":msg,"output_index":0,"content_index":0,"delta":d}));
    }
    ev(
        "response.output_text.done",
        json!({"item_id":msg,"output_index":0,"content_index":0,"text":"I'll look up the weather in Paris."}),
    );
    ev("response.output_item.done", json!({"output_index":0,"item":{"id":msg,"type":"message","status":"completed"}}));
    ev(
        "response.output_item.added",
        json!({"output_index":1,"item":{"id":fc,"type":"function_call","status":"in_progress","arguments":"","call_id":"call_12345xyz","name":"get_weather"}}),
    );
    for d in ["{\"", "location", "\":\"", "Paris", ", France", "\"}"] {
        ev("response.function_call_arguments.delta", json!({"item_id":fc,"output_index":1,"delta":d}));
    }
    ev(
        "response.function_call_arguments.done",
        json!({"item_id":fc,"output_index":1,"arguments":"{\"location\":\"Paris, France\"}"}),
    );
    ev(
        "response.output_item.done",
        json!({"output_index":1,"item":{"id":fc,"type":"function_call","status":"completed","arguments":"{\"location\":\"Paris, France\"}","call_id":"call_12345xyz","name":"get_weather"}}),
    );
    ev("response.completed", json!({"response": resp("completed")}));
    body
}

#[test]
fn openai_responses_text_and_function_call_end_at_response_completed() {
    let body = responses_stream();
    let (a, updates) = assemble("openai-responses", &body);
    assert_eq!(a.text(), "I'll look up the weather in Paris.");
    assert_eq!(a.tool_calls().len(), 1);
    let call = &a.tool_calls()[0];
    assert_eq!((call.id.as_str(), call.name.as_str()), ("call_12345xyz", "get_weather"));
    assert_eq!(call.arguments, r#"{"location":"Paris, France"}"#);
    assert_eq!(call.arguments_json, Some(json!({"location": "Paris, France"})));
    // Completed by function_call_arguments.done, once; the stream ends at response.completed.
    let completed: Vec<usize> = updates.iter().flat_map(|u| u.tools_completed.clone()).collect();
    assert_eq!(completed, [0]);
    assert!(updates.last().unwrap().done);
    assert_eq!(a.deltas(), 8 + 6);
    assert!(a.is_done());
}

#[test]
fn openai_responses_also_reads_the_type_field_without_event_lines() {
    // A proxy that drops `event:` lines: the JSON's "type" still says what each event is.
    let body: String =
        responses_stream().lines().filter(|l| !l.starts_with("event:")).map(|l| format!("{l}\n")).collect();
    let (a, _) = assemble("openai-responses", &body);
    assert_eq!(a.text(), "I'll look up the weather in Paris.");
    assert!(a.is_done());
    assert_eq!(a.tool_calls()[0].arguments_json, Some(json!({"location": "Paris, France"})));
}

fn anthropic_stream() -> String {
    let mut body = sse(
        "message_start",
        json!({"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant",
               "model":"claude-sonnet-4-5","stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":2},
               "content":[],"stop_reason":null}}),
    );
    body += &sse(
        "content_block_start",
        json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
    );
    body += &sse("ping", json!({"type": "ping"}));
    for t in ["Okay", ",", " let", "'s", " check", " the", " weather", " for", " San Francisco", ", CA:"] {
        body += &sse(
            "content_block_delta",
            json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":t}}),
        );
    }
    body += &sse("content_block_stop", json!({"type":"content_block_stop","index":0}));
    body += &sse(
        "content_block_start",
        json!({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}),
    );
    for p in ["", "{\"location\":", " \"San", " Francisc", "o,", " CA\"", ", ", "\"unit\": \"fah", "renheit\"}"] {
        body += &sse(
            "content_block_delta",
            json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":p}}),
        );
    }
    body += &sse("content_block_stop", json!({"type":"content_block_stop","index":1}));
    body += &sse(
        "message_delta",
        json!({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}),
    );
    body + &sse("message_stop", json!({"type": "message_stop"}))
}

#[test]
fn anthropic_text_deltas_and_tool_use_end_at_message_stop() {
    let body = anthropic_stream();
    let (a, updates) = assemble("anthropic", &body);
    assert_eq!(a.text(), "Okay, let's check the weather for San Francisco, CA:");
    let call = &a.tool_calls()[0];
    assert_eq!((call.id.as_str(), call.name.as_str()), ("toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"));
    assert_eq!(call.arguments_json, Some(json!({"location": "San Francisco, CA", "unit": "fahrenheit"})));
    // The tool call completes at its block's stop, before message_stop.
    let stop_at = updates.iter().position(|u| u.tools_completed == [0]).unwrap();
    let done_at = updates.iter().position(|u| u.done).unwrap();
    assert!(stop_at < done_at);
    assert_eq!(done_at, updates.len() - 1);
    // 10 text deltas and 8 non-empty argument fragments (the empty first one is no delta).
    assert_eq!(a.deltas(), 18);
    let snap = a.snapshot();
    assert_eq!(snap.preset, "anthropic");
    assert!(snap.done);
    assert_eq!(snap.tool_calls[0].arguments_json, call.arguments_json);
}

#[test]
fn custom_path_reads_any_provider_and_the_body_end_ends_it() {
    // Hugging Face TGI's /generate_stream: {"token":{"text":…}} per event, no end marker.
    let body: String = ["The", " answer", " is", " 42", "."]
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let generated = if i == 4 { json!("The answer is 42.") } else { json!(null) };
            format!(
                "data: {}\n\n",
                json!({"index":i+1,"token":{"id":i+100,"text":t,"logprob":-0.25,"special":false},"generated_text":generated,"details":null})
            )
        })
        .collect();
    let mut a = Assembler::new("json:token.text".parse().unwrap());
    for r in records(&body) {
        a.push(&r);
    }
    assert_eq!(a.text(), "The answer is 42.");
    assert!(!a.is_done());
    let eof = Body::Disconnected {
        reason: "the server ended the stream".into(),
        cause: Cause::EndOfStream,
        reconnect_in_ms: 3000,
        detail: String::new(),
    };
    let u = a.push(&Record::new(Arc::from("llm"), Timestamp(9000), eof));
    assert!(u.done && a.is_done());

    // The legacy completions shape: choices[0].text.
    let body = "data: {\"choices\":[{\"text\":\"Once\",\"index\":0}]}\n\ndata: {\"choices\":[{\"text\":\" upon\",\"index\":0}]}\n\ndata: [DONE]\n\n";
    assert_eq!(fragments("json:choices[0].text", body), ["Once", " upon"]);
}

#[test]
fn a_stream_without_its_end_marker_is_not_done_and_its_calls_stay_open() {
    let full = anthropic_stream();
    // Cut after the first argument fragments: no block stop, no message_stop.
    let cut = &full[..full.find("\" CA\\\"\"").unwrap()];
    let cut = &cut[..cut.rfind("\n\n").unwrap() + 2];
    let (a, updates) = assemble("anthropic", cut);
    assert!(!a.is_done());
    assert!(updates.iter().all(|u| !u.done && u.tools_completed.is_empty()));
    let call = &a.tool_calls()[0];
    assert!(!call.complete && call.arguments_json.is_none() && call.arguments_error.is_none());
    assert_eq!(call.arguments, "{\"location\": \"San Francisco,");
}

proptest::proptest! {
    /// Whatever the data, the assembler never fails, its text only grows, and each update's
    /// fragment is exactly what was appended.
    #[test]
    fn any_data_is_assembled_without_failing(
        preset in proptest::sample::select(vec!["openai-chat", "openai-responses", "anthropic", "json:a.b"]),
        datas in proptest::collection::vec(
            proptest::prop_oneof![
                ".{0,20}",
                proptest::sample::select(vec![
                    r#"{"choices":[{"index":0,"delta":{"content":"x","tool_calls":[{"index":0,"function":{"arguments":"{"}}]}}]}"#,
                    r#"{"type":"response.output_text.delta","delta":"y"}"#,
                    r#"{"type":"response.function_call_arguments.delta","item_id":"i","delta":"1"}"#,
                    r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"["}}"#,
                    r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"z"}}"#,
                    r#"{"a":{"b":"w"}}"#,
                    r#"{"choices":[{"index":0,"delta":null,"finish_reason":"stop"}]}"#,
                    r#"{"type":"content_block_stop","index":0}"#,
                ]).prop_map(String::from),
            ],
            0..30,
        ),
    ) {
        let mut a = Assembler::new(preset.parse().unwrap());
        for (i, data) in datas.iter().enumerate() {
            let before = a.text().to_owned();
            let r = Record::new(
                Arc::from("f"),
                Timestamp(i as i64),
                Body::Event { seq: i as u64 + 1, event_type: Arc::from("message"), id: Arc::from(""), data: data.clone() },
            );
            let u = a.push(&r);
            proptest::prop_assert!(a.text().starts_with(&before));
            proptest::prop_assert_eq!(format!("{before}{}", a.fragment(&u)), a.text());
            for &i in &u.tools_completed {
                let call = &a.tool_calls()[i];
                proptest::prop_assert!(call.complete && (call.arguments_json.is_some() != call.arguments_error.is_some()));
            }
        }
    }
}
