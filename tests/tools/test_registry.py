"""ToolRegistry.run: every failure becomes a result text; results are rendered and capped."""

from __future__ import annotations

import asyncio

from bot.llm.events import ToolCall
from bot.tools import ToolContext, ToolError, ToolRegistry, tool

CTX = ToolContext(team_id="T1", channel_id="C1", thread_ts="1.0", user_id="U1")


@tool
async def data() -> dict[str, object]:
    """Return structured data."""
    return {"ok": True, "items": [1, 2], "text": "café"}


@tool
async def nothing() -> None:
    """Return nothing."""


@tool
async def refuse() -> str:
    """Fail with a message meant for the model."""
    raise ToolError("the archive is closed on Sundays")


@tool
async def stubborn() -> str:
    """Ignore cancellation for a while."""
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        await asyncio.sleep(10)  # misbehaves: the registry must not wait for this
    return "late"


@tool
async def big() -> str:
    """Return a long text."""
    return "y" * 500


async def run(registry: ToolRegistry, name: str, arguments: str = "{}") -> str:
    return (await registry.run(ToolCall("call_1", name, arguments), CTX)).text


async def test_a_result_says_whether_the_call_failed() -> None:
    registry = ToolRegistry([data, refuse])
    ok = await registry.run(ToolCall("c1", "data", "{}"), CTX)
    failed = await registry.run(ToolCall("c2", "refuse", "{}"), CTX)
    unknown = await registry.run(ToolCall("c3", "nope", "{}"), CTX)
    assert (ok.ok, failed.ok, unknown.ok) == (True, False, False)


async def test_results_are_rendered_as_text() -> None:
    registry = ToolRegistry([data, nothing, refuse])
    assert await run(registry, "data") == '{"ok": true, "items": [1, 2], "text": "café"}'
    assert await run(registry, "nothing") == "Done (no output)."
    assert await run(registry, "refuse") == "Error: the archive is closed on Sundays"
    assert await run(registry, "data", "null") == await run(registry, "data", "")


async def test_a_tool_ignoring_cancellation_does_not_hold_the_turn() -> None:
    registry = ToolRegistry([stubborn], timeout=0.05)
    result = await asyncio.wait_for(run(registry, "stubborn"), 2)
    assert result == "Error: stubborn did not finish within 0.05 seconds."
    for task in list(registry._abandoned):
        task.cancel()


async def test_long_results_are_cut_with_a_note() -> None:
    registry = ToolRegistry([big], result_limit=200)
    result = await run(registry, "big")
    assert len(result) == 200 and result.startswith("yyy") and "cut to fit" in result
