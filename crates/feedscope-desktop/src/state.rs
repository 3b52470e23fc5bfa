//! The app's feeds as the user named them, on top of the engine's [`Hub`], which is the one list
//! of feeds (names, settings, running or not): this state adds the window's settings, the
//! messages for the user, and saving. No Tauri here: the commands adapt these methods, and the
//! tests call them directly.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use feedscope_core::alerts::AlertRule;
use feedscope_core::{FeedConfig, FeedInfo, Hub, HubError};
use serde::Serialize;
use serde_json::Value;

use crate::saved::{default_cap, default_raw_cap, SavedDoc, SavedFeed, DEMO_ID};

pub use crate::saved::FeedForm;

/// The editor's rules: checked on every add and update.
pub trait FormRules {
    /// The name to give the feed: the one typed, or else host and path of the URL.
    fn name(&self) -> String;
    /// The form's own rules (the name); the engine checks the config and the caps.
    fn validate(&self) -> Result<(), AppError>;
}

impl FormRules for FeedForm {
    fn name(&self) -> String {
        match self.name.trim() {
            "" => name_for(self.config.url.trim()),
            typed => typed.to_owned(),
        }
    }

    fn validate(&self) -> Result<(), AppError> {
        self.config.validate_user_settings().map_err(|e| AppError::field(e.field(), e.to_string()))?;
        self.limits().validate().map_err(|e| AppError::field(e.field(), e.to_string()))?;
        feedscope_core::raw::check_cap_mib(self.raw_cap_mib).map_err(|e| AppError::from(HubError::from(e)))?;
        let name = self.name();
        if name.is_empty() {
            return Err(AppError::field("name", "give the feed a name"));
        }
        if name.chars().count() > 80 {
            return Err(AppError::field("name", "at most 80 characters"));
        }
        Ok(())
    }
}

/// A refusal the window can show next to a field (`field` is a [`FeedConfig`] field name, or
/// `name` / `history_cap` / `raw_cap_mib` / `search`), or as a general message when `field` is
/// `None`.
#[derive(Debug, Clone, Serialize, PartialEq, thiserror::Error, ts_rs::TS)]
#[error("{message}")]
pub struct AppError {
    pub field: Option<String>,
    pub message: String,
}

impl AppError {
    pub fn msg(m: impl Into<String>) -> Self {
        AppError { field: None, message: m.into() }
    }
    pub fn field(f: &str, m: impl Into<String>) -> Self {
        AppError { field: Some(f.to_owned()), message: m.into() }
    }
}

impl From<feedscope_core::HubError> for AppError {
    fn from(e: feedscope_core::HubError) -> Self {
        match e {
            feedscope_core::HubError::Config(c) => AppError::field(c.field(), c.to_string()),
            feedscope_core::HubError::RawCap(c) => AppError::field("raw_cap_mib", c.to_string()),
            other => AppError::msg(other.to_string()),
        }
    }
}

type Saver = Box<dyn Fn(&SavedDoc) -> Result<(), String> + Send + Sync>;

/// Everything the commands share.
pub struct AppState {
    pub hub: Arc<Hub>,
    /// Window preferences, owned by the UI.
    settings: Mutex<Value>,
    demo_removed: AtomicBool,
    global_alerts: Mutex<Vec<AlertRule>>,
    /// Held while saving, so two saves never interleave their writes to the same files.
    saver: Mutex<Saver>,
    /// Messages for the user gathered before the window opened (a repaired settings file).
    pub notices: Mutex<Vec<String>>,
    /// The demo server's base URL in this run (`http://127.0.0.1:PORT`).
    pub demo_base: Option<String>,
    /// Saved feeds the hub refused (a config this version rejects): kept in the file as they were.
    unloaded: Vec<SavedFeed>,
    /// The sorted table the window looks at, kept up to date between its page requests.
    pub sorted: Mutex<Option<crate::sorted::SortedView>>,
}

