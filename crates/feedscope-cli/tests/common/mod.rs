//! What the CLI's test files share: running the built `feedscope` binary and reading its output.
// Each test file is its own crate and uses some of these.
#![allow(dead_code)]

use std::process::{Command, Output};

use feedscope_core::Record;

pub const BIN: &str = env!("CARGO_BIN_EXE_feedscope");

/// Runs `feedscope ARGS` to its end, off the test's runtime threads.
pub async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || Command::new(BIN).args(args).output().expect("run feedscope"))
        .await
        .expect("join")
}

pub fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Stdout as NDJSON records; a line that is not one fails the test.
pub fn records(out: &Output) -> Vec<Record> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| Record::from_json(l).unwrap_or_else(|e| panic!("not a record: {l:?}: {e}")))
        .collect()
}
