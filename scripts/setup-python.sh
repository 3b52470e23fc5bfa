#!/usr/bin/env bash
# Makes the Python venv that the interop tests (crates/feedscope-cli/tests/interop.rs) start their
# real SSE servers from: .venv-interop/ with tests/interop/requirements.txt installed. Installs
# Debian's python3 and python3-venv first where they are missing (apt-get as root, sudo
# otherwise, or prints the exact command). Quick when nothing changed: a stamp in the venv holds
# the hash of the requirements and the interpreter's version.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-interop
REQS=tests/interop/requirements.txt
PY=${PYTHON:-python3}
STAMP=$VENV/.feedscope-stamp

say() { echo "setup-python: $*" >&2; }

stamp() {
  { sha256sum "$REQS" | cut -d' ' -f1; "$VENV/bin/python" -c 'import sys; print(sys.version)'; } 2>/dev/null
}

# The quick path: the venv is there, works, and was made from these requirements.
if [[ -f $STAMP && -x $VENV/bin/python ]] && [[ "$(stamp)" == "$(cat "$STAMP")" ]]; then
  exit 0
fi

# One run at a time: several test runs may share this work tree.
exec 9>"$VENV.lock"
flock 9 2>/dev/null || true
if [[ -f $STAMP && -x $VENV/bin/python ]] && [[ "$(stamp)" == "$(cat "$STAMP")" ]]; then
  exit 0
fi

usable_python() {
  command -v "$PY" >/dev/null &&
    "$PY" -c 'import sys; assert sys.version_info >= (3, 10); import venv, ensurepip' 2>/dev/null
}

if ! usable_python; then
  # Debian's python3 has no ensurepip (so no `python3 -m venv`) without python3-venv.
  pkgs=(python3 python3-venv)
  if ! command -v apt-get >/dev/null; then
    say "need $PY >= 3.10 with the venv and ensurepip modules (set PYTHON=... to choose one)"
    exit 1
  fi
  cmd=(apt-get install -y --no-install-recommends "${pkgs[@]}")
  say "installing ${pkgs[*]}"
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive "${cmd[@]}"
  elif command -v sudo >/dev/null && { sudo -n true 2>/dev/null || [[ -t 0 ]]; }; then
    sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive "${cmd[@]}"
  else
    say "cannot install packages without root. Run:"
    say "  sudo apt-get update && sudo ${cmd[*]}"
    exit 1
  fi
  # A python3 found first on PATH (pyenv, a custom build) may still lack them: use Debian's.
  if ! usable_python && [[ -x /usr/bin/python3 ]]; then
    PY=/usr/bin/python3
  fi
  if ! usable_python; then
    say "$PY still cannot make a venv (needs Python >= 3.10 with venv and ensurepip)"
    exit 1
  fi
fi

# A venv whose interpreter is gone or broken (a removed pyenv version, a half-made venv) is made anew.
if ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
  rm -rf "$VENV"
  say "creating $VENV with $("$PY" -V 2>&1)"
  "$PY" -m venv "$VENV"
fi
rm -f "$STAMP"
say "installing $REQS into $VENV"
"$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$REQS"
"$VENV/bin/python" -c 'import sse_starlette, uvicorn, aiohttp, aiohttp_sse, mcp.server.mcpserver'
stamp >"$STAMP"
say "ready: $VENV ($("$VENV/bin/python" -V 2>&1))"
