//! The one live link to the window: records from the hub are coalesced into a [`Batch`] at most
//! every [`BATCH_INTERVAL`] (state and counters of the feeds that changed, plus their newest rows),
//! so the window never gets a message per event.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use feedscope_core::{FeedStats, Hub, Timestamp};
use serde::Serialize;

use crate::rows::Row;

pub const BATCH_INTERVAL: Duration = Duration::from_millis(50);
/// Every feed's counters (rates, countdowns, stopped feeds) are refreshed at least this often,
/// including feeds that are quiet while another one is busy.
const IDLE_REFRESH: Duration = Duration::from_millis(1000);
/// Newest rows sent per feed and batch; enough to fill a followed table without a query.
pub const TAIL_ROWS: usize = 120;

#[derive(Debug, Serialize)]
pub struct FeedUpdate {
    pub id: String,
    pub running: bool,
    pub stats: FeedStats,
    /// The newest rows of the feed, oldest first (may be fewer than arrived since the last batch).
    pub tail: Vec<Row>,
}

#[derive(Debug, Serialize)]
pub struct Batch {
    pub n: u64,
    pub feeds: Vec<FeedUpdate>,
    /// Records this batch stands for (for the window's own throughput display).
    pub records: u64,
}

/// Builds the update of one feed: its stats and newest rows, read under one lock.
pub fn feed_update(hub: &Hub, id: &str, tail: usize) -> Option<FeedUpdate> {
    let (stats, rows) = hub
        .with_history(id, |h| {
            let stats = h.stats(Timestamp::now());
            let page = h.query_tail(None, tail);
            let rows: Vec<Row> = page.rows.iter().map(|(i, r)| Row::new(*i, r)).collect();
            (stats, rows)
        })
        .ok()?;
    Some(FeedUpdate { id: id.to_owned(), running: hub.is_running(id), stats, tail: rows })
}

/// Runs until `send` fails (the window is gone) or the hub is dropped.
pub async fn run(hub: std::sync::Weak<Hub>, mut send: impl FnMut(Batch) -> bool) {
    // A watch, not a subscription: the window reads rows from the histories, so it needs only
    // to know which feeds changed, and it never holds a feed back.
    let watch = match hub.upgrade() {
        Some(h) => h.watch(),
        None => return,
    };
    let mut n = 0u64;
    // The first batch carries every feed, so the window starts complete.
    let mut first = true;
    let mut refreshed_all = tokio::time::Instant::now();
    loop {
        if !first {
            let _ = tokio::time::timeout(IDLE_REFRESH, watch.changed()).await;
        }
        let Some(hub) = hub.upgrade() else { return };
        let mut all = first;
        let mut records = 0u64;
        let mut changed: BTreeMap<Arc<str>, usize> = BTreeMap::new();
        for (feed, count) in watch.take() {
            records += count;
            changed.insert(feed, count as usize);
        }
        // A quiet second, or a second since every feed was last sent: refresh every feed (rates
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
        let feeds: Vec<FeedUpdate> = ids
            .iter()
            .filter_map(|id| {
                let arrived = changed.get(id).copied().unwrap_or(0);
                feed_update(&hub, id, arrived.min(TAIL_ROWS))
            })
            .collect();
        drop(hub);
        n += 1;
        first = false;
        if !send(Batch { n, feeds, records }) {
            return;
        }
        tokio::time::sleep(BATCH_INTERVAL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use feedscope_core::{FeedConfig, HistoryLimits};
    use std::net::{Ipv4Addr, SocketAddr};
    use std::sync::Mutex;

    /// A feed that receives nothing is still sent about once a second while another feed is busy.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn quiet_feeds_are_refreshed_while_another_is_busy() {
        let server = feedscope_server::serve(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            feedscope_server::demo::router(feedscope_server::demo::DemoOptions::default()),
        )
        .await
        .unwrap();
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
        let sink = seen.clone();
        let bridge = tokio::spawn(run(Arc::downgrade(&hub), move |b| {
            sink.lock().unwrap().push(b.feeds.iter().map(|f| f.id.clone()).collect());
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
        bridge.abort();
        hub.stop_all();
        let seen = seen.lock().unwrap();
        assert!(seen[0].contains(&"quiet".to_string()), "the first batch carries every feed");
        assert!(refreshed, "the quiet feed was refreshed after the first batch: {:?}", &seen[..seen.len().min(5)]);
    }
}
