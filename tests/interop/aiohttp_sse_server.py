"""aiohttp + aiohttp-sse: the interop feed with a choice of line separator.

GET /events?n=N&retry=MS&hold=1&sep=crlf|lf|cr  a `: welcome` comment, then events
    first..first+N-1 of _common.feed_event with their ids (the first one also carries
    `retry: MS` if given), where first follows the request's Last-Event-ID; then the stream
    ends, or with hold=1 stays open and silent. Every line ends with the chosen separator
    (aiohttp-sse's default is crlf).
"""

import asyncio

from aiohttp import web
from aiohttp_sse import sse_response

import _common

SEPARATORS = {"crlf": "\r\n", "lf": "\n", "cr": "\r"}


async def events(request: web.Request) -> web.StreamResponse:
    n = int(request.query.get("n", "5"))
    retry = request.query.get("retry")
    hold = request.query.get("hold") == "1"
    sep = SEPARATORS[request.query.get("sep", "crlf")]
    # A ping interval of a day: no timed keep-alive comments, the stream is the same every run.
    async with sse_response(request, sep=sep, ping_interval=86400) as resp:
        first = _common.first_id(resp.last_event_id)
        await resp.write(f": welcome{sep}{sep}".encode())
        for i in range(first, first + n):
            event, data = _common.feed_event(i)
            await resp.send(data, id=str(i), event=event, retry=int(retry) if retry is not None and i == first else None)
        if hold:
            await asyncio.Event().wait()
    return resp


async def main(port: int) -> None:
    app = web.Application()
    app.router.add_get("/events", events)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    sock = _common.listen(port)
    await web.SockSite(runner, sock).start()
    _common.announce(sock)
    await asyncio.Event().wait()


if __name__ == "__main__":
    args = _common.parse_args(__doc__)
    _common.exit_when_stdin_closes()
    asyncio.run(main(args.port))
