//! Alert rules: conditions on a feed's records and timing that the user wants to hear about.
//! The hub evaluates them as records arrive (so a burst cannot slip past one) and when it is
//! asked to check the time (stalls); a rule that fires appends an `alert` record to the feed's
//! timeline, and the faces notify.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::record::{Body, Record, Timestamp};

/// When to alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "when", rename_all = "snake_case")]
pub enum AlertRule {
    /// The feed closed: a failure, a server's 204, or the user's stop.
    Closed,
    /// No event for `secs` seconds while the feed is open.
    Stalled { secs: u64 },
    /// More than `count` reconnections within a minute.
    Reconnects { count: u32 },
    /// An event of this type arrived.
    EventType { event_type: String },
    /// An event's data contains `text` (or matches it as a regular expression).
    DataMatches { text: String, regex: bool },
    /// A record matches an expression of the query language (docs/query.md).
    Matches { query: String },
}

impl AlertRule {
    /// Checks the rule; the error says what is wrong, for the field that holds it.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            AlertRule::Stalled { secs: 0 } => Err("the stall time must be at least 1 s".into()),
            AlertRule::EventType { event_type } if event_type.is_empty() => Err("name the event type".into()),
            AlertRule::DataMatches { text, .. } if text.is_empty() => Err("give the text to look for".into()),
            AlertRule::DataMatches { text, regex: true } => {
                regex::Regex::new(text).map(|_| ()).map_err(|e| format!("invalid regular expression: {e}"))
            }
            AlertRule::Matches { query } => crate::query::Filter::parse(query).map(|_| ()).map_err(|e| e.to_string()),
            _ => Ok(()),
        }
    }

    /// The rule in a few words, for the alert's message.
    pub fn describe(&self) -> String {
        match self {
            AlertRule::Closed => "the feed closed".into(),
            AlertRule::Stalled { secs } => format!("no event for {secs} s"),
            AlertRule::Reconnects { count } => format!("more than {count} reconnections in a minute"),
            AlertRule::EventType { event_type } => format!("an event of type {event_type:?}"),
            AlertRule::DataMatches { text, regex: false } => format!("data containing {text:?}"),
            AlertRule::DataMatches { text, regex: true } => format!("data matching /{text}/"),
            AlertRule::Matches { query } => format!("a record where {query}"),
        }
    }
}

/// A rule as evaluated: compiled, with what it needs to remember.
#[derive(Debug, Clone)]
struct Armed {
    rule: AlertRule,
    regex: Option<regex::Regex>,
    filter: Option<crate::query::Filter>,
    /// Stalled: fired for the current silence (re-armed by the next event).
    fired: bool,
}

/// The rules of one feed and their state. Bounded: a minute of reconnection times at most.
#[derive(Debug, Clone, Default)]
pub struct Alerts {
    rules: Vec<Armed>,
    open: bool,
    /// Since when the feed has been without an event while open.
    quiet_since: Option<Timestamp>,
    reconnects: VecDeque<Timestamp>,
}

const MINUTE_MS: i64 = 60_000;

