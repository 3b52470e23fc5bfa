//! The merged timeline (every feed's retained records in the order they arrived at the hub):
//! records pushed into several feeds in a known interleaving come back in that order, in head
//! pages, tail pages and at every offset; filters (text, regular expression, query language)
//! apply across feeds and keep up with what arrives; eviction by a history cap, a cap lowered, a
//! feed added, removed, cleared or added again; and feeds fed by real servers on 127.0.0.1.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use feedscope_core::hub::MergedPage;
use feedscope_core::{Body, FeedConfig, HistoryLimits, Hub, Kind, Matcher, Mode, Query, Record, Timestamp};
use feedscope_testkit::{cfg, Conn, Fixture, Reply, Step, HANG_GUARD};

/// A row as the tests compare it: feed, timeline index, and what the record says.
type Row = (String, u64, String);

fn said(r: &Record) -> String {
    match &r.body {
        Body::Event { event_type, data, .. } => format!("{event_type}:{data}"),
        Body::Comment { text } => format!("comment:{text}"),
        other => other.kind().as_str().to_owned(),
    }
}

fn rows(page: &MergedPage) -> Vec<Row> {
    page.rows.iter().map(|(f, i, r)| (f.to_string(), *i, said(r))).collect()
}

fn ev(ty: &str, data: &str) -> Record {
    let body = Body::Event { seq: 0, event_type: Arc::from(ty), id: Arc::from(""), data: data.into() };
    // Every record has the same time: ties do not decide the order.
    Record::new(Arc::from(""), Timestamp(1_000), body)
}

fn comment(text: &str) -> Record {
    Record::new(Arc::from(""), Timestamp(1_000), Body::Comment { text: text.into() })
}

fn idle_feed() -> FeedConfig {
    FeedConfig::new("http://127.0.0.1:9/never-started")
}

fn hub_with(feeds: &[&str], max_records: usize) -> Arc<Hub> {
    let hub = Hub::new();
    for f in feeds {
        hub.add(f, idle_feed(), HistoryLimits { max_records, max_bytes: usize::MAX }).unwrap();
    }
    hub
}

/// What the tests expect: every record pushed, in arrival order, with whether it is retained.
#[derive(Default)]
struct Model {
    records: Vec<(String, u64, Record, bool)>,
    next: HashMap<String, u64>,
}

impl Model {
    /// Pushes `records` into `feed` of `hub` (one emission) and notes them.
    fn push(&mut self, hub: &Hub, feed: &str, records: Vec<Record>) {
        hub.inject(feed, records.clone()).unwrap();
        for r in records {
            let next = self.next.entry(feed.to_owned()).or_default();
            self.records.push((feed.to_owned(), *next, Record { feed: Arc::from(feed), ..r }, true));
            *next += 1;
        }
    }

    /// Keeps only the newest `cap` records of `feed`.
    fn evict(&mut self, feed: &str, cap: usize) {
        let alive = self.records.iter().filter(|(f, _, _, a)| f == feed && *a).count();
        let mut drop = alive.saturating_sub(cap);
        for (f, _, _, a) in self.records.iter_mut() {
            if drop > 0 && f == feed && *a {
                *a = false;
                drop -= 1;
            }
        }
    }

    /// `feed` cleared, or removed (a feed added again under its id counts from 0).
    fn forget(&mut self, feed: &str, removed: bool) {
        self.evict(feed, 0);
        if removed {
            self.next.remove(feed);
        }
    }

    fn expected(&self, matcher: Option<&Matcher>) -> Vec<Row> {
        self.records
            .iter()
            .filter(|(_, _, r, alive)| *alive && matcher.is_none_or(|m| m.matches(r)))
            .map(|(f, i, r, _)| (f.clone(), *i, said(r)))
            .collect()
    }
}

