//! What a feed did over the last minutes, second by second: events, body bytes, and events per
//! type, for the live charts; and when the last event and the last byte came, for the stall
//! watchdog. Bounded: [`Activity::SECONDS`] buckets and [`Activity::MAX_TYPES`] named types
//! (the rest are counted as "other"), however long the feed runs.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::Serialize;

use crate::record::Timestamp;

/// One second of a feed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Bucket {
    events: u32,
    bytes: u64,
    /// Events per type, indexed like [`Activity::types`]; the last slot is "other".
    by_type: Vec<u32>,
}

/// A feed's activity, one bucket per second.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    /// The second (Unix time) of the newest bucket.
    newest: i64,
    /// Oldest first; at most [`Activity::SECONDS`].
    buckets: VecDeque<Bucket>,
    /// The types with a series of their own, in the order they first came.
    types: Vec<Arc<str>>,
    last_event_at: Option<Timestamp>,
    last_byte_at: Option<Timestamp>,
}

/// The charts' data: per-second series over a window ending now, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ActivityWindow {
    /// Milliseconds since the Unix epoch of the first second.
    pub start_ms: i64,
    pub events: Vec<u32>,
    pub bytes: Vec<u64>,
    /// Events per type per second, the busiest types first; `other` gathers the types past
    /// [`Activity::MAX_TYPES`].
    pub types: Vec<TypeSeries>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TypeSeries {
    /// As the server sent it (`None` for the types counted together as "other").
    pub name: Option<String>,
    pub counts: Vec<u32>,
}

impl Activity {
    /// Seconds kept: five minutes.
    pub const SECONDS: usize = 300;
    /// Event types with a series of their own.
    pub const MAX_TYPES: usize = 8;

    /// Moves the newest bucket to the second of `ts` (never backwards: a late timestamp counts in
    /// the newest second) and returns it.
    fn bucket(&mut self, ts: Timestamp) -> &mut Bucket {
        let sec = ts.0.div_euclid(1000);
        if self.buckets.is_empty() {
            self.newest = sec;
            self.buckets.push_back(Bucket::default());
        }
        if sec > self.newest {
            let gap = (sec - self.newest) as usize;
            if gap >= Self::SECONDS {
                self.buckets.clear();
                self.buckets.push_back(Bucket::default());
            } else {
                for _ in 0..gap {
                    self.buckets.push_back(Bucket::default());
                }
            }
            self.newest = sec;
            while self.buckets.len() > Self::SECONDS {
                self.buckets.pop_front();
            }
        }
        self.buckets.back_mut().expect("a bucket")
    }

    /// Counts an event of `event_type` at `ts`.
    pub fn event(&mut self, ts: Timestamp, event_type: &Arc<str>) {
        self.last_event_at = Some(ts);
        // The parser hands out one `Arc` per type name: the pointer usually answers.
        let slot = match self.types.iter().position(|t| Arc::ptr_eq(t, event_type) || t == event_type) {
            Some(i) => i,
            None if self.types.len() < Self::MAX_TYPES => {
                self.types.push(event_type.clone());
                self.types.len() - 1
            }
            None => Self::MAX_TYPES,
        };
        let b = self.bucket(ts);
        b.events += 1;
        if b.by_type.len() <= slot {
            b.by_type.resize(slot + 1, 0);
        }
        b.by_type[slot] += 1;
    }

    /// Counts body bytes received at `ts`.
    pub fn bytes(&mut self, ts: Timestamp, n: u64) {
        if n == 0 {
            return;
        }
        self.last_byte_at = Some(ts);
        self.bucket(ts).bytes += n;
    }

    pub fn last_event_at(&self) -> Option<Timestamp> {
        self.last_event_at
    }

    pub fn last_byte_at(&self) -> Option<Timestamp> {
        self.last_byte_at
    }

