"""The official MCP Python SDK (`mcp`): an MCPServer (mcp 1.x's FastMCP) over Streamable HTTP.

POST /mcp takes JSON-RPC requests and, with json_response=False, answers each one as a
`text/event-stream` that carries the JSON-RPC response (after any notifications the tool sends)
and then ends. Like every Streamable HTTP server it answers 406 unless the request's Accept
names both application/json and text/event-stream. Stateless by default (no session id, every
POST stands alone); --stateful keeps sessions (the initialize response has Mcp-Session-Id, a GET
with it opens the stream of the server's own messages, a DELETE ends it); --json answers each
request with one application/json body instead of a stream.

Tools: add(a, b) -> a + b; countdown(n) sends n progress notifications, then returns "liftoff";
announce(uri) sends notifications/resources/updated for `uri` on the session's GET stream (a
message of the server's own, related to no request), then returns "announced".
"""

import asyncio

from mcp.server.mcpserver import Context, MCPServer

import _common

server = MCPServer("feedscope-interop", version="1.0.0")


@server.tool()
def add(a: int, b: int) -> int:
    """Adds two integers."""
    return a + b


@server.tool()
async def countdown(n: int, ctx: Context) -> str:
    """Reports n progress steps, then answers."""
    for k in range(1, n + 1):
        await ctx.report_progress(k, n, f"step {k}")
    return "liftoff"


@server.tool()
async def announce(uri: str, ctx: Context) -> str:
    """Tells the session's GET stream that a resource changed."""
    await ctx.session.send_resource_updated(uri)
    return "announced"


def options(parser) -> None:
    parser.add_argument("--stateful", action="store_true", help="keep sessions (Mcp-Session-Id)")
    parser.add_argument("--json", action="store_true", help="answer with application/json, not SSE")


if __name__ == "__main__":
    args = _common.parse_args(__doc__, options)
    _common.exit_when_stdin_closes()
    app = server.streamable_http_app(json_response=args.json, stateless_http=not args.stateful)
    asyncio.run(_common.serve_asgi(app, _common.listen(args.port)))
