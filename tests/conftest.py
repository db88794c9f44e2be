"""Fixtures: databases (SQLite always, PostgreSQL when reachable), fake servers, the real bot."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from bot.testing.answered import answer_problems
from bot.testing.harness import Harness
from bot.testing.invariant import duplicate_parts, limit_problems
from bot.testing.leftovers import blockless_updates, stale_stop_buttons
from bot.testing.openai import FakeOpenAI
from bot.testing.postgres import PG_ADMIN, pg_available, pg_exec
from bot.testing.slack import FakeSlack


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """Create a throwaway PostgreSQL database for this run (None when PostgreSQL is absent)."""
    if not pg_available():
        if os.environ.get("CI") or os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is required in CI but not reachable at {PG_ADMIN}")
        yield None
        return
    name = f"bot_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(pg_exec(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN.rsplit("/", 1)[0]
    yield f"postgresql+asyncpg://{base.split('://', 1)[1]}/{name}"
    asyncio.run(pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path, pg_database) -> str:
    """Yield a fresh database URL for each backend."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    if pg_database is None:
        pytest.skip("PostgreSQL is not reachable here (CI runs these)")
    import asyncpg

    conn = await asyncpg.connect(pg_database.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()
    return pg_database


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "stop_button_may_remain: the test leaves a reply streaming on purpose"
    )
    config.addinivalue_line(
        "markers", "slack_limits_tested: the test sends Slack too-long content on purpose"
    )
    config.addinivalue_line(
        "markers",
        "answer_may_differ(reason): a reply may on purpose not show what the model answered",
    )


@pytest.fixture
async def slack(request: pytest.FixtureRequest) -> AsyncIterator[FakeSlack]:
    """A fake Slack; at teardown no message the bot left may still show a Stop button."""
    async with FakeSlack() as fake:
        yield fake
        check_leftovers(fake, request)


def check_leftovers(fake: FakeSlack, request: pytest.FixtureRequest) -> None:
    """Fail a test whose replies end with a Stop button, or that edited blocks away unsaid,
    or that sent Slack a message beyond its limits, or posted one part of a reply twice."""
    bad = blockless_updates(fake.calls)
    assert not bad, f"chat.update without blocks on a message carrying blocks: {bad[:3]}"
    if request.node.get_closest_marker("slack_limits_tested") is None:
        refused = limit_problems(fake.calls)
        assert not refused, f"messages Slack refuses for their size: {refused[:3]}"
    twice = duplicate_parts(fake.bot_messages())
    assert not twice, f"reply parts posted twice: {twice[:3]}"
    if request.node.get_closest_marker("stop_button_may_remain") is None:
        # Teardown runs after the bot stopped (the harness fixture depends on this one).
        left = stale_stop_buttons(fake.bot_messages())
        assert not left, f"replies left with a live Stop button: {left}"


@pytest.fixture
async def llm() -> AsyncIterator[FakeOpenAI]:
    """The fake model server; a test fails if any request broke strict chat-template rules."""
    async with FakeOpenAI() as fake:
        yield fake
    assert not fake.template_violations, (
        f"requests a strict chat template refuses: {fake.template_violations}"
    )


@pytest.fixture
async def harness(
    slack: FakeSlack, llm: FakeOpenAI, database_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[Harness]:
    """The real bot, not yet started (call `await harness.start()`)."""
    h = Harness(slack=slack, llm=llm, database_url=database_url)
    try:
        yield h
    finally:
        await h.close()
    check_answers(slack, llm, request)


def check_answers(slack: FakeSlack, llm: FakeOpenAI, request: pytest.FixtureRequest) -> None:
    """Fail a test whose finished replies do not show what the model answered, once, whole."""
    marker = request.node.get_closest_marker("answer_may_differ")
    if marker is None:
        wrong = answer_problems(slack, llm.streamed)
        assert not wrong, "replies not showing the model's answer:\n" + "\n".join(wrong[:3])
    else:
        assert marker.args, "answer_may_differ needs a reason"


@pytest.fixture
async def bot(harness: Harness) -> Harness:
    """The real bot, started with default test settings."""
    return await harness.start()