    /// The last `seconds` (at most [`Activity::SECONDS`]) ending with the second of `now`.
    pub fn window(&self, now: Timestamp, seconds: usize) -> ActivityWindow {
        let seconds = seconds.clamp(1, Self::SECONDS);
        let end = now.0.div_euclid(1000);
        let start = end - seconds as i64 + 1;
        let oldest = self.newest - self.buckets.len() as i64 + 1;
        let at = |sec: i64| -> Option<&Bucket> {
            if self.buckets.is_empty() || sec < oldest || sec > self.newest {
                return None;
            }
            self.buckets.get((sec - oldest) as usize)
        };
        let secs = start..=end;
        let events = secs.clone().map(|s| at(s).map_or(0, |b| b.events)).collect();
        let bytes = secs.clone().map(|s| at(s).map_or(0, |b| b.bytes)).collect();
        let mut types: Vec<TypeSeries> = (0..=Self::MAX_TYPES)
            .filter(|&i| i < self.types.len() || i == Self::MAX_TYPES)
            .map(|i| TypeSeries {
                name: self.types.get(i).map(|t| t.to_string()),
                counts: secs.clone().map(|s| at(s).and_then(|b| b.by_type.get(i).copied()).unwrap_or(0)).collect(),
            })
            .filter(|t| t.counts.iter().any(|&c| c > 0))
            .collect();
        types.sort_by_key(|t| std::cmp::Reverse(t.counts.iter().map(|&c| u64::from(c)).sum::<u64>()));
        ActivityWindow { start_ms: start * 1000, events, bytes, types }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: f64) -> Timestamp {
        Timestamp((s * 1000.0) as i64)
    }

    #[test]
    fn counts_land_in_their_second_and_quiet_seconds_are_zero() {
        let mut a = Activity::default();
        let tick: Arc<str> = Arc::from("tick");
        a.event(t(100.2), &tick);
        a.event(t(100.9), &tick);
        a.bytes(t(100.9), 40);
        a.event(t(103.0), &tick);
        let w = a.window(t(103.5), 5);
        assert_eq!(w.start_ms, 99_000);
        assert_eq!(w.events, [0, 2, 0, 0, 1]);
        assert_eq!(w.bytes, [0, 40, 0, 0, 0]);
        assert_eq!(w.types, [TypeSeries { name: Some("tick".into()), counts: vec![0, 2, 0, 0, 1] }]);
        assert_eq!((a.last_event_at(), a.last_byte_at()), (Some(t(103.0)), Some(t(100.9))));
    }

    #[test]
    fn memory_stays_bounded_over_hours_and_many_types() {
        let mut a = Activity::default();
        let names: Vec<Arc<str>> = (0..50).map(|i| Arc::from(format!("t{i}"))).collect();
        for s in 0..10_000 {
            a.event(Timestamp(s * 1000), &names[s as usize % 50]);
        }
        assert_eq!(a.buckets.len(), Activity::SECONDS);
        assert_eq!(a.types.len(), Activity::MAX_TYPES);
        assert!(a.buckets.iter().all(|b| b.by_type.len() <= Activity::MAX_TYPES + 1));
        let w = a.window(Timestamp(9_999_000), Activity::SECONDS);
        let total: u32 = w.types.iter().flat_map(|t| &t.counts).sum();
        assert_eq!(total, Activity::SECONDS as u32, "every event counted once, named or other");
        assert!(w.types.iter().any(|t| t.name.is_none()), "types past the limit count as other");
    }

    #[test]
    fn a_long_silence_clears_and_late_timestamps_count_in_the_newest_second() {
        let mut a = Activity::default();
        let x: Arc<str> = Arc::from("x");
        a.event(t(10.0), &x);
        a.event(t(10_000.0), &x);
        a.event(t(9_999.0), &x);
        assert_eq!(a.buckets.len(), 1);
        assert_eq!(a.window(t(10_000.0), 3).events, [0, 0, 2]);
    }
}
