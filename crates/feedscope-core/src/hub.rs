//! The running feeds: starts and stops their connection tasks, keeps each feed's [`History`],
//! and fans records out to subscribers that either keep up or are told how many they missed.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::Notify;

use crate::feed::{self, Batch, ConfigError, Control, FeedConfig};
use crate::history::{FeedStats, History, HistoryLimits, Matcher, Page};
use crate::record::{Body, Record, Timestamp};

/// The `closed` reason of a feed the user stopped.
pub const STOPPED: &str = "stopped by the user";

/// Why a hub call failed.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("no feed named {0:?}")]
    NoSuchFeed(String),
    #[error("a feed named {0:?} already exists")]
    Exists(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

struct FeedSlot {
    id: Arc<str>,
    config: Mutex<FeedConfig>,
    history: Mutex<History>,
    /// Event seq numbers are never reused, across stops and restarts.
    seq: Arc<AtomicU64>,
    running: Mutex<Option<Control>>,
    /// Bumped (under the history lock) by every stop: batches from an older connection task that
    /// arrive afterwards are dropped, so a stop's `closed` is always the run's last record.
    generation: AtomicU64,
}

/// The feeds of one app (or CLI run). Cheap to share: wrap it in an `Arc`.
pub struct Hub {
    runtime: tokio::runtime::Handle,
    feeds: RwLock<HashMap<Arc<str>, Arc<FeedSlot>>>,
    subscribers: Mutex<Vec<Arc<SubQueue>>>,
}

impl Hub {
    /// A hub whose connection tasks run on the current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn new() -> Arc<Hub> {
        Hub::with_runtime(tokio::runtime::Handle::current())
    }

    pub fn with_runtime(runtime: tokio::runtime::Handle) -> Arc<Hub> {
        Arc::new(Hub { runtime, feeds: RwLock::default(), subscribers: Mutex::default() })
    }

    fn slot(&self, id: &str) -> Result<Arc<FeedSlot>, HubError> {
        self.feeds.read().expect("hub lock").get(id).cloned().ok_or_else(|| HubError::NoSuchFeed(id.to_owned()))
    }

    /// Adds a feed (not started). The config is validated here.
    pub fn add(&self, id: &str, config: FeedConfig, limits: HistoryLimits) -> Result<(), HubError> {
        config.validate()?;
        let mut feeds = self.feeds.write().expect("hub lock");
        if feeds.contains_key(id) {
            return Err(HubError::Exists(id.to_owned()));
        }
        let id: Arc<str> = Arc::from(id);
        feeds.insert(
            id.clone(),
            Arc::new(FeedSlot {
                id,
                config: Mutex::new(config),
                history: Mutex::new(History::new(limits)),
                seq: Arc::new(AtomicU64::new(0)),
                running: Mutex::new(None),
                generation: AtomicU64::new(0),
            }),
        );
        Ok(())
    }

    /// Replaces a feed's settings; a running feed restarts with them.
    pub fn update(self: &Arc<Self>, id: &str, config: FeedConfig, limits: HistoryLimits) -> Result<(), HubError> {
        config.validate()?;
        let slot = self.slot(id)?;
        *slot.config.lock().expect("feed lock") = config;
        slot.history.lock().expect("feed lock").set_limits(limits);
        if self.is_running(id) {
            self.stop(id)?;
            self.start(id)?;
        }
        Ok(())
    }

    /// Stops and forgets a feed.
    pub fn remove(&self, id: &str) -> Result<(), HubError> {
        let slot =
            self.feeds.write().expect("hub lock").remove(id).ok_or_else(|| HubError::NoSuchFeed(id.to_owned()))?;
        self.halt(&slot, None);
        Ok(())
    }

    /// Cancels the feed's task, if any; with `reason`, records that it closed.
    fn halt(&self, slot: &FeedSlot, reason: Option<&str>) {
        let Some(control) = slot.running.lock().expect("feed lock").take() else { return };
        control.cancel.cancel();
        let mut history = slot.history.lock().expect("feed lock");
        slot.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(reason) = reason {
            let closed = Body::Closed { reason: reason.to_owned(), fatal: false };
            self.append(&mut history, slot, vec![Record::new(slot.id.clone(), Timestamp::now(), closed)], 0);
        }
    }

    /// The feed ids, in no particular order.
    pub fn ids(&self) -> Vec<Arc<str>> {
        self.feeds.read().expect("hub lock").keys().cloned().collect()
    }

    pub fn config(&self, id: &str) -> Result<FeedConfig, HubError> {
        Ok(self.slot(id)?.config.lock().expect("feed lock").clone())
    }

    pub fn is_running(&self, id: &str) -> bool {
        self.slot(id).map(|s| s.running.lock().expect("feed lock").is_some()).unwrap_or(false)
    }

    /// Connects a feed (no-op if it is running).
    pub fn start(self: &Arc<Self>, id: &str) -> Result<(), HubError> {
        let slot = self.slot(id)?;
        let mut running = slot.running.lock().expect("feed lock");
        if running.is_some() {
            return Ok(());
        }
        let control = Control::default();
        *running = Some(control.clone());
        drop(running);
        let config = slot.config.lock().expect("feed lock").clone();
        let generation = slot.generation.load(Ordering::SeqCst);
        let hub = Arc::downgrade(self);
        let task_slot = slot.clone();
        let my_control = control.clone();
        self.runtime.spawn(async move {
            let emit_slot = task_slot.clone();
            let emit_hub = hub.clone();
            feed::run(task_slot.id.clone(), config, task_slot.seq.clone(), control, move |batch| {
                if let Some(hub) = emit_hub.upgrade() {
                    hub.ingest(&emit_slot, generation, batch);
                }
            })
            .await;
            // Only clear our own control: a stop + start may already have put a new one there.
            let mut running = task_slot.running.lock().expect("feed lock");
            if running.as_ref().is_some_and(|c| c.cancel == my_control.cancel) {
                *running = None;
            }
        });
        Ok(())
    }

    /// Disconnects a feed: its connection and any pending reconnection end at once.
    pub fn stop(&self, id: &str) -> Result<(), HubError> {
        let slot = self.slot(id)?;
        self.halt(&slot, Some(STOPPED));
        Ok(())
    }

    /// Drops the current connection and reconnects at once (or cuts a pending delay short).
    pub fn restart(&self, id: &str) -> Result<(), HubError> {
        let slot = self.slot(id)?;
        if let Some(c) = slot.running.lock().expect("feed lock").as_ref() {
            c.restart.notify_one();
        }
        Ok(())
    }

    /// Stops every feed.
    pub fn stop_all(&self) {
        for slot in self.feeds.read().expect("hub lock").values() {
            self.halt(slot, Some(STOPPED));
        }
    }

    /// Takes a batch from the connection task of `generation`, unless the feed was stopped since.
    fn ingest(&self, slot: &FeedSlot, generation: u64, batch: Batch) {
        let mut history = slot.history.lock().expect("feed lock");
        if slot.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        self.append(&mut history, slot, batch.records, batch.bytes);
    }

    /// Appends records to the history and hands them to the subscribers. Called with the history
    /// lock held, so subscribers see every feed's records in history order.
    fn append(&self, history: &mut History, slot: &FeedSlot, records: Vec<Record>, bytes: u64) {
        history.add_bytes(bytes);
        if records.is_empty() {
            return;
        }
        let records: Vec<Arc<Record>> = records.into_iter().map(Arc::new).collect();
        for r in &records {
            history.push(r.clone());
        }
        let mut subs = self.subscribers.lock().expect("hub lock");
        subs.retain(|q| Arc::strong_count(q) > 1);
        for q in subs.iter() {
            q.push(&slot.id, &records);
        }
    }

    /// Records from now on, of one feed or all. `capacity` bounds the queue: a subscriber that
    /// falls further behind gets [`SubscriptionItem::Missed`] instead of the records it lost.
    pub fn subscribe(&self, feed: Option<&str>, capacity: usize) -> Subscription {
        let q = Arc::new(SubQueue {
            feed: feed.map(Arc::from),
            capacity: capacity.max(1),
            items: Mutex::new(VecDeque::new()),
            notify: Notify::new(),
        });
        self.subscribers.lock().expect("hub lock").push(q.clone());
        Subscription { queue: q }
    }

    pub fn stats(&self, id: &str) -> Result<FeedStats, HubError> {
        Ok(self.slot(id)?.history.lock().expect("feed lock").stats(Timestamp::now()))
    }

    /// A page of the feed's retained records that match.
    pub fn query(&self, id: &str, matcher: Option<&Matcher>, offset: usize, limit: usize) -> Result<Page, HubError> {
        Ok(self.slot(id)?.history.lock().expect("feed lock").query(matcher, offset, limit))
    }

    /// The newest `limit` matching records of the feed (see [`History::query_tail`]).
    pub fn query_tail(&self, id: &str, matcher: Option<&Matcher>, limit: usize) -> Result<Page, HubError> {
        Ok(self.slot(id)?.history.lock().expect("feed lock").query_tail(matcher, limit))
    }

    /// Runs `f` on the feed's history under its lock: keep it short (ingestion waits).
    pub fn with_history<R>(&self, id: &str, f: impl FnOnce(&History) -> R) -> Result<R, HubError> {
        Ok(f(&self.slot(id)?.history.lock().expect("feed lock")))
    }

    /// The feed's retained records, oldest first (a snapshot: the `Arc`s are shared, not copied).
    pub fn snapshot(&self, id: &str) -> Result<Vec<Arc<Record>>, HubError> {
        self.with_history(id, |h| h.iter().cloned().collect())
    }

    /// Forgets the feed's retained records.
    pub fn clear(&self, id: &str) -> Result<(), HubError> {
        self.slot(id)?.history.lock().expect("feed lock").clear();
        Ok(())
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.stop_all();
    }
}

