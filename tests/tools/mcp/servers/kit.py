"""A real MCP server over stdio, written with the SDK's server side (MCPServer, once FastMCP).

Run as `python kit.py [--pidfile PATH] [--start-only-if PATH] [--linger]`: with
`--start-only-if` it exits at once (a failed start) until that file exists; with `--linger`
it does not exit when its stdin closes (like a server with a stray non-daemon thread).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
from pathlib import Path

import mcp_types as types
from mcp.server.mcpserver import Context, Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("kit")
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")


@server.tool()
async def whoami(ctx: Context) -> str:
    """Tell which Slack ids the request's _meta carried."""
    meta = dict(ctx.request_context.meta or {})
    return json.dumps({k: v for k, v in meta.items() if k.startswith("slack/")}, sort_keys=True)


@server.tool()
def env(name: str) -> str:
    """Return one of the server's environment variables."""
    return os.environ.get(name, "(unset)")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
async def grow(ctx: Context) -> str:
    """Add the tool `shrink` and tell the client that the tool list changed."""

    def shrink(text: str) -> str:
        """Lower-case a text."""
        return text.lower()

    server.add_tool(shrink)
    await ctx.session.send_tool_list_changed()
    return "grown"


@server.tool()
def crash() -> str:
    """Exit the whole server in the middle of the call."""
    os._exit(3)


@server.tool()
async def hang() -> str:
    """Never answer."""
    await asyncio.Event().wait()
    return "unreachable"


@server.tool()
def refuse(reason: str) -> str:
    """Fail with an isError result."""
    raise ToolError(f"refused: {reason}")


@server.tool()
def picture() -> list[types.TextContent | types.ImageContent]:
    """Return a caption and a one-pixel PNG."""
    return [
        types.TextContent(type="text", text="a pixel"),
        Image(data=PNG, format="png").to_image_content(),
    ]


@server.tool()
def link() -> types.ResourceLink:
    """Return a resource link."""
    return types.ResourceLink(
        type="resource_link", name="spec", uri="https://example.com/spec.md", description="the spec"
    )


@server.tool()
def stats(n: int) -> dict[str, int]:
    """Return structured content only."""
    return {"n": n, "square": n * n}


@server.tool()
def big(size: int) -> str:
    """Return `size` characters."""
    return "x" * size


@server.tool(
    annotations=types.ToolAnnotations(
        read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
    )
)
def create_ticket(title: str) -> str:
    """File a ticket (appends a line to $KIT_TICKETS, so a test can see whether it ran)."""
    with open(os.environ["KIT_TICKETS"], "a", encoding="utf-8") as tickets:
        tickets.write(title + "\n")
    return f"ticket filed: {title}"


@server.tool(annotations=types.ToolAnnotations(read_only_hint=True))
def count_tickets() -> int:
    """Count the tickets filed (read-only)."""
    path = os.environ.get("KIT_TICKETS", "")
    if not path or not os.path.exists(path):
        return 0
    with open(path, encoding="utf-8") as tickets:
        return len(tickets.read().splitlines())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pidfile")
    parser.add_argument("--start-only-if")
    parser.add_argument("--linger", action="store_true")
    options = parser.parse_args()
    if options.start_only_if and not Path(options.start_only_if).exists():
        print("kit: not starting (no go-ahead file)", file=sys.stderr)
        sys.exit(1)
    if options.pidfile:
        with open(options.pidfile, "a") as pids:
            pids.write(f"{os.getpid()}\n")
    if options.linger:
        threading.Thread(target=threading.Event().wait).start()
    server.run()


if __name__ == "__main__":
    main()
