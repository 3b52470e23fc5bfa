"""sse-starlette on uvicorn: the interop feed, and an LLM-style POST token stream.

GET  /events?n=N&retry=MS&hold=1  a `: welcome` comment, `retry: MS` (if given), then events
     first..first+N-1 of _common.feed_event with their ids, where first follows the request's
     Last-Event-ID; then the stream ends, or with hold=1 stays open and silent.
POST /chat  {"prompt": "a few words"} (Content-Type: application/json, else 415) streams one
     OpenAI-style `chat.completion.chunk` per word, then `data: [DONE]`, then ends.
"""

import asyncio
import json

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import _common


async def events(request: Request):
    n = int(request.query_params.get("n", "5"))
    retry = request.query_params.get("retry")
    hold = request.query_params.get("hold") == "1"
    first = _common.first_id(request.headers.get("last-event-id"))

    async def stream():
        yield ServerSentEvent(comment="welcome")
        if retry is not None:
            yield ServerSentEvent(retry=int(retry))
        for i in range(first, first + n):
            event, data = _common.feed_event(i)
            yield ServerSentEvent(data=data, event=event, id=str(i))
        if hold:
            await asyncio.Event().wait()

    # ping=0: no timed keep-alive comments, so the stream is the same on every run.
    return EventSourceResponse(stream(), ping=0)


async def chat(request: Request):
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return PlainTextResponse("Content-Type must be application/json", status_code=415)
    prompt = (await request.json())["prompt"]
    words = prompt.split(" ")

    async def stream():
        for k, word in enumerate(words):
            token = word if k == len(words) - 1 else word + " "
            chunk = {
                "id": "chatcmpl-feedscope",
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": {"content": token}, "finish_reason": None}],
            }
            yield {"data": json.dumps(chunk, separators=(",", ":"))}
        yield {"data": "[DONE]"}

    return EventSourceResponse(stream(), ping=0)


app = Starlette(routes=[Route("/events", events), Route("/chat", chat, methods=["POST"])])

if __name__ == "__main__":
    args = _common.parse_args(__doc__)
    _common.exit_when_stdin_closes()
    asyncio.run(_common.serve_asgi(app, _common.listen(args.port)))
