//! Collections: feeds as one versioned JSON file, to share them and load them back (the app's
//! Import…/Export…, `feedscope tail --collection`), and [`FeedForm`], a feed's settings as a person
//! set them. Secrets (credentials in headers, URL parameters and the URL's password) are left out
//! of an export unless asked for, and every one left out is named so the face can say so.
//!
//! ```json
//! { "feedscope_collection": 1, "feeds": [{ "name": "…", "config": { … }, "history_cap": 10000, "raw_cap_mib": 8 }] }
//! ```

use serde::{Deserialize, Serialize};

use crate::{FeedConfig, FeedInfo, HistoryLimits};

/// A feed's settings as the user set them: what the editor sends (and starts from), what a
/// shared collection holds, and, with an id, what the settings file keeps. The caps may be left
/// out (files of older versions, hand-written collections): they get the defaults.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedForm {
    pub name: String,
    pub config: FeedConfig,
    #[serde(default = "default_cap")]
    pub history_cap: usize,
    /// MiB of raw bytes kept for the raw view; 0 keeps none.
    #[serde(default = "default_raw_cap")]
    pub raw_cap_mib: u32,
}

impl FeedForm {
    /// A form for `config` with the default caps and no name (the URL names the feed).
    pub fn new(config: FeedConfig) -> FeedForm {
        FeedForm { name: String::new(), config, history_cap: default_cap(), raw_cap_mib: default_raw_cap() }
    }

    pub fn limits(&self) -> HistoryLimits {
        HistoryLimits { max_records: self.history_cap, ..HistoryLimits::default() }
    }
}

pub fn default_cap() -> usize {
    HistoryLimits::default().max_records
}

pub fn default_raw_cap() -> u32 {
    crate::raw::DEFAULT_CAP_MIB
}

/// The document version this build writes and reads.
pub const VERSION: u32 = 1;

/// The file's content. `feedscope_collection` is the version: a newer one is refused, not guessed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Collection {
    pub feedscope_collection: u32,
    /// Each feed as the editor's form (the caps may be left out of a hand-written file).
    pub feeds: Vec<FeedForm>,
}

/// Whether a header or URL parameter of this name carries a credential: `Authorization`,
/// `Proxy-Authorization`, `Cookie`, and API-key-like names (`X-API-Key`, `key`, `auth`, names
/// containing `token`, `secret`, `password`, `api-key`, `api_key` or `apikey`).
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(n.as_str(), "authorization" | "proxy-authorization" | "cookie" | "key" | "auth" | "sig" | "signature")
        || ["token", "secret", "password", "passwd", "api-key", "api_key", "apikey"].iter().any(|s| n.contains(s))
}

/// Empties the values of `config`'s secrets and names each one (`header Authorization`, `URL
/// parameter api_key`, `URL password`). Names stay, so whoever imports sees what to fill in.
pub fn strip_secrets(config: &mut FeedConfig) -> Vec<String> {
    let mut left_out = Vec::new();
    for h in config.headers.iter_mut().filter(|h| is_secret_name(&h.name) && !h.value.is_empty()) {
        h.value.clear();
        left_out.push(format!("header {}", h.name));
    }
    // An unparsable URL cannot be stored by the hub; leave it as it is.
    if let Ok(mut url) = url::Url::parse(config.url.trim()) {
        let mut changed = false;
        if url.password().is_some() {
            let _ = url.set_password(None);
            left_out.push("URL password".to_owned());
            changed = true;
        }
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        if pairs.iter().any(|(k, v)| is_secret_name(k) && !v.is_empty()) {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in &pairs {
                if is_secret_name(k) && !v.is_empty() {
                    left_out.push(format!("URL parameter {k}"));
                    query.append_pair(k, "");
                } else {
                    query.append_pair(k, v);
                }
            }
            url.set_query(Some(&query.finish()));
            changed = true;
        }
        // Only a URL that had a secret is rewritten (re-encoding may change how the rest is spelled).
        if changed {
            config.url = url.to_string();
        }
    }
    left_out
}

/// A collection of `feeds` but those `exclude` names (the app's demo feed), and
/// what was left out, as `feed name: what`.
pub fn collect(
    feeds: &[FeedInfo],
    include_secrets: bool,
    exclude: impl Fn(&FeedInfo) -> bool,
) -> (Collection, Vec<String>) {
    let mut left_out = Vec::new();
    let feeds = feeds
        .iter()
        .filter(|f| !exclude(f))
        .map(|f| {
            let mut config = f.config.clone();
            if !include_secrets {
                left_out.extend(strip_secrets(&mut config).into_iter().map(|what| format!("{}: {what}", f.name)));
            }
            FeedForm { name: f.name.clone(), config, history_cap: f.history_cap, raw_cap_mib: f.raw_cap_mib }
        })
        .collect();
    (Collection { feedscope_collection: VERSION, feeds }, left_out)
}

