"""Which MCP servers' tools a channel gets (its `/llm-config` choice; default all)."""

from __future__ import annotations

from collections.abc import Callable, Collection

from bot.tools.registry import Tool

SOURCE_PREFIX = "mcp:"  # Tool.source of an MCP tool: "mcp:SERVER"


def server_of(tool: Tool) -> str | None:
    """Return the MCP server a tool comes from, None for a Python tool."""
    return tool.source[len(SOURCE_PREFIX) :] if tool.source.startswith(SOURCE_PREFIX) else None


def only_servers(chosen: Collection[str] | None) -> Callable[[Tool], bool] | None:
    """Return a filter keeping Python tools and the chosen servers' tools (None: keep all)."""
    if chosen is None:
        return None
    allowed = frozenset(chosen)

    def allow(tool: Tool) -> bool:
        server = server_of(tool)
        return server is None or server in allowed

    return allow
