//! Guards around tauri-plugin-store's file: the plugin truncates and rewrites it in place and, on
//! load, silently replaces a file it cannot parse with defaults. So before the plugin loads, we
//! check the file ourselves, set a damaged one aside and put back the last good copy; after each
//! save we refresh that copy atomically (temp file + rename).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::state::FeedEntry;

/// The store file's name inside the app data dir.
pub const STORE_FILE: &str = "feedscope.json";

/// What the app keeps between runs. Stored as top-level keys of the plugin's store.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Doc {
    pub feeds: Vec<FeedEntry>,
    /// Window preferences, owned by the UI (opaque here).
    pub settings: Value,
    /// False once the user deleted the demo feed.
    pub demo_removed: bool,
}

impl Doc {
    /// Reads the plugin's top-level keys back into a document.
    pub fn from_map(get: impl Fn(&str) -> Option<Value>) -> Result<Doc, String> {
        let mut doc = Doc::default();
        if let Some(v) = get("feeds") {
            doc.feeds = serde_json::from_value(v).map_err(|e| format!("feeds: {e}"))?;
        }
        doc.settings = get("settings").unwrap_or(Value::Null);
        doc.demo_removed = get("demo_removed").and_then(|v| v.as_bool()).unwrap_or(false);
        Ok(doc)
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("doc serializes")
    }
}

pub fn backup_path(file: &Path) -> PathBuf {
    with_suffix(file, ".last-good")
}

fn with_suffix(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    file.with_file_name(name)
}

/// A file we can use: a JSON object whose `feeds`, if present, parse.
fn check(bytes: &[u8]) -> Result<(), String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let obj = v.as_object().ok_or("not a JSON object")?;
    Doc::from_map(|k| obj.get(k).cloned()).map(|_| ())
}

/// Writes `bytes` to `path` so a crash leaves either the old or the new file, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = with_suffix(path, ".tmp");
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)
}

/// Makes `file` safe for the plugin to load. Returns a message for the user when something had to
/// be repaired (the app starts anyway).
pub fn guard(file: &Path) -> Option<String> {
    let backup = backup_path(file);
    let backup_ok = fs::read(&backup).ok().filter(|b| check(b).is_ok());
    match fs::read(file) {
        Ok(bytes) => match check(&bytes) {
            Ok(()) => {
                // Refresh the last good copy from a file that just proved readable.
                let _ = write_atomic(&backup, &bytes);
                None
            }
            Err(why) => {
                let stamp = feedscope_core::Timestamp::now().to_string().replace(':', "-");
                let aside = with_suffix(file, &format!(".damaged-{stamp}"));
                let _ = fs::rename(file, &aside);
                match backup_ok {
                    Some(good) => {
                        let _ = write_atomic(file, &good);
                        Some(format!(
                            "The settings file was damaged ({why}). Feedscope restored the last good copy; the damaged file is kept as {}.",
                            aside.display()
                        ))
                    }
                    None => Some(format!(
                        "The settings file was damaged ({why}) and no good copy was found: Feedscope started with defaults. The damaged file is kept as {}.",
                        aside.display()
                    )),
                }
            }
        },
        Err(_) => match backup_ok {
            Some(good) => {
                let _ = write_atomic(file, &good);
                Some("The settings file was missing; Feedscope restored the last good copy.".to_owned())
            }
            None => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_file_is_kept_and_copied_as_last_good() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(STORE_FILE);
        fs::write(&f, br#"{"feeds":[]}"#).unwrap();
        assert_eq!(guard(&f), None);
        assert_eq!(fs::read(backup_path(&f)).unwrap(), br#"{"feeds":[]}"#);
    }

    #[test]
    fn truncated_file_is_set_aside_and_last_good_restored() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(STORE_FILE);
        let good = br#"{"feeds":[{"id":"a","name":"A","config":{"url":"http://x.test/"}}]}"#;
        fs::write(&f, good).unwrap();
        guard(&f);
        fs::write(&f, b"").unwrap(); // a crash between truncate and write
        let msg = guard(&f).expect("the user is told");
        assert!(msg.contains("restored the last good copy"), "{msg}");
        assert_eq!(fs::read(&f).unwrap(), good);
        let damaged = fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains(".damaged-"));
        assert_eq!(damaged.count(), 1);
    }

    #[test]
    fn corrupt_file_without_backup_starts_with_defaults_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(STORE_FILE);
        fs::write(&f, b"{\"feeds\": [").unwrap();
        let msg = guard(&f).unwrap();
        assert!(msg.contains("started with defaults"), "{msg}");
        assert!(!f.exists());
    }

    #[test]
    fn wrong_shape_counts_as_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(STORE_FILE);
        fs::write(&f, br#"{"feeds":"nope"}"#).unwrap();
        assert!(guard(&f).is_some());
    }
}
