//! The `pretty` output of `feedscope tail`: one glanceable line per record, coloured on a TTY.
//! Server bytes never reach the terminal raw: control characters are escaped as core's
//! [`feedscope_core::text`] does for every face.

use std::io::{self, Write};

use feedscope_core::text::{clock, human_ms, one_line, visible};
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
            Body::Open { status, headers, .. } => {
                let g = self.c(GREEN);
                let ct = headers.get("content-type").map(String::as_str).unwrap_or("");
                writeln!(out, "{g}● open{reset} HTTP {status} {dim}{}{reset}", line(ct))?;
            }
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
