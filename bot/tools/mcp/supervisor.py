"""Every configured MCP server, started with the bot and stopped with it; their tools.

A server that fails to start does not hold up the others or the bot: `start` waits at most
`start_wait` seconds for the first attempts, then the bot serves with whatever is up and the
rest join as they come (see `ServerLink`). Whenever a server comes up, goes away or changes
its tool list, its tools are replaced in the registry, so the next model request sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from bot.tools import images as tool_images
from bot.tools.mcp.choice import SOURCE_PREFIX
from bot.tools.mcp.config import ServerConfig, tool_name
from bot.tools.mcp.results import convert
from bot.tools.mcp.session import ServerLink
from bot.tools.registry import Tool, ToolContext, ToolError, ToolRegistry

logger = logging.getLogger(__name__)

META_PREFIX = "slack/"  # keys of the request's `_meta` that say who is asking
CONTEXT_KEY = "__slack_tool_context__"  # cannot clash with a tool's own argument names


def asker_meta(ctx: ToolContext) -> dict[str, Any]:
    """Return the `_meta` of a call: the Slack ids of the person asking and where."""
    meta = {
        "team_id": ctx.team_id,
        "user_id": ctx.user_id,
        "channel_id": ctx.channel_id,
        "thread_ts": ctx.thread_ts,
    }
    return {META_PREFIX + key: value for key, value in meta.items() if value}


class McpSupervisor:
    """Run one `ServerLink` per configured server and keep their tools in a registry."""

    def __init__(
        self,
        servers: Sequence[ServerConfig],
        *,
        start_wait: float = 10.0,
        images: bool = False,  # hand images to the model (TOOL_IMAGES, for vision models)
        **link_options: Any,
    ) -> None:
        self.links = [ServerLink(c, on_change=self._changed, **link_options) for c in servers]
        self.start_wait = start_wait
        self.images = images
        self.registry: ToolRegistry | None = None
        self._offered: dict[str, list[Tool]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def names(self) -> list[str]:
        """Return the configured servers' names, in file order."""
        return [link.name for link in self.links]

    async def start(self, registry: ToolRegistry) -> None:
        """Start every server, offering its tools in `registry`; wait a little for them."""
        self.registry = registry
        for link in self.links:
            self._tasks.append(asyncio.create_task(link.run(), name=f"mcp:{link.name}"))
        if not self.links:
            return
        waits = [asyncio.ensure_future(link.tried.wait()) for link in self.links]
        await asyncio.wait(waits, timeout=self.start_wait)
        for wait in waits:
            wait.cancel()
        down = [link.name for link in self.links if not link.up]
        if down:
            logger.warning("MCP servers not up at start (retried in the background): %s", down)

    async def stop(self) -> None:
        """Close every connection; stdio servers' processes are stopped."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    def tools(self) -> list[Tool]:
        """Return the tools on offer now, of every server that is up."""
        return [tool for tools in self._offered.values() for tool in tools]

    def counts(self) -> dict[str, int]:
        """Return how many servers are up and down (for /metrics)."""
        up = sum(link.up for link in self.links)
        return {"up": up, "down": len(self.links) - up}

    def _changed(self, link: ServerLink) -> None:
        tools = [self._tool(link, tool) for tool in link.tools] if link.up else []
        self._offered[link.name] = tools
        if self.registry is not None:
            self.registry.replace_source(SOURCE_PREFIX + link.name, tools)

    def _tool(self, link: ServerLink, tool: Any) -> Tool:
        async def call(**arguments: Any) -> str:
            ctx = arguments.pop(CONTEXT_KEY)
            output = convert(await link.call(tool.name, arguments, asker_meta(ctx)))
            if output.is_error:
                raise ToolError(output.text or f"{tool.name} failed")
            if self.images and output.images:
                tool_images.attach([image.as_content_part() for image in output.images])
            return output.text

        return Tool(
            name=tool_name(link.name, tool.name),
            description=tool.description or tool.title or tool.name,
            parameters=tool.input_schema or {"type": "object", "properties": {}},
            func=call,
            context_param=CONTEXT_KEY,
            source=SOURCE_PREFIX + link.name,
            origin=tool.name,
            needs_approval=needs_approval(link.config.approval, tool),
        )


def needs_approval(mode: str, tool: Any) -> bool:
    """Tell whether calls of an MCP tool wait for Approve: `always`, `never`, or by its hints.

    By the hints, only a tool annotated `readOnlyHint: true` runs without asking: the
    specification's default for an unannotated tool is "may modify its environment".
    """
    if mode in ("always", "never"):
        return mode == "always"
    annotations = getattr(tool, "annotations", None)
    return getattr(annotations, "read_only_hint", None) is not True
