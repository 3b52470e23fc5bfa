//! `feedscope-fixture`: the loopback SSE server of the WebDriver specs (tests/e2e/wd.mjs starts
//! it; the feed is `feedscope_testkit::e2e`). Its stdout and stdin are how a spec steers it:
//!
//! - first line `listening on http://127.0.0.1:PORT`, then `request {"leid":…,"at":…}` for each
//!   `/stream` request (its Last-Event-ID or null, and the time in ms since the Unix epoch);
//! - `drop` on stdin: stop listening and cut every connection, then print `dropped`;
//!   `resume`: listen again on the same port, then print `resumed`.
//!
//! It exits when stdin closes, so a spec runner that dies leaves nothing behind.

use std::io::BufRead as _;
use std::time::{SystemTime, UNIX_EPOCH};

use feedscope_testkit::{e2e, Fixture, Req};
use tokio::sync::mpsc;

fn report(req: &Req) {
    let at = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let leid = serde_json::to_string(&req.header("last-event-id")).expect("a string or null");
    println!("request {{\"leid\":{leid},\"at\":{at}}}");
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let fixture = Fixture::start(e2e::stream(report)).await;
    println!("listening on {}", fixture.url(""));

    let (lines, mut commands) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    while let Some(command) = commands.recv().await {
        match command.trim() {
            "drop" => {
                fixture.pause().await;
                println!("dropped");
            }
            "resume" => {
                fixture.resume().await;
                println!("resumed");
            }
            "" => {}
            other => eprintln!("feedscope-fixture: unknown command {other:?} (drop, resume)"),
        }
    }
}
