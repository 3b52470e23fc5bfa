//! The app's side of collections (see [`feedscope_core::collection`]): writing the user's feeds to
//! a file (the demo feed, whose address changes each run, is not shared) and adding a file's feeds.

use std::path::Path;

use feedscope_core::collection::{collect, parse};
use feedscope_core::FeedInfo;
use serde::Serialize;
use ts_rs::TS;

use crate::saved::DEMO_ID;
use crate::state::{AppError, AppState};

/// A written collection.
#[derive(Serialize, Debug, PartialEq, TS)]
pub struct CollectionExportDone {
    pub path: String,
    pub feeds: usize,
    /// The secrets left out, as `feed name: header Authorization`; empty when none or included.
    pub left_out: Vec<String>,
}

/// Writes the app's feeds to `path` as a collection.
pub fn export_to(state: &AppState, include_secrets: bool, path: &Path) -> Result<CollectionExportDone, AppError> {
    let (collection, left_out) = collect(&state.list(), include_secrets, |f| f.id == DEMO_ID);
    let mut text = serde_json::to_string_pretty(&collection).map_err(|e| AppError::msg(e.to_string()))?;
    text.push('\n');
    std::fs::write(path, text).map_err(|e| AppError::msg(format!("could not write {}: {e}", path.display())))?;
    Ok(CollectionExportDone { path: path.display().to_string(), feeds: collection.feeds.len(), left_out })
}

/// The feeds a collection added.
#[derive(Serialize, Debug, TS)]
pub struct CollectionImportDone {
    pub path: String,
    /// Added with fresh ids, not connected.
    pub added: Vec<FeedInfo>,
}

/// Adds the feeds of the collection at `path` (not connected). Every feed is checked before any is
/// added, so a file with one bad feed adds none.
pub fn import_from(state: &AppState, path: &Path) -> Result<CollectionImportDone, AppError> {
    let bad = |m: String| AppError::msg(format!("{}: {m}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let collection = parse(&text).map_err(bad)?;
    for (i, f) in collection.feeds.iter().enumerate() {
        f.config.validate_user_settings().map_err(|e| bad(format!("feed {} ({:?}): {e}", i + 1, f.name)))?;
    }
    let mut added = Vec::new();
    for f in collection.feeds {
        added.push(state.add(f, false)?);
    }
    Ok(CollectionImportDone { path: path.display().to_string(), added })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saved::SavedDoc;
    use feedscope_core::{FeedConfig, FeedForm, Header, Hub};

    fn header(name: &str, value: &str) -> Header {
        Header { name: name.into(), value: value.into() }
    }

    fn state() -> AppState {
        AppState::open(Hub::new(), SavedDoc::default(), None, Box::new(|_| Ok(())))
    }

    #[tokio::test]
    async fn a_collection_round_trips_with_secrets_left_out_unless_asked() {
        let from = state();
        let mut config = FeedConfig::new("https://api.test/s?api_key=K");
        config.method = "POST".into();
        config.body = Some("{}".into());
        config.headers = vec![header("Authorization", "Bearer x"), header("Accept", "text/event-stream")];
        let form = FeedForm { name: "LLM".into(), config: config.clone(), history_cap: 500, raw_cap_mib: 0 };
        from.add(form, false).unwrap();

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feeds.json");
        let done = export_to(&from, false, &path).unwrap();
        assert_eq!(done.feeds, 1);
        assert_eq!(done.left_out, ["LLM: header Authorization", "LLM: URL parameter api_key"]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("{\n  \"feedscope_collection\": 1,") && !text.contains("Bearer x"), "{text}");

        let to = state();
        let first = import_from(&to, &path).unwrap();
        let second = import_from(&to, &path).unwrap();
        let (a, b) = (&first.added[0], &second.added[0]);
        assert_ne!(a.id, b.id, "each import adds the feeds with fresh ids");
        assert!(!a.wanted, "imported feeds wait to be connected");
        assert_eq!((a.name.as_str(), a.history_cap, a.raw_cap_mib), ("LLM", 500, 0));
        assert_eq!(a.config.url, "https://api.test/s?api_key=");
        assert_eq!(a.config.headers, [header("Authorization", ""), header("Accept", "text/event-stream")]);
        assert_eq!(a.config.body.as_deref(), Some("{}"));

        let done = export_to(&from, true, &path).unwrap();
        assert!(done.left_out.is_empty());
        let added = import_from(&state(), &path).unwrap().added;
        assert_eq!(added[0].config, config, "with secrets the feed is the same");
        from.hub.stop_all();
    }

    #[tokio::test]
    async fn an_invalid_feed_in_a_collection_adds_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        let feeds = r#"{"feedscope_collection": 1, "feeds": [
            {"name": "ok", "config": {"url": "http://a.test/"}},
            {"name": "bad", "config": {"url": "ftp://a.test/"}}]}"#;
        std::fs::write(&path, feeds).unwrap();
        let s = state();
        let before = s.list().len();
        let e = import_from(&s, &path).unwrap_err();
        assert!(e.message.contains("feed 2 (\"bad\"): URL scheme must be http or https"), "{}", e.message);
        assert_eq!(s.list().len(), before);
    }
}
