"""Follow-ups whose events arrive out of order within REORDER_WINDOW are answered as written."""

from __future__ import annotations

from typing import Any

from bot.testing.harness import Harness, channel_message, text_of
from bot.testing.openai import text_reply


def answer(body: dict) -> Any:
    return text_reply(f"answer to {body['messages'][-1]['content']}")


async def test_reversed_follow_ups_in_one_process_are_answered_in_written_order(
    harness: Harness,
) -> None:
    bot = await harness.start(reorder_window=0.5)
    bot.llm.responder = answer
    root = await bot.mention("root")
    await bot.wait_reply_done("C1", root["ts"])
    first = channel_message("first", thread_ts=root["ts"])
    second = channel_message("second", thread_ts=root["ts"])
    await bot.send(second)  # the later message's event comes first, the thread idle
    await bot.send(first)
    await bot.wait_reply_done("C1", root["ts"], count=3)
    assert [r["messages"][-1]["content"] for r in bot.llm.requests] == ["root", "first", "second"]
    shown = [text_of(m) for m in bot.slack.replies("C1", root["ts"]) if m.get("bot_id")]
    assert shown == ["answer to root", "answer to first", "answer to second"]


async def test_without_a_window_the_first_event_to_arrive_goes_first(harness: Harness) -> None:
    bot = await harness.start(reorder_window=0)
    bot.llm.responder = answer
    root = await bot.mention("root")
    await bot.wait_reply_done("C1", root["ts"])
    second = channel_message("second", thread_ts=root["ts"])
    await bot.send(second)
    await bot.llm.wait_for(lambda: len(bot.llm.requests) == 2, what="the later one started")
    await bot.send(channel_message("first", thread_ts=root["ts"]))
    await bot.wait_reply_done("C1", root["ts"], count=3)
    assert [r["messages"][-1]["content"] for r in bot.llm.requests] == ["root", "second", "first"]
