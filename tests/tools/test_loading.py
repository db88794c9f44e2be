"""User tools without touching the bot: TOOL_MODULES, a module's TOOLS list, entry points."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from bot.settings import SettingsError
from bot.testing.harness import Harness, text_of
from bot.testing.openai import text_reply, tool_call_reply
from bot.testing.toolchecks import results_by_name
from bot.tools.loading import ToolLoadError, build_registry, split_modules


def offered(request: dict) -> list[str]:
    return [spec["function"]["name"] for spec in request.get("tools", [])]


async def test_tool_modules_setting_loads_a_modules_tools_list(harness: Harness) -> None:
    bot = await harness.start(tool_modules=" tests.tools.listed_tools , ")
    bot.llm.script(
        tool_call_reply([("c1", "shout", '{"text": "hi"}'), ("c2", "add", '{"a": 2, "b": 3}')]),
        text_reply("HI and 5."),
    )
    event = await bot.mention("shout and add")
    replies = await bot.wait_reply_done("C1", event["ts"])
    assert text_of(replies[0]) == "HI and 5."
    names = offered(bot.llm.requests[0])
    assert {"add", "shout", "current_datetime"} <= set(names) and "not_listed" not in names
    assert results_by_name(bot.llm.requests[1]) == {"shout": ["HI"], "add": ["5"]}


async def test_without_builtins_or_modules_no_tools_are_sent(harness: Harness) -> None:
    bot = await harness.start(builtin_tools=False)
    bot.llm.script(text_reply("plain"))
    event = await bot.mention("hello")
    await bot.wait_reply_done("C1", event["ts"])
    assert "tools" not in bot.llm.requests[0]


async def test_a_bad_tool_module_stops_startup_with_its_name(harness: Harness) -> None:
    with pytest.raises(SettingsError, match="TOOL_MODULES: cannot load 'tests.tools.nope'"):
        await harness.start(tool_modules="tests.tools.nope")


def test_decorated_tools_are_found_without_a_tools_list() -> None:
    registry = build_registry(modules="tests.tools.sample_tools", builtins=False, plugins=False)
    assert registry.names() == [
        "echo",
        "rendezvous",
        "explode",
        "hang",
        "wait_for_gate",
        "blob",
        "who_called",
    ]
    assert split_modules("a, b,,c ") == ["a", "b", "c"]


def test_entry_points_add_installed_plugins(tmp_path: Path, monkeypatch) -> None:
    dist = tmp_path / "fake_tool_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-tool-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[slack_llm_bot.tools]\n"
        "listed = tests.tools.listed_tools\n"
        "single = tests.tools.sample_tools:echo\n"
        "broken = tests.tools.does_not_exist\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    registry = build_registry(builtins=False)
    assert registry.names() == ["add", "shout", "echo"], "the broken plugin is skipped"


def test_tool_load_error_is_a_settings_error() -> None:
    assert issubclass(ToolLoadError, SettingsError)
