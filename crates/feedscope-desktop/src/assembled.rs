//! The assembled view of an LLM token stream (see [`feedscope_core::assemble`]): the answer of the
//! feed's latest connection, built from the history by the engine's [`Assembler`], with its text
//! and tool calls made safe to show.

use feedscope_core::assemble::{Assembled, Assembler, Preset};
use feedscope_core::text::visible;
use feedscope_core::Body;
use serde::Serialize;
use ts_rs::TS;

use crate::state::{AppError, AppState};

/// What the window's assembled view shows.
#[derive(Debug, Serialize, TS)]
pub struct AssembledView {
    /// The answer of the latest connection that sent anything: text, tool calls (arguments
    /// pretty-printed once complete), time to first token, deltas per second. Server text made
    /// safe to show.
    pub answer: Assembled,
    /// Answers in the retained history (one per connection that sent a delta or an end marker).
    pub answers: usize,
}

/// Assembles the feed's retained records with `preset` (`openai-chat`, `openai-responses`,
/// `anthropic` or `json:PATH`). Each connection is a new answer (an LLM request streams one
/// answer per response); the view shows the newest one that has started.
pub fn assembled(state: &AppState, feed: &str, preset: &str) -> Result<AssembledView, AppError> {
    let preset: Preset = preset
        .parse()
        .map_err(|e: feedscope_core::assemble::PresetError| AppError::field("assemble", e.to_string()))?;
    let (latest, answers) = state.hub.with_history(feed, |h| {
        let mut current = Assembler::new(preset.clone());
        let mut latest: Option<Assembler> = None;
        let mut answers = 0;
        for r in h.iter() {
            if matches!(r.body, Body::Open { .. }) && started(&current) {
                latest = Some(std::mem::replace(&mut current, Assembler::new(preset.clone())));
            }
            let was = started(&current);
            current.push(r);
            if !was && started(&current) {
                answers += 1;
            }
        }
        if started(&current) || latest.is_none() {
            latest = Some(current);
        }
        (latest.expect("set above"), answers)
    })?;
    let mut answer = latest.snapshot();
    answer.text = visible(&answer.text);
    for call in &mut answer.tool_calls {
        call.id = visible(&call.id);
        call.name = visible(&call.name);
        call.arguments = match &call.arguments_json {
            Some(v) => visible(&serde_json::to_string_pretty(v).unwrap_or_default()),
            None => visible(&call.arguments),
        };
    }
    Ok(AssembledView { answer, answers })
}

/// The answer has begun: a delta or its end marker arrived.
fn started(a: &Assembler) -> bool {
    a.deltas() > 0 || a.is_done()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saved::SavedDoc;
    use feedscope_core::{FeedConfig, FeedForm, Hub};

    /// Two answers from the e2e fixture's `/llm` (a real loopback server): the view shows the
    /// newest, whole, and counts both.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_latest_answer_of_a_live_feed_is_assembled() {
        let fixture = feedscope_testkit::Fixture::start(feedscope_testkit::e2e::stream(|_| {})).await;
        let hub = Hub::with_runtime(tokio::runtime::Handle::current());
        let state =
            AppState::open(hub, SavedDoc { demo_removed: true, ..SavedDoc::default() }, None, Box::new(|_| Ok(())));
        let mut config = FeedConfig::new(fixture.url("/llm"));
        config.retry_ms = 100; // the fixture asks for a minute; the test's own value wins until then
        let feed = state.add(FeedForm::new(config), true).unwrap().id;
        let view = loop {
            let view = assembled(&state, &feed, "openai-chat").unwrap();
            if view.answer.done {
                break view;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        assert_eq!(view.answer.text, feedscope_testkit::e2e::LLM_TEXT);
        assert_eq!(view.answers, 1);
        assert!(view.answer.first_token_ms.is_some() && view.answer.deltas > 10, "{view:?}");
        let e = assembled(&state, &feed, "json:").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("assemble"));
        state.hub.stop_all();
    }
}
