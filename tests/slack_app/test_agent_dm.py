"""DM_THREADS: under agent_view each top-level DM message is its own thread and conversation."""

from __future__ import annotations

from bot.testing.harness import Harness, dm, text_of
from bot.testing.openai import text_reply


async def test_each_top_level_dm_is_answered_in_its_own_thread(harness: Harness) -> None:
    bot = await harness.start(dm_threads=True)
    bot.llm.script(text_reply("Paris."), text_reply("Blue."), text_reply("Still blue."))
    first, second = dm("capital of France?"), dm("colour of the sky?")
    await bot.send(first)
    (answer,) = await bot.wait_reply_done("D1", first["ts"])
    assert answer["thread_ts"] == first["ts"] and text_of(answer) == "Paris."
    await bot.send(second)
    await bot.wait_reply_done("D1", second["ts"])
    assert [m["content"] for m in bot.llm.requests[1]["messages"][1:]] == ["colour of the sky?"]

    await bot.send(dm("sure?", thread_ts=second["ts"]))
    await bot.wait_reply_done("D1", second["ts"], count=2)
    follow_up = [m["content"] for m in bot.llm.requests[2]["messages"][1:]]
    assert follow_up == ["colour of the sky?", "Blue.", "sure?"]


async def test_without_it_top_level_dms_stay_one_conversation(bot: Harness) -> None:
    bot.llm.script(text_reply("Paris."), text_reply("Yes."))
    await bot.send(dm("capital of France?"))
    await bot.slack.wait_for(
        lambda: any(text_of(m) == "Paris." for m in bot.slack.bot_messages("D1"))
    )
    assert not any(m["thread_ts"] for m in bot.slack.bot_messages("D1"))
    await bot.send(dm("sure?"))
    await bot.slack.wait_for(lambda: len(bot.llm.requests) == 2)
    assert [m["content"] for m in bot.llm.requests[1]["messages"][1:]][:2] == [
        "capital of France?",
        "Paris.",
    ]
