//! The running feeds: starts and stops their connection tasks, keeps each feed's [`History`],
//! and fans records out. Two kinds of consumer, and neither loses anything:
//! - a [`Subscription`] gets every record, in order. Its queue is bounded; when it is full, the
//!   feeds it watches stop reading their sockets until it catches up (TCP backpressure), so a
//!   log writer slower than the network slows the server down instead of skipping records.
//! - a [`Watch`] only learns which feeds changed and by how many records, and reads what it
//!   shows from the history (the app's window). It never slows a feed down.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

use tokio::sync::Notify;

use crate::alerts::AlertRule;
use crate::feed::{self, ConfigError, Control, Emission, FeedConfig, Transport, STOPPED};
use crate::history::{FeedStats, History, HistoryLimits, Matcher, Page, Query};
use crate::raw::{self, CapError, RawLog, RawStats, Row};
use crate::record::{Body, Cause, Record, Timestamp};

/// A feed as [`Hub::list`] gives it: what the user set, and whether it runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FeedInfo {
    pub id: String,
    pub name: String,
    pub config: FeedConfig,
    /// Records the history keeps ([`HistoryLimits::max_records`]).
    pub history_cap: usize,
    /// MiB of raw bytes kept for the raw view ([`Hub::set_raw_cap`]); 0 keeps none.
    pub raw_cap_mib: u32,
    /// A connection task exists (connecting, open, or waiting to reconnect).
    pub running: bool,
    /// Started and not stopped by the user since (stays true after the feed closed by itself).
    pub wanted: bool,
}

/// A page of a feed's raw view ([`Hub::raw_page`]): `total` rows, those from `offset`.
#[derive(Debug, Clone)]
pub struct RawPage {
    pub total: usize,
    pub offset: usize,
    pub rows: Vec<Row>,
    pub stats: RawStats,
}

/// A page of the merged timeline ([`Hub::query_merged`]): every feed's retained records in the
/// order they arrived at the hub, `total` of them matching, `rows` those from `offset`.
#[derive(Debug, Clone)]
pub struct MergedPage {
    pub total: usize,
    pub offset: usize,
    /// Each row with its feed and its index in that feed's timeline (what [`Hub::query`]'s rows
    /// carry: the per-feed calls take it), oldest first.
    pub rows: Vec<(Arc<str>, u64, Arc<Record>)>,
    /// Records the feeds' history caps evicted so far, over every feed ([`FeedStats::evicted`]):
    /// they left the merged timeline too.
    pub evicted: u64,
}

