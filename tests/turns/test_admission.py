"""MAX_CONCURRENT_ANSWERS: past the cap, answers wait for a slot with their placeholder shown."""

from __future__ import annotations

import asyncio
from typing import Any

from bot import texts
from bot.slack.reply.markup import STOP_ACTION
from bot.testing.harness import Harness, text_of
from bot.testing.interactive import click
from bot.testing.openai import Reply, text_reply

SECOND = "Second answer, " + " ".join(["slow"] * 11)  # 13 word chunks, 0.1 s apart


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
    dispatcher = bot.runtime.bot.dispatcher  # type: ignore[union-attr]
    await bot.slack.wait_for(lambda: dispatcher.admission.waiting == 2, what="two answers queued")
    assert len(bot.llm.requests) == 2 and bot.llm.open_streams == 2
    gate.set()

    for n, message in enumerate(asked):
        [reply] = await bot.wait_reply_done("C1", message["ts"])
        assert text_of(reply) == f"Answer {n}, streamed in a few pieces."
    assert len(bot.llm.requests) == 4


async def test_time_waiting_for_a_slot_does_not_count_against_the_deadline(
    harness: Harness,
) -> None:
    # The first answer holds the only slot for ~2.2 s; the second then streams for ~1.2 s.
    # Were the 3-s deadline counted from the question, the second would be cut at ~0.8 s.
    bot = await harness.start(max_concurrent_answers=1, turn_deadline=3.0, stream_idle_timeout=30)
    gate = asyncio.Event()
    answers = {
        "first": text_reply("First answer.", hold=gate, hold_at=2),
        "second": text_reply(SECOND, delay=0.1),
    }
    bot.llm.responder = lambda body: answers[last_user(body)]
    first = await bot.mention("first")
    second = await bot.mention("second")
    await bot.llm.wait_for(lambda: len(bot.llm.requests) == 1, what="the first answer streaming")
    await asyncio.sleep(2.2)
    gate.set()
    [done] = await bot.wait_reply_done("C1", first["ts"])
    assert text_of(done) == "First answer."
    [done] = await bot.wait_reply_done("C1", second["ts"])
    assert text_of(done) == SECOND, text_of(done)


async def one_slot_taken(
    harness: Harness,
) -> tuple[Harness, asyncio.Event, dict[str, Any], dict[str, Any]]:
    """Start with one slot, held by a first answer until `gate`; ask a second question."""
    bot = await harness.start(max_concurrent_answers=1, stream_idle_timeout=30)
    gate = asyncio.Event()
    bot.llm.responder = lambda body: text_reply("Held answer.", hold=gate, hold_at=2)
    first = await bot.mention("first")
    await bot.llm.wait_for(lambda: len(bot.llm.requests) == 1, what="the first answer streaming")
    return bot, gate, first, await bot.mention("second")


async def test_stop_while_waiting_for_a_slot_never_asks_the_model(harness: Harness) -> None:
    bot, gate, first, second = await one_slot_taken(harness)

    def placeholder() -> dict[str, Any] | None:
        bots = [m for m in bot.slack.replies("C1", second["ts"]) if m.get("bot_id")]
        return bots[0] if bots else None

    await bot.slack.wait_for(lambda: placeholder() is not None, what="the queued placeholder")
    status, _ = await bot.interact(click(placeholder(), STOP_ACTION, user="U1"))
    assert status == 200
    await bot.slack.wait_for(
        lambda: text_of(placeholder() or {}).endswith(texts.STOPPED_BY_USER.strip()),
        what="the queued answer marked stopped while the first still streams",
    )
    assert len(bot.llm.requests) == 1, "the stopped answer never reached the model"
    gate.set()
    [done] = await bot.wait_reply_done("C1", first["ts"])
    assert text_of(done) == "Held answer."
    assert len(bot.llm.requests) == 1


async def test_an_answer_still_waiting_when_shutdown_begins_is_not_started(
    harness: Harness,
) -> None:
    bot, gate, first, second = await one_slot_taken(harness)
    await bot.slack.wait_for(
        lambda: len(bot.slack.calls_to("chat.postMessage")) == 2, what="the queued placeholder"
    )
    assert bot.runtime is not None and bot.runtime.bot is not None
    app = bot.runtime.bot
    stopping = asyncio.create_task(bot.stop(grace=5))
    await bot.slack.wait_for(lambda: not app.accepting, what="shutdown begun")
    gate.set()  # the first answer finishes within the grace and frees its slot
    await stopping

    def shown(event: dict[str, Any]) -> str:
        return text_of([m for m in bot.slack.replies("C1", event["ts"]) if m.get("bot_id")][0])

    assert shown(first) == "Held answer."
    assert shown(second) == texts.NOT_ANSWERED
    assert len(bot.llm.requests) == 1, "no new model request once shutdown began"
