"""Stopping the bot mid-answer (Runtime.stop, what SIGTERM runs): finish or mark interrupted."""

from __future__ import annotations

from bot import texts
from bot.testing.harness import Harness, channel_message, text_of
from bot.testing.openai import text_reply
from bot.testing.stored import stored_replies

LONG = " ".join(f"step{i}" for i in range(100))  # 100 chunks


def bot_texts(bot: Harness, channel: str, thread_ts: str) -> list[str]:
    return [text_of(m) for m in bot.slack.replies(channel, thread_ts) if m.get("bot_id")]


async def streaming_started(bot: Harness, thread_ts: str, prefix: str) -> None:
    await bot.slack.wait_for(
        lambda: any(t.startswith(prefix) for t in bot_texts(bot, "C1", thread_ts)),
        what="the answer is streaming",
    )


async def test_shutdown_lets_an_answer_finish_within_the_grace(bot: Harness) -> None:
    bot.llm.script(text_reply(LONG, delay=0.01))  # ~1 s
    event = await bot.mention("count")
    await streaming_started(bot, event["ts"], "step0")
    await bot.stop(grace=5.0)
    assert bot_texts(bot, "C1", event["ts"]) == [LONG]
    [row] = await stored_replies(bot)
    assert (row.content, row.status) == (LONG, "complete")


async def test_shutdown_marks_an_answer_interrupted_after_the_grace(bot: Harness) -> None:
    bot.llm.script(text_reply(LONG, delay=0.1))  # ~10 s
    event = await bot.mention("count slowly")
    await streaming_started(bot, event["ts"], "step0")
    await bot.stop(grace=0.3)
    [shown] = bot_texts(bot, "C1", event["ts"])
    assert shown.endswith(texts.INTERRUPTED)
    partial = shown.removesuffix(texts.INTERRUPTED)
    assert partial and LONG.startswith(partial) and partial != LONG
    [row] = await stored_replies(bot)
    assert row.status == "interrupted" and LONG.startswith(row.content) and row.content
    await bot.start()  # a clean stop leaves nothing for the next start to repair
    assert bot_texts(bot, "C1", event["ts"]) == [shown]


async def test_shutdown_tells_a_queued_follow_up_that_it_was_not_answered(bot: Harness) -> None:
    bot.llm.script(text_reply("Root answer."), text_reply(LONG, delay=0.1))
    root = await bot.mention("start")
    await bot.wait_reply_done("C1", root["ts"])
    await bot.send(channel_message("first", thread_ts=root["ts"]))
    await streaming_started(bot, root["ts"], "step0")
    await bot.send(channel_message("second, queued behind the first", thread_ts=root["ts"]))
    assert bot.runtime is not None and bot.runtime.bot is not None
    tasks = bot.runtime.bot.tasks
    await bot.slack.wait_for(lambda: len(tasks) == 2, what="the second turn is queued")
    await bot.stop(grace=0.3)
    shown = bot_texts(bot, "C1", root["ts"])
    assert shown[0] == "Root answer."
    assert shown[1].endswith(texts.INTERRUPTED)
    assert shown[2:] == [texts.NOT_ANSWERED]
    assert len(bot.llm.requests) == 2
