#!/usr/bin/env bash
# Every Rust test of the workspace's headless crates: the engine, the servers, the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --exclude feedscope-app --all-targets --locked 2>&1
