//! The one live link to the window: what changed in the hub is coalesced into a [`LiveUpdate`] at
//! most every [`UPDATE_INTERVAL`] (the list of feeds when it changed; state, counters and newest
//! rows of the feeds that got records), so the window never gets a message per event and never
//! has to ask for the list after an action.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use feedscope_core::text::{one_line, visible};
use feedscope_core::{FeedInfo, FeedStats, Hub, Timestamp};
use serde::Serialize;
use ts_rs::TS;

use crate::rows::{Columns, Row};

pub const UPDATE_INTERVAL: Duration = Duration::from_millis(50);
/// Every feed's counters (rates, countdowns, stopped feeds) are refreshed at least this often,
/// including feeds that are quiet while another one is busy.
const IDLE_REFRESH: Duration = Duration::from_millis(1000);
/// Newest rows sent per feed and update; enough to fill a followed table without a query.
pub const TAIL_ROWS: usize = 120;

/// One feed's news in a [`LiveUpdate`].
#[derive(Debug, Serialize, TS)]
pub struct FeedChange {
    pub id: String,
    pub stats: FeedStats,
    /// Server-sent values of the stats, made safe to show ([`visible`]).
    pub shown: StatsShown,
    /// The newest rows of the feed, oldest first (may be fewer than arrived since the last update).
    pub tail: Vec<Row>,
}

#[derive(Debug, Serialize, TS)]
pub struct StatsShown {
    pub last_event_id: String,
    /// The response headers, sorted by name.
    pub headers: Vec<(String, String)>,
    /// The event types seen, most frequent first (then by name).
    pub types: Vec<TypeCount>,
}

/// An event type and how many events of it the feed received.
#[derive(Debug, Serialize, TS)]
pub struct TypeCount {
    /// As the server sent it: what a type filter takes.
    pub name: String,
    /// Made safe to show.
    pub shown: String,
    pub count: u64,
}

/// What the window's one Channel carries.
#[derive(Debug, Serialize, TS)]
pub struct LiveUpdate {
    /// Counts the updates sent, from 1.
    pub serial: u64,
    /// Every feed, in order, when the list changed (a feed added, removed, renamed, reconfigured,
    /// started or stopped; and in the bridge's first update). A window gets the list from `init`.
    pub listing: Option<Vec<FeedInfo>>,
    pub feeds: Vec<FeedChange>,
    /// Records this update stands for (for the window's own throughput display).
    pub records: u64,
}

/// Builds the change of one feed: its stats and newest rows, read under one lock.
pub fn feed_change(hub: &Hub, id: &str, tail: usize) -> Option<FeedChange> {
    let columns = if tail > 0 { Columns::of(&hub.info(id).ok()?.config) } else { Columns::default() };
    let (stats, rows) = hub
        .with_history(id, |h| {
            let stats = h.stats(Timestamp::now());
            let page = h.query_tail(None, tail);
            let rows: Vec<Row> = page.rows.iter().map(|(i, r)| Row::new(*i, r, &columns)).collect();
            (stats, rows)
        })
        .ok()?;
    let headers = stats.headers.iter().map(|(k, v)| (visible(k), visible(v))).collect();
    let mut types: Vec<TypeCount> = stats
        .types
        .iter()
        .map(|(name, &count)| TypeCount { name: name.clone(), shown: one_line(name, 80), count })
        .collect();
    types.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    let shown = StatsShown { last_event_id: visible(&stats.last_event_id), headers, types };
    Some(FeedChange { id: id.to_owned(), stats, shown, tail: rows })
}

