//! What a response's status and Content-Type mean for a feed: open, reconnect, or close. Pure,
//! so every combination is tested without a socket (shared/sse-notes.md rules 13–15).

use super::config::Mode;
use super::ending::Ending;

/// What to do with a response, decided from its status and Content-Type alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// 200 with `text/event-stream`: the feed is OPEN; read the body.
    Accept,
    /// Reconnect after the backoff delay (`persistent` mode only: a browser would stop).
    Retry(Ending),
    /// The feed closes for good; [`Ending::is_failure`] says whether it failed.
    Close(Ending),
}

/// Whether the MIME essence of a Content-Type is `text/event-stream` (parameters allowed).
pub fn is_event_stream(content_type: &str) -> bool {
    content_type.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("text/event-stream")
}

/// Whether `persistent` mode retries this status: a server error, a request timeout, or too many
/// requests; other statuses say the request itself is refused, and retrying would not help.
pub fn is_retryable(status: u16) -> bool {
    (500..=599).contains(&status) || status == 408 || status == 429
}

/// The verdict on a response that arrived after any redirects were followed. As a browser does,
/// only a 200 with `text/event-stream` opens, a 204 asks the client to stop, and every other
/// status or type fails the connection, except that `persistent` mode retries the statuses of
/// [`is_retryable`]. A status ending names no body excerpt: the caller reads one if it closes.
pub fn classify(status: u16, content_type: Option<&str>, mode: Mode) -> Verdict {
    match status {
        200 => match content_type {
            Some(ct) if is_event_stream(ct) => Verdict::Accept,
            got => Verdict::Close(Ending::ContentType { got: got.map(str::to_owned) }),
        },
        204 => Verdict::Close(Ending::NoContent),
        code if mode == Mode::Persistent && is_retryable(code) => {
            Verdict::Retry(Ending::Status { code, excerpt: None })
        }
        code => Verdict::Close(Ending::Status { code, excerpt: None }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Mode::{Browser, Persistent};

    const SSE: Option<&str> = Some("text/event-stream");

    fn status(code: u16) -> Ending {
        Ending::Status { code, excerpt: None }
    }

    #[test]
    fn responses_are_classified_by_status_type_and_mode() {
        let html = Some("text/html");
        let ct = |got: Option<&str>| Verdict::Close(Ending::ContentType { got: got.map(str::to_owned) });
        let table: &[(u16, Option<&str>, Mode, Verdict)] = &[
            // Only 200 with the right type opens, whatever the parameters and case.
            (200, SSE, Browser, Verdict::Accept),
            (200, SSE, Persistent, Verdict::Accept),
            (200, Some("text/event-stream; charset=utf-8"), Browser, Verdict::Accept),
            (200, Some("text/event-stream;charset=utf-8"), Persistent, Verdict::Accept),
            (200, Some("text/event-stream;"), Browser, Verdict::Accept),
            (200, Some("TEXT/EVENT-STREAM"), Browser, Verdict::Accept),
            (200, Some("Text/Event-Stream ; charset=latin1"), Persistent, Verdict::Accept),
            // A wrong or missing type fails in both modes.
            (200, html, Browser, ct(html)),
            (200, html, Persistent, ct(html)),
            (200, Some("application/json"), Persistent, ct(Some("application/json"))),
            (200, Some("text/event-streams"), Browser, ct(Some("text/event-streams"))),
            (200, Some(""), Browser, ct(Some(""))),
            (200, None, Browser, ct(None)),
            (200, None, Persistent, ct(None)),
            // 204 stops the client, whatever the type; the type of any other status is ignored.
            (204, None, Browser, Verdict::Close(Ending::NoContent)),
            (204, SSE, Persistent, Verdict::Close(Ending::NoContent)),
            // A redirect status left after following redirects (no Location): a failure.
            (301, None, Browser, Verdict::Close(status(301))),
            (301, None, Persistent, Verdict::Close(status(301))),
            (307, SSE, Persistent, Verdict::Close(status(307))),
            // Other 2xx statuses do not open an event stream either.
            (201, SSE, Browser, Verdict::Close(status(201))),
            (206, SSE, Persistent, Verdict::Close(status(206))),
            // Refusals fail in both modes.
            (401, html, Browser, Verdict::Close(status(401))),
            (401, html, Persistent, Verdict::Close(status(401))),
            (403, None, Persistent, Verdict::Close(status(403))),
            (404, html, Browser, Verdict::Close(status(404))),
            (404, SSE, Persistent, Verdict::Close(status(404))),
            (406, None, Persistent, Verdict::Close(status(406))),
            // Retryable statuses: a browser stops, persistent mode retries.
            (408, None, Browser, Verdict::Close(status(408))),
            (408, None, Persistent, Verdict::Retry(status(408))),
            (429, None, Browser, Verdict::Close(status(429))),
            (429, html, Persistent, Verdict::Retry(status(429))),
            (500, html, Browser, Verdict::Close(status(500))),
            (500, html, Persistent, Verdict::Retry(status(500))),
            (502, None, Persistent, Verdict::Retry(status(502))),
            (503, SSE, Browser, Verdict::Close(status(503))),
            (503, SSE, Persistent, Verdict::Retry(status(503))),
            (599, None, Persistent, Verdict::Retry(status(599))),
        ];
        for (code, content_type, mode, want) in table {
            assert_eq!(&classify(*code, *content_type, *mode), want, "{code} {content_type:?} {mode:?}");
        }
    }

    #[test]
    fn a_closing_verdict_fails_the_feed_except_for_204() {
        for (code, fatal) in [(204, false), (200, true), (404, true), (503, true)] {
            let Verdict::Close(ending) = classify(code, None, Browser) else { panic!("{code} closes") };
            assert_eq!(ending.is_failure(), fatal, "{code}");
        }
    }

    #[test]
    fn retryable_statuses_are_5xx_408_and_429() {
        let retryable: Vec<u16> = (100..=599).filter(|s| is_retryable(*s)).collect();
        let want: Vec<u16> = [408, 429].into_iter().chain(500..=599).collect();
        assert_eq!(retryable, want);
    }
}
