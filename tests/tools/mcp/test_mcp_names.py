"""MCP tool names that collide after sanitising or the 64-character cut: both stay offered."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.testing.harness import Harness, text_of
from bot.testing.openai import text_reply, tool_call_reply
from bot.testing.toolchecks import results_by_name
from tests.tools.mcp.helpers import kit, write_servers


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: these tests are about MCP, not the database."""
    return f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"


def offered(bot: Harness) -> dict[str, str]:
    assert bot.runtime is not None and bot.runtime.bot is not None
    registry = bot.runtime.bot.dispatcher.tools  # what the model is offered
    return {name: registry._tools[name].source for name in registry.names()}


async def start_two(harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Harness:
    monkeypatch.setenv("ONE", "from a.b")
    monkeypatch.setenv("TWO", "from a_b")
    servers = {
        "a.b": kit(env={"KIT_SECRET": "${ONE}"}),
        "a_b": kit(env={"KIT_SECRET": "${TWO}"}),
    }  # "a.b__env" and "a_b__env" are both a_b__env once sanitised
    bot = await harness.start(mcp_servers=write_servers(tmp_path / "mcp.json", servers))
    await bot.slack.wait_for(lambda: len([n for n in offered(bot) if "env" in n]) == 2, timeout=30)
    return bot


async def test_two_mcp_tools_whose_names_collide_one_silently_wins(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review finding: two MCP tools with one name after sanitising: one silently won."""
    bot = await start_two(harness, tmp_path, monkeypatch)
    names = sorted(n for n in offered(bot) if n.startswith("a_b__env"))
    plain, other = names
    assert plain == "a_b__env" and len(other) == len("a_b__env") + 7, names
    assert offered(bot)[plain] == "mcp:a.b", "the first server by name keeps the name"
    assert offered(bot)[other] == "mcp:a_b"
    bot.llm.script(
        tool_call_reply(
            [("c1", plain, '{"name": "KIT_SECRET"}'), ("c2", other, '{"name": "KIT_SECRET"}')]
        ),
        text_reply("Both answered."),
    )
    event = await bot.mention("read both")
    [reply] = await bot.wait_reply_done("C1", event["ts"], timeout=30)
    assert text_of(reply) == "Both answered."
    specs = {s["function"]["name"] for s in bot.llm.requests[0]["tools"]}
    assert {plain, other} <= specs, "both are offered to the model"
    results = results_by_name(bot.llm.requests[1])
    assert results[plain] == ["from a.b"] and results[other] == ["from a_b"]


async def test_the_suffix_is_the_same_after_a_restart(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = await start_two(harness, tmp_path, monkeypatch)
    before = dict(offered(bot))
    await bot.restart()
    await bot.slack.wait_for(lambda: len([n for n in offered(bot) if "env" in n]) == 2, timeout=30)
    assert offered(bot) == before
