"""`/llm-config` chooses which MCP servers' tools a channel gets (default: all of them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot import texts
from bot.slack_app import mcp_choice
from bot.testing.harness import Harness, channel_message
from bot.testing.interactive import modal_values, submit
from bot.testing.openai import text_reply, tool_call_reply
from bot.testing.toolchecks import results_by_name
from tests.tools.mcp.helpers import kit, write_servers


def ticked(view: dict[str, Any]) -> list[str]:
    [block] = [b for b in view["blocks"] if b.get("block_id") == "mcp_servers"]
    assert block["label"]["text"] == texts.CONFIG_MCP_LABEL
    assert [o["value"] for o in block["element"]["options"]] == ["kit", "other"]
    return [o["value"] for o in block["element"].get("initial_options") or []]


async def open_modal(bot: Harness, channel: str) -> dict[str, Any]:
    before = len(bot.slack.calls_to("views.open"))
    await bot.command("/llm-config", channel=channel)
    await bot.slack.wait_for(lambda: len(bot.slack.calls_to("views.open")) > before)
    return bot.slack.calls_to("views.open")[-1].args["view"]


def offered(request: dict[str, Any]) -> set[str]:
    return {spec["function"]["name"] for spec in request["tools"]}


async def test_channel_chooses_its_mcp_servers(harness: Harness, tmp_path: Path) -> None:
    servers = write_servers(tmp_path / "mcp.json", {"kit": kit(), "other": kit()})
    bot = await harness.start(mcp_servers=servers)
    view = await open_modal(bot, "C1")
    assert ticked(view) == ["kit", "other"], "every server by default"
    checked = {"type": "checkboxes", "selected_options": [{"value": "other"}]}
    status, _ = await bot.interact(
        submit(view, {**modal_values(), "mcp_servers": {"value": checked}})
    )
    assert status == 200
    assert ticked(await open_modal(bot, "C1")) == ["other"]

    bot.llm.script(
        tool_call_reply([("c1", "kit__add", '{"a": 1, "b": 2}')]),
        text_reply("no kit here"),
        text_reply("both here"),
    )
    event = channel_message("<@UBOT> add", channel="C1")
    await bot.send({**event, "type": "app_mention"})
    await bot.wait_reply_done("C1", event["ts"])
    first, second = bot.llm.requests
    assert "other__add" in offered(first) and "kit__add" not in offered(first)
    assert "current_datetime" in offered(first), "Python tools are not affected"
    [result] = results_by_name(second)["kit__add"]
    assert result.startswith("Error: there is no tool named 'kit__add'"), result

    elsewhere = channel_message("<@UBOT> hi", channel="C2")
    await bot.send({**elsewhere, "type": "app_mention"})
    await bot.wait_reply_done("C2", elsewhere["ts"])
    assert {"kit__add", "other__add"} <= offered(bot.llm.requests[2])


async def test_modal_without_mcp_servers_has_no_such_block(harness: Harness) -> None:
    bot = await harness.start()
    view = await open_modal(bot, "C1")
    assert not [b for b in view["blocks"] if b.get("block_id") == "mcp_servers"]


def test_more_than_ten_servers_become_a_multi_select() -> None:
    names = [f"s{i}" for i in range(12)]
    block = mcp_choice.block(names, ("s1", "s3"))
    assert block is not None
    assert block["element"]["type"] == "multi_static_select"
    assert [o["value"] for o in block["element"]["initial_options"]] == ["s1", "s3"]
    assert mcp_choice.block(names[:10], None)["element"]["type"] == "checkboxes"  # type: ignore[index]


def test_reading_the_choice_under_both_shapes_of_an_empty_selection() -> None:
    servers = ["a", "b"]

    def values(**element: object) -> dict[str, object]:
        return {"mcp_servers": {"value": {"type": "checkboxes", **element}}}

    assert mcp_choice.read(values(selected_options=[{"value": "b"}]), servers) == ("b",)
    assert mcp_choice.read(values(selected_options=[]), servers) == ()
    assert mcp_choice.read(values(), servers) == (), "no selected_options key: nothing ticked"
    both = [{"value": "a"}, {"value": "b"}]
    assert mcp_choice.read(values(selected_options=both), servers) is None, "all: every server"
    assert mcp_choice.read({}, servers) is None, "a form opened without the block"
    gone = [{"value": "a"}, {"value": "removed"}]
    assert mcp_choice.read(values(selected_options=gone), servers) == ("a",)
