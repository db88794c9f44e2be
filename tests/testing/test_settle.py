"""`Harness.settle`, which negative assertions rely on, really waits for the bot's work."""

from __future__ import annotations

from bot.testing.harness import Harness, dm, text_of
from bot.testing.openai import text_reply


async def test_settle_waits_for_a_slow_answer_to_end(bot: Harness) -> None:
    bot.llm.script(text_reply("Slow but sure.", delay=0.3))
    event = dm("take your time")
    await bot.send(event)
    await bot.settle()
    [reply] = bot.slack.bot_messages("D1")
    assert text_of(reply) == "Slow but sure."


async def test_settle_waits_for_an_access_refusal_note(harness: Harness) -> None:
    bot = await harness.start(deny_users="U666")
    await bot.send(dm("let me in", user="U666"))
    await bot.settle()
    assert len(bot.slack.calls_to("chat.postEphemeral")) == 1