struct SubQueue {
    feed: Option<Arc<str>>,
    capacity: usize,
    items: Mutex<VecDeque<SubscriptionItem>>,
    notify: Notify,
}

impl SubQueue {
    fn push(&self, feed: &Arc<str>, records: &[Arc<Record>]) {
        if self.feed.as_ref().is_some_and(|f| f != feed) {
            return;
        }
        let mut items = self.items.lock().expect("subscription lock");
        for r in records {
            if items.len() < self.capacity {
                items.push_back(SubscriptionItem::Record(r.clone()));
                continue;
            }
            // Past capacity the queue holds only `Missed` markers, at most one per feed, so it
            // stays bounded however many feeds overflow it.
            let capacity = self.capacity;
            let marker = items.range_mut(capacity..).find_map(|i| match i {
                SubscriptionItem::Missed { feed: f, count } if f == feed => Some(count),
                _ => None,
            });
            match marker {
                Some(count) => *count += 1,
                None => items.push_back(SubscriptionItem::Missed { feed: feed.clone(), count: 1 }),
            }
        }
        drop(items);
        self.notify.notify_one();
    }
}

/// What a subscription yields, in order.
#[derive(Debug, Clone)]
pub enum SubscriptionItem {
    Record(Arc<Record>),
    /// `count` records of `feed` were dropped here because the subscriber fell behind; they are
    /// still in the feed's history.
    Missed {
        feed: Arc<str>,
        count: u64,
    },
}

