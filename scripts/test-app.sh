#!/usr/bin/env bash
# End-to-end test of the real Feedscope window: builds the app with the UI embedded, starts Xvfb
# when there is no display, and runs the WebDriver specs (tests/e2e) one after another through
# tauri-driver and Debian's WebKitWebDriver, with a throw-away data directory.
set -euo pipefail
cd "$(dirname "$0")/.."

# WebKitWebDriver, Xvfb and the build packages: installed here when missing (apt-get as root or
# sudo), so this script also works alone on a fresh machine.
bash scripts/setup-system.sh --e2e
DRIVER="${TAURI_DRIVER:-$(command -v tauri-driver || echo "${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver")}"
if [[ ! -x "$DRIVER" ]]; then
  echo "test-app: installing tauri-driver 2.1.0" >&2
  cargo install tauri-driver --locked --version 2.1.0
fi
export TAURI_DRIVER="$DRIVER"

[[ -d node_modules ]] || npm ci
# No devUrl in tauri.conf.json: a plain cargo build embeds ui/dist, so build the UI first.
npm run --silent build:ui
cargo build -p feedscope-app --locked
# The specs' loopback SSE server (tests/e2e/wd.mjs starts it).
cargo build -p feedscope-testkit --bin feedscope-fixture --locked
export FEEDSCOPE_APP="${FEEDSCOPE_APP:-${CARGO_TARGET_DIR:-$PWD/target}/debug/feedscope-app}"
export FEEDSCOPE_FIXTURE="${FEEDSCOPE_FIXTURE:-${CARGO_TARGET_DIR:-$PWD/target}/debug/feedscope-fixture}"

XVFB_PID=""
cleanup() { [[ -n "$XVFB_PID" ]] && kill "$XVFB_PID" 2>/dev/null || true; }
trap cleanup EXIT
if [[ -z "${DISPLAY:-}" ]]; then
  for n in $(seq 90 130); do
    [[ -e /tmp/.X11-unix/X$n || -e /tmp/.X$n-lock ]] && continue
    Xvfb ":$n" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
    XVFB_PID=$!
    export DISPLAY=":$n"
    break
  done
  for _ in $(seq 50); do [[ -e /tmp/.X11-unix/X${DISPLAY#:} ]] && break; sleep 0.1; done
fi
export WEBKIT_DISABLE_COMPOSITING_MODE=1 WEBKIT_DISABLE_DMABUF_RENDERER=1

# The specs (tests/e2e/NAME.spec.mjs), in order; arguments run only the ones named.
[[ $# -gt 0 ]] || set -- app actions restart crash burst raw watch payloads transports
node tests/e2e/run.mjs "$@"
