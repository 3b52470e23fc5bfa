//! Saving the settings file, and guarding it. tauri-plugin-store reads the file at start, but its
//! own save truncates and rewrites the file in place (a kill in the middle leaves it empty or cut
//! short) and its load silently replaces a file it cannot parse with defaults. So every save here
//! is atomic (temp file + fsync + rename, see [`save`]) and keeps a last good copy beside the file;
//! before the plugin loads, [`guard`] checks the file, sets a damaged one aside and puts back the
//! last good copy.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::saved::SavedDoc;

/// The store file's name inside the app data dir.
pub const STORE_FILE: &str = "feedscope.json";

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
    SavedDoc::from_map(|k| obj.get(k).cloned()).map(|_| ())
}

/// Saves the document as the store file (the JSON object the plugin reads), then as its last good
/// copy, each atomically: a kill at any moment leaves the file either as it was or as it is now.
pub fn save(file: &Path, doc: &Value) -> Result<(), String> {
    let bytes = serde_json::to_vec_pretty(doc).map_err(|e| e.to_string())?;
    write_atomic(file, &bytes).map_err(|e| format!("{}: {e}", file.display()))?;
    let backup = backup_path(file);
    write_atomic(&backup, &bytes).map_err(|e| format!("{}: {e}", backup.display()))
}

/// Writes `bytes` to `path` so a crash leaves either the old or the new file, never half of one:
/// a temp file of this process (two app instances never share one), flushed, renamed over `path`,
/// then the directory flushed so the rename survives a power cut too.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = tmp_path(path, std::process::id());
    let written = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    // Best effort: not every file system can flush a directory, and the file is in place already.
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

fn tmp_path(path: &Path, pid: u32) -> PathBuf {
    with_suffix(path, &format!(".tmp-{pid}"))
}

/// Removes the temp files a killed process left beside `file` (those of a live process are kept).
fn remove_stale_tmp(file: &Path) {
    let Some(dir) = file.parent() else { return };
    // Names as `tmp_path` makes them: `<file>.tmp-<pid>`.
    let prefixes = [file.to_path_buf(), backup_path(file)].map(|p| format!("{}.tmp-", p.to_string_lossy()));
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = path.to_string_lossy();
        let Some(pid) = prefixes.iter().find_map(|p| name.strip_prefix(p.as_str())) else { continue };
        let Ok(pid) = pid.parse::<u32>() else { continue };
        let alive = if Path::new("/proc/self").exists() {
            Path::new("/proc").join(pid.to_string()).exists()
        } else {
            // No /proc: a live writer's temp file is a few milliseconds old.
            entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_none_or(|age| age.as_secs() < 60)
        };
        if pid != std::process::id() && !alive {
            let _ = fs::remove_file(&path);
        }
    }
}

/// Makes `file` safe for the plugin to load. Returns a message for the user when something had to
/// be repaired (the app starts anyway).
pub fn guard(file: &Path) -> Option<String> {
    remove_stale_tmp(file);
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

/// Test hook, set only by the crash end-to-end test (tests/e2e/crash.spec.mjs): once setup is
/// done, print what this start loaded as one line (`feedscope-test-start {"feeds":[...],
/// "notices":[...]}`) on stdout, then save the settings over and over, so that a `kill -9` lands
/// in the middle of a save.
pub const TEST_SAVE_LOOP: &str = "FEEDSCOPE_TEST_SAVE_LOOP";

/// Starts the loop of [`TEST_SAVE_LOOP`] when the variable is set.
pub fn test_save_loop(state: std::sync::Arc<crate::state::AppState>) {
    if std::env::var_os(TEST_SAVE_LOOP).is_none() {
        return;
    }
    let feeds: Vec<Value> = state.list().iter().map(|f| serde_json::json!({"id": f.id, "url": f.config.url})).collect();
    let notices = state.notices.lock().expect("lock").clone();
    println!("feedscope-test-start {}", serde_json::json!({ "feeds": feeds, "notices": notices }));
    std::thread::spawn(move || {
        for n in 1u64.. {
            let mut s = state.settings();
            if !s.is_object() {
                s = serde_json::json!({});
            }
            s["test_saves"] = n.into();
            state.set_settings(s);
        }
    });
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

    #[test]
    fn save_replaces_file_and_last_good_copy_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(STORE_FILE);
        fs::write(&f, br#"{"feeds":[]}"#).unwrap();
        let doc = SavedDoc { demo_removed: true, ..SavedDoc::default() }.to_value();
        save(&f, &doc).unwrap();
        let back: Value = serde_json::from_slice(&fs::read(&f).unwrap()).unwrap();
        assert_eq!(back, doc);
        assert_eq!(fs::read(backup_path(&f)).unwrap(), fs::read(&f).unwrap());
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn guard_removes_temp_files_of_dead_processes_only() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(STORE_FILE);
        fs::write(&f, br#"{"feeds":[]}"#).unwrap();
        let dead = 4_000_000_000; // above any pid_max
        fs::write(tmp_path(&f, dead), b"{\"fee").unwrap();
        fs::write(tmp_path(&backup_path(&f), dead), b"").unwrap();
        let mine = tmp_path(&f, std::process::id());
        fs::write(&mine, b"").unwrap();
        assert_eq!(guard(&f), None);
        assert!(!tmp_path(&f, dead).exists());
        assert!(!tmp_path(&backup_path(&f), dead).exists());
        assert!(mine.exists());
    }
}