impl Alerts {
    /// Rules that do not validate are left out (the faces validate before they set them).
    pub fn new(rules: &[AlertRule]) -> Alerts {
        let rules = rules
            .iter()
            .filter(|r| r.validate().is_ok())
            .map(|rule| Armed {
                regex: match rule {
                    AlertRule::DataMatches { text, regex: true } => regex::Regex::new(text).ok(),
                    _ => None,
                },
                filter: match rule {
                    AlertRule::Matches { query } => crate::query::Filter::parse(query).ok(),
                    _ => None,
                },
                rule: rule.clone(),
                fired: false,
            })
            .collect();
        Alerts { rules, ..Alerts::default() }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Follows a record of the feed; returns the `alert` records it fires, to append after it.
    pub fn observe(&mut self, r: &Record) -> Vec<Body> {
        let mut fired = Vec::new();
        if !matches!(r.body, Body::Alert { .. }) {
            for a in self.rules.iter().filter(|a| a.filter.as_ref().is_some_and(|f| f.matches(r))) {
                fired.push(alert(&a.rule, &crate::text::one_line(&crate::text::summary(&r.body), 120)));
            }
        }
        match &r.body {
            Body::Open { .. } => {
                self.open = true;
                self.quiet_since = Some(r.ts);
            }
            Body::Disconnected { .. } => {
                self.open = false;
                self.reconnects.push_back(r.ts);
                while self.reconnects.front().is_some_and(|t| r.ts.0 - t.0 > MINUTE_MS) {
                    self.reconnects.pop_front();
                }
            }
            Body::Closed { reason, .. } => {
                self.open = false;
                for a in self.rules.iter().filter(|a| a.rule == AlertRule::Closed) {
                    fired.push(alert(&a.rule, reason));
                }
            }
            Body::Event { event_type, data, .. } => {
                self.quiet_since = Some(r.ts);
                for a in &mut self.rules {
                    let hit = match &a.rule {
                        AlertRule::EventType { event_type: t } => **event_type == **t,
                        AlertRule::DataMatches { regex: false, text } => data.contains(text.as_str()),
                        AlertRule::DataMatches { regex: true, .. } => {
                            a.regex.as_ref().is_some_and(|re| re.is_match(data))
                        }
                        AlertRule::Stalled { .. } => {
                            a.fired = false;
                            false
                        }
                        _ => false,
                    };
                    if hit {
                        fired.push(alert(&a.rule, &crate::text::one_line(data, 120)));
                    }
                }
            }
            _ => {}
        }
        if matches!(r.body, Body::Disconnected { .. }) {
            let n = self.reconnects.len();
            for a in &self.rules {
                // Fires once as the count passes the limit, not at every reconnection after.
                if let AlertRule::Reconnects { count } = a.rule {
                    if n == count as usize + 1 {
                        fired.push(alert(&a.rule, &format!("{n} reconnections in the last minute")));
                    }
                }
            }
        }
        fired
    }

    /// Whether the feed is stalled at `now` by a stall rule: open and no event for its time.
    pub fn stalled(&self, now: Timestamp) -> bool {
        self.open
            && self.rules.iter().any(|a| match a.rule {
                AlertRule::Stalled { secs } => self.quiet_since.is_some_and(|t| now.0 - t.0 >= secs as i64 * 1000),
                _ => false,
            })
    }

    /// Checks the stall rules at `now`; returns the `alert` records that fire (once per silence).
    pub fn tick(&mut self, now: Timestamp) -> Vec<Body> {
        let (open, quiet_since) = (self.open, self.quiet_since);
        let mut fired = Vec::new();
        for a in &mut self.rules {
            if let AlertRule::Stalled { secs } = a.rule {
                let silent = quiet_since.is_some_and(|t| now.0 - t.0 >= secs as i64 * 1000);
                if open && silent && !a.fired {
                    a.fired = true;
                    fired.push(alert(&a.rule, "the feed is stalled"));
                }
            }
        }
        fired
    }
}

fn alert(rule: &AlertRule, what: &str) -> Body {
    Body::Alert { rule: rule.describe(), message: what.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn rec(ms: i64, body: Body) -> Record {
        Record::new(Arc::from("f"), Timestamp(ms), body)
    }

    fn event(ms: i64, t: &str, data: &str) -> Record {
        rec(ms, Body::Event { seq: 1, event_type: Arc::from(t), id: Arc::from(""), data: data.into() })
    }

    fn open(ms: i64) -> Record {
        rec(ms, Body::Open { status: 200, headers: Default::default(), version: String::new() })
    }

    fn disconnected(ms: i64) -> Record {
        let reason = "the server ended the stream".into();
        rec(
            ms,
            Body::Disconnected {
                reason,
                cause: crate::Cause::EndOfStream,
                reconnect_in_ms: 1000,
                detail: String::new(),
            },
        )
    }

    #[test]
    fn event_rules_fire_on_every_match() {
        let mut a = Alerts::new(&[
            AlertRule::EventType { event_type: "price".into() },
            AlertRule::DataMatches { text: r#""level":\s*"error""#.into(), regex: true },
            AlertRule::DataMatches { text: "panic".into(), regex: false },
        ]);
        assert!(a.observe(&event(1, "tick", "{}")).is_empty());
        assert_eq!(a.observe(&event(2, "price", "1")).len(), 1);
        let fired = a.observe(&event(3, "log", r#"{"level": "error", "msg": "panic!"}"#));
        assert_eq!(fired.len(), 2);
        assert!(matches!(&fired[0], Body::Alert { rule, .. } if rule.starts_with("data matching")));
    }

    #[test]
    fn stalls_fire_once_per_silence_and_only_while_open() {
        let mut a = Alerts::new(&[AlertRule::Stalled { secs: 5 }]);
        assert!(a.tick(Timestamp(60_000)).is_empty(), "not open yet");
        a.observe(&open(0));
        assert!(a.tick(Timestamp(4_000)).is_empty());
        assert!(!a.stalled(Timestamp(4_000)));
        assert_eq!(a.tick(Timestamp(5_000)).len(), 1);
        assert!(a.stalled(Timestamp(5_000)));
        assert!(a.tick(Timestamp(9_000)).is_empty(), "once per silence");
        a.observe(&event(9_500, "x", "1"));
        assert!(!a.stalled(Timestamp(10_000)));
        assert_eq!(a.tick(Timestamp(15_000)).len(), 1, "re-armed by the event");
        a.observe(&disconnected(15_100));
        assert!(!a.stalled(Timestamp(60_000)) && a.tick(Timestamp(60_000)).is_empty(), "not while disconnected");
    }

    #[test]
    fn reconnects_fire_when_the_count_in_a_minute_passes_the_limit() {
        let mut a = Alerts::new(&[AlertRule::Reconnects { count: 2 }, AlertRule::Closed]);
        assert!(a.observe(&disconnected(0)).is_empty());
        assert!(a.observe(&disconnected(1_000)).is_empty());
        assert_eq!(a.observe(&disconnected(2_000)).len(), 1);
        assert!(a.observe(&disconnected(3_000)).is_empty(), "once as it passes");
        assert!(a.observe(&disconnected(200_000)).is_empty(), "an old minute is forgotten");
        let closed = Body::Closed {
            reason: "stopped by the user".into(),
            cause: crate::Cause::UserStop,
            fatal: false,
            detail: String::new(),
        };
        let closed = rec(200_001, closed);
        assert_eq!(a.observe(&closed).len(), 1);
    }

    #[test]
    fn query_rules_fire_on_matching_records() {
        let mut a = Alerts::new(&[AlertRule::Matches { query: r#"type == "price" && data.p > 100"#.into() }]);
        assert!(a.observe(&event(1, "price", r#"{"p":99}"#)).is_empty());
        let fired = a.observe(&event(2, "price", r#"{"p":101}"#));
        assert!(matches!(&fired[..], [Body::Alert { rule, .. }] if rule.starts_with("a record where")));
        assert!(AlertRule::Matches { query: "type ==".into() }.validate().unwrap_err().contains("column"));
    }

    #[test]
    fn invalid_rules_are_refused_with_a_reason() {
        assert!(AlertRule::DataMatches { text: "(".into(), regex: true }.validate().unwrap_err().contains("regular"));
        assert!(AlertRule::Stalled { secs: 0 }.validate().is_err());
        assert!(Alerts::new(&[AlertRule::Stalled { secs: 0 }]).is_empty());
    }
}
