"""Tools a user might write; the scenario tests load this module through TOOL_MODULES.

Module state lets a test steer a tool running inside the real app (same event loop):
`reset()` at the start of each test, then open `STATE.gate` or read `STATE.calls`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Literal

from bot.tools import ToolContext, tool

WAIT = 5.0  # bounded waits: a broken test fails instead of hanging


@dataclass
class _State:
    calls: list[tuple[str, object]] = field(default_factory=list)
    barrier: asyncio.Barrier = field(default_factory=lambda: asyncio.Barrier(2))
    gate: asyncio.Event = field(default_factory=asyncio.Event)


STATE = _State()


def reset() -> None:
    """Forget earlier calls and make fresh synchronisation objects."""
    global STATE
    STATE = _State()


@tool
async def echo(text: str, times: int = 1, style: Literal["plain", "loud"] = "plain") -> str:
    """Repeat a text.

    Args:
        text: What to repeat.
        times: How many times.
        style: Loud shouts it.
    """
    STATE.calls.append(("echo", text))
    said = text * times
    return said.upper() if style == "loud" else said


@tool
async def rendezvous(name: str) -> str:
    """Wait until another call of this tool has started too, then answer "met"."""
    STATE.calls.append(("rendezvous", name))
    try:
        await asyncio.wait_for(STATE.barrier.wait(), WAIT)
    except TimeoutError:
        return f"{name}: alone"
    return f"{name}: met"


@tool
async def explode() -> str:
    """Always fail."""
    raise RuntimeError("kaboom")


@tool
async def hang() -> str:
    """Never finish."""
    await asyncio.sleep(3600)
    return "unreachable"


@tool
async def wait_for_gate() -> str:
    """Finish only once the test opens the gate."""
    await asyncio.wait_for(STATE.gate.wait(), WAIT)
    return "the gate opened"


@tool
async def blob(size: int, note: str = "") -> str:
    """Return `size` characters of filler."""
    return "x" * size


@tool
async def who_called(ctx: ToolContext) -> dict[str, str | None]:
    """Tell which user and channel asked."""
    STATE.calls.append(("who_called", ctx.user_id))
    return {"user": ctx.user_id, "channel": ctx.channel_id}
