#!/usr/bin/env bash
# End-to-end benchmark of the release `feedscope tail` against a loopback burst, with reference
# clients on the same machine and the same bytes:
#   a) curl, raw transfer            b) feedscope tail --format ndjson > /dev/null
#   c) feedscope tail --format pretty > file      d) Chromium's EventSource (headless)
# The source is the demo server's GET /burst?n=N: N `tick` events of ~100 bytes, then the end.
#
#   bash scripts/bench-tail.sh
#   BENCH_N=1000000 BENCH_REPS=5 bash scripts/bench-tail.sh
#
# Environment: BENCH_N (events, default 500000), BENCH_REPS (repetitions per client, default 3;
# medians are reported), BENCH_NO_BUILD=1 (use the existing binary), BENCH_NO_BROWSER=1 (skip d),
# BENCH_KEEP=1 (keep the work folder with the outputs), CARGO_TARGET_DIR (default ./target).
# Needs curl, python3, /usr/bin/time (package `time`) and, for d, Debian's `chromium` (installed
# with apt-get when missing and running as root). Everything started here is stopped on exit.
# Exits 1 when a tail run did not deliver exactly events 1..N (the report is printed first).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${BENCH_N:-500000}
REPS=${BENCH_REPS:-3}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET/release/feedscope
PY=$(command -v /usr/bin/python3 || command -v python3)
WORK=$(mktemp -d /tmp/bench-tail.XXXXXX)
DEMO_PID='' PAGE_PID='' CHROME_PID=''

