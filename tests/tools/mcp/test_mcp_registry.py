"""The registry's hooks for tools that come and go, and the per-channel view of them."""

from __future__ import annotations

from typing import Any

import pytest

from bot.llm.events import ToolCall
from bot.tools.mcp.choice import only_servers
from bot.tools.registry import Tool, ToolContext, ToolRegistry, suffixed


def tool(name: str, source: str = "") -> Tool:
    async def func(**_: Any) -> str:
        return name

    return Tool(
        name=name, description=name, parameters={"type": "object"}, func=func, source=source
    )


CTX = ToolContext(team_id="T1", channel_id="C1", thread_ts="1.0", user_id="U1")


async def test_a_source_replaces_its_own_tools_and_never_a_python_one() -> None:
    registry = ToolRegistry([tool("echo"), tool("a__echo")])
    registry.replace_source("mcp:a", [tool("a__one", "mcp:a"), tool("a__echo", "mcp:a")])
    registry.replace_source("mcp:b", [tool("b__one", "mcp:b")])
    renamed = suffixed(tool("a__echo", "mcp:a"))
    assert registry.names() == ["echo", "a__echo", "a__one", renamed, "b__one"]
    assert registry._tools["a__echo"].source == "", "the Python tool keeps its name"
    assert registry._tools[renamed].source == "mcp:a", "and the server's stays offered"
    registry.replace_source("mcp:a", [tool("a__two", "mcp:a")])
    assert registry.names() == ["echo", "a__echo", "b__one", "a__two"]
    registry.replace_source("mcp:b", [])
    assert registry.names() == ["echo", "a__echo", "a__two"]
    with pytest.raises(ValueError, match="source"):
        registry.replace_source("", [])


async def test_only_offers_and_runs_the_chosen_servers() -> None:
    registry = ToolRegistry([tool("echo")], timeout=5)
    registry.replace_source("mcp:a", [tool("a__one", "mcp:a")])
    registry.replace_source("mcp:b", [tool("b__one", "mcp:b")])
    assert registry.only(only_servers(None)) is registry, "no choice: every server"
    view = registry.only(only_servers(["b"]))
    assert [s["function"]["name"] for s in view.specs()] == ["echo", "b__one"]
    [hidden, shown] = await view.run_all(
        (
            ToolCall(id="1", name="a__one", arguments="{}"),
            ToolCall(id="2", name="b__one", arguments="{}"),
        ),
        CTX,
    )
    assert "there is no tool named 'a__one'" in str(hidden)
    assert "b__one" in str(shown)
    assert registry.names() == ["echo", "a__one", "b__one"], "the view leaves the registry alone"
    assert registry.only(only_servers([])).names() == ["echo"]
