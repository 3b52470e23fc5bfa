#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Feedscope needs: to build the app (webkit2gtk 4.1 and
# friends) and, with --e2e, to run its end-to-end test (WebKitWebDriver, Xvfb). Uses apt-get as
# root, sudo otherwise, or prints the exact command when neither is possible.
set -euo pipefail

BUILD=(build-essential pkg-config libwebkit2gtk-4.1-dev)
E2E=(webkit2gtk-driver xvfb xauth)
want=("${BUILD[@]}")
[[ "${1:-}" == "--e2e" ]] && want+=("${E2E[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "setup-system: this is not a Debian/Ubuntu system; install the equivalents of: ${missing[*]}" >&2
  exit 1
fi
cmd=(apt-get install -y --no-install-recommends "${missing[@]}")
echo "setup-system: installing ${missing[*]}" >&2
if [[ $(id -u) -eq 0 ]]; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive "${cmd[@]}"
elif command -v sudo >/dev/null && { sudo -n true 2>/dev/null || [[ -t 0 ]]; }; then
  sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive "${cmd[@]}"
else
  echo "setup-system: cannot install packages without root. Run:" >&2
  echo "  sudo apt-get update && sudo ${cmd[*]}" >&2
  exit 1
fi