/// Runs until `send` fails (the window is gone) or the hub is dropped.
pub async fn run(hub: std::sync::Weak<Hub>, mut send: impl FnMut(LiveUpdate) -> bool) {
    // A watch, not a subscription: the window reads rows from the histories, so it needs only
    // to know which feeds changed, and it never holds a feed back.
    let watch = match hub.upgrade() {
        Some(h) => h.watch(),
        None => return,
    };
    let mut serial = 0u64;
    // The first batch carries every feed, so the window starts complete.
    let mut first = true;
    let mut refreshed_all = tokio::time::Instant::now();
    loop {
        if !first {
            let _ = tokio::time::timeout(IDLE_REFRESH, watch.changed()).await;
        }
        let Some(hub) = hub.upgrade() else { return };
        // At least once a second: the time-based alert rules (a stalled feed).
        hub.tick(Timestamp::now());
        let mut all = first;
        let listing = (watch.take_listing() || first).then(|| hub.list());
        let mut records = 0u64;
        let mut changed: BTreeMap<Arc<str>, usize> = BTreeMap::new();
        for (feed, count) in watch.take() {
            records += count;
            changed.insert(feed, count as usize);
        }
        // A quiet second (or only the list changed), or a second since every feed was last sent: refresh every feed (rates
        // decay, countdowns, stopped feeds). Not only when all are quiet: a busy feed would
        // otherwise freeze the others' figures (a finished burst showing its last rate forever).
        if changed.is_empty() || refreshed_all.elapsed() >= IDLE_REFRESH {
            all = true;
        }
        if all {
            refreshed_all = tokio::time::Instant::now();
        }
        let ids: BTreeSet<Arc<str>> =
            if all { hub.ids().into_iter().collect() } else { changed.keys().cloned().collect() };
        let feeds: Vec<FeedChange> = ids
            .iter()
            .filter_map(|id| {
                let arrived = changed.get(id).copied().unwrap_or(0);
                feed_change(&hub, id, arrived.min(TAIL_ROWS))
            })
            .collect();
        drop(hub);
        serial += 1;
        first = false;
        if !send(LiveUpdate { serial, listing, feeds, records }) {
            return;
        }
        tokio::time::sleep(UPDATE_INTERVAL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use feedscope_core::{FeedConfig, HistoryLimits};
    use std::sync::Mutex;

    /// A feed that receives nothing is still sent about once a second while another feed is busy.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn quiet_feeds_are_refreshed_and_the_list_is_sent_when_it_changes() {
        let server = feedscope_testkit::serve_loopback(feedscope_server::demo::router(
            feedscope_server::demo::DemoOptions::default(),
        ))
        .await;
        let hub = Hub::with_runtime(tokio::runtime::Handle::current());
        hub.add(
            "busy",
            FeedConfig::new(format!("http://{}/firehose?rate=2000", server.addr)),
            HistoryLimits::default(),
        )
        .unwrap();
        hub.add("quiet", FeedConfig::new(format!("http://{}/events", server.addr)), HistoryLimits::default()).unwrap();
        hub.start("busy").unwrap();
        let seen: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
        let listings: Arc<Mutex<Vec<Vec<FeedInfo>>>> = Arc::default();
        let (sink, lists) = (seen.clone(), listings.clone());
        let bridge = tokio::spawn(run(Arc::downgrade(&hub), move |b| {
            sink.lock().unwrap().push(b.feeds.iter().map(|f| f.id.clone()).collect());
            lists.lock().unwrap().extend(b.listing);
            true
        }));
        // Bounded wait: fails only if the quiet feed is never sent again.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let refreshed = loop {
            {
                let seen = seen.lock().unwrap();
                let busy_batches = seen.iter().skip(1).filter(|ids| ids.iter().any(|i| i == "busy")).count();
                let quiet_again = seen.iter().skip(1).any(|ids| ids.iter().any(|i| i == "quiet"));
                if quiet_again && busy_batches > 0 {
                    break true;
                }
            }
            if tokio::time::Instant::now() > deadline {
                break false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        // Stopping a feed sends the list again, with the feed no longer running: the window
        // needs no list request after an action.
        let before = seen.lock().unwrap().len();
        hub.stop("busy").unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let listed = loop {
            if let Some(l) =
                listings.lock().unwrap().iter().skip(1).find(|l| l.iter().any(|f| f.id == "busy" && !f.running))
            {
                break Some(l.clone());
            }
            if tokio::time::Instant::now() > deadline {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let listed = listed.expect("an update after the stop carries the list");
        assert_eq!(listed.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), ["busy", "quiet"], "in the order added");
        assert!(seen.lock().unwrap().len() > before);
        bridge.abort();
        hub.stop_all();
        let seen = seen.lock().unwrap();
        assert!(seen[0].contains(&"quiet".to_string()), "the first batch carries every feed");
        assert!(refreshed, "the quiet feed was refreshed after the first batch: {:?}", &seen[..seen.len().min(5)]);
    }
}
