//! The `pretty` output of `feedscope tail`: one glanceable line per record, coloured on a TTY;
//! and the answer `tail --assemble` prints ([`AnswerPrinter`]). Server bytes never reach the
//! terminal raw: control characters are escaped as core's [`feedscope_core::text`] does for every
//! face.

use std::io::{self, Write};

use feedscope_core::assemble::{Assembler, Preset, ToolCall};
use feedscope_core::text::{clock, hex_preview, human_ms, one_line, visible, BINARY_PREVIEW_BYTES};
use feedscope_core::{Body, Record};

pub struct Printer {
    color: bool,
}

const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const CYAN: &str = "\x1b[36m";
const MAGENTA: &str = "\x1b[35m";
const RESET: &str = "\x1b[0m";

impl Printer {
    pub fn new(color: bool) -> Self {
        Printer { color }
    }

    fn c(&self, code: &'static str) -> &'static str {
        if self.color {
            code
        } else {
            ""
        }
    }

    pub fn print(&mut self, out: &mut impl Write, r: &Record) -> io::Result<()> {
        let time = clock(r.ts);
        let (dim, reset) = (self.c(DIM), self.c(RESET));
        write!(out, "{dim}{time}{reset}  ")?;
        match &r.body {
            Body::Event { seq, event_type, id, data } => {
                let (bold, cyan) = (self.c(BOLD), self.c(CYAN));
                write!(out, "{bold}{cyan}{}{reset} {dim}#{seq}{reset}", line(event_type))?;
                if !id.is_empty() {
                    write!(out, " {dim}id={reset}{}", line(id))?;
                }
                let mut lines = data.split('\n');
                writeln!(out, "  {}", visible(lines.next().unwrap_or("")))?;
                for line in lines {
                    writeln!(out, "              {dim}│{reset} {}", visible(line))?;
                }
            }
            Body::Connecting { attempt, url, last_event_id } => {
                let y = self.c(YELLOW);
                write!(out, "{y}● connecting{reset} {}", line(url))?;
                if *attempt > 1 {
                    write!(out, " {dim}(attempt {attempt}){reset}")?;
                }
                if !last_event_id.is_empty() {
                    write!(out, " {dim}Last-Event-ID: {}{reset}", line(last_event_id))?;
                }
                writeln!(out)?;
            }
            Body::Open { status: 101, headers, .. } => {
                let g = self.c(GREEN);
                let upgrade = headers.get("upgrade").map(String::as_str).unwrap_or("websocket");
                writeln!(out, "{g}● open{reset} HTTP 101 {dim}{}{reset}", line(upgrade))?;
            }
            Body::Open { status, headers, .. } => {
                let g = self.c(GREEN);
                let ct = headers.get("content-type").map(String::as_str).unwrap_or("");
                writeln!(out, "{g}● open{reset} HTTP {status} {dim}{}{reset}", line(ct))?;
            }
            Body::Binary { seq, size, .. } => {
                let (bold, cyan) = (self.c(BOLD), self.c(CYAN));
                let bytes = r.body.binary_bytes().unwrap_or_default();
                let unit = if *size == 1 { "byte" } else { "bytes" };
                write!(out, "{bold}{cyan}binary{reset} {dim}#{seq}{reset}  {size} {unit}")?;
                if !bytes.is_empty() {
                    write!(out, " {dim}{}{reset}", hex_preview(&bytes, BINARY_PREVIEW_BYTES))?;
                }
                writeln!(out)?;
            }
            Body::Sent { text } => writeln!(out, "{}→ sent{reset} {}", self.c(GREEN), line(text))?,
            Body::Comment { text } => writeln!(out, "{dim}:{}{reset}", line(text))?,
            Body::Retry { ms } => writeln!(out, "{dim}retry {ms} ms{reset}")?,
            Body::Error { reason } => writeln!(out, "{}! {}{reset}", self.c(MAGENTA), line(reason))?,
            Body::Alert { rule, message } => {
                writeln!(out, "{}! alert{reset} {}: {}", self.c(MAGENTA), line(rule), line(message))?
            }
            Body::Disconnected { reason, reconnect_in_ms, .. } => {
                let y = self.c(YELLOW);
                writeln!(
                    out,
                    "{y}● disconnected{reset} {} {dim}— reconnecting in {}{reset}",
                    line(reason),
                    human_ms(*reconnect_in_ms)
                )?;
            }
            Body::Closed { reason, fatal, .. } => {
                let col = if *fatal { self.c(RED) } else { self.c(DIM) };
                writeln!(out, "{col}● closed{reset} {}", line(reason))?;
            }
        }
        Ok(())
    }
}

/// `tail --assemble`: the answer's text as it grows, then each tool call once complete, as
/// `[tool call NAME id=ID]` and its arguments as indented JSON (or, when they are not JSON, the
/// reason and their text).
pub struct AnswerPrinter {
    assembler: Assembler,
    /// Nothing written yet, or the last byte written was a line break.
    at_line_start: bool,
}

impl AnswerPrinter {
    pub fn new(preset: Preset) -> Self {
        AnswerPrinter { assembler: Assembler::new(preset), at_line_start: true }
    }

