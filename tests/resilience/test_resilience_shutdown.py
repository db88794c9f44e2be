"""Stopping the bot mid-answer (Runtime.stop, what SIGTERM runs): finish, or leave it to resume."""

from __future__ import annotations

from bot import texts
from bot.llm.client import RESUME_INSTRUCTION
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


async def test_an_answer_running_past_the_grace_is_resumed_by_the_next_start(
    bot: Harness,
) -> None:
    # The second reply answers the resume request (it starts over: the repeat is dropped).
    bot.llm.script(text_reply(LONG, delay=0.1), text_reply(LONG))  # ~10 s, then at once
    event = await bot.mention("count slowly")
    await streaming_started(bot, event["ts"], "step0")
    await bot.stop(grace=0.3)
    [shown] = bot_texts(bot, "C1", event["ts"])
    assert texts.INTERRUPTED.strip() not in shown, "left for the next replica, not ended"
    assert shown and LONG.startswith(shown) and shown != LONG
    [row] = await stored_replies(bot)
    assert row.status == "streaming" and LONG.startswith(row.content) and row.content
    await bot.start()  # the same REPLICA_ID: its own left reply is resumed at once
    await bot.slack.wait_for(
        lambda: bot_texts(bot, "C1", event["ts"]) == [LONG], what="the answer finished"
    )
    resumed = bot.llm.requests[-1]["messages"]
    assert resumed[-2:] == [
        {"role": "assistant", "content": row.content},
        {"role": "user", "content": RESUME_INSTRUCTION},
    ]
    await bot.stop(grace=5.0)  # lets the final save land
    [row] = await stored_replies(bot)
    assert (row.content, row.status) == (LONG, "complete")


async def test_shutdown_tells_a_queued_follow_up_that_it_was_not_answered(bot: Harness) -> None:
    bot.llm.script(text_reply("Root answer."), text_reply(LONG, delay=0.1), text_reply(LONG))
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
    assert LONG.startswith(shown[1]) and shown[1] != LONG, "left to resume"
    assert shown[2:] == [texts.NOT_ANSWERED]
    assert len(bot.llm.requests) == 2
    await bot.start()  # resumes the first follow-up's answer where it stopped
    await bot.slack.wait_for(
        lambda: bot_texts(bot, "C1", root["ts"])[1] == LONG, what="the follow-up finished"
    )
    await bot.wait_reply_done("C1", root["ts"], count=3)
