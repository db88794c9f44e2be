"""Two bot runtimes on one PostgreSQL database share the usage limits (no Redis needed)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.testing.clock import FakeWallClock
from bot.testing.harness import Harness, text_of
from bot.testing.openai import FakeOpenAI, text_reply
from bot.testing.slack import FakeSlack

LIMITS = {"usage_limit_user_daily_tokens": 100, "usage_limit_channel_daily_tokens": 1000}


@pytest.fixture
async def replicas(
    slack: FakeSlack, llm: FakeOpenAI, pg_database: str | None
) -> AsyncIterator[tuple[Harness, Harness, FakeWallClock]]:
    """Replicas A and B: one fake Slack, one fake model, one database, one wall clock."""
    if pg_database is None:
        if os.environ.get("CI") or os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required in CI")
        pytest.skip("PostgreSQL is not reachable here (CI runs these)")
    import asyncpg

    conn = await asyncpg.connect(pg_database.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()
    wall = FakeWallClock(datetime(2026, 11, 25, 10, 0, tzinfo=UTC))
    a = Harness(slack=slack, llm=llm, database_url=pg_database, wall=wall)
    b = Harness(slack=slack, llm=llm, database_url=pg_database, wall=wall)
    try:
        await a.start(replica_id="replica-a", **LIMITS)
        await b.start(replica_id="replica-b", **LIMITS)
        yield a, b, wall
    finally:
        await a.close()
        await b.close()


async def ask(bot: Harness, text: str, *, user: str = "U1", channel: str = "C1") -> str:
    event = await bot.mention(text, user=user, channel=channel)
    replies = await bot.wait_reply_done(channel, event["ts"])
    return text_of(replies[0])


def used(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion}


async def test_a_limit_reached_on_one_replica_holds_on_the_other(
    replicas: tuple[Harness, Harness, FakeWallClock],
) -> None:
    a, b, wall = replicas
    a.llm.script(
        text_reply("From A.", usage=used(40, 20)), text_reply("From B.", usage=used(30, 20))
    )
    assert await ask(a, "first") == "From A."
    assert await ask(b, "second") == "From B."  # 60 of 100 so far: still under
    asked = len(a.llm.requests)
    refused = (
        ":no_entry: You have used your daily limit of 100 tokens; "
        "it resets on 26 November at 00:00 UTC."
    )
    assert await ask(a, "third") == refused  # 110, counted from both replicas' answers
    assert await ask(b, "fourth") == refused
    assert len(a.llm.requests) == asked, "neither replica asked the model"
    a.llm.script(text_reply("Another user.", usage=used(5, 5)))
    assert await ask(b, "hello", user="U2") == "Another user."
    wall.advance(days=1)
    a.llm.script(text_reply("A new day.", usage=used(5, 5)))
    assert await ask(b, "again") == "A new day."