    /// Whether the answer has ended (its end marker, or for `json:PATH` the body's end).
    pub fn is_done(&self) -> bool {
        self.assembler.is_done()
    }

    /// Assembles `r` and prints what it added; flushes when it printed anything, so the text
    /// shows as it comes.
    pub fn print(&mut self, out: &mut impl Write, r: &Record) -> io::Result<()> {
        let update = self.assembler.push(r);
        let fragment = self.assembler.fragment(&update);
        let mut wrote = false;
        if !fragment.is_empty() {
            out.write_all(visible(fragment).as_bytes())?;
            self.at_line_start = fragment.ends_with('\n');
            wrote = true;
        }
        for &i in &update.tools_completed {
            self.end_line(out)?;
            write_tool_call(out, &self.assembler.tool_calls()[i])?;
            wrote = true;
        }
        if wrote {
            out.flush()?;
        }
        Ok(())
    }

    /// Ends the last line, if the answer left one open.
    pub fn finish(&mut self, out: &mut impl Write) -> io::Result<()> {
        self.end_line(out)
    }

    fn end_line(&mut self, out: &mut impl Write) -> io::Result<()> {
        if !self.at_line_start {
            out.write_all(b"\n")?;
            self.at_line_start = true;
        }
        Ok(())
    }
}

/// A complete tool call: its label line, then its arguments.
fn write_tool_call(out: &mut impl Write, call: &ToolCall) -> io::Result<()> {
    let name = if call.name.is_empty() { "(no name)".to_owned() } else { line(&call.name) };
    let id = if call.id.is_empty() { String::new() } else { format!(" id={}", line(&call.id)) };
    match &call.arguments_error {
        None => {
            writeln!(out, "[tool call {name}{id}]")?;
            // Reformatted from the text, not the parsed value, to keep the model's key order.
            let text = if call.arguments.trim().is_empty() { "{}" } else { &call.arguments };
            writeln!(out, "{}", visible(&pretty_json(text)))
        }
        Some(error) => {
            writeln!(out, "[tool call {name}{id}: the arguments are not JSON: {}]", line(error))?;
            writeln!(out, "{}", visible(&call.arguments))
        }
    }
}

/// Valid JSON `text` indented as `serde_json::to_string_pretty` does (two spaces, `"key": value`,
/// `{}` and `[]` when empty), keeping its keys in their order.
pub fn pretty_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    let mut chars = text.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push('"');
                while let Some(c) = chars.next() {
                    out.push(c);
                    match c {
                        '\\' => out.extend(chars.next()),
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '{' | '[' => {
                let close = if c == '{' { '}' } else { ']' };
                while chars.next_if(|c| c.is_whitespace()).is_some() {}
                out.push(c);
                if chars.next_if_eq(&close).is_some() {
                    out.push(close);
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// A field that must stay on its line (a type, an id, a reason): line breaks and tabs are shown
/// as symbols too. Data lines keep their tabs ([`visible`]).
fn line(s: &str) -> String {
    one_line(s, usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use feedscope_core::{Cause, Timestamp};

    fn printed(body: Body) -> String {
        let mut out = Vec::new();
        Printer::new(false).print(&mut out, &Record::new(Arc::from("f"), Timestamp(3_723_004), body)).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escape_sequences_from_the_server_are_made_visible() {
        let text = printed(Body::Comment { text: "a\x1b[31mb\r\u{202e}".into() });
        assert_eq!(text, "01:02:03.004  :a\\x1b[31mb\\r\\u{202e}\n");
        let text =
            printed(Body::Event { seq: 1, event_type: Arc::from("t"), id: Arc::from(""), data: "a\tb\x07".into() });
        assert_eq!(text, "01:02:03.004  t #1  a\tb\\x07\n", "data keeps its tabs");
        let text = printed(Body::Error { reason: "x\ny".into() });
        assert_eq!(text, "01:02:03.004  ! x⏎y\n", "a one-line field stays on its line");
    }

    #[test]
    fn connection_records_say_what_happened_and_when_it_goes_on() {
        let text = printed(Body::Disconnected {
            reason: "connection refused by 127.0.0.1:9".into(),
            cause: Cause::Network,
            reconnect_in_ms: 2000,
            detail: "tcp connect error".into(),
        });
        assert_eq!(text, "01:02:03.004  ● disconnected connection refused by 127.0.0.1:9 — reconnecting in 2.0 s\n");
        let text = printed(Body::Disconnected {
            reason: "the server ended the stream".into(),
            cause: Cause::EndOfStream,
            reconnect_in_ms: 850,
            detail: String::new(),
        });
        assert!(text.ends_with("— reconnecting in 850 ms\n"), "{text}");
        let text = printed(Body::Closed {
            reason: "HTTP 404 Not Found".into(),
            cause: Cause::HttpStatus,
            fatal: true,
            detail: String::new(),
        });
        assert_eq!(text, "01:02:03.004  ● closed HTTP 404 Not Found\n");
    }

    fn answer(preset: &str, datas: &[(&str, &str)]) -> String {
        let mut p = AnswerPrinter::new(preset.parse().unwrap());
        let mut out = Vec::new();
        for (n, (event_type, data)) in datas.iter().enumerate() {
            let body = Body::Event {
                seq: n as u64 + 1,
                event_type: Arc::from(*event_type),
                id: Arc::from(""),
                data: data.to_string(),
            };
            p.print(&mut out, &Record::new(Arc::from("f"), Timestamp(n as i64), body)).unwrap();
        }
        p.finish(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn pretty_json_indents_like_serde_and_keeps_the_key_order() {
        for text in [
            r#"{"a":1,"b":[1,2,{"c":null}],"d":{},"e":[],"f":"x,y:{z}\"q"}"#,
            r#"[ ]"#,
            r#"  {"location" : "Paris, France",  "unit":"celsius" } "#,
            "5",
        ] {
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(pretty_json(text), serde_json::to_string_pretty(&v).unwrap(), "{text}");
        }
        assert_eq!(pretty_json(r#"{"z":1,"a":2}"#), "{\n  \"z\": 1,\n  \"a\": 2\n}");
    }

    #[test]
    fn the_answer_grows_then_tool_calls_follow_on_their_own_lines() {
        let text = answer(
            "anthropic",
            &[
                (
                    "content_block_delta",
                    r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking"}}"#,
                ),
                (
                    "content_block_delta",
                    r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" now\u001b[2J"}}"#,
                ),
                (
                    "content_block_start",
                    r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}"#,
                ),
                (
                    "content_block_delta",
                    r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\":\"Paris\",\"days\":2}"}}"#,
                ),
                ("content_block_stop", r#"{"type":"content_block_stop","index":1}"#),
                (
                    "content_block_start",
                    r#"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_2","name":"broken","input":{}}}"#,
                ),
                (
                    "content_block_delta",
                    r#"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}"#,
                ),
                ("message_stop", r#"{"type":"message_stop"}"#),
            ],
        );
        assert_eq!(
            text,
            "Checking now\\x1b[2J\n[tool call get_weather id=toolu_1]\n{\n  \"city\": \"Paris\",\n  \"days\": 2\n}\n\
             [tool call broken id=toolu_2: the arguments are not JSON: EOF while parsing a value at line 1 column 5]\n{\"a\":\n"
        );
    }

    #[test]
    fn a_finished_answer_ends_its_line_once() {
        let chunk = |s: &str| format!(r#"{{"choices":[{{"index":0,"delta":{{"content":"{s}"}}}}]}}"#);
        assert_eq!(answer("openai-chat", &[("message", &chunk("Hi")), ("message", "[DONE]")]), "Hi\n");
        assert_eq!(answer("openai-chat", &[("message", &chunk("Hi\\n")), ("message", "[DONE]")]), "Hi\n");
        assert_eq!(answer("openai-chat", &[("message", "[DONE]")]), "", "no answer, no empty line");
    }

    #[test]
    fn websocket_records_print_what_was_sent_and_binary_sizes() {
        assert_eq!(
            printed(Body::Sent { text: "{\"op\":\"sub\"}\n".into() }),
            "01:02:03.004  → sent {\"op\":\"sub\"}⏎\n"
        );
        assert_eq!(printed(Body::binary(4, &[0xde, 0xad, 0, 1])), "01:02:03.004  binary #4  4 bytes de ad 00 01\n");
        assert_eq!(printed(Body::binary(5, &[])), "01:02:03.004  binary #5  0 bytes\n");
        assert_eq!(printed(Body::binary(6, &[7])), "01:02:03.004  binary #6  1 byte 07\n");
        let long: Vec<u8> = (0..20).collect();
        assert!(printed(Body::binary(7, &long)).ends_with("0e 0f …\n"));
        let headers = std::collections::BTreeMap::from([("upgrade".to_owned(), "websocket".to_owned())]);
        let text = printed(Body::Open { status: 101, version: "HTTP/1.1".into(), headers });
        assert_eq!(text, "01:02:03.004  ● open HTTP 101 websocket\n");
    }

    #[test]
    fn events_print_type_seq_id_and_indented_lines() {
        let mut p = Printer::new(false);
        let mut out = Vec::new();
        let r = Record::new(
            Arc::from("f"),
            Timestamp(3_723_004),
            Body::Event { seq: 3, event_type: Arc::from("chat"), id: Arc::from("9"), data: "hi\nthere".into() },
        );
        p.print(&mut out, &r).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "01:02:03.004  chat #3 id=9  hi\n              │ there\n");
    }
}
