//! What the settings file holds between runs: the feeds as the user set them, the window's
//! preferences, and whether the demo feed was deleted. Data only; [`crate::persist`] writes and
//! guards the file, [`crate::state`] turns it into the hub's feeds and back.

use feedscope_core::FeedInfo;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The id of the built-in demo feed (no other feed gets it): its host and port are rewritten to
/// the demo server of each run.
pub const DEMO_ID: &str = "demo";

/// One feed as saved: its settings (the same keys at the top level) and its state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SavedFeed {
    /// Stable: the hub's id, and the `feed` of its records.
    pub id: String,
    #[serde(flatten)]
    pub form: FeedForm,
    /// Connected when the app last saved; reconnected at start.
    #[serde(default)]
    pub connected: bool,
    /// Written for older versions, which told the demo feed by this flag; [`DEMO_ID`] tells it now.
    #[serde(default)]
    pub demo: bool,
}

pub use feedscope_core::collection::{default_cap, default_raw_cap, FeedForm};

impl SavedFeed {
    pub fn from_info(f: FeedInfo) -> SavedFeed {
        let demo = f.id == DEMO_ID;
        let form = FeedForm { name: f.name, config: f.config, history_cap: f.history_cap, raw_cap_mib: f.raw_cap_mib };
        SavedFeed { id: f.id, form, connected: f.wanted, demo }
    }
}

/// The whole file. Stored as top-level keys of tauri-plugin-store's JSON object.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct SavedDoc {
    pub feeds: Vec<SavedFeed>,
    /// Window preferences, owned by the UI (opaque here).
    pub settings: Value,
    /// True once the user deleted the demo feed.
    pub demo_removed: bool,
    /// Alert rules applied to every feed, beside each feed's own (in its config).
    pub global_alerts: Vec<feedscope_core::alerts::AlertRule>,
}

impl SavedDoc {
    /// Reads the store's top-level keys back into a document.
    pub fn from_map(get: impl Fn(&str) -> Option<Value>) -> Result<SavedDoc, String> {
        let mut doc = SavedDoc::default();
        if let Some(v) = get("feeds") {
            doc.feeds = serde_json::from_value(v).map_err(|e| format!("feeds: {e}"))?;
        }
        doc.settings = get("settings").unwrap_or(Value::Null);
        doc.demo_removed = get("demo_removed").and_then(|v| v.as_bool()).unwrap_or(false);
        if let Some(v) = get("global_alerts") {
            doc.global_alerts = serde_json::from_value(v).map_err(|e| format!("global_alerts: {e}"))?;
        }
        Ok(doc)
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("the saved document serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeds_saved_before_the_raw_cap_load_with_the_default() {
        let old =
            serde_json::json!([{"id": "a", "name": "A", "config": {"url": "http://127.0.0.1:1/"}, "history_cap": 500}]);
        let doc = SavedDoc::from_map(|k| (k == "feeds").then(|| old.clone())).unwrap();
        assert_eq!((doc.feeds[0].form.history_cap, doc.feeds[0].form.raw_cap_mib), (500, default_raw_cap()));
        let back: SavedFeed = serde_json::from_value(serde_json::to_value(&doc.feeds[0]).unwrap()).unwrap();
        assert_eq!(back, doc.feeds[0]);
    }
}