/// Everything the merged timeline answers, checked against `want`: the whole list, head pages of
/// every size at every offset (a few sizes), offsets past the end, limit 0, tail pages, each row's
/// position, and rows that are the feeds' own records at the indices they carry.
fn check(hub: &Hub, matcher: Option<&Matcher>, want: &[Row]) {
    let n = want.len();
    let all = hub.query_merged(matcher, 0, n + 10);
    assert_eq!((all.total, all.offset), (n, 0));
    assert_eq!(rows(&all), want);
    for (f, i, r) in &all.rows {
        let own = hub.with_history(f, |h| h.get(*i).cloned()).unwrap().expect("retained");
        assert!(Arc::ptr_eq(&own, r), "row {f}/{i} is the feed's own record");
        assert_eq!(&r.feed, f);
    }
    for size in [1, 3, 7] {
        let mut joined = Vec::new();
        for offset in (0..n).step_by(size) {
            let page = hub.query_merged(matcher, offset, size);
            assert_eq!((page.total, page.offset), (n, offset));
            assert_eq!(rows(&page), want[offset..n.min(offset + size)], "head page of {size} at {offset}");
            joined.extend(rows(&page));
        }
        assert_eq!(joined, want);
    }
    for offset in [n, n + 1, n + 1000] {
        let page = hub.query_merged(matcher, offset, 10);
        assert_eq!((page.total, page.offset, page.rows.len()), (n, offset, 0), "offset {offset}, past the end");
    }
    let page = hub.query_merged(matcher, 0, 0);
    assert_eq!((page.total, page.rows.len()), (n, 0), "limit 0");
    for limit in [0, 1, 5, n, n + 5] {
        let tail = hub.query_merged_tail(matcher, limit);
        let k = limit.min(n);
        assert_eq!((tail.total, tail.offset), (n, n - k), "tail of {limit}");
        assert_eq!(rows(&tail), want[n - k..], "tail of {limit}");
    }
    for (at, (f, i, _)) in want.iter().enumerate() {
        assert_eq!(hub.merged_position(f, *i, matcher), Some(at), "position of {f}/{i}");
    }
}

/// Feeds picked in an irregular but fixed order, now and then several records in one emission.
fn interleave(model: &mut Model, hub: &Hub, feeds: &[&str], n: usize, make: impl Fn(usize) -> Record) {
    let mut x = 7u64;
    let mut i = 0;
    while i < n {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let feed = feeds[(x >> 33) as usize % feeds.len()];
        let batch = if (x >> 20) % 5 == 0 { 3.min(n - i) } else { 1 };
        model.push(hub, feed, (i..i + batch).map(&make).collect());
        i += batch;
    }
}

fn shaped(i: usize) -> Record {
    match i % 4 {
        0 => ev("tick", &format!("tick {i}")),
        1 => ev("price", &format!("{{\"p\":{i}}}")),
        2 => comment(&format!("heartbeat {i}")),
        _ => ev("chat", &format!("hello {i}")),
    }
}

fn feeds_in(rows: &[Row]) -> usize {
    rows.iter().map(|(f, _, _)| f).collect::<std::collections::BTreeSet<_>>().len()
}

fn compile(q: Query) -> Matcher {
    q.compile().unwrap()
}

fn text(t: &str) -> Query {
    Query { text: t.into(), ..Query::default() }
}

fn lang(t: &str) -> Query {
    Query { text: t.into(), query: true, ..Query::default() }
}

#[tokio::test]
async fn records_come_back_in_arrival_order_across_feeds() {
    let hub = hub_with(&["a", "b", "c"], 1000);
    let mut model = Model::default();
    interleave(&mut model, &hub, &["a", "b", "c"], 60, shaped);
    let want = model.expected(None);
    let per_feed = |f: &str| want.iter().filter(|(g, _, _)| g == f).count();
    assert!(per_feed("a") > 5 && per_feed("b") > 5 && per_feed("c") > 5, "every feed took part");
    assert_ne!(want[..20].iter().filter(|(f, _, _)| f == "a").count(), 20, "interleaved");
    check(&hub, None, &want);
    assert_eq!(hub.query_merged(None, 0, 10).evicted, 0);
    assert_eq!(hub.merged_position("a", 1000, None), None, "not a retained index");
    assert_eq!(hub.merged_position("nope", 0, None), None);
    let snapshot: Vec<String> = hub.merged_snapshot().iter().map(|r| said(r)).collect();
    assert_eq!(snapshot, want.iter().map(|(_, _, s)| s.clone()).collect::<Vec<_>>());
    // Each feed's own query still answers as before, with the same indices.
    let page = hub.query("b", None, 0, 1000).unwrap();
    let b: Vec<Row> = page.rows.iter().map(|(i, r)| ("b".to_owned(), *i, said(r))).collect();
    assert_eq!(b, want.iter().filter(|(f, _, _)| f == "b").cloned().collect::<Vec<_>>());
}