/// Why a hub call failed.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("no feed named {0:?}")]
    NoSuchFeed(String),
    #[error("a feed named {0:?} already exists")]
    Exists(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    RawCap(#[from] CapError),
    /// [`Hub::send`] to a feed that is not a WebSocket.
    #[error("feed {id:?} is not a WebSocket (its transport is {transport}): only a WebSocket can send messages")]
    NotWebSocket { id: String, transport: &'static str },
    /// [`Hub::send`] to a WebSocket feed that is not open (stopped, connecting, or waiting to
    /// reconnect).
    #[error("the WebSocket of feed {0:?} is not open: the message was not sent")]
    NotOpen(String),
}

struct FeedSlot {
    id: Arc<str>,
    /// Position in [`Hub::list`]: feeds are listed in the order they were added.
    order: u64,
    name: Mutex<String>,
    config: Mutex<FeedConfig>,
    limits: Mutex<HistoryLimits>,
    /// Started by its owner and not stopped since (a feed that closed by itself stays wanted: an
    /// app reconnects it at its next start).
    wanted: AtomicBool,
    history: Mutex<History>,
    /// Records pushed to the history so far: the timeline index of the next. Only written under
    /// the history lock.
    pushed: AtomicU64,
    /// The raw bytes. Locked after the history when both are (ingestion); alone by readers.
    raw: Mutex<RawLog>,
    /// Event seq numbers are never reused, across stops and restarts.
    seq: Arc<AtomicU64>,
    running: Mutex<Option<Control>>,
    /// Bumped (under the history lock) by every stop: emissions from an older connection task that
    /// arrive afterwards are dropped, so a stop's `closed` is always the run's last record.
    generation: AtomicU64,
    /// Events still to take before the feed stops by itself ([`Hub::stop_after`]); `u64::MAX`
    /// for no limit. Only read and written under the history lock.
    events_left: AtomicU64,
}

/// The feeds of one app (or CLI run). Cheap to share: wrap it in an `Arc`.
pub struct Hub {
    runtime: tokio::runtime::Handle,
    feeds: RwLock<HashMap<Arc<str>, Arc<FeedSlot>>>,
    added: AtomicU64,
    subscribers: Mutex<Vec<Arc<SubQueue>>>,
    watchers: Mutex<Vec<Weak<WatchState>>>,
    global_alerts: RwLock<Vec<AlertRule>>,
    /// The arrival clock every feed's history stamps its records with (the merged timeline's order).
    arrivals: Arc<AtomicU64>,
    /// The merged timeline's matches for the last query asked with a filter. Locked before a
    /// feed's history when both are, and never by ingestion.
    merged: Mutex<Option<MatchCache>>,
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
        Arc::new(Hub {
            runtime,
            feeds: RwLock::default(),
            added: AtomicU64::new(0),
            subscribers: Mutex::default(),
            global_alerts: RwLock::default(),
            watchers: Mutex::default(),
            arrivals: Arc::default(),
            merged: Mutex::default(),
        })
    }

    fn slot(&self, id: &str) -> Result<Arc<FeedSlot>, HubError> {
        self.feeds.read().expect("hub lock").get(id).cloned().ok_or_else(|| HubError::NoSuchFeed(id.to_owned()))
    }

    /// Adds a feed (not started), named after its id. The config is validated here.
    pub fn add(&self, id: &str, config: FeedConfig, limits: HistoryLimits) -> Result<(), HubError> {
        self.add_named(id, id, config, limits)
    }

    /// Adds a feed (not started) with a display name.
    pub fn add_named(&self, id: &str, name: &str, config: FeedConfig, limits: HistoryLimits) -> Result<(), HubError> {
        config.validate()?;
        let mut feeds = self.feeds.write().expect("hub lock");
        if feeds.contains_key(id) {
            return Err(HubError::Exists(id.to_owned()));
        }
        let id: Arc<str> = Arc::from(id);
        let watch = config.clone();
        let slot = Arc::new(FeedSlot {
            id: id.clone(),
            order: self.added.fetch_add(1, Ordering::SeqCst),
            name: Mutex::new(name.to_owned()),
            config: Mutex::new(config),
            limits: Mutex::new(limits),
            wanted: AtomicBool::new(false),
            history: Mutex::new(History::with_clock(limits, self.arrivals.clone())),
            pushed: AtomicU64::new(0),
            raw: Mutex::new(RawLog::new(0)),
            seq: Arc::new(AtomicU64::new(0)),
            running: Mutex::new(None),
            generation: AtomicU64::new(0),
            events_left: AtomicU64::new(u64::MAX),
        });
        self.arm(&slot, &watch);
        feeds.insert(id, slot);
        drop(feeds);
        self.listing_changed();
        Ok(())
    }

    /// Renames a feed.
    pub fn rename(&self, id: &str, name: &str) -> Result<(), HubError> {
        *self.slot(id)?.name.lock().expect("feed lock") = name.to_owned();
        self.listing_changed();
        Ok(())
    }

    /// Replaces a feed's settings; a running feed restarts with them.
    pub fn update(self: &Arc<Self>, id: &str, config: FeedConfig, limits: HistoryLimits) -> Result<(), HubError> {
        config.validate()?;
        let slot = self.slot(id)?;
        let reconnect = !slot.config.lock().expect("feed lock").connects_like(&config);
        self.arm(&slot, &config);
        *slot.config.lock().expect("feed lock") = config;
        *slot.limits.lock().expect("feed lock") = limits;
        slot.history.lock().expect("feed lock").set_limits(limits);
        // Only what is watched changed (alerts, stall watchdog): the connection goes on.
        if reconnect && self.is_running(id) {
            self.stop(id)?;
            self.start(id)?;
        }
        self.listing_changed();
        Ok(())
    }

    /// The feeds, in the order they were added.
    fn slots_in_order(&self) -> Vec<Arc<FeedSlot>> {
        let mut slots: Vec<Arc<FeedSlot>> = self.feeds.read().expect("hub lock").values().cloned().collect();
        slots.sort_by_key(|s| s.order);
        slots
    }

    /// Every feed with its settings and whether it runs, in the order they were added.
    pub fn list(&self) -> Vec<FeedInfo> {
        self.slots_in_order()
            .iter()
            .map(|s| FeedInfo {
                id: s.id.to_string(),
                name: s.name.lock().expect("feed lock").clone(),
                config: s.config.lock().expect("feed lock").clone(),
                history_cap: s.limits.lock().expect("feed lock").max_records,
                raw_cap_mib: s.raw.lock().expect("feed lock").cap_mib(),
                running: s.running.lock().expect("feed lock").is_some(),
                wanted: s.wanted.load(Ordering::SeqCst),
            })
            .collect()
    }

    /// One feed as [`Hub::list`] gives it.
    pub fn info(&self, id: &str) -> Result<FeedInfo, HubError> {
        self.list().into_iter().find(|f| f.id == id).ok_or_else(|| HubError::NoSuchFeed(id.to_owned()))
    }

    /// Tells the watchers that the list changed (a feed added, removed, renamed, reconfigured,
    /// started or stopped).
    fn listing_changed(&self) {
        self.watchers.lock().expect("hub lock").retain(|w| match w.upgrade() {
            Some(w) => {
                w.listing.store(true, Ordering::SeqCst);
                w.notify.notify_one();
                true
            }
            None => false,
        });
    }

    /// Stops and forgets a feed.
    pub fn remove(&self, id: &str) -> Result<(), HubError> {
        let slot =
            self.feeds.write().expect("hub lock").remove(id).ok_or_else(|| HubError::NoSuchFeed(id.to_owned()))?;
        self.halt(&slot, None);
        self.listing_changed();
        Ok(())
    }

    /// Cancels the feed's task, if any; with `reason`, records that it closed.
    fn halt(&self, slot: &FeedSlot, reason: Option<&str>) {
        let Some(control) = slot.running.lock().expect("feed lock").take() else { return };
        // Retire the task's generation before cancelling it: a task that sees the cancellation
        // at once must not get its own `closed` in ahead of this one.
        let mut history = slot.history.lock().expect("feed lock");
        slot.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(reason) = reason {
            let closed =
                Body::Closed { reason: reason.to_owned(), cause: Cause::UserStop, fatal: false, detail: String::new() };
            self.append(&mut history, slot, vec![Record::new(slot.id.clone(), Timestamp::now(), closed)], 0);
        }
        drop(history);
        control.cancel.cancel();
    }

    /// The feed ids, in the order they were added.
    pub fn ids(&self) -> Vec<Arc<str>> {
        let mut slots: Vec<(u64, Arc<str>)> =
            self.feeds.read().expect("hub lock").values().map(|s| (s.order, s.id.clone())).collect();
        slots.sort_unstable();
        slots.into_iter().map(|(_, id)| id).collect()
    }

    pub fn is_running(&self, id: &str) -> bool {
        self.slot(id).map(|s| s.running.lock().expect("feed lock").is_some()).unwrap_or(false)
    }

    /// Connects a feed (no-op if it is running).
    pub fn start(self: &Arc<Self>, id: &str) -> Result<(), HubError> {
        let slot = self.slot(id)?;
        slot.wanted.store(true, Ordering::SeqCst);
        let mut running = slot.running.lock().expect("feed lock");
        if running.is_some() {
            return Ok(());
        }
        let control = Control::default();
        *running = Some(control.clone());
        drop(running);
        let config = slot.config.lock().expect("feed lock").clone();
        let generation = slot.generation.load(Ordering::SeqCst);
        let sink = HubSink { hub: Arc::downgrade(self), slot: slot.clone(), generation };
        let task_slot = slot.clone();
        let my_control = control.clone();
        let hub = Arc::downgrade(self);
        self.runtime.spawn(async move {
            feed::run(task_slot.id.clone(), config, task_slot.seq.clone(), control, sink).await;
            // Only clear our own control: a stop + start may already have put a new one there.
            let mut running = task_slot.running.lock().expect("feed lock");
            if running.as_ref().is_some_and(|c| c.cancel == my_control.cancel) {
                *running = None;
                drop(running);
                if let Some(hub) = hub.upgrade() {
                    hub.listing_changed();
                }
            }
        });
        self.listing_changed();
        Ok(())
    }

    /// Disconnects a feed: its connection and any pending reconnection end at once.
    pub fn stop(&self, id: &str) -> Result<(), HubError> {
        let slot = self.slot(id)?;
        slot.wanted.store(false, Ordering::SeqCst);
        self.halt(&slot, Some(STOPPED));
        self.listing_changed();
        Ok(())
    }

    /// Stops the feed once it has received `events` more events: the last records are then that
    /// event and `closed`, and no further request goes out (what `feedscope tail -n` needs: a
    /// printer that stopped the feed only when it got there would let the feed run ahead).
    pub fn stop_after(&self, id: &str, events: u64) -> Result<(), HubError> {
        let slot = self.slot(id)?;
        let _history = slot.history.lock().expect("feed lock");
        slot.events_left.store(events, Ordering::SeqCst);
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

    /// Sends `text` as a text message on the feed's open WebSocket. It goes out in order with the
    /// feed's other messages and shows in its timeline as a `sent` record once written.
    pub fn send(&self, id: &str, text: String) -> Result<(), HubError> {
        let slot = self.slot(id)?;
        let transport = slot.config.lock().expect("feed lock").transport;
        if transport != Transport::WebSocket {
            return Err(HubError::NotWebSocket { id: id.to_owned(), transport: transport.as_str() });
        }
        let outbox = slot.running.lock().expect("feed lock").as_ref().map(|c| c.outbox.clone());
        match outbox {
            Some(outbox) => outbox.send(text).map_err(|_| HubError::NotOpen(id.to_owned())),
            None => Err(HubError::NotOpen(id.to_owned())),
        }
    }

    /// Stops every feed.
    pub fn stop_all(&self) {
        for slot in self.feeds.read().expect("hub lock").values() {
            self.halt(slot, Some(STOPPED));
        }
    }

    /// Takes an emission from the connection task of `generation`, unless the feed was stopped since.
    fn ingest(&self, slot: &FeedSlot, generation: u64, mut emission: Emission) {
        let mut history = slot.history.lock().expect("feed lock");
        if slot.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        let raw = emission.raw.take();
        let left = slot.events_left.load(Ordering::SeqCst);
        let mut done = false;
        if left != u64::MAX {
            let mut n = left;
            let cut = emission.records.iter().position(|r| {
                if let Body::Event { .. } = r.body {
                    n = n.saturating_sub(1);
                }
                n == 0
            });
            if let Some(i) = cut {
                emission.records.truncate(i + 1);
                done = true;
            }
            // Once reached, the limit is spent: a later start runs without one.
            slot.events_left.store(if done { u64::MAX } else { n }, Ordering::SeqCst);
        }
        if let Some(raw) = raw {
            let first = slot.pushed.load(Ordering::SeqCst);
            slot.raw.lock().expect("feed lock").take(raw, first, emission.records.len());
        }
        history.add_counts(&emission.counts);
        self.append(&mut history, slot, emission.records, emission.bytes);
        drop(history);
        if done {
            // Inside the connection task's emit: no other emission of this run can come in between.
            self.halt(slot, Some(STOPPED));
        }
    }

    /// Appends records to the history and hands them to the subscribers. Called with the history
    /// lock held, so subscribers see every feed's records in history order.
    fn append(&self, history: &mut History, slot: &FeedSlot, records: Vec<Record>, bytes: u64) {
        history.add_bytes(bytes);
        if records.is_empty() {
            return;
        }
        let records: Vec<Arc<Record>> = records.into_iter().map(Arc::new).collect();
        // With alerts (rare), the subscribers get them too, in the history's order: after the
        // record that fired them, or just before a `closed`.
        let mut with_alerts: Option<Vec<Arc<Record>>> = None;
        for (i, r) in records.iter().enumerate() {
            history.push(r.clone());
            let fired = history.take_fired();
            if !fired.is_empty() {
                let out = with_alerts.get_or_insert_with(|| records[..i].to_vec());
                if matches!(r.body, Body::Closed { .. }) {
                    out.extend(fired);
                    out.push(r.clone());
                } else {
                    out.push(r.clone());
                    out.extend(fired);
                }
            } else if let Some(out) = &mut with_alerts {
                out.push(r.clone());
            }
            if let Body::Disconnected { reason, .. } | Body::Closed { reason, .. } = &r.body {
                slot.raw.lock().expect("feed lock").end(reason);
            }
        }
        let records = with_alerts.unwrap_or(records);
        self.fan_out(slot, &records);
    }

    /// Hands appended records to the subscribers and counts them for the watchers. Called with
    /// the feed's history lock held, so subscribers see every feed's records in history order.
    fn fan_out(&self, slot: &FeedSlot, records: &[Arc<Record>]) {
        slot.pushed.fetch_add(records.len() as u64, Ordering::SeqCst);
        let mut subs = self.subscribers.lock().expect("hub lock");
        subs.retain(|q| !q.closed.load(Ordering::SeqCst));
        for q in subs.iter() {
            q.push(&slot.id, records);
        }
        drop(subs);
        let mut watchers = self.watchers.lock().expect("hub lock");
        watchers.retain(|w| match w.upgrade() {
            Some(w) => {
                w.note(&slot.id, records.len() as u64);
                true
            }
            None => false,
        });
    }

    /// Checks every feed's time-based alert rules (a stall) at `now`; call it about once a second.
    pub fn tick(&self, now: Timestamp) {
        let slots: Vec<Arc<FeedSlot>> = self.feeds.read().expect("hub lock").values().cloned().collect();
        for slot in slots {
            let mut history = slot.history.lock().expect("feed lock");
            history.tick(now);
            let fired = history.take_fired();
            if !fired.is_empty() {
                self.fan_out(&slot, &fired);
            }
        }
    }

    /// Alert rules applied to every feed, beside each feed's own.
    pub fn set_global_alerts(&self, rules: Vec<AlertRule>) {
        *self.global_alerts.write().expect("hub lock") = rules;
        let slots: Vec<Arc<FeedSlot>> = self.feeds.read().expect("hub lock").values().cloned().collect();
        for slot in slots {
            let config = slot.config.lock().expect("feed lock").clone();
            self.arm(&slot, &config);
        }
    }

    /// Sets the feed's watch (its alert rules, the global ones, the stall watchdog, its transport
    /// for the browser note) from `config`.
    fn arm(&self, slot: &FeedSlot, config: &FeedConfig) {
        let mut rules = config.alerts.clone();
        rules.extend(self.global_alerts.read().expect("hub lock").iter().cloned());
        let mut history = slot.history.lock().expect("feed lock");
        history.set_watch(&rules, config.stall_secs.saturating_mul(1000));
        history.set_transport(config.transport);
    }

    /// Every record from now on, of one feed or all, in order. `capacity` bounds the queue: while
    /// this many records wait in it, the feeds it watches read no further (see the module doc).
    /// Take records promptly, and drop the subscription when done.
    pub fn subscribe(&self, feed: Option<&str>, capacity: usize) -> Subscription {
        let q = Arc::new(SubQueue {
            feed: feed.map(Arc::from),
            capacity: capacity.max(1),
            items: Mutex::new(VecDeque::new()),
            arrived: Notify::new(),
            room: Notify::new(),
            closed: AtomicBool::new(false),
        });
        self.subscribers.lock().expect("hub lock").push(q.clone());
        Subscription { queue: q }
    }

    /// Which feeds got records from now on, and how many: for a view that reads what it shows
    /// from the histories and must never slow a feed down.
    pub fn watch(&self) -> Watch {
        let state = Arc::new(WatchState::default());
        self.watchers.lock().expect("hub lock").push(Arc::downgrade(&state));
        Watch { state }
    }

    /// A subscriber of `feed` whose queue is full, if any.
    fn full_queue(&self, feed: &str) -> Option<Arc<SubQueue>> {
        self.subscribers.lock().expect("hub lock").iter().find(|q| q.wants(feed) && q.is_full()).cloned()
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

    /// Appends `records` to the feed as if its connection had received them: to its history, its
    /// subscribers and watchers (records loaded from elsewhere; tests). Each record's `feed`
    /// becomes `id`.
    pub fn inject(&self, id: &str, records: Vec<Record>) -> Result<(), HubError> {
        let slot = self.slot(id)?;
        let records = records.into_iter().map(|r| Record { feed: slot.id.clone(), ..r }).collect();
        let mut history = slot.history.lock().expect("feed lock");
        self.append(&mut history, &slot, records, 0);
        Ok(())
    }

    /// Runs `f` on the feed's history under its lock: keep it short (ingestion waits).
    pub fn with_history<R>(&self, id: &str, f: impl FnOnce(&History) -> R) -> Result<R, HubError> {
        Ok(f(&self.slot(id)?.history.lock().expect("feed lock")))
    }

    /// The feed's retained records, oldest first (a snapshot: the `Arc`s are shared, not copied).
    pub fn snapshot(&self, id: &str) -> Result<Vec<Arc<Record>>, HubError> {
        self.with_history(id, |h| h.iter().cloned().collect())
    }

    /// Forgets the feed's retained records and raw bytes.
    pub fn clear(&self, id: &str) -> Result<(), HubError> {
        let slot = self.slot(id)?;
        let mut history = slot.history.lock().expect("feed lock");
        history.clear();
        slot.raw.lock().expect("feed lock").clear();
        Ok(())
    }

    /// Keeps up to `mib` MiB of the feed's raw bytes from now on (0: none); what no longer fits
    /// is evicted at once. Feeds start with 0.
    pub fn set_raw_cap(&self, id: &str, mib: u32) -> Result<(), HubError> {
        raw::check_cap_mib(mib)?;
        self.slot(id)?.raw.lock().expect("feed lock").set_cap_mib(mib);
        self.listing_changed();
        Ok(())
    }

    /// Rows of the feed's raw view from `offset`, or its last `limit` rows when `offset` is
    /// `None` (a view that follows the feed).
    pub fn raw_page(&self, id: &str, offset: Option<usize>, limit: usize) -> Result<RawPage, HubError> {
        self.with_raw(id, |raw| {
            let total = raw.rows();
            let offset = offset.unwrap_or(total.saturating_sub(limit));
            RawPage { total, offset, rows: raw.page(offset, limit), stats: raw.stats() }
        })
    }

    /// The raw view's rows of the lines record `index` (of the feed's timeline) was parsed from.
    pub fn raw_locate(&self, id: &str, index: u64) -> Result<Option<std::ops::Range<usize>>, HubError> {
        self.with_raw(id, |raw| raw.locate(index))
    }

    /// The record (its timeline index, and `seq` for an event) the raw view's row `row` was
    /// parsed into, if that row is a body line.
    pub fn raw_record_at(&self, id: &str, row: usize) -> Result<Option<raw::RecordRef>, HubError> {
        self.with_raw(id, |raw| raw.record_at(row))
    }

    pub fn raw_stats(&self, id: &str) -> Result<RawStats, HubError> {
        self.with_raw(id, RawLog::stats)
    }

    /// Runs `f` on the feed's raw log under its lock: keep it short (ingestion waits).
    pub fn with_raw<R>(&self, id: &str, f: impl FnOnce(&RawLog) -> R) -> Result<R, HubError> {
        Ok(f(&self.slot(id)?.raw.lock().expect("feed lock")))
    }
}

/// Records looked at per hold of a feed's lock while the merged timeline's matches catch up.
const SCAN_CHUNK: usize = 4096;

/// The merged timeline: every feed's retained records in the order they arrived at the hub (each
/// history stamps its records from the hub's one arrival clock, under the feed's lock). A call
/// reads the clock first, its horizon, and shows the retained records stamped before it: a prefix
/// of the arrival order, whatever arrives meanwhile. It locks one feed at a time, briefly.
///
/// Unfiltered, a page is a merge of the feeds' histories: a tail page costs O(limit · log feeds)
/// lock-and-look steps, a page at an offset O(feeds · log records) more to find where it starts.
/// Filtered, the hub keeps the matches of the last filter asked per feed (arrival stamp and timeline
/// index, 16 bytes a match, never more than the histories retain) and brings them up to date with
/// the records appended since the last call, so a followed view does not scan the histories again.
/// Another filter replaces them.
impl Hub {
    /// The matching records of every feed in arrival order: `limit` from `offset`, and how many
    /// match in all (like [`Hub::query`] for one feed).
    pub fn query_merged(&self, matcher: Option<&Matcher>, offset: usize, limit: usize) -> MergedPage {
        match matcher {
            None => head_page(&self.live_lanes(), offset, limit),
            Some(m) => self.with_matches(m, |lanes| head_page(lanes, offset, limit)),
        }
    }

    /// The newest `limit` matching records of every feed, oldest first, and how many match in
    /// all; the page's offset is `total - rows.len()` (like [`Hub::query_tail`] for one feed).
    pub fn query_merged_tail(&self, matcher: Option<&Matcher>, limit: usize) -> MergedPage {
        match matcher {
            None => tail_page(&self.live_lanes(), limit),
            Some(m) => self.with_matches(m, |lanes| tail_page(lanes, limit)),
        }
    }

    /// Where record `index` of `feed` sits among the merged timeline's matches (the offset of a
    /// page that starts with it); `None` if it is not retained, or does not match.
    pub fn merged_position(&self, feed: &str, index: u64, matcher: Option<&Matcher>) -> Option<usize> {
        let slot = self.slot(feed).ok()?;
        match matcher {
            None => {
                let stamp = slot.history.lock().expect("feed lock").arrival(index)?;
                // Made after the stamp was read: its horizon is past the record.
                Some(count_before(&self.live_lanes(), stamp))
            }
            Some(m) => self.with_matches(m, |lanes| {
                let k = lanes.slots.iter().position(|s| Arc::ptr_eq(s, &slot))?;
                let key = lanes.lanes[k].indexes.binary_search(&index).ok()?;
                Some(count_before(lanes, lanes.lanes[k].stamps[key]))
            }),
        }
    }

    /// Every feed's retained records in arrival order (a snapshot: the `Arc`s are shared), for
    /// an export of the merged timeline.
    pub fn merged_snapshot(&self) -> Vec<Arc<Record>> {
        let horizon = self.arrivals.load(Ordering::SeqCst);
        let mut all: Vec<(u64, Arc<Record>)> = Vec::new();
        for slot in self.slots_in_order() {
            let history = slot.history.lock().expect("feed lock");
            let entries = history.entries_from(0).take_while(|&(_, stamp, _)| stamp < horizon);
            all.extend(entries.map(|(_, stamp, r)| (stamp, r.clone())));
        }
        // Each feed's records are a sorted run: the stable sort merges them.
        all.sort_by_key(|&(stamp, _)| stamp);
        all.into_iter().map(|(_, r)| r).collect()
    }

    /// Every feed's history as it is, as merge lanes.
    fn live_lanes(&self) -> LiveLanes {
        let horizon = self.arrivals.load(Ordering::SeqCst);
        let slots = self.slots_in_order();
        let evicted = slots.iter().map(|s| s.history.lock().expect("feed lock").evicted()).sum();
        LiveLanes { slots, horizon, evicted }
    }

    /// Runs `f` on the matches of `matcher` in every feed, brought up to date first (made anew
    /// when the filter is not the one cached).
    fn with_matches<R>(&self, matcher: &Matcher, f: impl FnOnce(&MatchLanes) -> R) -> R {
        let mut cache = self.merged.lock().expect("hub lock");
        let horizon = self.arrivals.load(Ordering::SeqCst);
        let slots = self.slots_in_order();
        if cache.as_ref().is_none_or(|c| c.query != *matcher.query()) {
            *cache = Some(MatchCache { query: matcher.query().clone(), lanes: HashMap::new() });
        }
        let cache = cache.as_mut().expect("made above");
        // Removed feeds leave; a feed added again under the same id is a new lane.
        cache.lanes.retain(|order, _| slots.binary_search_by_key(order, |s| s.order).is_ok());
        let mut evicted = 0;
        for slot in &slots {
            evicted += cache.lanes.entry(slot.order).or_default().catch_up(slot, matcher, horizon);
        }
        let lanes = slots.iter().map(|s| &cache.lanes[&s.order]).collect();
        f(&MatchLanes { slots, lanes, horizon, evicted })
    }
}

/// The merged timeline's input: one lane per feed (in the order the feeds were added), each a
/// sequence of entries in arrival order, addressed by keys that count up by one.
trait Lanes {
    fn count(&self) -> usize;
    /// The arrival stamp the view stops before.
    fn horizon(&self) -> u64;
    /// Records evicted by the feeds' caps so far.
    fn evicted(&self) -> u64;
    /// How many entries of lane `k` are stamped before `stamp`.
    fn before(&self, k: usize, stamp: u64) -> usize;
    /// The key of lane `k`'s first entry stamped at or after `stamp` (one past its last if none).
    fn seek(&self, k: usize, stamp: u64) -> u64;
    /// The stamp of lane `k`'s entry `key`, if it is retained and stamped before the horizon.
    fn stamp(&self, k: usize, key: u64) -> Option<u64>;
    /// Lane `k`'s entry `key` as a row, if it is still retained.
    fn row(&self, k: usize, key: u64) -> Option<(Arc<str>, u64, Arc<Record>)>;
}

/// Unfiltered: a lane is a feed's history, a key a timeline index. Every call locks the feed.
struct LiveLanes {
    slots: Vec<Arc<FeedSlot>>,
    horizon: u64,
    evicted: u64,
}

impl Lanes for LiveLanes {
    fn count(&self) -> usize {
        self.slots.len()
    }

    fn horizon(&self) -> u64 {
        self.horizon
    }

    fn evicted(&self) -> u64 {
        self.evicted
    }

    fn before(&self, k: usize, stamp: u64) -> usize {
        self.slots[k].history.lock().expect("feed lock").arrived_before(stamp)
    }

    fn seek(&self, k: usize, stamp: u64) -> u64 {
        let history = self.slots[k].history.lock().expect("feed lock");
        history.first_index() + history.arrived_before(stamp) as u64
    }

    fn stamp(&self, k: usize, key: u64) -> Option<u64> {
        self.slots[k].history.lock().expect("feed lock").arrival(key).filter(|&s| s < self.horizon)
    }

    fn row(&self, k: usize, key: u64) -> Option<(Arc<str>, u64, Arc<Record>)> {
        let slot = &self.slots[k];
        let record = slot.history.lock().expect("feed lock").get(key)?.clone();
        Some((slot.id.clone(), key, record))
    }
}

/// Filtered: a lane is a feed's cached matches, a key a position among them (stable while the
/// cache is locked). Only a row locks its feed.
struct MatchLanes<'a> {
    slots: Vec<Arc<FeedSlot>>,
    lanes: Vec<&'a MatchLane>,
    horizon: u64,
    evicted: u64,
}

impl Lanes for MatchLanes<'_> {
    fn count(&self) -> usize {
        self.lanes.len()
    }

    fn horizon(&self) -> u64 {
        self.horizon
    }

    fn evicted(&self) -> u64 {
        self.evicted
    }

    fn before(&self, k: usize, stamp: u64) -> usize {
        self.lanes[k].stamps.partition_point(|&s| s < stamp)
    }

    fn seek(&self, k: usize, stamp: u64) -> u64 {
        self.before(k, stamp) as u64
    }

    fn stamp(&self, k: usize, key: u64) -> Option<u64> {
        self.lanes[k].stamps.get(usize::try_from(key).ok()?).copied().filter(|&s| s < self.horizon)
    }

    fn row(&self, k: usize, key: u64) -> Option<(Arc<str>, u64, Arc<Record>)> {
        let index = *self.lanes[k].indexes.get(usize::try_from(key).ok()?)?;
        let slot = &self.slots[k];
        let record = slot.history.lock().expect("feed lock").get(index)?.clone();
        Some((slot.id.clone(), index, record))
    }
}

/// The matches of one filter in every feed ([`Hub::query_merged`] with a matcher).
struct MatchCache {
    query: Query,
    /// By [`FeedSlot::order`].
    lanes: HashMap<u64, MatchLane>,
}

/// One feed's matches: arrival stamps and timeline indices, oldest first.
#[derive(Default)]
struct MatchLane {
    stamps: VecDeque<u64>,
    indexes: VecDeque<u64>,
    /// The first timeline index not looked at yet.
    next: u64,
}

impl MatchLane {
    /// Drops the matches the feed evicted (or cleared) since, and looks at the records appended
    /// since, at least all those stamped before `horizon`, [`SCAN_CHUNK`] per hold of the
    /// feed's lock. Returns the feed's evicted count.
    fn catch_up(&mut self, slot: &FeedSlot, matcher: &Matcher, horizon: u64) -> u64 {
        loop {
            let history = slot.history.lock().expect("feed lock");
            let first = history.first_index();
            let gone = self.indexes.partition_point(|&i| i < first);
            self.indexes.drain(..gone);
            self.stamps.drain(..gone);
            self.next = self.next.max(first);
            let mut more = false;
            for (n, (index, stamp, record)) in history.entries_from(self.next).enumerate() {
                if n == SCAN_CHUNK {
                    more = stamp < horizon;
                    break;
                }
                if matcher.matches(record) {
                    self.stamps.push_back(stamp);
                    self.indexes.push_back(index);
                }
                self.next = index + 1;
            }
            if !more {
                return history.evicted();
            }
        }
    }
}

/// How many entries of all lanes are stamped before `stamp`.
fn count_before(lanes: &impl Lanes, stamp: u64) -> usize {
    (0..lanes.count()).map(|k| lanes.before(k, stamp)).sum()
}

fn page(lanes: &impl Lanes, total: usize, offset: usize, picked: &[(usize, u64)]) -> MergedPage {
    let rows = picked.iter().filter_map(|&(k, key)| lanes.row(k, key)).collect();
    MergedPage { total, offset, rows, evicted: lanes.evicted() }
}

/// `limit` entries from rank `offset`: where the page starts is found by bisecting the stamps
/// (each step counts the entries before a stamp in every lane), then the lanes are merged forward.
fn head_page(lanes: &impl Lanes, offset: usize, limit: usize) -> MergedPage {
    let total = count_before(lanes, lanes.horizon());
    let mut picked = Vec::new();
    if offset < total && limit > 0 {
        let start = if offset == 0 { 0 } else { rank_stamp(lanes, offset) };
        let mut heap = BinaryHeap::with_capacity(lanes.count());
        for k in 0..lanes.count() {
            let key = lanes.seek(k, start);
            if let Some(stamp) = lanes.stamp(k, key) {
                heap.push(Reverse((stamp, k, key)));
            }
        }
        picked.reserve(limit.min(total - offset));
        while picked.len() < limit {
            let Some(Reverse((_, k, key))) = heap.pop() else { break };
            picked.push((k, key));
            if let Some(stamp) = lanes.stamp(k, key + 1) {
                heap.push(Reverse((stamp, k, key + 1)));
            }
        }
    }
    page(lanes, total, offset, &picked)
}

/// The stamp of the entry at rank `rank` (0-based; fewer than the total): the smallest `hi` with
/// more than `rank` entries stamped before it, less one.
fn rank_stamp(lanes: &impl Lanes, rank: usize) -> u64 {
    let (mut lo, mut hi) = (0, lanes.horizon());
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if count_before(lanes, mid) > rank {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi - 1
}

/// The last `limit` entries: the lanes merged backwards from the horizon.
fn tail_page(lanes: &impl Lanes, limit: usize) -> MergedPage {
    let total = count_before(lanes, lanes.horizon());
    let mut picked = Vec::with_capacity(limit.min(total));
    if limit > 0 {
        let mut heap = BinaryHeap::with_capacity(lanes.count());
        for k in 0..lanes.count() {
            let last = lanes.seek(k, lanes.horizon()).checked_sub(1);
            if let Some((key, stamp)) = last.and_then(|key| Some((key, lanes.stamp(k, key)?))) {
                heap.push((stamp, k, key));
            }
        }
        while picked.len() < limit {
            let Some((_, k, key)) = heap.pop() else { break };
            picked.push((k, key));
            if let Some((prev, stamp)) = key.checked_sub(1).and_then(|prev| Some((prev, lanes.stamp(k, prev)?))) {
                heap.push((stamp, k, prev));
            }
        }
        picked.reverse();
    }
    let mut page = page(lanes, total, 0, &picked);
    page.offset = total.saturating_sub(page.rows.len());
    page
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// The connection task's [`feed::Sink`]: appends to the hub, and waits while a subscriber is full.
struct HubSink {
    hub: Weak<Hub>,
    slot: Arc<FeedSlot>,
    generation: u64,
}

impl feed::Sink for HubSink {
    fn emit(&mut self, emission: Emission) {
        if let Some(hub) = self.hub.upgrade() {
            hub.ingest(&self.slot, self.generation, emission);
        }
    }

    async fn room(&self) {
        loop {
            // Hold no reference to the hub while waiting: dropping it must stop the feed.
            let Some(queue) = self.hub.upgrade().and_then(|h| h.full_queue(&self.slot.id)) else { return };
            queue.wait_for_room().await;
        }
    }
}

struct SubQueue {
    feed: Option<Arc<str>>,
    capacity: usize,
    items: Mutex<VecDeque<Arc<Record>>>,
    /// Wakes the subscriber: records arrived.
    arrived: Notify,
    /// Wakes the feeds waiting for room: the queue fell to half its capacity, or closed.
    room: Notify,
    /// The subscription was dropped: nobody waits for it any more.
    closed: AtomicBool,
}

impl SubQueue {
    fn wants(&self, feed: &str) -> bool {
        self.feed.as_deref().is_none_or(|f| f == feed)
    }

    fn is_full(&self) -> bool {
        !self.closed.load(Ordering::SeqCst) && self.items.lock().expect("subscription lock").len() >= self.capacity
    }

    /// Takes every batch whole, even past capacity: the feed then waits in [`Self::wait_for_room`]
    /// before reading more, so the queue overshoots by at most one read's records per feed.
    fn push(&self, feed: &Arc<str>, records: &[Arc<Record>]) {
        if !self.wants(feed) {
            return;
        }
        self.items.lock().expect("subscription lock").extend(records.iter().cloned());
        self.arrived.notify_one();
    }

    async fn wait_for_room(&self) {
        let notified = self.room.notified();
        tokio::pin!(notified);
        // Registered before the check, so a wake-up between the two is not lost.
        notified.as_mut().enable();
        if self.is_full() {
            notified.await;
        }
    }

    /// Removes up to `max` records; wakes waiting feeds when the queue crosses half its capacity
    /// (not at every record, so a reader that takes one at a time does not wake them each time).
    fn take(&self, max: usize, out: &mut Vec<Arc<Record>>) -> usize {
        self.take_each(max, |r| out.push(r))
    }

    fn take_each(&self, max: usize, f: impl FnMut(Arc<Record>)) -> usize {
        let mut items = self.items.lock().expect("subscription lock");
        let before = items.len();
        let n = before.min(max);
        items.drain(..n).for_each(f);
        let low = self.capacity / 2;
        if before > low && before - n <= low {
            self.room.notify_waiters();
        }
        n
    }
}

/// A lossless live view of the hub's records; see [`Hub::subscribe`]. Dropping it unsubscribes
/// and releases any feed waiting for it.
pub struct Subscription {
    queue: Arc<SubQueue>,
}

impl Subscription {
    /// The next record, waiting for one.
    pub async fn recv(&self) -> Arc<Record> {
        let mut one = None;
        loop {
            if self.queue.take_each(1, |r| one = Some(r)) > 0 {
                return one.expect("took one record");
            }
            self.queue.arrived.notified().await;
        }
    }

    /// Waits until records are queued, then moves up to `max` (at least 1) of them into `out`
    /// and returns how many. The fast way to consume: one lock and one wake-up per call.
    pub async fn recv_many(&self, out: &mut Vec<Arc<Record>>, max: usize) -> usize {
        loop {
            let n = self.queue.take(max.max(1), out);
            if n > 0 {
                return n;
            }
            self.queue.arrived.notified().await;
        }
    }

    /// Everything queued now, at most `max` records, without waiting.
    pub fn drain(&self, max: usize) -> Vec<Arc<Record>> {
        let mut out = Vec::new();
        self.queue.take(max, &mut out);
        out
    }

    /// Waits until at least one record is queued.
    pub async fn ready(&self) {
        loop {
            if !self.queue.items.lock().expect("subscription lock").is_empty() {
                return;
            }
            self.queue.arrived.notified().await;
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.queue.closed.store(true, Ordering::SeqCst);
        self.queue.room.notify_waiters();
    }
}

#[derive(Default)]
struct WatchState {
    /// Feeds with records since the last [`Watch::take`], in the order they first changed.
    changed: Mutex<Vec<(Arc<str>, u64)>>,
    /// The list of feeds changed since the last [`Watch::take_listing`].
    listing: AtomicBool,
    notify: Notify,
}

impl WatchState {
    fn note(&self, feed: &Arc<str>, n: u64) {
        let mut changed = self.changed.lock().expect("watch lock");
        match changed.iter_mut().find(|(f, _)| f == feed) {
            Some((_, count)) => *count += n,
            None => changed.push((feed.clone(), n)),
        }
        drop(changed);
        self.notify.notify_one();
    }
}

/// Which feeds changed; see [`Hub::watch`]. Bounded by the number of feeds, whatever the rate.
pub struct Watch {
    state: Arc<WatchState>,
}

impl Watch {
    /// Waits until some feed has records not yet taken, or the list of feeds changed.
    pub async fn changed(&self) {
        loop {
            if !self.state.changed.lock().expect("watch lock").is_empty() || self.state.listing.load(Ordering::SeqCst) {
                return;
            }
            self.state.notify.notified().await;
        }
    }

    /// The feeds that got records since the last call, each with how many.
    pub fn take(&self) -> Vec<(Arc<str>, u64)> {
        std::mem::take(&mut *self.state.changed.lock().expect("watch lock"))
    }

    /// Whether the list of feeds ([`Hub::list`]) changed since the last call.
    pub fn take_listing(&self) -> bool {
        self.state.listing.swap(false, Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(capacity: usize) -> Arc<SubQueue> {
        Arc::new(SubQueue {
            feed: None,
            capacity,
            items: Mutex::default(),
            arrived: Notify::new(),
            room: Notify::new(),
            closed: AtomicBool::new(false),
        })
    }

    fn rec(feed: &Arc<str>) -> Arc<Record> {
        Arc::new(Record::new(feed.clone(), Timestamp(0), Body::Retry { ms: 1 }))
    }

    #[tokio::test]
    async fn a_full_queue_keeps_every_record_and_holds_the_feed_until_half_empty() {
        let q = queue(4);
        let a: Arc<str> = Arc::from("a");
        q.push(&a, &[rec(&a), rec(&a), rec(&a), rec(&a), rec(&a)]);
        assert!(q.is_full(), "a batch is taken whole, past capacity");
        let waiter = tokio::spawn({
            let q = q.clone();
            async move { q.wait_for_room().await }
        });
        tokio::task::yield_now().await;
        let mut out = Vec::new();
        q.take(2, &mut out);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "3 of 4 left: above half, the feed still waits");
        q.take(1, &mut out);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await.expect("woken at half").unwrap();
        q.take(10, &mut out);
        assert_eq!(out.len(), 5, "nothing was dropped");
    }

    #[tokio::test]
    async fn a_dropped_subscription_releases_waiting_feeds() {
        let q = queue(1);
        let a: Arc<str> = Arc::from("a");
        q.push(&a, &[rec(&a), rec(&a)]);
        let waiter = tokio::spawn({
            let q = q.clone();
            async move { q.wait_for_room().await }
        });
        tokio::task::yield_now().await;
        drop(Subscription { queue: q });
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await.expect("released").unwrap();
    }

    /// The hub is the one list of feeds: in the order added, with names, settings, running and
    /// wanted; every change of it wakes the watchers.
    #[tokio::test]
    async fn the_list_keeps_order_names_and_state_and_wakes_watchers() {
        // A server that answers every request with 404, which a browser takes as final.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").await;
            }
        });
        let hub = Hub::new();
        let watch = hub.watch();
        let refused = FeedConfig { mode: crate::Mode::Browser, ..FeedConfig::new(format!("http://{addr}/")) };
        hub.add_named("b", "Bee", refused.clone(), HistoryLimits::default()).unwrap();
        hub.add("a", FeedConfig::new("http://127.0.0.1:9/a"), HistoryLimits { max_records: 500, max_bytes: 1 << 20 })
            .unwrap();
        assert!(watch.take_listing(), "an add changes the list");
        assert!(!watch.take_listing());
        let list = hub.list();
        assert_eq!(
            list.iter().map(|f| (f.id.as_str(), f.name.as_str())).collect::<Vec<_>>(),
            [("b", "Bee"), ("a", "a")]
        );
        assert_eq!(hub.ids().iter().map(|i| &**i).collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!((list[1].history_cap, list[1].running, list[1].wanted), (500, false, false));
        hub.rename("a", "Ay").unwrap();
        assert!(watch.take_listing());
        assert_eq!(hub.info("a").unwrap().name, "Ay");

        // A 404: in browser mode the feed closes for good, by itself. It is
        // still wanted (an app reconnects it at its next start), no longer running, and the
        // watchers learn it.
        hub.start("b").unwrap();
        assert!(watch.take_listing());
        let info = hub.info("b").unwrap();
        assert!(info.running && info.wanted);
        tokio::time::timeout(std::time::Duration::from_secs(10), async {
            while hub.is_running("b") {
                watch.changed().await;
                watch.take();
            }
        })
        .await
        .expect("the refused feed closed");
        assert!(watch.take_listing() || !hub.is_running("b"));
        let info = hub.info("b").unwrap();
        assert!(!info.running && info.wanted, "{info:?}");
        hub.stop("b").unwrap();
        assert!(!hub.info("b").unwrap().wanted, "a user's stop");
        hub.remove("a").unwrap();
        assert!(watch.take_listing());
        assert_eq!(hub.list().len(), 1);
    }

    #[test]
    fn a_watch_counts_records_per_feed_and_stays_bounded() {
        let w = WatchState::default();
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
        for _ in 0..1000 {
            w.note(&a, 1);
            w.note(&b, 2);
        }
        let watch = Watch { state: Arc::new(w) };
        assert_eq!(watch.take(), [(a, 1000), (b, 2000)]);
        assert!(watch.take().is_empty());
    }
}
