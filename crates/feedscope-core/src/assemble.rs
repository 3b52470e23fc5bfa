//! The text an LLM token stream spells: a feed's JSON delta events assembled into the growing
//! answer, its tool calls with their arguments, and how fast it came. docs/assemble.md is the
//! reference for what each [`Preset`] reads.
//!
//! An [`Assembler`] takes the feed's records one at a time ([`Assembler::push`]) and says what
//! each changed ([`Update`]): the fragment of text it appended, the tool calls it started, grew or
//! completed, and whether it was the stream's end marker. Each event's data is parsed as JSON at
//! most once, and only when it starts like an object or an array. Data that is not JSON, fields a
//! preset does not find and events of other types are skipped: never an error.
//!
//! The answer is complete at the preset's end marker (`[DONE]`, `response.completed`,
//! `message_stop`); a `json:PATH` preset has none, so the end of the response body ends it. After
//! the end the assembler takes nothing more: a reconnection's new answer needs a new assembler.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::json_path::{JsonPath, PathError};
use crate::record::{Body, Cause, Record, Timestamp};

/// Where a stream's text and tool calls are, by provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preset {
    /// OpenAI Chat Completions: `choices[0].delta.content`, `choices[0].delta.tool_calls`; ends at `[DONE]`.
    OpenAiChat,
    /// OpenAI Responses: `response.output_text.delta` events, function calls by item; ends at
    /// `response.completed` (or `response.incomplete`, `response.failed`).
    OpenAiResponses,
    /// Anthropic Messages: `text_delta`s, `tool_use` blocks with `input_json_delta`s; ends at `message_stop`.
    Anthropic,
    /// The string at this path in every event's JSON data; no end marker (the body's end ends it).
    Json(JsonPath),
}

/// Why a preset's name was refused. Displays as one line; [`PresetError::caret`] points at the
/// column of a bad path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresetError {
    #[error(
        "unknown preset `{0}`: expected openai-chat, openai-responses, anthropic or json:PATH (such as json:choices[0].text)"
    )]
    Unknown(String),
    /// The path of `json:PATH` is malformed; the column counts from the start of the whole
    /// preset (`json:` is columns 1 to 5).
    #[error("bad JSON path: {0}")]
    Path(PathError),
}

impl PresetError {
    /// The 1-based column, in characters of the preset's text, where a path went wrong.
    pub fn column(&self) -> Option<usize> {
        match self {
            PresetError::Path(e) => Some(e.column),
            PresetError::Unknown(_) => None,
        }
    }

    /// Two lines for a terminal, the preset and a caret under the column; empty when the error
    /// has no column.
    pub fn caret(&self, source: &str) -> String {
        match self.column() {
            Some(column) => format!("{source}\n{}^", " ".repeat(column.saturating_sub(1))),
            None => String::new(),
        }
    }
}

impl Preset {
    /// The names [`Preset::from_str`] accepts (`json:PATH` stands for any path).
    pub const NAMES: [&'static str; 4] = ["openai-chat", "openai-responses", "anthropic", "json:PATH"];

    /// Whether the stream says where the answer ends. Without a marker (`json:PATH`), the end of
    /// the response body is the end.
    pub fn has_end_marker(&self) -> bool {
        !matches!(self, Preset::Json(_))
    }
}

impl FromStr for Preset {
    type Err = PresetError;

