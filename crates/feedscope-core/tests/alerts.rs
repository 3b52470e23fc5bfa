//! Alert rules through the hub, against real servers on 127.0.0.1: an alert record lands in the
//! timeline right after the event that fired it and reaches subscribers in the same order; a
//! rule set on a running feed does not reconnect it; global rules apply beside a feed's own; a stalled
//! feed shows as stalled and fires its stall rule once.

use std::time::Duration;

use feedscope_core::alerts::AlertRule;
use feedscope_core::{Body, FeedConfig, Hub, Kind, Mode, Record, Timestamp};
use feedscope_testkit::{cfg, collect_until, is_closed, Fixture, Reply, Step};

fn kinds(rs: &[Record]) -> Vec<Kind> {
    rs.iter().map(|r| r.body.kind()).collect()
}

#[tokio::test]
async fn an_alert_follows_the_event_that_fired_it_in_the_history_and_for_subscribers() {
    let fx = Fixture::start(|n, _| match n {
        0 => Reply::sse("data: 1\n\nevent: price\ndata: {\"p\":101}\n\ndata: 3\n\n"),
        _ => Reply::status(204),
    })
    .await;
    let hub = Hub::new();
    let config = FeedConfig {
        alerts: vec![AlertRule::EventType { event_type: "price".into() }, AlertRule::Closed],
        ..cfg(fx.url("/"), Mode::Browser)
    };
    hub.add("f", config, Default::default()).unwrap();
    // A global rule applies beside the feed's own.
    hub.set_global_alerts(vec![AlertRule::DataMatches { text: "3".into(), regex: false }]);
    let sub = hub.subscribe(Some("f"), 1 << 10);
    hub.start("f").unwrap();
    let rs = collect_until(&sub, is_closed).await;
    let got: Vec<Kind> =
        kinds(&rs).into_iter().filter(|k| *k != Kind::Connecting && *k != Kind::Disconnected).collect();
    assert_eq!(
        got,
        [Kind::Open, Kind::Event, Kind::Event, Kind::Alert, Kind::Event, Kind::Alert, Kind::Alert, Kind::Closed],
        "the price alert after its event, the global rule's after `3`; the closed alert just before \
         `closed`, which stays last"
    );
    let history: Vec<Record> = hub.snapshot("f").unwrap().iter().map(|r| (**r).clone()).collect();
    assert_eq!(history, rs, "subscribers see exactly the history, in its order");
    let Body::Alert { rule, message } = &rs.iter().find(|r| r.body.kind() == Kind::Alert).unwrap().body else {
        unreachable!()
    };
    assert_eq!((rule.as_str(), message.as_str()), ("an event of type \"price\"", "{\"p\":101}"));
    assert_eq!(hub.stats("f").unwrap().alerts, 3);
}

#[tokio::test]
async fn watch_settings_change_without_a_reconnection_and_a_stall_fires_once() {
    let fx = Fixture::start(|_, _| {
        Reply::sse_steps(vec![Step::Send(b"data: a\n\n".to_vec()), Step::Wait(Duration::from_millis(300)), Step::Hang])
    })
    .await;
    let hub = Hub::new();
    let config = cfg(fx.url("/"), Mode::Persistent);
    hub.add("f", config.clone(), Default::default()).unwrap();
    let sub = hub.subscribe(Some("f"), 1 << 10);
    hub.start("f").unwrap();
    collect_until(&sub, |rs| rs.iter().any(|r| r.body.kind() == Kind::Event)).await;
    // A stall watchdog and a rule, set while open: the connection goes on.
    hub.update(
        "f",
        FeedConfig { stall_secs: 1, alerts: vec![AlertRule::Stalled { secs: 1 }], ..config },
        Default::default(),
    )
    .unwrap();
    // The hub is asked about the time as the app's bridge asks it, until the stall fires.
    let rs = tokio::time::timeout(Duration::from_secs(20), async {
        let mut seen = Vec::new();
        loop {
            hub.tick(Timestamp::now());
            seen.extend(sub.drain(100).iter().map(|r| (**r).clone()));
            if seen.iter().any(|r: &Record| r.body.kind() == Kind::Alert) {
                break seen;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the stall rule fired");
    assert_eq!(fx.requests().len(), 1, "no reconnection for a watch setting");
    assert!(rs.iter().all(|r| r.body.kind() != Kind::Disconnected));
    assert!(hub.stats("f").unwrap().stalled);
    hub.tick(Timestamp::now());
    assert!(sub.drain(100).is_empty(), "once per silence");
    hub.stop_all();
}
