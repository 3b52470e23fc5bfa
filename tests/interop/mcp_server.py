"""The official MCP Python SDK (`mcp`): an MCPServer (mcp 1.x's FastMCP) over Streamable HTTP.

POST /mcp takes JSON-RPC requests and, with json_response=False, answers each one as a
`text/event-stream` that carries the JSON-RPC response (after any notifications the tool sends)
and then ends. Like every Streamable HTTP server it answers 406 unless the request's Accept
names both application/json and text/event-stream. Stateless by default (no session id, every
POST stands alone); --stateful keeps sessions (the initialize response has Mcp-Session-Id).

Tools: add(a, b) -> a + b; countdown(n) sends n progress notifications, then returns "liftoff".
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


def options(parser) -> None:
    parser.add_argument("--stateful", action="store_true", help="keep sessions (Mcp-Session-Id)")


if __name__ == "__main__":
    args = _common.parse_args(__doc__, options)
    _common.exit_when_stdin_closes()
    app = server.streamable_http_app(json_response=False, stateless_http=not args.stateful)
    asyncio.run(_common.serve_asgi(app, _common.listen(args.port)))