    fn from_str(s: &str) -> Result<Preset, PresetError> {
        match s {
            "openai-chat" => Ok(Preset::OpenAiChat),
            "openai-responses" => Ok(Preset::OpenAiResponses),
            "anthropic" => Ok(Preset::Anthropic),
            _ => match s.strip_prefix("json:") {
                Some(path) => JsonPath::parse(path)
                    .map(Preset::Json)
                    .map_err(|e| PresetError::Path(PathError { column: e.column + "json:".len(), message: e.message })),
                None => Err(PresetError::Unknown(s.to_owned())),
            },
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Preset::OpenAiChat => f.write_str("openai-chat"),
            Preset::OpenAiResponses => f.write_str("openai-responses"),
            Preset::Anthropic => f.write_str("anthropic"),
            Preset::Json(path) => write!(f, "json:{path}"),
        }
    }
}

impl Serialize for Preset {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A tool (function) call the model made, as far as it has arrived.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ToolCall {
    /// The provider's id for the call (`call_…`, `toolu_…`); empty until it arrives.
    pub id: String,
    /// The function's name; empty until it arrives.
    pub name: String,
    /// The arguments' JSON text as streamed so far (for Responses, replaced by the full text of
    /// its `done` event).
    pub arguments: String,
    /// The call's stop event or the stream's end marker arrived; then exactly one of
    /// `arguments_json` and `arguments_error` is set.
    pub complete: bool,
    /// The arguments parsed, once complete. A call with no argument text at all has `{}`.
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub arguments_json: Option<Value>,
    /// Why the complete arguments are not JSON (they stay in `arguments` as they came).
    pub arguments_error: Option<String>,
}

impl ToolCall {
    fn complete(&mut self) {
        self.complete = true;
        let text = self.arguments.trim();
        let parsed = if text.is_empty() { Ok(Value::Object(Default::default())) } else { serde_json::from_str(text) };
        match parsed {
            Ok(v) => self.arguments_json = Some(v),
            Err(e) => self.arguments_error = Some(e.to_string()),
        }
    }
}

/// What one record changed. Indexes are into [`Assembler::tool_calls`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Update {
    /// The bytes of [`Assembler::text`] this record appended (empty when none); see
    /// [`Assembler::fragment`].
    pub text: Range<usize>,
    /// Tool calls this record started or added to.
    pub tools_changed: Vec<usize>,
    /// Tool calls this record completed (their arguments are now parsed).
    pub tools_completed: Vec<usize>,
    /// This record ended the answer.
    pub done: bool,
}

impl Update {
    /// Nothing changed.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty() && self.tools_changed.is_empty() && self.tools_completed.is_empty() && !self.done
    }
}

/// What the app shows of an assembled stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Assembled {
    /// The preset's name, as [`Preset::from_str`] reads it.
    pub preset: String,
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    /// Events that added text or tool-call arguments.
    pub deltas: u64,
    /// Milliseconds from the first record seen to the first delta (time to first token).
    pub first_token_ms: Option<i64>,
    /// Deltas per second from the first delta to the last (the deltas after the first over that
    /// time); none before two deltas a millisecond or more apart.
    pub deltas_per_second: Option<f64>,
    /// The end marker arrived.
    pub done: bool,
}

/// Which provider-side key a tool call is found by.
#[derive(Debug, Clone, Default)]
struct Slot {
    /// Chat's `index`, Responses' `output_index`, Anthropic's block `index`.
    index: Option<u64>,
    /// Responses' item `id` (`fc_…`).
    item_id: Option<String>,
}

/// Assembles one answer from a feed's records; see the module doc.
#[derive(Debug, Clone, Serialize)]
pub struct Assembler {
    preset: Preset,
    text: String,
    tool_calls: Vec<ToolCall>,
    deltas: u64,
    first_record_at: Option<Timestamp>,
    first_token_at: Option<Timestamp>,
    last_delta_at: Option<Timestamp>,
    done: bool,
    #[serde(skip)]
    slots: Vec<Slot>,
}

impl Assembler {
    pub fn new(preset: Preset) -> Assembler {
        Assembler {
            preset,
            text: String::new(),
            tool_calls: Vec::new(),
            deltas: 0,
            first_record_at: None,
            first_token_at: None,
            last_delta_at: None,
            done: false,
            slots: Vec::new(),
        }
    }

    pub fn preset(&self) -> &Preset {
        &self.preset
    }

    /// Takes the feed's next record and says what it changed. Connection records only start the
    /// clock ([`Assembler::first_record_at`]), except that the end of a body ends an answer whose
    /// preset has no end marker. Once done, records change nothing.
    pub fn push(&mut self, record: &Record) -> Update {
        let mut u = Update { text: self.text.len()..self.text.len(), ..Update::default() };
        if self.done {
            return u;
        }
        self.first_record_at.get_or_insert(record.ts);
        match &record.body {
            Body::Event { event_type, data, .. } => {
                let mut added = false;
                match &self.preset {
                    Preset::OpenAiChat => self.chat(data, &mut u, &mut added),
                    Preset::OpenAiResponses => self.responses(event_type, data, &mut u, &mut added),
                    Preset::Anthropic => self.anthropic(event_type, data, &mut u, &mut added),
                    Preset::Json(path) => {
                        if let Some(s) = parse(data).as_ref().and_then(|v| path.get(v)).and_then(Value::as_str) {
                            added |= push_text(&mut self.text, s);
                        }
                    }
                }
                if added {
                    self.deltas += 1;
                    self.first_token_at.get_or_insert(record.ts);
                    self.last_delta_at = Some(record.ts);
                }
            }
            Body::Disconnected { cause, .. } | Body::Closed { cause, .. }
                if !self.preset.has_end_marker() && matches!(cause, Cause::EndOfStream | Cause::EndInsideEvent) =>
            {
                self.finish(&mut u);
            }
            _ => {}
        }
        u.text.end = self.text.len();
        u
    }