impl AppState {
    /// Puts the saved feeds into the hub (demo feed included), connects those that were, and
    /// saves.
    pub fn open(hub: Arc<Hub>, doc: SavedDoc, demo_base: Option<String>, saver: Saver) -> AppState {
        let mut state = AppState {
            hub,
            settings: Mutex::new(doc.settings),
            demo_removed: AtomicBool::new(doc.demo_removed),
            global_alerts: Mutex::new(doc.global_alerts.clone()),
            saver: Mutex::new(saver),
            notices: Mutex::default(),
            demo_base,
            unloaded: Vec::new(),
            sorted: Mutex::default(),
        };
        state.hub.set_global_alerts(doc.global_alerts);
        let mut feeds = doc.feeds;
        // Files of older versions told the demo feed by its flag only.
        for f in feeds.iter_mut().filter(|f| f.demo) {
            f.id = DEMO_ID.into();
        }
        if !doc.demo_removed && !feeds.iter().any(|f| f.id == DEMO_ID) {
            if let Some(base) = &state.demo_base {
                let mut config = FeedConfig::new(format!("{base}/events"));
                config.retry_ms = 1000;
                let demo = SavedFeed {
                    id: DEMO_ID.into(),
                    form: FeedForm {
                        name: "Demo feed".into(),
                        config,
                        history_cap: default_cap(),
                        raw_cap_mib: default_raw_cap(),
                    },
                    connected: true,
                    demo: true,
                };
                feeds.insert(0, demo);
            }
        }
        for mut f in feeds {
            if f.id == DEMO_ID {
                if let Some(base) = &state.demo_base {
                    f.form.config.url = rebase(&f.form.config.url, base);
                }
            }
            let added = state.hub.add_named(&f.id, &f.form.name, f.form.config.clone(), f.form.limits());
            if added.is_ok() {
                if let Err(e) = state.hub.set_raw_cap(&f.id, f.form.raw_cap_mib) {
                    state.notice(format!(
                        "Feed {:?}: {e}; it keeps the default, {} MiB",
                        f.form.name,
                        default_raw_cap()
                    ));
                    let _ = state.hub.set_raw_cap(&f.id, default_raw_cap());
                }
            }
            match added {
                Ok(()) if f.connected => {
                    let _ = state.hub.start(&f.id);
                }
                Ok(()) => {}
                Err(e) => {
                    state.notice(format!("Feed {:?} could not be loaded: {e}", f.form.name));
                    state.unloaded.push(f);
                }
            }
        }
        state.save();
        state
    }

    fn notice(&self, m: String) {
        self.notices.lock().expect("lock").push(m);
    }

    /// What the settings file holds now: the hub's feeds and the window's settings.
    pub fn doc(&self) -> SavedDoc {
        SavedDoc {
            feeds: self.hub.list().into_iter().map(SavedFeed::from_info).chain(self.unloaded.iter().cloned()).collect(),
            settings: self.settings(),
            demo_removed: self.demo_removed.load(Ordering::SeqCst),
            global_alerts: self.global_alerts(),
        }
    }

    fn save(&self) {
        let saver = self.saver.lock().expect("save lock");
        if let Err(e) = (*saver)(&self.doc()) {
            self.notice(format!("Could not save settings: {e}"));
        }
    }

    pub fn list(&self) -> Vec<FeedInfo> {
        self.hub.list()
    }

    pub fn settings(&self) -> Value {
        self.settings.lock().expect("settings lock").clone()
    }

    pub fn set_settings(&self, v: Value) {
        *self.settings.lock().expect("settings lock") = v;
        self.save();
    }

    pub fn global_alerts(&self) -> Vec<AlertRule> {
        self.global_alerts.lock().expect("alerts lock").clone()
    }

    /// Sets the alert rules applied to every feed; a refusal names the rule.
    pub fn set_global_alerts(&self, rules: Vec<AlertRule>) -> Result<(), AppError> {
        for (i, r) in rules.iter().enumerate() {
            r.validate().map_err(|m| AppError::field("alerts", format!("alert rule {}: {m}", i + 1)))?;
        }
        *self.global_alerts.lock().expect("alerts lock") = rules.clone();
        self.hub.set_global_alerts(rules);
        self.save();
        Ok(())
    }

    /// An id from the name, unique among the hub's feeds; never the demo feed's.
    fn unique_id(&self, name: &str) -> String {
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
        let taken = self.hub.ids();
        let free =
            |id: &str| id != DEMO_ID && !taken.iter().any(|t| &**t == id) && !self.unloaded.iter().any(|u| u.id == id);
        let mut id = slug.clone();
        let mut n = 2;
        while !free(&id) {
            id = format!("{slug}-{n}");
            n += 1;
        }
        id
    }

    /// Adds a feed from the editor (or the command line) and connects it if asked.
    pub fn add(&self, form: FeedForm, connect: bool) -> Result<FeedInfo, AppError> {
        form.validate()?;
        let name = form.name();
        let id = self.unique_id(&name);
        self.hub.add_named(&id, &name, form.config.clone(), form.limits())?;
        self.hub.set_raw_cap(&id, form.raw_cap_mib)?;
        if connect {
            self.hub.start(&id)?;
        }
        self.save();
        Ok(self.hub.info(&id)?)
    }