cleanup() {
    local rc=$?
    set +e
    # Chromium runs in its own session (setsid): stop its whole process group.
    [ -n "$CHROME_PID" ] && kill -TERM -- "-$CHROME_PID" 2>/dev/null
    [ -n "$PAGE_PID" ] && kill "$PAGE_PID" 2>/dev/null
    if [ -n "$DEMO_PID" ] && kill -INT "$DEMO_PID" 2>/dev/null; then
        # Ctrl-C is how the demo server stops; if it does not within 3 s, terminate it.
        for _ in $(seq 30); do kill -0 "$DEMO_PID" 2>/dev/null || break; sleep 0.1; done
        kill -TERM "$DEMO_PID" 2>/dev/null
    fi
    wait 2>/dev/null
    if [ "${BENCH_KEEP:-}" = 1 ]; then echo "outputs kept in $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s\n' "$*" >&2; }
die() { say "bench-tail: $*"; exit 1; }

[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "BENCH_N must be a positive whole number, not '$N'"
[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPS must be a positive whole number, not '$REPS'"
for tool in curl "$PY" /usr/bin/time; do command -v "$tool" >/dev/null || die "$tool is missing"; done

# --- build -------------------------------------------------------------------------------------
if [ "${BENCH_NO_BUILD:-}" != 1 ]; then
    say "building: cargo build --release -p feedscope-cli --locked"
    (cd "$ROOT" && cargo build --release -p feedscope-cli --locked) >&2
fi
[ -x "$BIN" ] || die "$BIN is missing (build it, or unset BENCH_NO_BUILD)"
# target/ is shared: run a copy, so that a rebuild by someone else cannot swap the binary mid-run.
BUILT="$BIN, built $(date -r "$BIN" '+%F %T')"
cp "$BIN" "$WORK/feedscope"
BIN=$WORK/feedscope
# Which source the binary was built from: HEAD plus a fingerprint of the uncommitted changes to
# the crates' src/ folders and Cargo.lock (compare with a later run to see whether it changed).
SOURCE=$(cd "$ROOT" && { git rev-parse --short HEAD 2>/dev/null || echo '?'; } | tr -d '\n'
    printf ' + diff %s' "$(git diff HEAD -- 'crates/*/src/*' Cargo.lock 2>/dev/null | sha256sum | cut -c1-12)")

# --- demo server -------------------------------------------------------------------------------
"$BIN" demo --port 0 >"$WORK/demo.out" 2>"$WORK/demo.err" &
DEMO_PID=$!
BASE=''
for _ in $(seq 100); do
    BASE=$(grep -oE 'https?://[^/ ]+' "$WORK/demo.out" 2>/dev/null | head -n1 || true)
    [ -n "$BASE" ] && break
    kill -0 "$DEMO_PID" 2>/dev/null || die "feedscope demo exited: $(cat "$WORK/demo.err")"
    sleep 0.1
done
[ -n "$BASE" ] || die "feedscope demo printed no URL"
URL="$BASE/burst?n=$N"
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/burst?n=1")
[ "$code" = 200 ] || die "$BASE/burst answers $code: this demo server has no /burst (rebuild)"

# CPU seconds (user+sys) a live process has used so far.
cpu_of() { awk -v t="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / t }' "/proc/$1/stat"; }

# timed NAME OUT CMD...: one run, stdout to OUT; appends "wall user sys rss_kb server_cpu rc"
# to $WORK/NAME.runs. Wall is taken around the whole process (start, connect, transfer, exit).
timed() {
    local name=$1 out=$2 t0 t1 s0 s1 rc=0
    shift 2
    s0=$(cpu_of "$DEMO_PID")
    t0=$(date +%s%N)
    /usr/bin/time -f '%U %S %M' -o "$WORK/time" timeout 900 "$@" >"$out" 2>"$WORK/$name.err" || rc=$?
    t1=$(date +%s%N)
    s1=$(cpu_of "$DEMO_PID")
    echo "$(( (t1 - t0) / 1000 )) $(tail -n1 "$WORK/time") $s0 $s1 $rc" |
        awk '{ printf "%.6f %s %s %s %.2f %s\n", $1 / 1e6, $2, $3, $4, $6 - $5, $7 }' >>"$WORK/$name.runs"
}

CURL_CMD=(curl -sN -o /dev/null "$URL")
NDJSON_CMD=("$BIN" tail "$URL" --format ndjson -n "$N" --mode browser)
PRETTY_CMD=("$BIN" tail "$URL" --format pretty -n "$N" --mode browser)
BODY_BYTES=$(curl -sN -o /dev/null -w '%{size_download}' "$URL")

say "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs"
LOAD_BEFORE=$(uptime)
say "load before: $LOAD_BEFORE"

for rep in $(seq "$REPS"); do
    say "run $rep/$REPS: tail startup (n=1), curl, tail ndjson, tail pretty"
    timed startup /dev/null "$BIN" tail "$BASE/burst?n=1" --format ndjson -n 1 --mode browser
    timed curl /dev/null "${CURL_CMD[@]}"
    timed ndjson /dev/null "${NDJSON_CMD[@]}"
    timed pretty "$WORK/tail.pretty" "${PRETTY_CMD[@]}"
done

# One more ndjson run into a file, to check that exactly N events came, seq and id 1..N.
say "checking one ndjson run: ${NDJSON_CMD[*]} > FILE"
check_rc=0
timeout 900 "${NDJSON_CMD[@]}" >"$WORK/tail.ndjson" 2>"$WORK/check.err" || check_rc=$?
NDJSON_CHECK=$("$PY" - "$WORK/tail.ndjson" "$N" <<'EOF'
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
seqs, ids, kinds, bad = [], [], {}, 0
with open(path, encoding="utf-8") as f:
    for line in f:
        try:
            r = json.loads(line)
        except ValueError:
            bad += 1
            continue
        kinds[r.get("kind")] = kinds.get(r.get("kind"), 0) + 1
        if r.get("kind") == "event":
            seqs.append(r["seq"])
            ids.append(int(r["id"]) if r["id"].isdigit() else -1)
ok = seqs == list(range(1, n + 1)) and ids == seqs
missing = n - len(set(i for i in ids if 1 <= i <= n))
print(f"{'OK' if ok else 'FAILED'}: {len(seqs)} event lines (want {n}), seq 1..N contiguous: "
      f"{seqs == list(range(1, n + 1))}, id == seq: {ids == seqs}, ids missing: {missing}, "
      f"unparsable lines: {bad}, kinds: {json.dumps(kinds, sort_keys=True)}")
EOF
)
PRETTY_CHECK=$("$PY" - "$WORK/tail.pretty" "$N" <<'EOF'
import re, sys
path, n = sys.argv[1], int(sys.argv[2])
seqs = [int(m.group(1)) for m in re.finditer(r"\btick #(\d+)\b", open(path, encoding="utf-8").read(), re.M)]
print(f"{'OK' if seqs == list(range(1, n + 1)) else 'FAILED'}: {len(seqs)} tick lines (want {n}), "
      f"seq 1..N contiguous: {seqs == list(range(1, n + 1))}")
EOF
)

# --- Chromium EventSource ----------------------------------------------------------------------
CHROME_NOTE='skipped (BENCH_NO_BROWSER=1)'
CHROME_CMD=()
if [ "${BENCH_NO_BROWSER:-}" != 1 ]; then
    CHROME=$(command -v chromium || command -v chromium-browser || true)
    if [ -z "$CHROME" ] && [ "$(id -u)" = 0 ]; then
        say "installing chromium: apt-get install -y chromium"
        apt-get install -y chromium >&2 || { apt-get update >&2 && apt-get install -y chromium >&2; } || true
        CHROME=$(command -v chromium || true)
    fi
    if [ -z "$CHROME" ]; then
        CHROME_NOTE='skipped: chromium is not installed (apt-get install -y chromium)'
    else
        "$PY" "$ROOT/bench/serve.py" "$WORK/chromium.jsonl" "$WORK/chromium.pid" "$DEMO_PID" >"$WORK/page.out" 2>"$WORK/page.err" &
        PAGE_PID=$!
        PAGE_PORT=''
        for _ in $(seq 100); do
            PAGE_PORT=$(sed -n 's/^PORT //p' "$WORK/page.out")
            [ -n "$PAGE_PORT" ] && break
            sleep 0.1
        done
        [ -n "$PAGE_PORT" ] || die "bench/serve.py did not start: $(cat "$WORK/page.err")"
        SRC=$("$PY" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$URL")
        PAGE="http://127.0.0.1:$PAGE_PORT/eventsource.html?src=$SRC&n=$N&runs=$REPS"
        CHROME_CMD=("$CHROME" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
            --disable-background-networking --disable-component-update --disable-sync
            --user-data-dir="$WORK/chromium-profile" "$PAGE")
        say "chromium: $REPS runs in one headless browser"
        setsid "${CHROME_CMD[@]}" >"$WORK/chromium.log" 2>&1 &
        CHROME_PID=$!
        echo "$CHROME_PID" >"$WORK/chromium.pid"
        limit=$(( 60 + REPS * (N / 10000 + 10) ))
        for _ in $(seq $(( limit * 5 ))); do
            grep -q '"done"' "$WORK/chromium.jsonl" 2>/dev/null && break
            kill -0 "$CHROME_PID" 2>/dev/null || break
            sleep 0.2
        done
        kill -TERM -- "-$CHROME_PID" 2>/dev/null || true
        wait "$CHROME_PID" 2>/dev/null || true
        # Its helper processes exit just after the browser: wait until the group is empty.
        for _ in $(seq 50); do kill -0 -- "-$CHROME_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$CHROME_PID" 2>/dev/null || true
        CHROME_PID=''
        if grep -q '"done"' "$WORK/chromium.jsonl" 2>/dev/null; then
            CHROME_NOTE=''
        else
            CHROME_NOTE="no result within ${limit}s; chromium log: $(tail -n3 "$WORK/chromium.log" | tr '\n' ' ')"
        fi
        # "wall user sys rss server rc" lines like the others; CPU is the whole browser's.
        "$PY" - "$WORK/chromium.jsonl" >"$WORK/chromium.runs" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "run" in r and r.get("ok"):
        print(f"{r['wall_ms'] / 1000:.6f} {r.get('cpu_s', float('nan'))} 0 0 {r.get('server_cpu_s', 'nan')} 0")
EOF
    fi
fi
LOAD_AFTER=$(uptime)

# --- report ------------------------------------------------------------------------------------
# summary NAME LABEL: one table row from $WORK/NAME.runs.
summary() {
    [ -s "$WORK/$1.runs" ] || { printf '| %-26s | %s |\n' "$2" "no result"; return; }
    sort -n -k1,1 "$WORK/$1.runs" | awk -v label="$2" -v n="$N" -v bytes="$BODY_BYTES" '
        { wall[NR] = $1; cpu[NR] = $2 + $3; rss[NR] = $4; srv[NR] = $5; if ($6 != 0) fails++ }
        function median(a, k,   i, j, t, b) {
            for (i = 1; i <= k; i++) b[i] = a[i]
            for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (b[j] < b[i]) { t = b[i]; b[i] = b[j]; b[j] = t }
            return k % 2 ? b[(k + 1) / 2] : (b[k / 2] + b[k / 2 + 1]) / 2
        }
        END {
            w = median(wall, NR)
            printf "| %-26s | %10.0f | %7.1f | %6.3f s (%.3f-%.3f) | %7.2f s | %9s | %6s | %s\n",
                label, n / w, bytes / w / 1e6, w, wall[1], wall[NR], median(cpu, NR),
                (rss[1] > 0 ? sprintf("%.0f MB", median(rss, NR) / 1024) : "-"),
                (srv[1] == "nan" ? "-" : sprintf("%.2f s", median(srv, NR))),
                (fails ? fails " of " NR " runs exited non-zero |" : "|")
        }'
}

cat <<EOF

## feedscope tail vs. reference clients, /burst of $N events ($BODY_BYTES bytes, $(awk -v b="$BODY_BYTES" -v n="$N" 'BEGIN { printf "%.1f", b / n }') B/event)

machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1e6 }' /proc/meminfo)
binary:  a copy of $BUILT (source: $SOURCE)
load before: $LOAD_BEFORE
load after:  $LOAD_AFTER
medians of $REPS runs; wall = whole process (start, connect, transfer, exit) for curl and tail,
new EventSource() to the N-th event for Chromium. CPU = user+sys of the client (for Chromium:
every browser process, between the page's start and end marks). server = demo server CPU.

| client                     |   events/s |    MB/s | wall median (min-max)  | CPU       | max RSS   | server | notes
| -------------------------- | ---------: | ------: | ---------------------- | --------: | --------: | -----: | -----
EOF
summary startup '   tail, n=1 (fixed cost)' | awk -F'|' '{ print $1 "|" $2 "|          - |       - |" $5 "|" $6 "|" $7 "|" $8 "|" $9 "|" }'
summary curl 'a) curl raw transfer'
summary ndjson 'b) tail ndjson > /dev/null'
summary pretty 'c) tail pretty > file'
if [ -z "$CHROME_NOTE" ]; then summary chromium 'd) Chromium EventSource'; else printf '| %-26s | %s |\n' 'd) Chromium EventSource' "$CHROME_NOTE"; fi

cat <<EOF

checks:
  tail ndjson into a file (exit $check_rc): $NDJSON_CHECK
  tail pretty into a file (last run):  $PRETTY_CHECK
EOF
for f in ndjson pretty check; do
    if [ -s "$WORK/$f.err" ]; then
        printf '  stderr of tail %s: %s\n' "$f" "$(sort "$WORK/$f.err" | uniq -c | head -n3 | tr -s ' ' | tr '\n' ';')"
    fi
done
if [ -s "$WORK/chromium.jsonl" ]; then
    "$PY" - "$WORK/chromium.jsonl" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "run" in r:
        print(f"  chromium run {r['run']}: {r['events']} events, id gaps {r['gaps']}, reconnects {r['reconnects']}, "
              f"open after {r['open_ms'] or 0:.0f} ms, {r['wall_ms']:.0f} ms, browser CPU {r.get('cpu_s')} s, "
              f"server CPU {r.get('server_cpu_s')} s" + (f", error: {r['error']}" if r.get("error") else ""))
    elif r.get("done"):
        print("  chromium: " + (r.get("user_agent") or "") + (" error: " + r["error"] if r.get("error") else ""))
EOF
fi

quoted() { if [ $# -gt 0 ]; then printf '%q ' "$@"; else printf '(not run)'; fi; }
cat <<EOF

commands (demo server: $BIN demo --port 0 → $BASE):
  a) $(quoted "${CURL_CMD[@]}")
  b) $(quoted "${NDJSON_CMD[@]}")> /dev/null
  c) $(quoted "${PRETTY_CMD[@]}")> FILE
  d) $(quoted "${CHROME_CMD[@]}")
  a-c each under: /usr/bin/time -f '%U %S %M' timeout 900 CMD
EOF
# A lossy or out-of-order tail fails the run (after the report).
case "$NDJSON_CHECK $PRETTY_CHECK" in *FAILED*) exit 1 ;; esac
