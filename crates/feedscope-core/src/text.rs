//! Text for people, written once for every face (the CLI's terminal, the app's table and panes):
//! server text made safe to show, one-line previews, record summaries, durations and times.
//!
//! One convention for what a server may not do to a screen: `\r` becomes the two characters `\r`,
//! other C0 controls and DEL become `\xNN`, and C1 controls and the characters that hide or
//! reorder text (zero-width, bidirectional controls, a BOM) become `\u{NNNN}`. Escapes rather
//! than Control Pictures glyphs, which many fonts lack.

use std::fmt::Write as _;

use crate::record::{Body, Timestamp};

/// `s` with control and invisible characters escaped (see the module doc); line breaks and tabs
/// are kept. Returns a plain copy when nothing needs escaping.
pub fn visible(s: &str) -> String {
    let Some(first) = s.find(|c: char| c != '\n' && c != '\t' && needs_escape(c)) else {
        return s.to_owned();
    };
    let mut out = String::with_capacity(s.len() + 16);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        match c {
            '\n' | '\t' => out.push(c),
            c => push_escaped(&mut out, c),
        }
    }
    out
}

/// `s` on one line, at most `max_chars` of its characters: escaped as [`visible`] does, and
/// also `\n` as `⏎` and `\t` as `⇥`, so hostile data cannot fake rows. A cut ends with `…`.
pub fn one_line(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars.saturating_mul(2)));
    for (n, c) in s.chars().enumerate() {
        if n >= max_chars {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push('⏎'),
            '\t' => out.push('⇥'),
            c => push_escaped(&mut out, c),
        }
    }
    out
}

/// Whether `c` is shown as an escape: C0 controls, DEL, C1 controls, and the characters that
/// hide or reorder text.
fn needs_escape(c: char) -> bool {
    matches!(c as u32, 0x00..=0x1f | 0x7f | 0x80..=0x9f | 0x200b..=0x200f | 0x202a..=0x202e | 0x2066..=0x2069 | 0xfeff)
}

/// Appends `c`, escaped if [`needs_escape`] says so (`\n` and `\t` included: callers keep or
/// replace those first).
fn push_escaped(out: &mut String, c: char) {
    match c as u32 {
        0x0d => out.push_str("\\r"),
        n @ (0x00..=0x1f | 0x7f) => {
            let _ = write!(out, "\\x{n:02x}");
        }
        n if needs_escape(c) => {
            let _ = write!(out, "\\u{{{n:04x}}}");
        }
        _ => out.push(c),
    }
}

/// A record as one sentence, for a timeline: events give their data, comments `:text`,
/// connection records say what happened. Not escaped: pass it through [`one_line`] to show it.
pub fn summary(body: &Body) -> String {
    match body {
        Body::Connecting { attempt, url, last_event_id } => {
            let mut s = format!("connecting (attempt {attempt}) to {url}");
            if !last_event_id.is_empty() {
                let _ = write!(s, " with Last-Event-ID {last_event_id:?}");
            }
            s
        }
        Body::Open { status: 101, headers, .. } => {
            let upgrade = headers.get("upgrade").map(String::as_str).unwrap_or("websocket");
            format!("open: HTTP 101 Switching Protocols ({upgrade})")
        }
        Body::Open { status, headers, .. } => {
            let ct = headers.get("content-type").map(String::as_str).unwrap_or("");
            format!("open: HTTP {status} {ct}")
        }
        Body::Retry { ms } => format!("retry: reconnection time set to {ms} ms"),
        Body::Error { reason } => format!("error: {reason}"),
        Body::Disconnected { reason, reconnect_in_ms, .. } => {
            format!("disconnected: {reason}; reconnecting in {}", human_ms(*reconnect_in_ms))
        }
        Body::Closed { reason, fatal, .. } => {
            format!("{}: {reason}", if *fatal { "failed" } else { "closed" })
        }
        Body::Event { data, .. } => data.clone(),
        Body::Binary { size, .. } => {
            let bytes = body.binary_bytes().unwrap_or_default();
            let mut s = format!("binary: {size} byte{}", if *size == 1 { "" } else { "s" });
            if !bytes.is_empty() {
                s.push(' ');
                s.push_str(&hex_preview(&bytes, BINARY_PREVIEW_BYTES));
            }
            s
        }
        Body::Sent { text } => format!("sent: {text}"),
        Body::Comment { text } => format!(":{text}"),
        Body::Alert { rule, message } => format!("alert: {rule}: {message}"),
    }
}

