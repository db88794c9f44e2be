"""Answers in flight, held against the usage limits in the database so every replica sees them.

An admitted answer holds a reservation row: `held`, an estimate for the round under way, and
`spent`, what its finished rounds used. Limits count stored records plus live reservations.
Admission and every round start run in one transaction that first takes the workspace's
lock (PostgreSQL: an advisory transaction lock; SQLite: the write lock its first DELETE
takes), so two replicas admitting at the same moment see each other's rows. A crashed
process leaves its rows behind; they stop counting at `expires_at` and are deleted then.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.db.engine import create_sessionmaker
from bot.db.models import UsageRecord, UsageReservation
from bot.db.transactions import transaction
from bot.usage.record import utc


@dataclass(frozen=True, slots=True)
class Scope:
    """One limit that applies to a question: who it counts (a column and value) and since when."""

    name: str  # user | channel | team
    cap: int
    column: str  # user_id | channel_id | team_id
    value: str
    since: datetime
    resets: datetime


@dataclass(frozen=True, slots=True)
class Tally:
    """What counts against one scope now."""

    used: int = 0  # stored records since the period began
    in_flight: int = 0  # live reservations: spent + held
    answers: int = 0  # live reservations (for a next round: the older ones only)

    @property
    def total(self) -> int:
        return self.used + self.in_flight


@dataclass(slots=True)
class Hold:
    """An admitted answer's reservation (`id` None: no limit applies, nothing is held)."""

    team_id: str
    channel_id: str
    user_id: str
    id: int | None = None
    exempt: bool = False  # an admin exempt from the limits: held (others see it), never stopped


# Decide from the tallies: the name of the scope that refuses, or None to go ahead.
Verdict = Callable[[dict[str, Tally]], str | None]


class Reservations:
    """Hold, settle and release answers in flight; each call one short locked transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = create_sessionmaker(engine)
        self._postgres = engine.dialect.name == "postgresql"
        # SQLite serialises writers anyway: queueing here spares the busy-wait on its file lock.
        self._local = asyncio.Lock() if not self._postgres else None

    @asynccontextmanager
    async def _locked(self, team_id: str, now: datetime) -> AsyncIterator[AsyncSession]:
        async with self._local or nullcontext(), transaction(self._sessions) as session:
            if self._postgres:
                key = func.hashtext("usage:" + team_id)
                await session.execute(select(func.pg_advisory_xact_lock(key)))
            # Expired rows (a crashed process's) stop counting; on SQLite this write also
            # takes the database's write lock before the sums below are read.
            r = UsageReservation
            await session.execute(delete(r).where(r.team_id == team_id, r.expires_at <= utc(now)))
            yield session

    async def admit(
        self,
        hold: Hold,
        scopes: list[Scope],
        verdict: Verdict,
        *,
        estimate: int,
        now: datetime,
        expires: datetime,
    ) -> tuple[str | None, dict[str, Tally]]:
        """Hold `estimate` for a new answer unless `verdict` refuses; return (refusal, tallies)."""
        async with self._locked(hold.team_id, now) as session:
            tallies = await _tallies(session, hold.team_id, scopes, now)
            refused = verdict(tallies)
            if refused is None:
                hold.id = await _insert(session, hold, estimate, 0, expires)
        return refused, tallies

    async def force(self, hold: Hold, *, estimate: int, now: datetime, expires: datetime) -> None:
        """Hold `estimate` for an answer admitted whatever the limits say (an exempt admin)."""
        async with self._locked(hold.team_id, now) as session:
            hold.id = await _insert(session, hold, estimate, 0, expires)

    async def settle(
        self,
        hold: Hold,
        scopes: list[Scope],
        verdict: Verdict | None,
        *,
        spent: int,
        estimate: int,
        now: datetime,
        expires: datetime,
    ) -> str | None:
        """Record what the answer spent so far; check (`verdict`), then hold the next round."""
        r = UsageReservation
        async with self._locked(hold.team_id, now) as session:
            values: dict[str, Any] = {"spent": spent, "held": 0, "expires_at": utc(expires)}
            found = await session.execute(update(r).where(r.id == hold.id).values(**values))
            if not found.rowcount:  # type: ignore[attr-defined]  # expired while it waited
                hold.id = await _insert(session, hold, 0, spent, expires)
            if verdict is not None:  # the older answers go first near a limit
                tallies = await _tallies(session, hold.team_id, scopes, now, before=hold.id)
                refused = verdict(tallies)
                if refused is not None:
                    return refused
            await session.execute(update(r).where(r.id == hold.id).values(held=estimate))
        return None

    async def release(self, hold: Hold, session: AsyncSession | None = None) -> None:
        """Drop the reservation (its usage record is written in the same transaction)."""
        if hold.id is None:
            return
        query = delete(UsageReservation).where(UsageReservation.id == hold.id)
        if session is not None:
            await session.execute(query)
            return
        async with transaction(self._sessions) as own:
            await own.execute(query)


async def _insert(
    session: AsyncSession, hold: Hold, held: int, spent: int, expires: datetime
) -> int:
    row = UsageReservation(
        team_id=hold.team_id,
        channel_id=hold.channel_id,
        user_id=hold.user_id,
        held=held,
        spent=spent,
        expires_at=utc(expires),
    )
    session.add(row)
    await session.flush()
    return row.id


async def _tallies(
    session: AsyncSession,
    team_id: str,
    scopes: list[Scope],
    now: datetime,
    *,
    before: int | None = None,
) -> dict[str, Tally]:
    """Sum records and live reservations for every scope, in one query.

    `before`: count only the answers admitted before that reservation (older ones).
    """
    if not scopes:
        return {}
    rec, res = UsageRecord, UsageReservation
    columns: list[Any] = []
    for s in scopes:
        live = (
            res.team_id == team_id,
            getattr(res, s.column) == s.value,
            res.expires_at > utc(now),
        )
        columns += [
            select(func.coalesce(func.sum(rec.total_tokens), 0))
            .where(
                rec.team_id == team_id,
                getattr(rec, s.column) == s.value,
                rec.created_at >= utc(s.since),
            )
            .scalar_subquery(),
            select(func.coalesce(func.sum(res.spent + res.held), 0)).where(*live).scalar_subquery(),
            select(func.count())
            .select_from(res)
            .where(*live, *([res.id < before] if before is not None else []))
            .scalar_subquery(),
        ]
    row = (await session.execute(select(*columns))).one()
    return {
        s.name: Tally(int(row[3 * i] or 0), int(row[3 * i + 1] or 0), int(row[3 * i + 2] or 0))
        for i, s in enumerate(scopes)
    }
