"""Attack tests: /metrics is not public, and the model cannot write label values into it."""

from __future__ import annotations

import re

from bot.testing.harness import Harness
from bot.testing.openai import text_reply, tool_call_reply


async def test_metrics_need_the_token_on_the_events_port(bot: Harness) -> None:
    assert bot.http is not None
    async with bot.http.get(f"{bot.url}/metrics") as response:
        assert response.status == 401
    async with bot.http.get(
        f"{bot.url}/metrics", headers={"Authorization": "Bearer wrong"}
    ) as response:
        assert response.status == 401
    assert "slackbot_turns" in await bot.scrape()


async def test_metrics_not_served_without_port_or_token(harness: Harness) -> None:
    bot = await harness.start(metrics_token=None)
    assert bot.http is not None
    async with bot.http.get(f"{bot.url}/metrics") as response:
        assert response.status == 404


async def test_metrics_on_their_own_port_only(harness: Harness) -> None:
    bot = await harness.start(metrics_token=None, metrics_port=0)
    assert bot.runtime is not None and bot.runtime.metrics_port
    assert bot.http is not None
    async with bot.http.get(f"{bot.url}/metrics") as response:
        assert response.status == 404, "not on the public events port"
    text = await bot.scrape(f"http://127.0.0.1:{bot.runtime.metrics_port}/metrics", token=None)
    assert "slackbot_turns" in text


async def test_model_chosen_tool_names_are_counted_as_unknown(bot: Harness) -> None:
    weird = 'evil"} 1e9\nslackbot_fake{x="'
    names = [f"made_up_{i}" for i in range(30)] + [weird]
    calls = [(f"c{i}", name, "{}") for i, name in enumerate(names)]
    calls.append(("cu", "current_user", "{}"))
    bot.llm.script(tool_call_reply(calls), text_reply("Done."))
    event = await bot.mention("call many tools")
    await bot.wait_reply_done("C1", event["ts"])
    text = await bot.scrape()
    tool_lines = [
        line for line in text.splitlines() if line.startswith("slackbot_tool_calls_total")
    ]
    assert {re.search(r'tool="([^"]*)"', line).group(1) for line in tool_lines} == {  # type: ignore[union-attr]
        "unknown",
        "current_user",
    }
    assert "made_up" not in text and "slackbot_fake" not in text