    pub fn update(&self, id: &str, form: FeedForm) -> Result<FeedInfo, AppError> {
        form.validate()?;
        self.hub.set_raw_cap(id, form.raw_cap_mib)?;
        self.hub.update(id, form.config.clone(), form.limits())?;
        self.hub.rename(id, &form.name())?;
        self.save();
        Ok(self.hub.info(id)?)
    }

    pub fn duplicate(&self, id: &str) -> Result<FeedInfo, AppError> {
        let src = self.hub.info(id)?;
        let form = FeedForm {
            name: format!("{} copy", src.name),
            config: src.config,
            history_cap: src.history_cap,
            raw_cap_mib: src.raw_cap_mib,
        };
        self.add(form, false)
    }

    pub fn delete(&self, id: &str) -> Result<(), AppError> {
        self.hub.remove(id)?;
        if id == DEMO_ID {
            self.demo_removed.store(true, Ordering::SeqCst);
        }
        self.save();
        Ok(())
    }

    /// Connects or disconnects, and remembers it for the next start.
    pub fn set_connected(&self, id: &str, on: bool) -> Result<FeedInfo, AppError> {
        if on {
            self.hub.start(id)?;
        } else {
            self.hub.stop(id)?;
        }
        self.save();
        Ok(self.hub.info(id)?)
    }

    /// Feeds for URLs given on the command line: an existing feed with the same URL is reused.
    pub fn open_urls(&self, urls: &[String]) -> Vec<String> {
        let mut ids = Vec::new();
        for url in urls {
            let existing = self.hub.list().into_iter().find(|f| f.config.url == *url).map(|f| f.id);
            let id = match existing {
                Some(id) => {
                    let _ = self.set_connected(&id, true);
                    Some(id)
                }
                None => {
                    let form = FeedForm {
                        name: name_for(url),
                        config: FeedConfig::new(url.clone()),
                        history_cap: default_cap(),
                        raw_cap_mib: default_raw_cap(),
                    };
                    match self.add(form, true) {
                        Ok(v) => Some(v.id),
                        Err(e) => {
                            self.notice(format!("{url}: {e}"));
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

    /// Global alert rules: refused with the rule's number when invalid, applied to the hub, and
    /// saved in the settings file.
    #[tokio::test]
    async fn global_alerts_are_validated_applied_and_saved() {
        let saved: Arc<Mutex<Vec<SavedDoc>>> = Arc::default();
        let sink = saved.clone();
        let saver = Box::new(move |d: &SavedDoc| {
            sink.lock().unwrap().push(d.clone());
            Ok(())
        });
        let state = AppState::open(Hub::new(), SavedDoc::default(), None, saver);
        let bad = vec![AlertRule::Closed, AlertRule::DataMatches { text: "(".into(), regex: true }];
        let err = state.set_global_alerts(bad).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("alerts"));
        assert!(err.message.starts_with("alert rule 2:"), "{}", err.message);
        let rules = vec![AlertRule::EventType { event_type: "price".into() }];
        state.set_global_alerts(rules.clone()).unwrap();
        assert_eq!(state.global_alerts(), rules);
        assert_eq!(saved.lock().unwrap().last().unwrap().global_alerts, rules);
        let back = SavedDoc::from_map(|k| state.doc().to_value().get(k).cloned()).unwrap();
        assert_eq!(back.global_alerts, rules, "the file reads back");
    }

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
        let ok = FeedForm {
            name: "x".into(),
            config: FeedConfig::new("http://127.0.0.1:1/"),
            history_cap: 1000,
            raw_cap_mib: 8,
        };
        assert!(ok.validate().is_ok());
        let field = |f: fn(&mut FeedForm)| {
            let mut i = ok.clone();
            f(&mut i);
            i.validate().unwrap_err().field.unwrap()
        };
        assert_eq!(
            field(|i| (i.name, i.config.url) = ("  ".into(), "".into())),
            "url",
            "no name and no URL: the URL is missing"
        );
        let unnamed = FeedForm { name: " ".into(), ..ok.clone() };
        assert_eq!(unnamed.name(), "127.0.0.1:1", "an empty name is taken from the URL");
        assert_eq!(field(|i| i.config.url = "ftp://x/".into()), "url");
        assert_eq!(field(|i| i.config.url = "nope".into()), "url");
        assert_eq!(field(|i| i.config.method = "G T".into()), "method");
        assert_eq!(field(|i| i.history_cap = 5), "history_cap");
        assert_eq!(field(|i| i.raw_cap_mib = 5000), "raw_cap_mib");
        assert_eq!(field(|i| i.config.read_timeout_ms = 5), "read_timeout_ms");
    }
}
