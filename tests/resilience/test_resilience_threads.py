"""Follow-ups in one thread are answered in order; other threads do not wait for them."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.testing.harness import Harness, channel_message, text_of
from bot.testing.openai import Reply, text_reply

SLOW_ONE = "First follow-up answer, streamed slowly, word by word, so that the others queue."


def last_user(body: dict[str, Any]) -> str:
    return [m["content"] for m in body["messages"] if m["role"] == "user"][-1]


async def test_quick_follow_ups_are_answered_in_order_while_another_thread_runs(
    harness: Harness,
) -> None:
    bot = await harness.start(stream_idle_timeout=30)  # the held stream is not a stall
    gate = asyncio.Event()  # the slow answer stops halfway until the other thread is done
    answers = {
        "start": text_reply("Thread started."),
        "first follow-up": text_reply(SLOW_ONE, delay=0.02, hold=gate, hold_at=6),
        "second follow-up": text_reply("Second follow-up answer."),
        "other thread": text_reply("Other thread answer."),
    }

    def respond(body: dict[str, Any]) -> Reply:
        return answers[last_user(body)]

    bot.llm.responder = respond
    root = await bot.mention("start")
    await bot.wait_reply_done("C1", root["ts"])

    await bot.send(channel_message("first follow-up", thread_ts=root["ts"]))
    await bot.send(channel_message("second follow-up", thread_ts=root["ts"]))
    other = await bot.mention("other thread")

    def other_answered() -> bool:
        shown = [text_of(m) for m in bot.slack.replies("C1", other["ts"]) if m.get("bot_id")]
        return shown == ["Other thread answer."]

    # Times out if the other thread waits for the first follow-up, whose stream is held open.
    await bot.slack.wait_for(
        lambda: other_answered() and len(bot.llm.requests) == 3,
        what="the other thread answered while the first follow-up was streaming",
    )
    gate.set()

    replies = await bot.wait_reply_done("C1", root["ts"], count=3)
    assert [text_of(r) for r in replies] == [
        "Thread started.",
        SLOW_ONE,
        "Second follow-up answer.",
    ]
    asked = [last_user(r) for r in bot.llm.requests]
    assert asked.index("first follow-up") < asked.index("second follow-up")
    second = next(r for r in bot.llm.requests if last_user(r) == "second follow-up")
    assert [(m["role"], m["content"]) for m in second["messages"][1:]] == [
        ("user", "start"),
        ("assistant", "Thread started."),
        ("user", "first follow-up"),
        ("assistant", SLOW_ONE),
        ("user", "second follow-up"),
    ], "the second follow-up saw the first one's whole answer"
