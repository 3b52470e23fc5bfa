//! The reconnection schedule: the spec's reconnection time, and in `persistent` mode capped
//! exponential backoff with full jitter above it, reset by a healthy connection.

use std::time::{Duration, SystemTime};

use super::config::{FeedConfig, Mode};

/// Delays between reconnections. The first reconnection after a healthy connection waits exactly
/// the reconnection time (as a browser does); in `persistent` mode each further failure doubles the
/// ceiling (capped at `max_backoff_ms`) and the delay is drawn between the reconnection time and it.
#[derive(Debug, Clone)]
pub struct Backoff {
    mode: Mode,
    retry_ms: u64,
    max_ms: u64,
    jitter: bool,
    failures: u32,
    rng: u64,
}

impl Backoff {
    pub fn new(config: &FeedConfig) -> Self {
        let seed = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1);
        Backoff {
            mode: config.mode,
            retry_ms: config.retry_ms,
            max_ms: config.max_backoff_ms.max(1),
            jitter: config.jitter,
            failures: 0,
            rng: seed | 1,
        }
    }

    /// A valid `retry:` field: applies to the next delay at once.
    pub fn set_retry(&mut self, ms: u64) {
        self.retry_ms = ms;
    }

    /// The connection delivered data: the next reconnection waits just the reconnection time.
    pub fn healthy(&mut self) {
        self.failures = 0;
    }

    /// The delay before the next request. `hint` is a server's `Retry-After`, which wins in `persistent` mode.
    pub fn next_delay(&mut self, hint: Option<Duration>) -> Duration {
        let failures = self.failures;
        self.failures = self.failures.saturating_add(1);
        if self.mode == Mode::Browser {
            return Duration::from_millis(self.retry_ms);
        }
        if let Some(h) = hint {
            return h;
        }
        if failures == 0 {
            return Duration::from_millis(self.retry_ms);
        }
        // A `retry: 0` must not turn failures into a busy loop.
        let base = self.retry_ms.max(100);
        let ceiling = base.saturating_mul(1u64 << failures.min(40)).min(self.max_ms.max(base));
        let floor = base.min(ceiling);
        let ms =
            if self.jitter && ceiling > floor { floor + self.next_random() % (ceiling - floor + 1) } else { ceiling };
        Duration::from_millis(ms)
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: plenty for jitter.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// `Retry-After` as seconds or an HTTP date.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(mode: Mode, jitter: bool) -> FeedConfig {
        FeedConfig { mode, jitter, retry_ms: 1000, max_backoff_ms: 10_000, ..FeedConfig::default() }
    }

    fn ms(d: Duration) -> u64 {
        d.as_millis() as u64
    }

    #[test]
    fn browser_mode_always_waits_the_reconnection_time() {
        let mut b = Backoff::new(&cfg(Mode::Browser, true));
        for _ in 0..5 {
            assert_eq!(ms(b.next_delay(Some(Duration::from_secs(99)))), 1000);
        }
        b.set_retry(250);
        assert_eq!(ms(b.next_delay(None)), 250);
    }

    #[test]
    fn persistent_backoff_doubles_to_the_cap_and_resets_when_healthy() {
        let mut b = Backoff::new(&cfg(Mode::Persistent, false));
        let seq: Vec<u64> = (0..7).map(|_| ms(b.next_delay(None))).collect();
        assert_eq!(seq, [1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
        b.healthy();
        assert_eq!(ms(b.next_delay(None)), 1000);
    }

    #[test]
    fn full_jitter_stays_between_the_reconnection_time_and_the_ceiling() {
        let mut b = Backoff::new(&cfg(Mode::Persistent, true));
        b.next_delay(None);
        for n in 1..20u32 {
            let d = ms(b.next_delay(None));
            let ceiling = (1000u64 << n.min(40)).min(10_000);
            assert!((1000..=ceiling).contains(&d), "delay {d} outside 1000..={ceiling}");
        }
    }

    #[test]
    fn retry_after_wins_in_persistent_mode() {
        let mut b = Backoff::new(&cfg(Mode::Persistent, true));
        assert_eq!(ms(b.next_delay(Some(Duration::from_secs(7)))), 7000);
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn retry_zero_does_not_busy_loop_on_failures() {
        let mut b = Backoff::new(&cfg(Mode::Persistent, false));
        b.set_retry(0);
        assert_eq!(ms(b.next_delay(None)), 0);
        assert!(ms(b.next_delay(None)) >= 100);
    }
}