#[tokio::test]
async fn an_empty_hub_and_empty_feeds_give_empty_pages() {
    let hub = Hub::new();
    for page in [hub.query_merged(None, 0, 10), hub.query_merged_tail(None, 10)] {
        assert_eq!((page.total, page.offset, page.rows.len(), page.evicted), (0, 0, 0, 0));
    }
    let m = compile(text("x"));
    assert_eq!(hub.query_merged_tail(Some(&m), 10).total, 0);
    assert!(hub.merged_snapshot().is_empty());
    let hub = hub_with(&["a", "b"], 100);
    check(&hub, None, &[]);
    check(&hub, Some(&m), &[]);
}

#[tokio::test]
async fn filters_apply_across_feeds_and_keep_up_with_new_records() {
    let hub = hub_with(&["a", "b", "c"], 1000);
    let mut model = Model::default();
    interleave(&mut model, &hub, &["a", "b", "c"], 80, shaped);
    let queries = [
        (text("hello"), 20),
        (text("heartbeat 1"), 3), // 10, 14 and 18
        (Query { text: r"^hello \d$".into(), regex: true, ..Query::default() }, 2),
        (lang(r#"type == "price" && data.p > 40"#), 10),
        (Query { events_only: true, ..Query::default() }, 60),
        (Query { types: vec!["tick".into(), "chat".into()], ..Query::default() }, 40),
    ];
    for (q, count) in &queries {
        let m = compile(q.clone());
        let want = model.expected(Some(&m));
        assert_eq!(want.len(), *count, "{q:?}");
        if want.len() > 10 {
            assert!(feeds_in(&want) == 3, "{q:?}: matches in every feed");
        }
        check(&hub, Some(&m), &want);
    }
    // A record that does not match has no position among the matches.
    let m = compile(text("hello"));
    let (f, i, _) = &model.expected(None)[0];
    assert_eq!(hub.merged_position(f, *i, Some(&m)), None, "tick 0 does not say hello");

    // The same filter compiled again finds what arrived since, and only that is looked at anew.
    let m = compile(lang(r#"type == "price" && data.p > 40"#));
    check(&hub, Some(&m), &model.expected(Some(&m)));
    interleave(&mut model, &hub, &["c", "a", "b"], 40, |i| shaped(i + 80));
    let again = compile(lang(r#"type == "price" && data.p > 40"#));
    let want = model.expected(Some(&again));
    assert_eq!(want.len(), 20);
    check(&hub, Some(&again), &want);
    // Another filter, then the first again.
    let other = compile(text("chat"));
    check(&hub, Some(&other), &model.expected(Some(&other)));
    check(&hub, Some(&m), &model.expected(Some(&m)));
    check(&hub, None, &model.expected(None));
}

#[tokio::test]
async fn long_histories_are_scanned_a_chunk_at_a_time_and_still_merge_exactly() {
    let hub = hub_with(&["a", "b"], 100_000);
    let mut model = Model::default();
    for round in 0..10 {
        for (f, n) in [("a", 1000), ("b", 500)] {
            let base = round * 1500 + if f == "a" { 0 } else { 1000 };
            model.push(&hub, f, (base..base + n).map(shaped).collect());
        }
    }
    let m = compile(lang(r#"type == "price" || type == "chat""#));
    let want = model.expected(Some(&m));
    assert_eq!(want.len(), 7500);
    let page = hub.query_merged(Some(&m), 4999, 3);
    assert_eq!(rows(&page), want[4999..5002]);
    check(&hub, Some(&m), &want);
    check(&hub, None, &model.expected(None));
}

#[tokio::test]
async fn records_evicted_by_a_history_cap_leave_the_merged_timeline() {
    let hub = hub_with(&["a", "b", "c"], 10);
    let mut model = Model::default();
    let hello = compile(text("hello"));
    interleave(&mut model, &hub, &["a", "b", "c"], 24, shaped);
    check(&hub, Some(&hello), &model.expected(Some(&hello)));
    interleave(&mut model, &hub, &["a", "b", "b", "c"], 60, |i| shaped(i + 24));
    for f in ["a", "b", "c"] {
        model.evict(f, 10);
    }
    let evicted: u64 = ["a", "b", "c"].iter().map(|f| hub.stats(f).unwrap().evicted).sum();
    assert_eq!(evicted, 84 - 30);
    assert_eq!(hub.query_merged(None, 0, 1).evicted, evicted);
    assert_eq!(hub.query_merged_tail(Some(&hello), 1).evicted, evicted);
    let want = model.expected(None);
    assert_eq!(want.len(), 30);
    check(&hub, None, &want);
    check(&hub, Some(&hello), &model.expected(Some(&hello)));
    let (f, i, _) = model.records.iter().find(|(_, _, _, alive)| !alive).map(|(f, i, r, _)| (f, i, r)).unwrap();
    assert_eq!(hub.merged_position(f, *i, None), None, "an evicted record has no position");

    // A lower cap evicts at once.
    hub.update("b", idle_feed(), HistoryLimits { max_records: 3, max_bytes: usize::MAX }).unwrap();
    model.evict("b", 3);
    assert_eq!(hub.query_merged(None, 0, 1).evicted, evicted + 7);
    check(&hub, None, &model.expected(None));
    check(&hub, Some(&hello), &model.expected(Some(&hello)));
    interleave(&mut model, &hub, &["b", "a"], 9, |i| shaped(i + 84));
    for f in ["a", "b", "c"] {
        model.evict(f, if f == "b" { 3 } else { 10 });
    }
    check(&hub, Some(&hello), &model.expected(Some(&hello)));
    check(&hub, None, &model.expected(None));
}

#[tokio::test]
async fn feeds_added_removed_and_cleared_midway() {
    let hub = hub_with(&["a", "b"], 1000);
    let mut model = Model::default();
    // One filter throughout: its cached matches are brought up to date at each step, never made anew.
    let chat = compile(lang(r#"type == "chat" || data ~ "heartbeat""#));
    let verify = |model: &Model| {
        check(&hub, None, &model.expected(None));
        check(&hub, Some(&chat), &model.expected(Some(&chat)));
    };
    interleave(&mut model, &hub, &["a", "b"], 20, shaped);
    verify(&model);

    hub.add("c", idle_feed(), HistoryLimits::default()).unwrap();
    verify(&model);
    interleave(&mut model, &hub, &["c", "a", "b"], 30, |i| shaped(i + 20));
    verify(&model);

    hub.remove("b").unwrap();
    model.forget("b", true);
    verify(&model);

    hub.clear("a").unwrap();
    model.forget("a", false);
    verify(&model);
    interleave(&mut model, &hub, &["a", "c"], 12, |i| shaped(i + 50));
    assert!(model.expected(None).iter().any(|(f, i, _)| f == "a" && *i > 20), "a's indices go on after a clear");
    verify(&model);

    // Added again under the same id: a new feed, whose timeline starts at 0.
    hub.add("b", idle_feed(), HistoryLimits::default()).unwrap();
    interleave(&mut model, &hub, &["b", "a", "c"], 15, |i| shaped(i + 62));
    let want = model.expected(None);
    assert_eq!(want.iter().find(|(f, _, _)| f == "b").map(|r| r.1), Some(0));
    verify(&model);
    let snapshot: Vec<String> = hub.merged_snapshot().iter().map(|r| said(r)).collect();
    assert_eq!(snapshot, want.iter().map(|(_, _, s)| s.clone()).collect::<Vec<_>>());
}

/// Waits until `done` holds, woken by the hub's watch (fails after [`HANG_GUARD`]).
async fn until(hub: &Hub, mut done: impl FnMut() -> bool) {
    let watch = hub.watch();
    tokio::time::timeout(HANG_GUARD, async {
        while !done() {
            // The watch may have missed a change before it existed: look again now and then.
            let _ = tokio::time::timeout(Duration::from_millis(50), watch.changed()).await;
            watch.take();
            watch.take_listing();
        }
    })
    .await
    .expect("the feeds got there");
}

fn events_of(hub: &Hub, feed: &str) -> u64 {
    hub.stats(feed).unwrap().events
}

/// Events sent over HTTP to three feeds, one at a time in a known interleaving (each one waited for
/// in the hub before the next is sent): the merged timeline has them in that order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_sent_over_loopback_in_a_known_order_come_back_in_that_order() {
    let feeds = ["a", "b", "c"];
    let hub = Hub::new();
    let mut fixtures = Vec::new();
    for f in feeds {
        let fx = Fixture::interactive(|_, _| Reply::sse_steps(vec![Step::Send(b": hello\n\n".to_vec())])).await;
        hub.add(f, cfg(fx.url("/"), Mode::Browser), HistoryLimits::default()).unwrap();
        hub.start(f).unwrap();
        fixtures.push(fx);
    }
    let mut conns: Vec<Conn> = Vec::new();
    for fx in &fixtures {
        conns.push(fx.next().await);
    }
    until(&hub, || feeds.iter().all(|f| hub.stats(f).unwrap().comments == 1)).await;
    let order = [0, 1, 1, 2, 0, 2, 2, 1, 0, 0, 1, 2, 1, 0, 2, 0, 1, 1, 1, 2];
    let mut sent = HashMap::new();
    let mut want = Vec::new();
    for (n, &k) in order.iter().enumerate() {
        conns[k].send(&format!("event: step\ndata: {n}\n\n"));
        let count = sent.entry(k).or_insert(0u64);
        *count += 1;
        let count = *count;
        until(&hub, || events_of(&hub, feeds[k]) == count).await;
        want.push((feeds[k].to_owned(), format!("step:{n}")));
    }
    let steps = compile(Query { types: vec!["step".into()], ..Query::default() });
    let got: Vec<(String, String)> =
        hub.query_merged(Some(&steps), 0, 100).rows.iter().map(|(f, _, r)| (f.to_string(), said(r))).collect();
    assert_eq!(got, want);
    let tail: Vec<(String, String)> =
        hub.query_merged_tail(Some(&steps), 5).rows.iter().map(|(f, _, r)| (f.to_string(), said(r))).collect();
    assert_eq!(tail, want[want.len() - 5..]);
    // Unfiltered, the steps are in the same order among the connection records and comments.
    let all = hub.query_merged(None, 0, 1000);
    let got: Vec<(String, String)> = all
        .rows
        .iter()
        .filter(|(_, _, r)| matches!(&r.body, Body::Event { event_type, .. } if &**event_type == "step"))
        .map(|(f, _, r)| (f.to_string(), said(r)))
        .collect();
    assert_eq!(got, want);
    hub.stop_all();
}

/// Feeds streaming at their own pace from several servers on 127.0.0.1: pages read while they
/// run are in arrival order, and once they are stopped the merged timeline is exactly the union
/// of their histories, each record once, each feed's records in its own order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_feeds_merge_into_the_union_of_their_histories() {
    let feeds = ["f0", "f1", "f2", "f3", "f4"];
    let hub = Hub::new();
    let mut fixtures = Vec::new();
    for (k, f) in feeds.iter().enumerate() {
        let fx = Fixture::start(move |_, req| {
            let first = feedscope_testkit::diag_servers::resume_after(req) + 1;
            let mut steps = Vec::new();
            for id in first..first + 2_000 {
                let (ty, data) =
                    if id % 3 == 0 { ("price", format!("{{\"p\":{}}}", id % 200)) } else { ("tick", format!("{id}")) };
                steps.push(Step::Send(format!("id: {id}\nevent: {ty}\ndata: {data}\n\n").into_bytes()));
                if id % 5 == 0 {
                    steps.push(Step::Send(b": heartbeat\n\n".to_vec()));
                }
                steps.push(Step::Wait(Duration::from_millis(1 + k as u64)));
            }
            Reply::sse_steps(steps)
        })
        .await;
        hub.add(f, cfg(fx.url("/"), Mode::Persistent), HistoryLimits::default()).unwrap();
        fixtures.push(fx);
    }
    for f in feeds {
        hub.start(f).unwrap();
    }
    let price = compile(lang(r#"type == "price" && data.p >= 100"#));
    let tick = compile(text("1"));
    let stamp = |(f, i, _): &(Arc<str>, u64, Arc<Record>)| hub.with_history(f, |h| h.arrival(*i)).unwrap();
    let in_order = |page: &MergedPage, what: &str| {
        let stamps: Vec<Option<u64>> = page.rows.iter().map(stamp).collect();
        // Nothing is evicted here (the cap is far away): every row has its stamp.
        assert!(stamps.iter().all(Option::is_some), "{what}");
        assert!(stamps.windows(2).all(|w| w[0] < w[1]), "{what}: rows in arrival order");
    };
    // Pages read while the feeds run.
    let mut rounds = 0;
    until(&hub, || {
        rounds += 1;
        for (m, name) in [(None, "all"), (Some(&price), "price"), (Some(&tick), "tick")] {
            let tail = hub.query_merged_tail(m, 50);
            in_order(&tail, name);
            assert_eq!(tail.offset, tail.total - tail.rows.len());
            let head = hub.query_merged(m, tail.total / 2, 50);
            in_order(&head, name);
            if let Some((f, i, _)) = head.rows.first() {
                // Nothing is evicted, and what arrives since comes after it.
                assert_eq!(hub.merged_position(f, *i, m), Some(tail.total / 2), "{name}");
            }
        }
        feeds.iter().all(|f| events_of(&hub, f) >= 150)
    })
    .await;
    assert!(rounds > 1);
    hub.stop_all();
    until(&hub, || feeds.iter().all(|f| !hub.is_running(f))).await;

    // The union of the histories, each record once, in arrival order.
    let merged = hub.query_merged(None, 0, usize::MAX);
    let snapshot = hub.merged_snapshot();
    assert_eq!(merged.rows.len(), snapshot.len());
    assert!(merged.rows.iter().zip(&snapshot).all(|((_, _, a), b)| Arc::ptr_eq(a, b)), "the snapshot is the page");
    in_order(&merged, "stopped");
    let mut total = 0;
    for f in feeds {
        let own = hub.snapshot(f).unwrap();
        let mine: Vec<&Arc<Record>> = merged.rows.iter().filter(|(g, _, _)| &**g == f).map(|(_, _, r)| r).collect();
        assert_eq!(mine.len(), own.len(), "{f}");
        assert!(own.iter().zip(mine).all(|(a, b)| Arc::ptr_eq(a, b)), "{f}: its records, once each, in its order");
        assert!(own.iter().any(|r| r.body.kind() == Kind::Closed));
        total += own.len();
    }
    assert_eq!((merged.total, total), (snapshot.len(), snapshot.len()));
    for m in [&price, &tick] {
        let page = hub.query_merged(Some(m), 0, usize::MAX);
        let got: Vec<&Arc<Record>> = page.rows.iter().map(|(_, _, r)| r).collect();
        let want: Vec<&Arc<Record>> = snapshot.iter().filter(|r| m.matches(r)).collect();
        assert!(!want.is_empty());
        assert_eq!(got.len(), want.len());
        assert!(got.iter().zip(&want).all(|(a, b)| Arc::ptr_eq(a, b)), "filtered: the snapshot's matches");
    }
}
