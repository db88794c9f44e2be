"""Native streams whose rollover Slack fails: the answer still arrives whole (or says it is cut).

Both were found by the adversarial generator (`test_reply_generator.py`) and are pinned here
through the real app.
"""

from __future__ import annotations

import asyncio

import pytest

from bot import texts
from bot.testing.harness import Harness, text_of
from bot.testing.invariant import assert_reply_shows
from bot.testing.openai import text_reply

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

WORDS = " ".join(f"word{i}" for i in range(600))  # about 4,800 characters


async def native(harness: Harness) -> Harness:
    bot = await harness.start(
        stream_mode="native", native_flush_interval=0.05, slack_message_max_chars=500
    )
    assert bot.runtime is not None and bot.runtime.slack is not None
    bot.runtime.slack.writer.backoff = 0.01
    return bot


async def test_native_rollover_with_posts_down_says_cut_short(harness: Harness) -> None:
    bot = await native(harness)
    gate = asyncio.Event()
    bot.llm.script(text_reply(WORDS, pieces=len(WORDS), hold=gate, hold_at=1))
    event = await bot.mention("go")
    await bot.slack.wait_for(lambda: bool(bot.slack.calls_to("chat.startStream")))
    # Slack's posts are down: the next stream cannot start, nor a message be posted.
    bot.slack.fail_next("chat.startStream", status=503, times=1000)
    bot.slack.fail_next("chat.postMessage", status=503, times=1000)
    gate.set()
    await bot.wait_reply_done("C1", event["ts"], timeout=30)
    await bot.settle(timeout=30)
    shown = [text_of(m) for m in bot.slack.bot_messages("C1")]
    assert len(shown) == 1 and shown[0].endswith(texts.REPLY_CUT_SHORT), shown
    assert_reply_shows(bot.slack, "C1", event["ts"], WORDS)  # a leading part, then the note


async def test_native_stream_start_answer_lost_leaves_no_open_stream(harness: Harness) -> None:
    bot = await native(harness)
    gate = asyncio.Event()
    bot.llm.script(text_reply(WORDS, pieces=100, delay=0.01, hold=gate, hold_at=2))
    event = await bot.mention("go")
    await bot.slack.wait_for(lambda: bool(bot.slack.calls_to("chat.startStream")))
    bot.slack.cut_after_applying("chat.startStream")  # the next stream opens, its answer is lost
    gate.set()
    await bot.wait_reply_done("C1", event["ts"], timeout=30)
    await bot.settle(timeout=30)
    assert bot.slack.cut, "a stream was started with its answer lost"
    messages = bot.slack.bot_messages("C1")
    assert not [m["ts"] for m in messages if m["streaming"]], "no stream is left open"
    assert all(text_of(m).strip() for m in messages), "no empty message is left"
    assert_reply_shows(bot.slack, "C1", event["ts"], WORDS)