/// Bytes of a binary message its summary shows in hex.
pub const BINARY_PREVIEW_BYTES: usize = 16;

/// The first `max` bytes of `bytes` in hex, two digits each and a space between, then `…` when
/// there are more: `de ad be ef …`.
pub fn hex_preview(bytes: &[u8], max: usize) -> String {
    let mut s = String::with_capacity(bytes.len().min(max) * 3 + 4);
    for (i, b) in bytes.iter().take(max).enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{b:02x}");
    }
    if bytes.len() > max {
        s.push_str(" …");
    }
    s
}

/// A duration for people: `850 ms` below a second, else seconds with one decimal (`2.0 s`).
pub fn human_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// The UTC time of day with milliseconds, `HH:MM:SS.mmm`: the log's `ts` without its date, so
/// the two can be compared.
pub fn clock(ts: Timestamp) -> String {
    let ms = ts.millis().rem_euclid(86_400_000);
    let (h, m, s, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    format!("{h:02}:{m:02}:{s:02}.{milli:03}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use crate::record::Cause;

    #[test]
    fn plain_text_is_returned_as_is() {
        for s in ["", "hello", "a\nb\tc", "é😀 – ünïcödé", "{\"a\":[1,2]}"] {
            assert_eq!(visible(s), s);
        }
    }

    #[test]
    fn line_breaks_and_tabs_stay_and_cr_is_escaped() {
        assert_eq!(visible("a\nb\tc"), "a\nb\tc");
        assert_eq!(visible("a\r\nb\r"), "a\\r\nb\\r");
    }

    #[test]
    fn c0_controls_and_del_become_hex_escapes() {
        assert_eq!(visible("a\x1b[31mb"), "a\\x1b[31mb");
        assert_eq!(visible("\0\x07\x08\x0b\x0c\x1f\x7f"), "\\x00\\x07\\x08\\x0b\\x0c\\x1f\\x7f");
    }

    #[test]
    fn c1_zero_width_bidi_and_bom_become_unicode_escapes() {
        assert_eq!(visible("\u{80}\u{9b}\u{9f}"), "\\u{0080}\\u{009b}\\u{009f}");
        assert_eq!(visible("a\u{200b}b\u{200f}"), "a\\u{200b}b\\u{200f}");
        assert_eq!(visible("abc\u{202a}\u{202e}def"), "abc\\u{202a}\\u{202e}def");
        assert_eq!(visible("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
        assert_eq!(visible("\u{feff}data"), "\\u{feff}data");
        // Neighbours of the escaped ranges are ordinary text.
        assert_eq!(
            visible("\u{a0}\u{200a}\u{2010}\u{2029}\u{202f}\u{2065}\u{206a}\u{fefe}"),
            "\u{a0}\u{200a}\u{2010}\u{2029}\u{202f}\u{2065}\u{206a}\u{fefe}"
        );
    }

    #[test]
    fn escapes_start_after_a_plain_prefix() {
        assert_eq!(visible("plain prefix é then \x01"), "plain prefix é then \\x01");
    }

    #[test]
    fn one_line_shows_line_breaks_and_tabs_as_symbols() {
        assert_eq!(one_line("a\nb\r\nc\td", 100), "a⏎b\\r⏎c⇥d");
        assert_eq!(one_line("x\u{1b}[31m\u{7f}", 100), "x\\x1b[31m\\x7f");
        assert_eq!(one_line("abc\u{202e}def\u{85}", 100), "abc\\u{202e}def\\u{0085}");
    }

    #[test]
    fn one_line_cuts_at_max_chars_with_an_ellipsis() {
        assert_eq!(one_line("abcdef", 3), "abc…");
        assert_eq!(one_line("abc", 3), "abc", "exactly max_chars: no cut");
        assert_eq!(one_line("ééééé", 2), "éé…", "characters, not bytes");
        assert_eq!(one_line("abc", 0), "…");
        assert_eq!(one_line("", 0), "");
        let long = "y".repeat(1000);
        assert_eq!(one_line(&long, 240).chars().count(), 241);
    }

    #[test]
    fn human_ms_uses_ms_below_a_second_and_seconds_above() {
        assert_eq!(human_ms(0), "0 ms");
        assert_eq!(human_ms(850), "850 ms");
        assert_eq!(human_ms(999), "999 ms");
        assert_eq!(human_ms(1000), "1.0 s");
        assert_eq!(human_ms(2000), "2.0 s");
        assert_eq!(human_ms(60_000), "60.0 s");
    }

    #[test]
    fn clock_is_utc_time_of_day_with_millis() {
        assert_eq!(clock(Timestamp(3_723_004)), "01:02:03.004");
        assert_eq!(clock(Timestamp(1_764_131_589_123)), "04:33:09.123");
        assert_eq!(clock(Timestamp(-1)), "23:59:59.999");
        assert_eq!(clock(Timestamp(0)), "00:00:00.000");
    }

    #[test]
    fn summaries_read_as_sentences() {
        let s = |b: Body| summary(&b);
        assert_eq!(
            s(Body::Connecting { attempt: 2, url: "http://x/".into(), last_event_id: "7".into() }),
            "connecting (attempt 2) to http://x/ with Last-Event-ID \"7\""
        );
        assert_eq!(
            s(Body::Connecting { attempt: 1, url: "http://x/".into(), last_event_id: "".into() }),
            "connecting (attempt 1) to http://x/"
        );
        let headers = BTreeMap::from([("content-type".to_string(), "text/event-stream".to_string())]);
        assert_eq!(s(Body::Open { status: 200, version: String::new(), headers }), "open: HTTP 200 text/event-stream");
        assert_eq!(s(Body::Retry { ms: 1500 }), "retry: reconnection time set to 1500 ms");
        assert_eq!(s(Body::Error { reason: "too big".into() }), "error: too big");
        assert_eq!(
            s(Body::Disconnected {
                reason: "the server ended the stream".into(),
                cause: Cause::EndOfStream,
                reconnect_in_ms: 2000,
                detail: String::new(),
            }),
            "disconnected: the server ended the stream; reconnecting in 2.0 s"
        );
        assert_eq!(
            s(Body::Closed {
                reason: "HTTP 404 Not Found".into(),
                cause: Cause::HttpStatus,
                fatal: true,
                detail: String::new()
            }),
            "failed: HTTP 404 Not Found"
        );
        assert_eq!(
            s(Body::Closed {
                reason: "stopped by the user".into(),
                cause: Cause::UserStop,
                fatal: false,
                detail: String::new()
            }),
            "closed: stopped by the user"
        );
        assert_eq!(
            s(Body::Event { seq: 1, event_type: Arc::from("t"), id: Arc::from(""), data: "a\nb".into() }),
            "a\nb"
        );
        assert_eq!(s(Body::Comment { text: " hb".into() }), ": hb");
    }

    #[test]
    fn websocket_records_read_as_sentences() {
        let s = |b: Body| summary(&b);
        assert_eq!(s(Body::binary(1, &[0xde, 0xad, 0xbe, 0xef, 0])), "binary: 5 bytes de ad be ef 00");
        assert_eq!(s(Body::binary(1, &[7])), "binary: 1 byte 07");
        assert_eq!(s(Body::binary(1, &[])), "binary: 0 bytes");
        let long: Vec<u8> = (0..40).collect();
        assert_eq!(s(Body::binary(1, &long)), "binary: 40 bytes 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f …");
        assert_eq!(s(Body::Sent { text: "{\"op\":\"sub\"}".into() }), "sent: {\"op\":\"sub\"}");
        let headers = BTreeMap::from([("upgrade".to_string(), "websocket".to_string())]);
        assert_eq!(
            s(Body::Open { status: 101, version: "HTTP/1.1".into(), headers }),
            "open: HTTP 101 Switching Protocols (websocket)"
        );
        assert_eq!(
            s(Body::Disconnected {
                reason: "the server closed the WebSocket: 1001 going away: bye".into(),
                cause: Cause::WsClose,
                reconnect_in_ms: 20,
                detail: String::new(),
            }),
            "disconnected: the server closed the WebSocket: 1001 going away: bye; reconnecting in 20 ms"
        );
    }
}
