"""The usage ledger: one row per answer, and the sums limits and reports read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, case, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.db.engine import create_sessionmaker
from bot.db.models import UsageRecord, UsageReservation
from bot.db.transactions import core_transaction, transaction
from bot.usage.meter import Tokens

PAGE = 1000  # export rows read per query


@dataclass(frozen=True, slots=True)
class AnswerUsage:
    """What one answer cost, ready to store."""

    team_id: str
    channel_id: str
    user_id: str
    thread_ts: str
    message_ts: str
    model: str
    tokens: Tokens
    estimated: bool
    duration: float
    tool_calls: int
    rounds: int
    status: str
    created_at: datetime
    approvals: dict[str, int] | None = None  # tool calls put to a person, by decision


@dataclass(frozen=True, slots=True)
class Total:
    """Summed usage of one model's records, for one key (a user or channel) or for all."""

    key: str = ""
    model: str = ""
    prompt: int = 0
    completion: int = 0
    cached: int = 0
    answers: int = 0
    estimated: bool = False

    @property
    def total(self) -> int:
        return self.prompt + self.completion


def utc(value: datetime) -> datetime:
    """Return `value` as an aware UTC datetime (SQLite hands back naive ones)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


RECORDS: Table = UsageRecord.__table__  # type: ignore[assignment]
INSERT_RECORD = insert(RECORDS)  # built once; each answer gives the values
RESERVATIONS: Table = UsageReservation.__table__  # type: ignore[assignment]
DELETE_RESERVATION = delete(RESERVATIONS).where(RESERVATIONS.c.id == bindparam("reservation"))


class UsageLedger:
    """Store usage records and sum them, each call one short transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = create_sessionmaker(engine)

    def _session(self) -> AbstractAsyncContextManager[AsyncSession]:
        return transaction(self._sessions)

    async def add(self, usage: AnswerUsage | None, *, reservation: int | None = None) -> None:
        """Store one answer's usage (if any) and drop its reservation, in one transaction."""
        async with core_transaction(self.engine) as connection:  # one per answer: no ORM
            if usage is not None:
                await connection.execute(INSERT_RECORD, _row(usage))
            if reservation is not None:
                await connection.execute(DELETE_RESERVATION, {"reservation": reservation})

    async def spent(
        self, team_id: str, checks: dict[str, tuple[ColumnElement[bool], datetime]]
    ) -> dict[str, int]:
        """Sum total tokens for each named check (a filter and a start), in one query."""
        if not checks:
            return {}
        columns = [
            select(func.coalesce(func.sum(UsageRecord.total_tokens), 0))
            .where(UsageRecord.team_id == team_id, where, UsageRecord.created_at >= utc(since))
            .scalar_subquery()
            .label(name)
            for name, (where, since) in checks.items()
        ]
        async with self._session() as session:
            row = (await session.execute(select(*columns))).one()
        return {name: int(value or 0) for name, value in zip(checks, row, strict=True)}

    async def totals(
        self, team_id: str, since: datetime, *, user_id: str | None = None, by: str = ""
    ) -> list[Total]:
        """Sum records since `since` per model, for one user or all, and per `by` column."""
        r = UsageRecord
        group: list[Any] = [getattr(r, by)] if by else []
        group.append(r.model)
        query = (
            select(
                *group,
                func.sum(r.prompt_tokens),
                func.sum(r.completion_tokens),
                func.sum(r.cached_tokens),
                func.count(),
                func.max(case((r.estimated, 1), else_=0)),
            )
            .where(r.team_id == team_id, r.created_at >= utc(since))
            .group_by(*group)
        )
        if user_id is not None:
            query = query.where(r.user_id == user_id)
        async with self._session() as session:
            rows = (await session.execute(query)).all()
        return [
            Total(
                key=str(row[0]) if by else "",
                model=str(row[-6]),
                prompt=int(row[-5] or 0),
                completion=int(row[-4] or 0),
                cached=int(row[-3] or 0),
                answers=int(row[-2] or 0),
                estimated=bool(row[-1]),
            )
            for row in rows
        ]

    async def records(
        self, *, since: datetime | None = None, until: datetime | None = None, team_id: str = ""
    ) -> AsyncIterator[UsageRecord]:
        """Yield stored records in the order they were written (for the export)."""
        query = select(UsageRecord).order_by(UsageRecord.id)
        if since is not None:
            query = query.where(UsageRecord.created_at >= utc(since))
        if until is not None:
            query = query.where(UsageRecord.created_at < utc(until))
        if team_id:
            query = query.where(UsageRecord.team_id == team_id)
        last = 0
        while True:
            async with self._session() as session:
                page = (await session.scalars(query.where(UsageRecord.id > last).limit(PAGE))).all()
            for row in page:
                yield row
            if len(page) < PAGE:
                return
            last = page[-1].id


def _row(usage: AnswerUsage) -> dict[str, Any]:
    """Return the values of one answer's usage record (INSERT_RECORD's parameters)."""
    t = usage.tokens
    return {
        "team_id": usage.team_id,
        "channel_id": usage.channel_id,
        "user_id": usage.user_id,
        "thread_ts": usage.thread_ts,
        "message_ts": usage.message_ts,
        "model": usage.model[:128],
        "prompt_tokens": t.prompt,
        "completion_tokens": t.completion,
        "reasoning_tokens": t.reasoning,
        "cached_tokens": t.cached,
        "total_tokens": t.total,
        "estimated": usage.estimated,
        "duration": round(usage.duration, 3),
        "tool_calls": usage.tool_calls,
        "rounds": usage.rounds,
        "status": usage.status,
        "approvals": usage.approvals or None,
        "created_at": utc(usage.created_at),
    }
