//! What a response's status and Content-Type mean for a feed: open, reconnect, or close. Pure,
//! so every combination is tested without a socket (shared/sse-notes.md rules 13–15).

use super::config::Mode;
use super::ending::{Ending, McpEnding, McpStep};

/// What to do with a response, decided from its status and Content-Type alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// 200 with `text/event-stream`: the feed is OPEN; read the body.
    Accept,
    /// MCP only: 200 with `application/json`: the body is one JSON-RPC message (or batch), read
    /// whole. For `notifications/initialized`, any 2xx: there is nothing to read.
    AcceptJson,
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

/// Whether the MIME essence of a Content-Type is `application/json` (parameters allowed).
pub fn is_json(content_type: &str) -> bool {
    content_type.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json")
}

/// Which session id an MCP request carried, for [`classify_mcp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionSent {
    /// None: the server gave none, or none is known yet (`initialize`).
    None,
    /// The id of a session initialized on an earlier connection.
    Kept,
    /// The id the server gave on this same connection.
    Fresh,
}

/// The verdict on a response to a request of an MCP feed (spec: Streamable HTTP transport).
/// `initialize` and the feed's own request open with `text/event-stream` or `application/json`;
/// `notifications/initialized` wants a 2xx (the spec says 202). A 404 to a request that carried
/// a kept session id means the session expired ([`McpEnding::SessionExpired`]: reconnect and
/// initialize again), to a fresh one that the server refused the session it had just made; a
/// 405 to the GET that listens means the server offers no stream, and a 202 to the feed's own
/// POST that it took a notification. Every other status is judged as [`classify`] judges it.
pub fn classify_mcp(step: McpStep, status: u16, content_type: Option<&str>, mode: Mode, sent: SessionSent) -> Verdict {
    match (status, sent) {
        (404, SessionSent::Kept) => return Verdict::Retry(Ending::Mcp(McpEnding::SessionExpired { step })),
        (404, SessionSent::Fresh) => return Verdict::Close(Ending::Mcp(McpEnding::SessionRefused { step })),
        _ => {}
    }
    match step {
        McpStep::Initialize | McpStep::Initialized => {
            let ok = match step {
                McpStep::Initialize => status == 200,
                _ => (200..300).contains(&status),
            };
            if ok {
                return match content_type {
                    _ if step == McpStep::Initialized => Verdict::AcceptJson,
                    Some(ct) if is_event_stream(ct) => Verdict::Accept,
                    Some(ct) if is_json(ct) => Verdict::AcceptJson,
                    got => Verdict::Close(Ending::Mcp(McpEnding::ContentType { got: got.map(str::to_owned) })),
                };
            }
            let ending = Ending::Mcp(McpEnding::Status { step, code: status, excerpt: None });
            if mode == Mode::Persistent && is_retryable(status) {
                Verdict::Retry(ending)
            } else {
                Verdict::Close(ending)
            }
        }
        McpStep::Request | McpStep::Listen => match (status, content_type) {
            (200, Some(ct)) if is_json(ct) => Verdict::AcceptJson,
            (202, _) if step == McpStep::Request => Verdict::Close(Ending::Mcp(McpEnding::Accepted)),
            (405, _) if step == McpStep::Listen => Verdict::Close(Ending::Mcp(McpEnding::NoGetStream)),
            _ => classify(status, content_type, mode),
        },
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

    #[test]
    fn mcp_responses_are_classified_by_step_status_type_and_session() {
        use McpStep::{Initialize, Initialized, Listen, Request};
        use SessionSent::{Fresh, Kept, None as No};
        const JSON: Option<&str> = Some("application/json");
        let mcp = |e: McpEnding| Ending::Mcp(e);
        let st = |step, code| mcp(McpEnding::Status { step, code, excerpt: None });
        type Case<'a> = (McpStep, u16, Option<&'a str>, Mode, SessionSent, Verdict);
        let table: Vec<Case> = vec![
            // initialize: 200 with SSE or JSON (parameters and case aside), nothing else.
            (Initialize, 200, SSE, Browser, No, Verdict::Accept),
            (Initialize, 200, JSON, Persistent, No, Verdict::AcceptJson),
            (Initialize, 200, Some("Application/JSON; charset=utf-8"), Browser, No, Verdict::AcceptJson),
            (
                Initialize,
                200,
                Some("text/html"),
                Persistent,
                No,
                Verdict::Close(mcp(McpEnding::ContentType { got: Some("text/html".into()) })),
            ),
            (Initialize, 200, None, Persistent, No, Verdict::Close(mcp(McpEnding::ContentType { got: None }))),
            (Initialize, 202, JSON, Persistent, No, Verdict::Close(st(Initialize, 202))),
            (Initialize, 406, JSON, Persistent, No, Verdict::Close(st(Initialize, 406))),
            (Initialize, 404, None, Persistent, No, Verdict::Close(st(Initialize, 404))),
            (Initialize, 503, None, Persistent, No, Verdict::Retry(st(Initialize, 503))),
            (Initialize, 503, None, Browser, No, Verdict::Close(st(Initialize, 503))),
            // notifications/initialized: any 2xx, whatever the type.
            (Initialized, 202, None, Browser, Fresh, Verdict::AcceptJson),
            (Initialized, 200, JSON, Persistent, No, Verdict::AcceptJson),
            (Initialized, 400, JSON, Persistent, Fresh, Verdict::Close(st(Initialized, 400))),
            (Initialized, 429, None, Persistent, Fresh, Verdict::Retry(st(Initialized, 429))),
            (
                Initialized,
                404,
                JSON,
                Persistent,
                Fresh,
                Verdict::Close(mcp(McpEnding::SessionRefused { step: Initialized })),
            ),
            (Initialized, 404, JSON, Persistent, No, Verdict::Close(st(Initialized, 404))),
            // The feed's request: SSE or JSON; 202 for a notification; 404 with a session id.
            (Request, 200, SSE, Browser, Kept, Verdict::Accept),
            (Request, 200, JSON, Browser, Kept, Verdict::AcceptJson),
            (Request, 202, None, Persistent, Fresh, Verdict::Close(mcp(McpEnding::Accepted))),
            (Request, 404, JSON, Browser, Kept, Verdict::Retry(mcp(McpEnding::SessionExpired { step: Request }))),
            (Request, 404, JSON, Persistent, Fresh, Verdict::Close(mcp(McpEnding::SessionRefused { step: Request }))),
            (Request, 404, JSON, Persistent, No, Verdict::Close(status(404))),
            (Request, 405, JSON, Persistent, Kept, Verdict::Close(status(405))),
            (Request, 503, None, Persistent, Kept, Verdict::Retry(status(503))),
            (
                Request,
                200,
                Some("text/html"),
                Persistent,
                Kept,
                Verdict::Close(Ending::ContentType { got: Some("text/html".into()) }),
            ),
            // The GET that listens: SSE; 405 says there is no such stream.
            (Listen, 200, SSE, Persistent, Kept, Verdict::Accept),
            (Listen, 405, JSON, Persistent, Kept, Verdict::Close(mcp(McpEnding::NoGetStream))),
            (Listen, 405, None, Browser, No, Verdict::Close(mcp(McpEnding::NoGetStream))),
            (Listen, 404, None, Persistent, Kept, Verdict::Retry(mcp(McpEnding::SessionExpired { step: Listen }))),
            (Listen, 202, None, Persistent, Kept, Verdict::Close(status(202))),
        ];
        for (step, code, ct, mode, sent, want) in table {
            assert_eq!(classify_mcp(step, code, ct, mode, sent), want, "{step:?} {code} {ct:?} {mode:?} {sent:?}");
        }
    }
}
