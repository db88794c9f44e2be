"""The tool registry: what the model may call, and running calls so failures become text."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.llm.events import ToolCall

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What a tool may know about the turn that called it."""

    team_id: str
    channel_id: str
    thread_ts: str
    user_id: str | None
    client: Any = None  # the Slack AsyncWebClient


@dataclass(frozen=True, slots=True)
class Tool:
    """A callable the model can use, with its JSON schema."""

    name: str
    description: str
    parameters: dict[str, Any]
    func: Callable[..., Awaitable[Any]]
    wants_context: bool = False

    def spec(self) -> dict[str, Any]:
        """Render as an entry of the request's `tools`."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


class ToolRegistry:
    """Tools by name; `run` never raises for a tool's own failure."""

    def __init__(self, tools: list[Tool] | None = None, *, timeout: float = 20.0) -> None:
        self.timeout = timeout
        self._tools: dict[str, Tool] = {}
        for tool in tools or ():
            self.add(tool)

    def add(self, tool: Tool) -> None:
        """Register a tool (a later one with the same name replaces it)."""
        self._tools[tool.name] = tool

    def __len__(self) -> int:
        return len(self._tools)

    def specs(self) -> list[dict[str, Any]]:
        """Return the `tools` list advertised to the model."""
        return [tool.spec() for tool in self._tools.values()]

    async def run_all(self, calls: tuple[ToolCall, ...], ctx: ToolContext) -> list[str]:
        """Run calls concurrently; return one result text per call, in order."""
        return list(await asyncio.gather(*(self.run(call, ctx) for call in calls)))

    async def run(self, call: ToolCall, ctx: ToolContext) -> str:
        """Run one call; every failure becomes a result text the model reads."""
        tool = self._tools.get(call.name)
        if tool is None:
            known = ", ".join(sorted(self._tools)) or "none"
            return f"Error: there is no tool named {call.name!r}. Available tools: {known}."
        try:
            args = json.loads(call.arguments or "{}") if (call.arguments or "").strip() else {}
        except ValueError as exc:
            return f"Error: the arguments for {call.name} were not valid JSON ({exc}). Send a JSON object."
        if not isinstance(args, dict):
            return f"Error: the arguments for {call.name} must be a JSON object."
        try:
            if tool.wants_context:
                args["ctx"] = ctx
            result = await asyncio.wait_for(tool.func(**args), self.timeout)
        except TimeoutError:
            logger.warning("tool %s timed out after %.1fs", call.name, self.timeout)
            return f"Error: {call.name} did not finish within {self.timeout:g} seconds."
        except TypeError as exc:
            return f"Error: wrong arguments for {call.name}: {exc}."
        except Exception as exc:
            logger.warning("tool %s raised %s", call.name, type(exc).__name__)
            return f"Error: {call.name} failed: {type(exc).__name__}: {exc}"
        if isinstance(result, str):
            return result
        return json.dumps(result, default=str, ensure_ascii=False)