/// A live view of the hub's records; dropping it unsubscribes.
pub struct Subscription {
    queue: Arc<SubQueue>,
}

impl Subscription {
    /// The next item, waiting for one.
    pub async fn recv(&self) -> SubscriptionItem {
        loop {
            if let Some(item) = self.queue.items.lock().expect("subscription lock").pop_front() {
                return item;
            }
            self.queue.notify.notified().await;
        }
    }

    /// Everything queued now, at most `max` items, without waiting.
    pub fn drain(&self, max: usize) -> Vec<SubscriptionItem> {
        let mut items = self.queue.items.lock().expect("subscription lock");
        let n = items.len().min(max);
        items.drain(..n).collect()
    }

    /// Waits until at least one item is queued.
    pub async fn ready(&self) {
        loop {
            if !self.queue.items.lock().expect("subscription lock").is_empty() {
                return;
            }
            self.queue.notify.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(feed: &Arc<str>) -> Arc<Record> {
        Arc::new(Record::new(feed.clone(), Timestamp(0), Body::Retry { ms: 1 }))
    }

    #[test]
    fn overflow_is_counted_per_feed_and_stays_bounded() {
        let q = SubQueue { feed: None, capacity: 2, items: Mutex::default(), notify: Notify::new() };
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
        for _ in 0..1000 {
            q.push(&a, &[rec(&a)]);
            q.push(&b, &[rec(&b), rec(&b)]);
        }
        let items = q.items.lock().unwrap();
        assert_eq!(items.len(), 4, "two records, then one marker per feed");
        let missed: Vec<(String, u64)> = items
            .iter()
            .filter_map(|i| match i {
                SubscriptionItem::Missed { feed, count } => Some((feed.to_string(), *count)),
                SubscriptionItem::Record(_) => None,
            })
            .collect();
        assert_eq!(missed, [("b".to_string(), 1999), ("a".to_string(), 999)]);
    }
}
