"""Read what the usage ledger holds, for tests of the limits: records and holds in flight."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.db.engine import create_sessionmaker
from bot.db.models import UsageRecord, UsageReservation
from bot.testing.harness import Harness

REFUSED_25 = (
    ":no_entry: You have used your daily limit of 25 tokens; it resets on 26 November at 00:00 UTC."
)


def used(prompt: int, completion: int) -> dict[str, int]:
    """Return a server usage object."""
    return {"prompt_tokens": prompt, "completion_tokens": completion}


async def counted(bot: Harness) -> tuple[int, int]:
    """Return (usage records, total tokens) stored so far."""
    assert bot.runtime is not None
    async with create_sessionmaker(bot.runtime.engine)() as session:
        rows = (await session.execute(select(UsageRecord.total_tokens))).scalars().all()
    return len(rows), sum(rows)


async def reservations(bot: Harness) -> int:
    """Return how many answers are held against the limits now."""
    assert bot.runtime is not None
    async with create_sessionmaker(bot.runtime.engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(UsageReservation)) or 0)
