//! The `pretty` output of `feedscope tail`: one glanceable line per record, coloured on a TTY.
//! Server bytes never reach the terminal raw: control characters are shown as visible symbols.

use std::io::{self, Write};

use feedscope_core::{Body, Record, Timestamp};

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
                write!(out, "{bold}{cyan}{}{reset} {dim}#{seq}{reset}", visible(event_type))?;
                if !id.is_empty() {
                    write!(out, " {dim}id={reset}{}", visible(id))?;
                }
                let mut lines = data.split('\n');
                writeln!(out, "  {}", visible(lines.next().unwrap_or("")))?;
                for line in lines {
                    writeln!(out, "              {dim}│{reset} {}", visible(line))?;
                }
            }
            Body::Connecting { attempt, url, last_event_id } => {
                let y = self.c(YELLOW);
                write!(out, "{y}● connecting{reset} {url}")?;
                if *attempt > 1 {
                    write!(out, " {dim}(attempt {attempt}){reset}")?;
                }
                if !last_event_id.is_empty() {
                    write!(out, " {dim}Last-Event-ID: {}{reset}", visible(last_event_id))?;
                }
                writeln!(out)?;
            }
            Body::Open { status, headers } => {
                let g = self.c(GREEN);
                let ct = headers.get("content-type").map(String::as_str).unwrap_or("");
                writeln!(out, "{g}● open{reset} HTTP {status} {dim}{}{reset}", visible(ct))?;
            }
            Body::Comment { text } => writeln!(out, "{dim}:{}{reset}", visible(text))?,
            Body::Retry { ms } => writeln!(out, "{dim}retry {ms} ms{reset}")?,
            Body::Error { reason } => writeln!(out, "{}! {}{reset}", self.c(MAGENTA), visible(reason))?,
            Body::Disconnected { reason, reconnect_in_ms, .. } => {
                let y = self.c(YELLOW);
                writeln!(
                    out,
                    "{y}● disconnected{reset} {} {dim}— reconnecting in {}{reset}",
                    visible(reason),
                    ms_text(*reconnect_in_ms)
                )?;
            }
            Body::Closed { reason, fatal, .. } => {
                let col = if *fatal { self.c(RED) } else { self.c(DIM) };
                writeln!(out, "{col}● closed{reset} {}", visible(reason))?;
            }
        }
        Ok(())
    }
}

/// The UTC time of day with milliseconds, as in the log, so the two can be compared.
fn clock(ts: Timestamp) -> String {
    let s = ts.to_string();
    s.get(11..23).unwrap_or(&s).to_owned()
}

fn ms_text(ms: u64) -> String {
    if ms >= 1000 && ms % 100 == 0 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{ms} ms")
    }
}

/// Control characters (which could move the cursor or recolour the terminal) become visible symbols.
pub fn visible(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' => '→',
            '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or('�'),
            '\u{7f}' => '␡',
            '\u{80}'..='\u{9f}' => '�',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn escape_sequences_from_the_server_are_made_visible() {
        assert_eq!(visible("a\x1b[31mb\r"), "a␛[31mb␍");
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
