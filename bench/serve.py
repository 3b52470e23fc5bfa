#!/usr/bin/env python3
"""Loopback helper for scripts/bench-tail.sh: serves the files of bench/ and collects what the
EventSource page reports.

    python3 bench/serve.py RESULTS_FILE CHROMIUM_PID_FILE [SERVER_PID]

Listens on 127.0.0.1 on a free port and prints `PORT <n>` on stdout once it is listening.
GET /<file>       a file of this folder (the page).
POST /mark        the page is about to open its EventSource: samples the CPU time of the
                  Chromium process tree (the root pid is read from CHROMIUM_PID_FILE).
POST /result      a JSON object from the page; written as one line to RESULTS_FILE with
                  `cpu_s` (CPU seconds the whole Chromium tree used since the last /mark) added,
                  and `server_cpu_s` (the same for the process SERVER_PID, the SSE server).
"""

import json
import os
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS, PID_FILE = sys.argv[1], sys.argv[2]
SERVER_PID = int(sys.argv[3]) if len(sys.argv) > 3 else None
TICK = os.sysconf("SC_CLK_TCK")
marked = {"cpu": None, "server": None}


def tree_cpu_seconds(root):
    """utime+stime of `root` and every live descendant, plus the reaped children they waited for."""
    children, cpu = {}, {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        pid, ppid = int(name), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        cpu[pid] = sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total / TICK


def server_cpu():
    return tree_cpu_seconds(SERVER_PID) if SERVER_PID else None


def chromium_cpu():
    try:
        with open(PID_FILE) as f:
            return tree_cpu_seconds(int(f.read().strip()))
    except (OSError, ValueError):
        return None


class Handler(SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=HERE, **kwargs)

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/mark"):
            marked["cpu"], marked["server"] = chromium_cpu(), server_cpu()
        elif self.path.startswith("/result"):
            try:
                result = json.loads(body or b"{}")
            except ValueError:
                result = {"error": "unreadable result: " + body[:200].decode("utf-8", "replace")}
            now = chromium_cpu()
            if now is not None and marked["cpu"] is not None:
                result["cpu_s"] = round(now - marked["cpu"], 3)
            server = server_cpu()
            if server is not None and marked["server"] is not None:
                result["server_cpu_s"] = round(server - marked["server"], 3)
            marked["cpu"] = marked["server"] = None
            with open(RESULTS, "a") as f:
                f.write(json.dumps(result) + "\n")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"PORT {server.server_address[1]}", flush=True)
server.serve_forever()
