//! `feedscope tail --collection FILE --feed NAME`: a feed saved by the app's Export… runs with its
//! own settings (URL, method, headers, body), chosen by its exact name; what cannot run is a
//! usage error that says why (exit 2).

use std::path::PathBuf;
use std::process::Output;

use feedscope_core::collection::{Collection, FeedForm, VERSION};
use feedscope_core::{Body, FeedConfig, Header, Record};
use feedscope_testkit::{Fixture, Reply, Req, Step};

mod common;
use common::{args, run, stderr};

/// A collection file in the temp dir, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str, text: &str) -> TempFile {
        let path = std::env::temp_dir().join(format!("feedscope-collection-{tag}-{}.json", std::process::id()));
        std::fs::write(&path, text).expect("write the collection");
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        std::fs::remove_file(&self.0).ok();
    }
}

fn form(name: &str, config: FeedConfig) -> FeedForm {
    FeedForm { name: name.into(), ..FeedForm::new(config) }
}

/// The collection as the app exports it.
fn collection(feeds: Vec<FeedForm>) -> String {
    serde_json::to_string_pretty(&Collection { feedscope_collection: VERSION, feeds }).unwrap()
}

/// Each path gets two events naming it, then the connection stays open.
fn by_path(_: usize, req: &Req) -> Reply {
    let body = format!("data: {0} 1\n\ndata: {0} 2\n\n", req.path);
    Reply::sse_steps(vec![Step::Send(body.into_bytes()), Step::Hang])
}

fn events(out: &Output) -> Vec<(String, String)> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| Record::from_json(l).unwrap_or_else(|e| panic!("not a record: {l:?}: {e}")))
        .filter_map(|r| match r.body {
            Body::Event { data, .. } => Some((r.feed.to_string(), data)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_named_feed_runs_with_its_saved_request() {
    let fx = Fixture::start(by_path).await;
    let chat = FeedConfig {
        method: "POST".into(),
        headers: vec![Header::parse("Authorization: Bearer sk-test").unwrap()],
        body: Some(r#"{"stream":true}"#.into()),
        ..FeedConfig::new(fx.url("/chat"))
    };
    let file =
        TempFile::new("two", &collection(vec![form("prices", FeedConfig::new(fx.url("/prices"))), form("chat", chat)]));

    let out =
        run(args(&["tail", "--collection", file.path(), "--feed", "chat", "--format", "ndjson", "-n", "2"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Records carry the feed's name from the collection.
    assert_eq!(events(&out), [("chat".to_owned(), "/chat 1".to_owned()), ("chat".to_owned(), "/chat 2".to_owned())]);
    let req = &fx.requests()[0];
    assert_eq!((req.method.as_str(), req.path.as_str()), ("POST", "/chat"));
    assert_eq!(req.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(req.body, br#"{"stream":true}"#);

    // The other feed, with --name for the records.
    let out = run(args(&[
        "tail",
        "--collection",
        file.path(),
        "--feed",
        "prices",
        "--format",
        "ndjson",
        "-n",
        "1",
        "--name",
        "p",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(events(&out), [("p".to_owned(), "/prices 1".to_owned())]);
    assert_eq!(fx.requests()[1].method, "GET");
}

#[tokio::test]
async fn a_single_feed_needs_no_name_and_output_flags_apply() {
    let fx = Fixture::start(by_path).await;
    let file = TempFile::new("one", &collection(vec![form("only", FeedConfig::new(fx.url("/only")))]));
    let out = run(args(&[
        "tail",
        "--collection",
        file.path(),
        "--format",
        "ndjson",
        "--filter",
        r#"data ~ "2$""#,
        "-n",
        "1",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(events(&out), [("only".to_owned(), "/only 2".to_owned())]);
}

#[tokio::test]
async fn an_unknown_or_missing_name_exits_2_listing_the_names() {
    let file = TempFile::new(
        "names",
        &collection(vec![
            form("prices", FeedConfig::new("http://127.0.0.1:9/prices")),
            form("chat", FeedConfig::new("http://127.0.0.1:9/chat")),
        ]),
    );
    let out = run(args(&["tail", "--collection", file.path(), "--feed", "Chat"])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr(&out),
        format!(
            "feedscope: --collection {}: no feed is named \"Chat\"; its feeds are \"prices\", \"chat\"\n",
            file.path()
        )
    );

    let out = run(args(&["tail", "--collection", file.path()])).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        format!(
            "feedscope: --collection {}: the collection has 2 feeds; pick one with --feed NAME: \"prices\", \"chat\"\n",
            file.path()
        )
    );
}

#[tokio::test]
async fn two_feeds_of_the_same_name_are_ambiguous() {
    let file = TempFile::new(
        "twins",
        &collection(vec![
            form("chat", FeedConfig::new("http://127.0.0.1:9/a")),
            form("chat", FeedConfig::new("http://127.0.0.1:9/b")),
        ]),
    );
    let out = run(args(&["tail", "--collection", file.path(), "--feed", "chat"])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("2 feeds are named \"chat\""), "{}", stderr(&out));
}

#[tokio::test]
async fn a_malformed_file_exits_2_with_the_parse_message() {
    let file = TempFile::new("broken", "{\"feedscope_collection\": 1, \"feeds\": [");
    let out = run(args(&["tail", "--collection", file.path()])).await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.starts_with(&format!("feedscope: --collection {}: not JSON: ", file.path())), "{err}");
    assert!(err.contains("line 1 column"), "{err}");

    let file = TempFile::new("version", r#"{"feedscope_collection": 7, "feeds": []}"#);
    let out = run(args(&["tail", "--collection", file.path()])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("collection version 7 is not supported"), "{}", stderr(&out));

    let file = TempFile::new("field", r#"{"feedscope_collection": 1, "feeds": [{"name": "x", "config": {"url": 5}}]}"#);
    let out = run(args(&["tail", "--collection", file.path()])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("feed 1 (\"x\")"), "{}", stderr(&out));

    let out = run(args(&["tail", "--collection", "/nonexistent/feedscope.json"])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read --collection /nonexistent/feedscope.json"), "{}", stderr(&out));
}

#[tokio::test]
async fn settings_the_app_would_refuse_are_refused() {
    let file = TempFile::new("ftp", &collection(vec![form("old", FeedConfig::new("ftp://example.test/feed"))]));
    let out = run(args(&["tail", "--collection", file.path()])).await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("feed \"old\"") && err.contains("http or https"), "{err}");
}

#[tokio::test]
async fn request_flags_and_a_url_are_refused_beside_a_collection() {
    let file = TempFile::new("flags", &collection(vec![form("f", FeedConfig::new("http://127.0.0.1:9/"))]));
    for extra in [
        vec!["http://127.0.0.1:9/other"],
        vec!["-H", "X-A: 1"],
        vec!["-X", "POST"],
        vec!["-d", "{}"],
        vec!["--mode", "browser"],
        vec!["--retry-ms", "5"],
        vec!["-k"],
    ] {
        let mut argv = vec!["tail", "--collection", file.path()];
        argv.extend(&extra);
        let out = run(args(&argv)).await;
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        assert!(stderr(&out).contains("cannot be used with"), "{extra:?}: {}", stderr(&out));
    }
    let out = run(args(&["tail", "http://127.0.0.1:9/", "--feed", "f"])).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), "feedscope: --feed picks a feed of --collection FILE: give the file too\n");
}
