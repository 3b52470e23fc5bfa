"""Shared by the interop servers: the feed's events, the listening socket, the ready line.

Every server takes `--port N` (0 picks a free port), binds 127.0.0.1, and prints exactly one
line `LISTENING http://127.0.0.1:PORT` on stdout once it accepts requests. It exits when its
standard input closes, so a test that dies without killing it does not leave it behind.
"""

import argparse
import json
import os
import socket
import sys
import threading


def feed_event(i: int) -> tuple[str | None, str]:
    """Event number `i` (its id is str(i)) of the interop feed: (event type or None, data).

    crates/feedscope-cli/tests/interop.rs spells out the same table.
    """
    kind = i % 5
    if kind == 1:
        return "tick", str(i)
    if kind == 2:
        return "chat", f"line {i}\nsecond line\n  indented"
    if kind == 3:
        return None, json.dumps({"i": i, "text": "héllo ✓ 🎉"}, ensure_ascii=False, separators=(",", ":"))
    if kind == 4:
        return "blank", ""
    return "gap", f"{i}\n\n{i}\n"


def first_id(last_event_id: str | None) -> int:
    """The first event to send, resuming after a numeric Last-Event-ID."""
    try:
        return int(last_event_id or "0") + 1
    except ValueError:
        return 1


def parse_args(description: str, extra=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 picks a free one)")
    if extra:
        extra(parser)
    return parser.parse_args()


def listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def announce(sock: socket.socket) -> None:
    port = sock.getsockname()[1]
    print(f"LISTENING http://127.0.0.1:{port}", flush=True)


def exit_when_stdin_closes() -> None:
    def watch() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


async def serve_asgi(app, sock: socket.socket) -> None:
    """Serves an ASGI app with uvicorn on `sock`, announcing it once uvicorn has started."""
    import asyncio

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="auto"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            await task  # raises what made it stop
            raise SystemExit("uvicorn stopped before it started")
        await asyncio.sleep(0.01)
    announce(sock)
    await task
