#!/usr/bin/env bash
# Every Rust test of the workspace's headless crates: the engine, the servers, the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-python.sh  # the venv of the interop tests (crates/feedscope-cli/tests/interop.rs)
cargo test --workspace --exclude feedscope-app --all-targets --locked 2>&1