/// Reads a collection file's text; the error names what is wrong (the version, or which feed and
/// field, with serde's line and column).
pub fn parse(text: &str) -> Result<Collection, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let version =
        value.get("feedscope_collection").ok_or("not a Feedscope collection: no \"feedscope_collection\" field")?;
    match version.as_u64() {
        Some(v) if v == u64::from(VERSION) => {}
        Some(v) => {
            return Err(format!("collection version {v} is not supported (this Feedscope reads version {VERSION})"))
        }
        None => return Err(format!("\"feedscope_collection\" must be a version number, not {version}")),
    }
    let feeds = value.get("feeds").and_then(|f| f.as_array()).ok_or("\"feeds\" must be a list of feeds")?;
    let feeds = feeds
        .iter()
        .enumerate()
        .map(|(i, f)| {
            FeedForm::deserialize(f).map_err(|e| {
                let name = f.get("name").and_then(|n| n.as_str()).map(|n| format!(" ({n:?})")).unwrap_or_default();
                format!("feed {}{name}: {e}", i + 1)
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Collection { feedscope_collection: VERSION, feeds })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Header;

    fn header(name: &str, value: &str) -> Header {
        Header { name: name.into(), value: value.into() }
    }

    #[test]
    fn credentials_and_api_key_like_names_are_secrets() {
        for name in [
            "Authorization",
            "cookie",
            "Proxy-Authorization",
            "X-API-Key",
            "x-apikey",
            "api_key",
            "X-Auth-Token",
            "access_token",
            "client_secret",
            "password",
            "key",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["Accept", "Content-Type", "X-Trace", "Last-Event-ID", "monkey", "q", "stream"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn secrets_are_emptied_and_named_and_the_rest_is_kept() {
        let mut config = FeedConfig::new("https://u:pw@api.test/s?topic=a%20b&api_key=K1&token=&access_token=T");
        config.headers = vec![
            header("Authorization", "Bearer x"),
            header("Accept", "text/event-stream"),
            header("X-API-Key", "k"),
            header("Cookie", "s=1"),
        ];
        let left_out = strip_secrets(&mut config);
        assert_eq!(
            left_out,
            [
                "header Authorization",
                "header X-API-Key",
                "header Cookie",
                "URL password",
                "URL parameter api_key",
                "URL parameter access_token"
            ]
        );
        assert_eq!(config.url, "https://u@api.test/s?topic=a+b&api_key=&token=&access_token=");
        assert_eq!(
            config.headers,
            [
                header("Authorization", ""),
                header("Accept", "text/event-stream"),
                header("X-API-Key", ""),
                header("Cookie", "")
            ]
        );
        assert!(config.validate_user_settings().is_ok(), "a stripped feed is still a feed");

        let mut clean = FeedConfig::new("https://api.test/s?topic=a%20b");
        assert!(strip_secrets(&mut clean).is_empty());
        assert_eq!(clean.url, "https://api.test/s?topic=a%20b", "a URL with no secret is not rewritten");
    }

    #[test]
    fn a_malformed_collection_says_what_is_wrong() {
        let cases = [
            ("[1", "not JSON"),
            ("{\"feeds\": []}", "not a Feedscope collection"),
            ("{\"feedscope_collection\": 2, \"feeds\": []}", "collection version 2 is not supported"),
            ("{\"feedscope_collection\": \"1\", \"feeds\": []}", "must be a version number"),
            ("{\"feedscope_collection\": 1, \"feeds\": {}}", "\"feeds\" must be a list"),
            ("{\"feedscope_collection\": 1, \"feeds\": [{\"name\": \"a\"}]}", "feed 1 (\"a\"): missing field `config`"),
            (
                "{\"feedscope_collection\": 1, \"feeds\": [{\"name\": \"a\", \"config\": {}}, {\"name\": \"b\", \"config\": {\"retry_ms\": \"x\"}}]}",
                "feed 2 (\"b\"): invalid type",
            ),
        ];
        for (text, want) in cases {
            let e = parse(text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
        let ok = parse(
            "{\"feedscope_collection\": 1, \"feeds\": [{\"name\": \"a\", \"config\": {\"url\": \"http://a.test/\"}}]}",
        );
        assert_eq!(ok.unwrap().feeds[0].history_cap, default_cap(), "caps are optional");
    }
}
