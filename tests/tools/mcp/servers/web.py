"""A real MCP server over Streamable HTTP, written with the SDK's server side (MCPServer).

Run as `python web.py PORT TOKEN`: every request must carry `Authorization: Bearer TOKEN`.
"""

from __future__ import annotations

import json
import sys

import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

server = MCPServer("web")


@server.tool()
async def lookup(key: str, ctx: Context) -> str:
    """Look a key up; say who asked."""
    meta = dict(ctx.request_context.meta or {})
    return json.dumps({"key": key, "value": key.upper(), "user": meta.get("slack/user_id")})


class RequireToken:
    """Refuse requests without the bearer token (as a real hosted server would)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            if request.url.path == "/ready":
                await JSONResponse({"ok": True})(scope, receive, send)
                return
            if request.headers.get("authorization") != f"Bearer {self.token}":
                await Response("unauthorized", status_code=401)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def main() -> None:
    port, token = int(sys.argv[1]), sys.argv[2]
    app = RequireToken(server.streamable_http_app(), token)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")


if __name__ == "__main__":
    main()