    /// The answer's text so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text `update` appended.
    pub fn fragment(&self, update: &Update) -> &str {
        self.text.get(update.text.clone()).unwrap_or("")
    }

    pub fn tool_calls(&self) -> &[ToolCall] {
        &self.tool_calls
    }

    /// Events that added text or tool-call arguments.
    pub fn deltas(&self) -> u64 {
        self.deltas
    }

    /// The time of the first record pushed (the request's `connecting`, when the face passes
    /// every record).
    pub fn first_record_at(&self) -> Option<Timestamp> {
        self.first_record_at
    }

    /// The time of the first delta.
    pub fn first_token_at(&self) -> Option<Timestamp> {
        self.first_token_at
    }

    /// The time of the latest delta.
    pub fn last_delta_at(&self) -> Option<Timestamp> {
        self.last_delta_at
    }

    /// Milliseconds from the first record to the first delta.
    pub fn first_token_ms(&self) -> Option<i64> {
        Some(self.first_token_at?.millis() - self.first_record_at?.millis())
    }

    /// Deltas per second from the first delta to the last: the deltas after the first over the
    /// time between them. `None` until two deltas at least a millisecond apart.
    pub fn deltas_per_second(&self) -> Option<f64> {
        let span = self.last_delta_at?.millis() - self.first_token_at?.millis();
        (span > 0 && self.deltas > 1).then(|| (self.deltas - 1) as f64 * 1000.0 / span as f64)
    }

    /// Whether the answer has ended (its end marker, or the body's end for `json:PATH`).
    pub fn is_done(&self) -> bool {
        self.done
    }

    pub fn snapshot(&self) -> Assembled {
        Assembled {
            preset: self.preset.to_string(),
            text: self.text.clone(),
            tool_calls: self.tool_calls.clone(),
            deltas: self.deltas,
            first_token_ms: self.first_token_ms(),
            deltas_per_second: self.deltas_per_second(),
            done: self.done,
        }
    }

    /// The end: every tool call still open is complete.
    fn finish(&mut self, u: &mut Update) {
        self.done = true;
        u.done = true;
        for i in 0..self.tool_calls.len() {
            self.complete(i, u);
        }
    }

    fn complete(&mut self, i: usize, u: &mut Update) {
        if !self.tool_calls[i].complete {
            self.tool_calls[i].complete();
            u.tools_completed.push(i);
        }
    }

    /// The tool call found by `index` or `item_id` (the item id first: it is unique), or a new one.
    fn slot(&mut self, index: Option<u64>, item_id: Option<&str>, u: &mut Update) -> usize {
        let by_item = item_id.and_then(|id| self.slots.iter().position(|s| s.item_id.as_deref() == Some(id)));
        let found = by_item.or_else(|| index.and_then(|n| self.slots.iter().position(|s| s.index == Some(n))));
        let i = found.unwrap_or_else(|| {
            self.slots.push(Slot { index, item_id: item_id.map(str::to_owned) });
            self.tool_calls.push(ToolCall::default());
            self.tool_calls.len() - 1
        });
        if !u.tools_changed.contains(&i) {
            u.tools_changed.push(i);
        }
        i
    }

    /// Appends an arguments fragment to an open call; whether anything was added.
    fn append_arguments(&mut self, i: usize, fragment: Option<&str>) -> bool {
        let call = &mut self.tool_calls[i];
        match fragment {
            Some(s) if !s.is_empty() && !call.complete => {
                call.arguments.push_str(s);
                true
            }
            _ => false,
        }
    }

