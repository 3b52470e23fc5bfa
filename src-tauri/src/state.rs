//! The app's feeds as the user named them, on top of the engine's [`Hub`]. No Tauri here: the
//! commands adapt these methods, and the tests call them directly.

use std::sync::{Arc, Mutex};

use feedscope_core::{FeedConfig, HistoryLimits, Hub};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::persist::Doc;

/// Bounds of the editor's history cap (records kept per feed).
pub const MIN_HISTORY: usize = 100;
pub const MAX_HISTORY: usize = 5_000_000;

/// One feed as saved: a stable id (the hub's and the records' `feed`), a display name, settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FeedEntry {
    pub id: String,
    pub name: String,
    pub config: FeedConfig,
    #[serde(default = "default_cap")]
    pub history_cap: usize,
    /// Connected when the app last saved; reconnected at start.
    #[serde(default)]
    pub connected: bool,
    /// The built-in demo feed: its host and port are rewritten to the demo server of this run.
    #[serde(default)]
    pub demo: bool,
}

fn default_cap() -> usize {
    HistoryLimits::default().max_records
}

impl FeedEntry {
    pub fn limits(&self) -> HistoryLimits {
        HistoryLimits { max_records: self.history_cap, ..HistoryLimits::default() }
    }
}

/// What the feed editor sends.
#[derive(Debug, Clone, Deserialize)]
pub struct FeedInput {
    pub name: String,
    pub config: FeedConfig,
    pub history_cap: usize,
}

/// A refusal the window can show next to a field (`field` is a [`FeedConfig`] field name, or
/// `name` / `history_cap`), or as a general message when `field` is `None`.
#[derive(Debug, Clone, Serialize, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub field: Option<String>,
    pub message: String,
}

impl AppError {
    pub fn msg(m: impl Into<String>) -> Self {
        AppError { field: None, message: m.into() }
    }
    fn field(f: &str, m: impl Into<String>) -> Self {
        AppError { field: Some(f.to_owned()), message: m.into() }
    }
}

impl From<feedscope_core::HubError> for AppError {
    fn from(e: feedscope_core::HubError) -> Self {
        match e {
            feedscope_core::HubError::Config(c) => AppError::field(c.field(), c.to_string()),
            other => AppError::msg(other.to_string()),
        }
    }
}

/// Checks the editor's input; every refusal names its field.
pub fn validate(input: &FeedInput) -> Result<(), AppError> {
    let name = input.name.trim();
    if name.is_empty() {
        return Err(AppError::field("name", "give the feed a name"));
    }
    if name.chars().count() > 80 {
        return Err(AppError::field("name", "at most 80 characters"));
    }
    if let Err(e) = input.config.validate() {
        return Err(AppError::field(e.field(), e.to_string()));
    }
    if input.config.read_timeout_ms != 0 && input.config.read_timeout_ms < 1000 {
        return Err(AppError::field("read_timeout_ms", "0 (never) or at least 1000 ms"));
    }
    if input.config.max_backoff_ms < input.config.retry_ms.min(1000) {
        return Err(AppError::field("max_backoff_ms", "must be at least the reconnection time"));
    }
    if !(MIN_HISTORY..=MAX_HISTORY).contains(&input.history_cap) {
        return Err(AppError::field("history_cap", format!("between {MIN_HISTORY} and {MAX_HISTORY} records")));
    }
    Ok(())
}

/// A feed as the window lists it.
#[derive(Debug, Clone, Serialize)]
pub struct FeedView {
    #[serde(flatten)]
    pub entry: FeedEntry,
    pub running: bool,
}

type Saver = Box<dyn Fn(&Doc) -> Result<(), String> + Send + Sync>;

/// Everything the commands share.
pub struct AppState {
    pub hub: Arc<Hub>,
    doc: Mutex<Doc>,
    /// Held while saving, so two saves never interleave their writes to the same files.
    saver: Mutex<Saver>,
    /// Messages for the user gathered before the window opened (a repaired settings file).
    pub notices: Mutex<Vec<String>>,
    /// The demo server's base URL in this run (`http://127.0.0.1:PORT`).
    pub demo_base: Option<String>,
}

