"""Two bot instances on one database share the usage holds; a dead instance's holds expire."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.testing.clock import FakeWallClock
from bot.testing.harness import Harness, text_of
from bot.testing.openai import FakeOpenAI, text_reply
from bot.testing.slack import FakeSlack
from bot.testing.usage_checks import REFUSED_25 as REFUSED
from bot.testing.usage_checks import counted, reservations, used


@pytest.fixture
async def pair(
    slack: FakeSlack, llm: FakeOpenAI, database_url: str
) -> AsyncIterator[tuple[Harness, Harness, FakeWallClock]]:
    """Instances A and B: one fake Slack, one fake model, one database, one wall clock."""
    wall = FakeWallClock(datetime(2026, 11, 25, 10, 0, tzinfo=UTC))
    a = Harness(slack=slack, llm=llm, database_url=database_url, wall=wall)
    b = Harness(slack=slack, llm=llm, database_url=database_url, wall=wall)
    try:
        await a.start(replica_id="replica-a", usage_limit_user_daily_tokens=25)
        await b.start(replica_id="replica-b", usage_limit_user_daily_tokens=25)
        yield a, b, wall
    finally:
        await a.close()
        await b.close()


async def shown(bot: Harness, event: dict) -> str:
    replies = await bot.wait_reply_done("C1", event["ts"], timeout=20)
    return text_of(replies[0])


async def test_a_burst_split_across_two_instances_stays_within_one_round(
    pair: tuple[Harness, Harness, FakeWallClock],
) -> None:
    a, b, _ = pair
    a.llm.script(*(text_reply("Twenty tokens.", usage=used(10, 10)) for _ in range(6)))
    bots = [a, b] * 3
    events = await asyncio.gather(*(bot.mention(f"q{i}") for i, bot in enumerate(bots)))
    texts = [await shown(bot, e) for bot, e in zip(bots, events, strict=True)]
    assert all(t in ("Twenty tokens.", REFUSED) for t in texts), texts
    records, tokens = await counted(a)
    assert records == texts.count("Twenty tokens.") == len(a.llm.requests) >= 1
    assert tokens <= 25 + 20, tokens


async def test_the_holds_of_an_instance_that_died_expire(
    pair: tuple[Harness, Harness, FakeWallClock],
) -> None:
    a, b, wall = pair
    gate = asyncio.Event()
    a.llm.script(text_reply("From A at last.", usage=used(10, 10), hold=gate))
    first = await a.mention("first")
    await a.llm.wait_for(lambda: a.llm.open_streams == 1)  # A holds its answer in flight
    assert await reservations(a) == 1
    asked = len(a.llm.requests)
    assert await shown(b, await b.mention("second")) == REFUSED, "B sees A's hold"
    assert len(a.llm.requests) == asked
    # A stops renewing its hold (as a killed process would): after TURN_DEADLINE + 60 s it
    # no longer counts, and B answers.
    wall.advance(seconds=600 + 61)
    b.llm.script(text_reply("From B.", usage=used(5, 5)))
    assert await shown(b, await b.mention("third")) == "From B."
    gate.set()
    assert await shown(a, first) == "From A at last."
    assert await counted(a) == (2, 30)
    assert await reservations(a) == 0