    fn chat(&mut self, data: &str, u: &mut Update, added: &mut bool) {
        if data.trim() == "[DONE]" {
            return self.finish(u);
        }
        let Some(v) = parse(data) else { return };
        let Some(choices) = v.get("choices").and_then(Value::as_array) else { return };
        // Choice 0: the item whose `index` is 0, or the first when items carry no index.
        let choice = choices
            .iter()
            .find(|c| c.get("index").and_then(Value::as_u64) == Some(0))
            .or_else(|| choices.first().filter(|c| c.get("index").is_none()));
        let Some(choice) = choice else { return };
        if let Some(delta) = choice.get("delta") {
            if let Some(s) = str_at(delta, "content") {
                *added |= push_text(&mut self.text, s);
            }
            for (pos, call) in delta.get("tool_calls").and_then(Value::as_array).into_iter().flatten().enumerate() {
                let index = call.get("index").and_then(Value::as_u64).unwrap_or(pos as u64);
                let i = self.slot(Some(index), None, u);
                let function = call.get("function");
                fill(&mut self.tool_calls[i].id, str_at(call, "id"));
                fill(&mut self.tool_calls[i].name, function.and_then(|f| str_at(f, "name")));
                *added |= self.append_arguments(i, function.and_then(|f| str_at(f, "arguments")));
            }
        }
        // A finish reason ends the choice, and with it its tool calls.
        if choice.get("finish_reason").is_some_and(|r| !r.is_null()) {
            for i in 0..self.tool_calls.len() {
                self.complete(i, u);
            }
        }
    }

    fn responses(&mut self, event_type: &str, data: &str, u: &mut Update, added: &mut bool) {
        let v = parse(data);
        let v = v.as_ref();
        // Real streams name the type twice (`event:` and `"type"`); either will do.
        let ty = v.and_then(|v| str_at(v, "type")).unwrap_or(event_type);
        let Some(v) = v else {
            if matches!(ty, "response.completed" | "response.incomplete" | "response.failed") {
                self.finish(u);
            }
            return;
        };
        let output_index = v.get("output_index").and_then(Value::as_u64);
        match ty {
            "response.output_text.delta" => {
                if let Some(s) = str_at(v, "delta") {
                    *added |= push_text(&mut self.text, s);
                }
            }
            "response.output_item.added" | "response.output_item.done" => {
                let Some(item) = v.get("item").filter(|item| str_at(item, "type") == Some("function_call")) else {
                    return;
                };
                let i = self.slot(output_index, str_at(item, "id"), u);
                fill(&mut self.tool_calls[i].id, str_at(item, "call_id"));
                fill(&mut self.tool_calls[i].name, str_at(item, "name"));
                if ty == "response.output_item.done" {
                    self.set_arguments(i, str_at(item, "arguments"));
                    self.complete(i, u);
                } else {
                    *added |= self.append_arguments(i, str_at(item, "arguments"));
                }
            }
            "response.function_call_arguments.delta" => {
                let i = self.slot(output_index, str_at(v, "item_id"), u);
                *added |= self.append_arguments(i, str_at(v, "delta"));
            }
            "response.function_call_arguments.done" => {
                let i = self.slot(output_index, str_at(v, "item_id"), u);
                self.set_arguments(i, str_at(v, "arguments"));
                self.complete(i, u);
            }
            "response.completed" | "response.incomplete" | "response.failed" => self.finish(u),
            _ => {}
        }
    }

    /// A `done` event's full arguments replace the streamed ones (of a call not yet complete).
    fn set_arguments(&mut self, i: usize, full: Option<&str>) {
        let call = &mut self.tool_calls[i];
        if let Some(full) = full.filter(|_| !call.complete) {
            if call.arguments != full {
                call.arguments.clear();
                call.arguments.push_str(full);
            }
        }
    }