impl AppState {
    pub fn new(hub: Arc<Hub>, doc: Doc, demo_base: Option<String>, saver: Saver) -> AppState {
        AppState { hub, doc: Mutex::new(doc), saver: Mutex::new(saver), notices: Mutex::default(), demo_base }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Doc> {
        self.doc.lock().expect("app state lock")
    }

    /// Puts the saved feeds into the hub (demo feed included) and connects those that were.
    pub fn restore(&self) {
        let mut doc = self.lock();
        if !doc.demo_removed && !doc.feeds.iter().any(|f| f.demo) {
            if let Some(base) = &self.demo_base {
                let mut config = FeedConfig::new(format!("{base}/events"));
                config.retry_ms = 1000;
                doc.feeds.insert(
                    0,
                    FeedEntry {
                        id: "demo".into(),
                        name: "Demo feed".into(),
                        config,
                        history_cap: default_cap(),
                        connected: true,
                        demo: true,
                    },
                );
            }
        }
        for f in doc.feeds.iter_mut() {
            if f.demo {
                if let Some(base) = &self.demo_base {
                    f.config.url = rebase(&f.config.url, base);
                }
            }
            match self.hub.add(&f.id, f.config.clone(), f.limits()) {
                Ok(()) if f.connected => {
                    let _ = self.hub.start(&f.id);
                }
                Ok(()) => {}
                Err(e) => {
                    self.notices.lock().expect("lock").push(format!("Feed {:?} could not be loaded: {e}", f.name))
                }
            }
        }
        drop(doc);
        self.save();
    }

    fn save(&self) {
        let saver = self.saver.lock().expect("save lock");
        let doc = self.lock().clone();
        if let Err(e) = (*saver)(&doc) {
            self.notices.lock().expect("lock").push(format!("Could not save settings: {e}"));
        }
    }

    pub fn list(&self) -> Vec<FeedView> {
        self.lock().feeds.iter().map(|e| FeedView { entry: e.clone(), running: self.hub.is_running(&e.id) }).collect()
    }

    pub fn view(&self, id: &str) -> Result<FeedView, AppError> {
        self.list().into_iter().find(|f| f.entry.id == id).ok_or_else(|| AppError::msg(format!("no feed {id:?}")))
    }

    pub fn settings(&self) -> Value {
        self.lock().settings.clone()
    }

    pub fn set_settings(&self, v: Value) {
        self.lock().settings = v;
        self.save();
    }

    fn unique_id(doc: &Doc, name: &str) -> String {
        let mut slug: String = name
            .trim()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
            .collect::<String>()
            .split('-')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        slug.truncate(32);
        if slug.is_empty() {
            slug = "feed".into();
        }
        let mut id = slug.clone();
        let mut n = 2;
        while doc.feeds.iter().any(|f| f.id == id) {
            id = format!("{slug}-{n}");
            n += 1;
        }
        id
    }

    /// Adds a feed from the editor (or the command line) and connects it if asked.
    pub fn add(&self, input: FeedInput, connect: bool) -> Result<FeedView, AppError> {
        validate(&input)?;
        let mut doc = self.lock();
        let entry = FeedEntry {
            id: Self::unique_id(&doc, &input.name),
            name: input.name.trim().to_owned(),
            config: input.config,
            history_cap: input.history_cap,
            connected: connect,
            demo: false,
        };
        self.hub.add(&entry.id, entry.config.clone(), entry.limits())?;
        if connect {
            self.hub.start(&entry.id)?;
        }
        doc.feeds.push(entry.clone());
        drop(doc);
        self.save();
        self.view(&entry.id)
    }

    pub fn update(&self, id: &str, input: FeedInput) -> Result<FeedView, AppError> {
        validate(&input)?;
        let mut doc = self.lock();
        let entry =
            doc.feeds.iter_mut().find(|f| f.id == id).ok_or_else(|| AppError::msg(format!("no feed {id:?}")))?;
        self.hub.update(
            id,
            input.config.clone(),
            HistoryLimits { max_records: input.history_cap, ..HistoryLimits::default() },
        )?;
        entry.name = input.name.trim().to_owned();
        entry.config = input.config;
        entry.history_cap = input.history_cap;
        drop(doc);
        self.save();
        self.view(id)
    }

    pub fn duplicate(&self, id: &str) -> Result<FeedView, AppError> {
        let src = self.view(id)?.entry;
        self.add(
            FeedInput { name: format!("{} copy", src.name), config: src.config, history_cap: src.history_cap },
            false,
        )
    }

    pub fn delete(&self, id: &str) -> Result<(), AppError> {
        let mut doc = self.lock();
        let pos = doc.feeds.iter().position(|f| f.id == id).ok_or_else(|| AppError::msg(format!("no feed {id:?}")))?;
        let removed = doc.feeds.remove(pos);
        if removed.demo {
            doc.demo_removed = true;
        }
        drop(doc);
        self.hub.remove(id)?;
        self.save();
        Ok(())
    }

    /// Connects or disconnects, and remembers it for the next start.
    pub fn set_connected(&self, id: &str, on: bool) -> Result<FeedView, AppError> {
        {
            let mut doc = self.lock();
            let entry =
                doc.feeds.iter_mut().find(|f| f.id == id).ok_or_else(|| AppError::msg(format!("no feed {id:?}")))?;
            entry.connected = on;
        }
        if on {
            self.hub.start(id)?;
        } else {
            self.hub.stop(id)?;
        }
        self.save();
        self.view(id)
    }

    /// Feeds for URLs given on the command line: an existing feed with the same URL is reused.
    pub fn open_urls(&self, urls: &[String]) -> Vec<String> {
        let mut ids = Vec::new();
        for url in urls {
            let existing = self.lock().feeds.iter().find(|f| f.config.url == *url).map(|f| f.id.clone());
            let id = match existing {
                Some(id) => {
                    let _ = self.set_connected(&id, true);
                    Some(id)
                }
                None => {
                    let input = FeedInput {
                        name: name_for(url),
                        config: FeedConfig::new(url.clone()),
                        history_cap: default_cap(),
                    };
                    match self.add(input, true) {
                        Ok(v) => Some(v.entry.id),
                        Err(e) => {
                            self.notices.lock().expect("lock").push(format!("{url}: {e}"));
                            None
                        }
                    }
                }
            };
            ids.extend(id);
        }
        ids
    }
}

/// A feed name from a URL: host and path.
pub fn name_for(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split(['?', '#']).next().unwrap_or(rest).trim_end_matches('/');
    rest.chars().take(60).collect()
}

/// `url` with its scheme, host and port replaced by `base` (path and query kept).
fn rebase(url: &str, base: &str) -> String {
    let after_scheme = url.split_once("://").map_or("", |(_, r)| r);
    let path = after_scheme.find('/').map_or("/events", |i| &after_scheme[i..]);
    format!("{base}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_rebasing() {
        assert_eq!(name_for("https://api.example.com/stream?x=1"), "api.example.com/stream");
        assert_eq!(
            rebase("http://127.0.0.1:4000/flaky?drop_every=3", "http://127.0.0.1:5"),
            "http://127.0.0.1:5/flaky?drop_every=3"
        );
        assert_eq!(rebase("http://127.0.0.1:4000", "http://127.0.0.1:5"), "http://127.0.0.1:5/events");
    }

    #[test]
    fn editor_refusals_name_the_field() {
        let ok = FeedInput { name: "x".into(), config: FeedConfig::new("http://127.0.0.1:1/"), history_cap: 1000 };
        assert!(validate(&ok).is_ok());
        let field = |f: fn(&mut FeedInput)| {
            let mut i = ok.clone();
            f(&mut i);
            validate(&i).unwrap_err().field.unwrap()
        };
        assert_eq!(field(|i| i.name = "  ".into()), "name");
        assert_eq!(field(|i| i.config.url = "ftp://x/".into()), "url");
        assert_eq!(field(|i| i.config.url = "nope".into()), "url");
        assert_eq!(field(|i| i.config.method = "G T".into()), "method");
        assert_eq!(field(|i| i.history_cap = 5), "history_cap");
        assert_eq!(field(|i| i.config.read_timeout_ms = 5), "read_timeout_ms");
    }
}
