"""Slack's Stop on an agent session reaches the answer on whichever replica streams it."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot import texts
from bot.db.records import ThreadKey
from bot.slack.reply.markup import STOP_ACTION
from bot.testing.harness import Harness, text_of
from bot.testing.interactive import click
from bot.testing.openai import FakeOpenAI, text_reply
from bot.testing.slack import FakeSlack
from bot.usage.record import UsageLedger

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SLOW = "word " * 300


@pytest.fixture
async def replicas(
    slack: FakeSlack, llm: FakeOpenAI, pg_database: str | None
) -> AsyncIterator[tuple[Harness, Harness]]:
    """Replicas A and B: one fake Slack, one fake model, one database, one Redis prefix."""
    if pg_database is None:
        if os.environ.get("CI") or os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required in CI")
        pytest.skip("PostgreSQL is not reachable here (CI runs these)")
    client: Any = aioredis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception:
        if os.environ.get("CI") or os.environ.get("REQUIRE_REDIS"):
            pytest.fail(f"Redis is required in CI but not reachable at {REDIS_URL}")
        pytest.skip("Redis is not reachable here (CI runs these)")
    finally:
        await client.aclose()
    import asyncpg

    conn = await asyncpg.connect(pg_database.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()
    shared = {"redis_url": REDIS_URL, "redis_key_prefix": f"test-{uuid.uuid4().hex[:8]}:"}
    a = Harness(slack=slack, llm=llm, database_url=pg_database)
    b = Harness(slack=slack, llm=llm, database_url=pg_database)
    try:
        await a.start(replica_id="replica-a", **shared)
        await b.start(replica_id="replica-b", **shared)
        for bot in (a, b):
            assert bot.runtime is not None
            await bot.slack.wait_for(bot.runtime.stop_relay.listening.is_set)
        yield a, b
    finally:
        await a.close()
        await b.close()


async def test_agent_session_stopped_on_the_other_replica_stops_the_answer(
    replicas: tuple[Harness, Harness],
) -> None:
    a, b = replicas
    a.llm.script(text_reply(SLOW, delay=0.02))
    event = await a.mention("tell me a long story")

    def showing_text() -> bool:
        return any(text_of(m).startswith("word") for m in a.slack.bot_messages("C1"))

    await a.slack.wait_for(showing_text, timeout=10)
    assert await b.agent_session_stopped("C1", event["ts"]) == 200
    replies = await a.wait_reply_done("C1", event["ts"])
    shown = text_of(replies[0])
    assert shown.endswith(texts.STOPPED_BY_USER.strip()), shown
    assert shown.count("word") < 300
    await a.llm.wait_for(lambda: a.llm.disconnects >= 1 and a.llm.open_streams == 0)
    assert a.runtime is not None and a.runtime.bot is not None
    rows = await a.runtime.bot.store.history(ThreadKey("T1", "C1", event["ts"]), limit=10)
    assert [r.status for r in rows if r.role == "assistant"] == ["stopped"]
    await a.slack.wait_for(lambda: a.slack.session_statuses("C1", event["ts"])[-1:] == ["active"])
    await a.settle()
    records = [r.status async for r in UsageLedger(a.runtime.engine).records()]
    assert records == ["stopped"], "the stopped answer's usage is recorded"


async def test_stop_button_clicked_on_the_other_replica_stops_the_answer(
    replicas: tuple[Harness, Harness],
) -> None:
    a, b = replicas
    a.llm.script(text_reply(SLOW, delay=0.02))
    event = await a.mention("tell me a long story")

    def streaming() -> list[dict]:
        return [m for m in a.slack.bot_messages("C1") if text_of(m).startswith("word")]

    await a.slack.wait_for(lambda: bool(streaming()), timeout=10)
    status, _ = await b.interact(click(streaming()[0], STOP_ACTION, user="U1"))
    assert status == 200
    replies = await a.wait_reply_done("C1", event["ts"])
    assert text_of(replies[0]).endswith(texts.STOPPED_BY_USER.strip())
    assert a.slack.calls_to("chat.postEphemeral") == [], "no 'nothing to stop' note"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_late_click_with_redis_and_one_replica_still_says_too_late(
    harness: Harness,
) -> None:
    client: Any = aioredis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception:
        pytest.skip("Redis is not reachable here (CI runs these)")
    finally:
        await client.aclose()
    bot = await harness.start(redis_url=REDIS_URL, redis_key_prefix=f"t-{uuid.uuid4().hex}:")
    assert bot.runtime is not None
    await bot.slack.wait_for(bot.runtime.stop_relay.listening.is_set)
    bot.llm.script(text_reply("Short answer."))
    event = await bot.mention("quick one")
    await bot.wait_reply_done("C1", event["ts"])
    post = bot.slack.calls_to("chat.postMessage")[0]
    message = {**bot.slack.message("C1", post.response["ts"]), "blocks": post.args["blocks"]}
    await bot.interact(click(message, STOP_ACTION, user="U1"))
    await bot.slack.wait_for(lambda: bool(bot.slack.calls_to("chat.postEphemeral")))
    assert [c.args["text"] for c in bot.slack.calls_to("chat.postEphemeral")] == [
        texts.STOP_TOO_LATE
    ]
