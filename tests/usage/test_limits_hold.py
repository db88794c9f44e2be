"""Limits that hold (issue 22, finding 2): answers in flight are reserved, rounds settle them.

Through the real app on SQLite and PostgreSQL; the overshoot is bounded by one round of one
answer, and attempts that failed before any output are not counted unless the user stopped them.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot import texts
from bot.slack.reply.markup import STOP_ACTION
from bot.testing.clock import FakeWallClock
from bot.testing.harness import Harness, text_of
from bot.testing.interactive import click
from bot.testing.openai import error_reply, text_reply, tool_call_reply
from bot.testing.usage_checks import REFUSED_25, counted, reservations, used

REFUSED = REFUSED_25


async def final_text(bot: Harness, event: dict, channel: str = "C1") -> str:
    replies = await bot.wait_reply_done(channel, event["ts"], timeout=20)
    return text_of(replies[0])


async def test_limits_overshoot_without_bound(harness: Harness) -> None:
    """Six questions at once near a limit of 25: at most one answer's round past it."""
    harness.wall = FakeWallClock(datetime(2026, 11, 25, 15, 0, tzinfo=UTC))
    bot = await harness.start(usage_limit_user_daily_tokens=25)
    bot.llm.script(*(text_reply("Twenty tokens.", usage=used(10, 10)) for _ in range(6)))
    events = await asyncio.gather(*(bot.mention(f"question {i}") for i in range(6)))
    shown = [await final_text(bot, event) for event in events]
    answered = [s for s in shown if s == "Twenty tokens."]
    refused = [s for s in shown if s == REFUSED]
    assert len(answered) + len(refused) == 6, shown
    records, tokens = await counted(bot)
    assert 1 <= len(answered) == records == len(bot.llm.requests)
    assert tokens <= 25 + 20, f"overshoot past one round of one answer: {tokens}"
    assert await reservations(bot) == 0, "every hold is released with its record"


async def test_the_limit_is_checked_again_between_tool_rounds(harness: Harness) -> None:
    bot = await harness.start(usage_limit_user_daily_tokens=100, usage_reserve_tokens=10)
    bot.llm.script(
        tool_call_reply([("call_1", "current_datetime", "{}")], usage=used(120, 30)),
        text_reply("Never asked for.", usage=used(1, 1)),
    )
    event = await bot.mention("what time is it?")
    shown = await final_text(bot, event)
    assert ":no_entry: You have used your daily limit of 100 tokens" in shown, shown
    assert len(bot.llm.requests) == 1, "the round after the tools is not asked for"
    assert await counted(bot) == (1, 150)
    assert await reservations(bot) == 0


async def test_attempts_that_failed_before_any_output_are_not_counted(harness: Harness) -> None:
    bot = await harness.start(usage_limit_user_daily_tokens=25, openai_max_retries=0)
    bot.llm.script(
        error_reply(401, "bad key", type="authentication_error"),
        error_reply(404, "no such model", type="not_found_error"),
        error_reply(500, "overloaded", type="server_error"),
    )
    for text in ("first", "second", "third"):
        shown = await final_text(bot, await bot.mention(text))
        assert shown != REFUSED and "limit" not in shown, shown
    assert len(bot.llm.requests) == 3
    assert await counted(bot) == (0, 0), "nothing came back: nothing is counted"
    assert await reservations(bot) == 0
    bot.llm.script(text_reply("Now it works.", usage=used(5, 5)))
    assert await final_text(bot, await bot.mention("fourth")) == "Now it works."


async def test_an_attempt_stopped_before_any_output_is_counted(bot: Harness) -> None:
    gate = asyncio.Event()
    bot.llm.script(text_reply("Too late.", hold=gate))
    event = await bot.mention("think hard")
    await bot.llm.wait_for(lambda: bot.llm.open_streams == 1)

    def placeholder() -> list[dict]:
        return [m for m in bot.slack.replies("C1", event["ts"]) if m.get("bot_id")]

    await bot.slack.wait_for(lambda: bool(placeholder()))
    status, _ = await bot.interact(click(placeholder()[0], STOP_ACTION, user="U1"))
    assert status == 200
    assert texts.STOPPED_BY_USER.strip() in await final_text(bot, event)
    records, tokens = await counted(bot)
    assert records == 1 and tokens > 0, "the server read the prompt; the user stopped it"
    gate.set()