    fn anthropic(&mut self, event_type: &str, data: &str, u: &mut Update, added: &mut bool) {
        let v = parse(data);
        let v = v.as_ref();
        let ty = v.and_then(|v| str_at(v, "type")).unwrap_or(event_type);
        let Some(v) = v else {
            if ty == "message_stop" {
                self.finish(u);
            }
            return;
        };
        let index = v.get("index").and_then(Value::as_u64);
        match ty {
            "content_block_start" => {
                let Some(block) = v.get("content_block") else { return };
                if matches!(str_at(block, "type"), Some("tool_use" | "server_tool_use")) {
                    let i = self.slot(index, None, u);
                    fill(&mut self.tool_calls[i].id, str_at(block, "id"));
                    fill(&mut self.tool_calls[i].name, str_at(block, "name"));
                }
            }
            "content_block_delta" => {
                let Some(delta) = v.get("delta") else { return };
                match str_at(delta, "type") {
                    Some("text_delta") => {
                        if let Some(s) = str_at(delta, "text") {
                            *added |= push_text(&mut self.text, s);
                        }
                    }
                    Some("input_json_delta") => {
                        let i = self.slot(index, None, u);
                        *added |= self.append_arguments(i, str_at(delta, "partial_json"));
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                if let Some(i) = index.and_then(|n| self.slots.iter().position(|s| s.index == Some(n))) {
                    self.complete(i, u);
                }
            }
            "message_stop" => self.finish(u),
            _ => {}
        }
    }
}

/// An event's data as JSON, when it starts like an object or an array and parses.
fn parse(data: &str) -> Option<Value> {
    match data.trim_start().as_bytes().first() {
        Some(b'{' | b'[') => serde_json::from_str(data).ok(),
        _ => None,
    }
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)?.as_str()
}

/// Appends a non-empty fragment; whether anything was added.
fn push_text(text: &mut String, s: &str) -> bool {
    text.push_str(s);
    !s.is_empty()
}

/// Sets `field` from the first event that carries a non-empty value.
fn fill(field: &mut String, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        if field.is_empty() {
            field.push_str(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn event(ts: i64, event_type: &str, data: &str) -> Record {
        Record::new(
            Arc::from("f"),
            Timestamp(ts),
            Body::Event { seq: 1, event_type: Arc::from(event_type), id: Arc::from(""), data: data.into() },
        )
    }

    fn preset(s: &str) -> Preset {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn presets_parse_and_display_by_name() {
        for name in ["openai-chat", "openai-responses", "anthropic", "json:choices[0].text", "json:token"] {
            assert_eq!(preset(name).to_string(), name);
        }
        assert_eq!(preset("json:choices[0].text"), Preset::Json(JsonPath::parse("choices[0].text").unwrap()));
        assert!(!preset("json:a").has_end_marker());
        assert!(preset("anthropic").has_end_marker());
        assert_eq!(serde_json::to_value(preset("json:a.b")).unwrap(), "json:a.b");
    }

    #[test]
    fn an_unknown_preset_lists_the_valid_names() {
        let e = "openai".parse::<Preset>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown preset `openai`: expected openai-chat, openai-responses, anthropic or json:PATH (such as json:choices[0].text)"
        );
        assert_eq!(e.column(), None);
        assert_eq!(e.caret("openai"), "");
    }

    #[test]
    fn a_bad_path_names_its_column_in_the_whole_preset() {
        let e = "json:a..b".parse::<Preset>().unwrap_err();
        assert_eq!(e.to_string(), "bad JSON path: expected a name at column 8");
        assert_eq!(e.caret("json:a..b"), "json:a..b\n       ^");
        assert_eq!("json:".parse::<Preset>().unwrap_err().column(), Some(6));
    }

    #[test]
    fn updates_say_which_bytes_were_appended() {
        let mut a = Assembler::new(preset("json:t"));
        let u = a.push(&event(1, "message", r#"{"t":"Hé"}"#));
        assert_eq!((u.text.clone(), a.fragment(&u)), (0..3, "Hé"));
        let u = a.push(&event(2, "message", r#"{"t":"llo"}"#));
        assert_eq!(a.fragment(&u), "llo");
        let u = a.push(&event(3, "message", r#"{"other":1}"#));
        assert!(u.is_empty() && a.fragment(&u).is_empty());
        assert_eq!(a.text(), "Héllo");
    }

    #[test]
    fn what_is_not_json_or_lacks_the_field_is_skipped() {
        let mut a = Assembler::new(Preset::OpenAiChat);
        for data in [
            "hello",
            "{broken",
            "[1,2]",
            r#"{"choices":[]}"#,
            r#"{"choices":"x"}"#,
            r#"{"choices":[{"index":0,"delta":{"content":7}}]}"#,
            r#"{"choices":[{"index":1,"delta":{"content":"not choice 0"}}]}"#,
            ": comment-like",
        ] {
            assert!(a.push(&event(1, "message", data)).is_empty(), "{data}");
        }
        assert_eq!((a.text(), a.deltas(), a.first_token_at()), ("", 0, None));
    }

    #[test]
    fn chat_choice_zero_is_found_by_its_index() {
        let mut a = Assembler::new(Preset::OpenAiChat);
        a.push(&event(
            1,
            "message",
            r#"{"choices":[{"index":1,"delta":{"content":"B"}},{"index":0,"delta":{"content":"A"}}]}"#,
        ));
        a.push(&event(2, "message", r#"{"choices":[{"delta":{"content":"!"}}]}"#));
        assert_eq!(a.text(), "A!");
    }

    #[test]
    fn timing_counts_from_the_first_record_to_the_first_delta() {
        let mut a = Assembler::new(preset("json:t"));
        let connecting = Body::Connecting { attempt: 1, url: "http://x/".into(), last_event_id: String::new() };
        a.push(&Record::new(Arc::from("f"), Timestamp(1000), connecting));
        a.push(&event(1100, "message", r#"{"t":""}"#));
        assert_eq!(a.first_token_ms(), None, "an empty string is no token");
        a.push(&event(1250, "message", r#"{"t":"a"}"#));
        assert_eq!((a.first_token_ms(), a.deltas_per_second()), (Some(250), None));
        a.push(&event(1500, "message", r#"{"t":"b"}"#));
        a.push(&event(1750, "message", r#"{"t":"c"}"#));
        assert_eq!(a.deltas(), 3);
        assert_eq!(a.deltas_per_second(), Some(4.0));
        let s = a.snapshot();
        assert_eq!((s.text.as_str(), s.deltas, s.first_token_ms, s.done), ("abc", 3, Some(250), false));
    }

    #[test]
    fn json_path_preset_ends_with_the_body() {
        let mut a = Assembler::new(preset("json:token"));
        a.push(&event(1, "message", r#"{"token":"x"}"#));
        let network = Body::Disconnected {
            reason: "reset".into(),
            cause: Cause::Network,
            reconnect_in_ms: 10,
            detail: String::new(),
        };
        assert!(!a.push(&Record::new(Arc::from("f"), Timestamp(2), network)).done, "a broken connection is no end");
        let eof = Body::Disconnected {
            reason: "the server ended the stream".into(),
            cause: Cause::EndOfStream,
            reconnect_in_ms: 10,
            detail: String::new(),
        };
        assert!(a.push(&Record::new(Arc::from("f"), Timestamp(3), eof.clone())).done);
        assert!(a.is_done());
        assert!(a.push(&event(4, "message", r#"{"token":"again"}"#)).is_empty(), "nothing after the end");
        assert_eq!(a.text(), "x");

        let mut chat = Assembler::new(Preset::OpenAiChat);
        assert!(!chat.push(&Record::new(Arc::from("f"), Timestamp(3), eof)).done, "chat ends at [DONE] only");
    }

    #[test]
    fn chat_tool_call_arguments_are_joined_by_index_and_parsed_at_the_finish() {
        let mut a = Assembler::new(Preset::OpenAiChat);
        let chunk = |delta: &str, finish: &str| {
            format!(
                r#"{{"object":"chat.completion.chunk","choices":[{{"index":0,"delta":{delta},"finish_reason":{finish}}}]}}"#
            )
        };
        let u = a.push(&event(
            1,
            "message",
            &chunk(
                r#"{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]}"#,
                "null",
            ),
        ));
        assert_eq!((u.tools_changed.as_slice(), a.deltas()), (&[0][..], 0));
        for part in [r#"{\"city\""#, r#":\"Paris\"}"#] {
            let u = a.push(&event(
                2,
                "message",
                &chunk(&format!(r#"{{"tool_calls":[{{"index":0,"function":{{"arguments":"{part}"}}}}]}}"#), "null"),
            ));
            assert_eq!(u.tools_changed, [0]);
        }
        assert_eq!(a.tool_calls()[0].arguments, r#"{"city":"Paris"}"#);
        assert!(!a.tool_calls()[0].complete);
        let u = a.push(&event(3, "message", &chunk("{}", r#""tool_calls""#)));
        assert_eq!(u.tools_completed, [0]);
        let call = &a.tool_calls()[0];
        assert_eq!((call.id.as_str(), call.name.as_str()), ("call_1", "get_weather"));
        assert_eq!(call.arguments_json, Some(serde_json::json!({"city": "Paris"})));
        let u = a.push(&event(4, "message", "[DONE]"));
        assert!(u.done && u.tools_completed.is_empty());
    }

    #[test]
    fn invalid_arguments_stay_as_text_with_the_parse_error() {
        let mut a = Assembler::new(Preset::Anthropic);
        a.push(&event(1, "content_block_start", r#"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":{}}}"#));
        a.push(&event(
            2,
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}"#,
        ));
        let u = a.push(&event(3, "message_stop", r#"{"type":"message_stop"}"#));
        assert!(u.done);
        assert_eq!(u.tools_completed, [0]);
        let call = &a.tool_calls()[0];
        assert_eq!(call.arguments, r#"{"a":"#);
        assert_eq!(call.arguments_json, None);
        assert!(call.arguments_error.as_deref().is_some_and(|e| e.contains("EOF")), "{call:?}");
    }

    #[test]
    fn a_call_without_argument_text_has_an_empty_object() {
        let mut a = Assembler::new(Preset::Anthropic);
        a.push(&event(1, "content_block_start", r#"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_2","name":"now","input":{}}}"#));
        a.push(&event(
            2,
            "content_block_delta",
            r#"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}}"#,
        ));
        let u = a.push(&event(3, "content_block_stop", r#"{"type":"content_block_stop","index":2}"#));
        assert_eq!(u.tools_completed, [0]);
        assert_eq!(a.tool_calls()[0].arguments_json, Some(serde_json::json!({})));
        assert_eq!(a.deltas(), 0, "an empty fragment is no delta");
    }

    #[test]
    fn responses_type_comes_from_the_data_or_the_event_field() {
        let mut a = Assembler::new(Preset::OpenAiResponses);
        a.push(&event(1, "response.output_text.delta", r#"{"delta":"from event:"}"#));
        a.push(&event(2, "message", r#"{"type":"response.output_text.delta","delta":", from type"}"#));
        assert_eq!(a.text(), "from event:, from type");
        assert!(a.push(&event(3, "response.completed", "not json")).done);
    }

    #[test]
    fn responses_done_arguments_replace_the_streamed_ones() {
        let mut a = Assembler::new(Preset::OpenAiResponses);
        a.push(&event(1, "message", r#"{"type":"response.output_item.added","output_index":1,"item":{"type":"function_call","id":"fc_1","call_id":"call_9","name":"lookup","arguments":""}}"#));
        a.push(&event(
            2,
            "message",
            r#"{"type":"response.function_call_arguments.delta","item_id":"fc_1","output_index":1,"delta":"{\"q\":"}"#,
        ));
        let u = a.push(&event(3, "message", r#"{"type":"response.function_call_arguments.done","item_id":"fc_1","output_index":1,"arguments":"{\"q\":1}"}"#));
        assert_eq!(u.tools_completed, [0]);
        let call = &a.tool_calls()[0];
        assert_eq!((call.id.as_str(), call.name.as_str(), call.arguments.as_str()), ("call_9", "lookup", r#"{"q":1}"#));
        assert_eq!(call.arguments_json, Some(serde_json::json!({"q": 1})));
        let u = a.push(&event(4, "message", r#"{"type":"response.output_item.done","output_index":1,"item":{"type":"function_call","id":"fc_1","call_id":"call_9","name":"lookup","arguments":"{\"q\":1}"}}"#));
        assert!(u.tools_completed.is_empty(), "completed once");
        assert_eq!(a.tool_calls().len(), 1);
    }

    #[test]
    fn the_assembler_serializes_its_state() {
        let mut a = Assembler::new(preset("json:t"));
        a.push(&event(5, "message", r#"{"t":"hi"}"#));
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(v["preset"], "json:t");
        assert_eq!(v["text"], "hi");
        assert_eq!(v["first_token_at"], "1970-01-01T00:00:00.005Z");
        assert!(v.get("slots").is_none());
        let s = serde_json::to_value(a.snapshot()).unwrap();
        assert_eq!(
            s,
            serde_json::json!({"preset":"json:t","text":"hi","tool_calls":[],"deltas":1,"first_token_ms":0,"deltas_per_second":null,"done":false})
        );
    }
}
