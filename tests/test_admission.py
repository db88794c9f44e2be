"""MAX_CONCURRENT_ANSWERS: past the cap, answers wait for a slot with their placeholder shown."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.fakes.openai import Reply, text_reply
from tests.harness import Harness, text_of


def last_user(body: dict[str, Any]) -> str:
    return [m["content"] for m in body["messages"] if m["role"] == "user"][-1]


async def test_answers_past_the_cap_wait_for_a_slot_and_all_complete(harness: Harness) -> None:
    bot = await harness.start(max_concurrent_answers=2, stream_idle_timeout=30)
    gate = asyncio.Event()  # the first two answers stay open until the test has looked

    def respond(body: dict[str, Any]) -> Reply:
        n = last_user(body).split()[-1]
        return text_reply(f"Answer {n}, streamed in a few pieces.", pieces=4, hold=gate, hold_at=2)

    bot.llm.responder = respond
    asked = [await bot.mention(f"question {n}") for n in range(4)]

    # Every asker sees a placeholder at once, but only two model streams are open.
    await bot.slack.wait_for(
        lambda: len(bot.slack.calls_to("chat.postMessage")) == 4 and len(bot.llm.requests) == 2,
        what="four placeholders and two model requests",
    )
    await asyncio.sleep(0.3)  # were the cap not enforced, the other two would be asked now
    assert len(bot.llm.requests) == 2 and bot.llm.open_streams == 2
    gate.set()

    for n, message in enumerate(asked):
        [reply] = await bot.wait_reply_done("C1", message["ts"])
        assert text_of(reply) == f"Answer {n}, streamed in a few pieces."
    assert len(bot.llm.requests) == 4
