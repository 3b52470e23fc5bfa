//! Times one query over 1M held event records shaped like the demo feed's (`tick`, `price`,
//! `chat`, `message`; price data is JSON), and prints events per second. The figure goes in
//! docs/PERFORMANCE.md. Run: `cargo run --release -p feedscope-core --example query_1m [QUERY]`

use std::sync::Arc;
use std::time::Instant;

use feedscope_core::{Body, Filter, Record, Timestamp};

const N: u64 = 1_000_000;

fn main() {
    let query = std::env::args().nth(1).unwrap_or_else(|| r#"type == "price" && data.price > 100"#.to_owned());
    let filter = match Filter::parse(&query) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}\n{}", e.caret(&query));
            std::process::exit(2);
        }
    };
    let feed: Arc<str> = Arc::from("demo");
    let types: [Arc<str>; 4] = ["tick", "price", "chat", "message"].map(Arc::from);
    let records: Vec<Record> = (1..=N)
        .map(|i| {
            let t = &types[(i % 4) as usize];
            let data = match &**t {
                "price" => {
                    let cents = 9_000 + (i * 7_919) % 4_000; // 90.00 ..= 129.99
                    format!(
                        r#"{{"seq":{i},"symbol":"FSC","price":{}.{:02},"change":-0.07,"src":"demo"}}"#,
                        cents / 100,
                        cents % 100
                    )
                }
                "tick" => format!(r#"{{"seq":{i},"n":{i}}}"#),
                "chat" => format!(r#"{{"seq":{i},"user":"ada","text":"hello number {i}"}}"#),
                _ => format!("plain message {i}"),
            };
            let body = Body::Event { seq: i, event_type: t.clone(), id: Arc::from(i.to_string()), data };
            Record::new(feed.clone(), Timestamp(i as i64), body)
        })
        .collect();

    // Warm up once, then keep the best of three runs.
    let mut best = f64::INFINITY;
    let mut hits = 0;
    for _ in 0..4 {
        let started = Instant::now();
        hits = records.iter().filter(|r| filter.matches(r)).count();
        best = best.min(started.elapsed().as_secs_f64());
    }
    println!("{query}: {hits} of {N} records match, {:.1} ms, {:.1} M events/s", best * 1e3, N as f64 / best / 1e6);
}
