"""What a replica needs to resume a reply another process left streaming.

The question it answers (the user message stored just before the reply's first row) and
how long ago the reply began, on the database's clock like every staleness judgement.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import create_sessionmaker
from bot.db.models import Message
from bot.db.records import ThreadKey
from bot.db.transactions import transaction


@dataclass(frozen=True, slots=True)
class Question:
    """The user message a left reply answers."""

    message_ts: str
    user_id: str
    text: str


class Resumable:
    """Read what resuming a left reply needs."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = create_sessionmaker(engine)

    async def question(self, key: ThreadKey, slack_ts: str) -> Question | None:
        """Return the question a reply (its first message's ts) answers, None if unknown."""
        first = self._first_row(key, slack_ts)
        async with transaction(self._sessions) as session:
            row = (
                await session.execute(
                    select(Message.slack_ts, Message.user_id, Message.content)
                    .where(
                        *_in_thread(key),
                        Message.role == "user",
                        Message.id < first.scalar_subquery(),
                    )
                    .order_by(Message.id.desc())
                    .limit(1)
                )
            ).first()
        if row is None or not row[0]:
            return None
        return Question(str(row[0]), str(row[1] or ""), str(row[2] or ""))

    async def age(self, key: ThreadKey, slack_ts: str) -> float:
        """Return the seconds since the reply's first row was written (database clock)."""
        started = self._first_row(key, slack_ts).with_only_columns(func.min(Message.created_at))
        async with transaction(self._sessions) as session:
            row = (await session.execute(select(started.scalar_subquery(), func.now()))).first()
        if row is None or row[0] is None or row[1] is None:
            return 0.0
        began, now = row
        if began.tzinfo is None and now.tzinfo is not None:
            began = began.replace(tzinfo=now.tzinfo)
        elif now.tzinfo is None and began.tzinfo is not None:
            now = now.replace(tzinfo=began.tzinfo)
        return max(0.0, (now - began).total_seconds())

    def _first_row(self, key: ThreadKey, slack_ts: str):  # type: ignore[no-untyped-def]
        return select(func.min(Message.id)).where(
            *_in_thread(key), Message.role == "assistant", Message.slack_ts == slack_ts
        )


def _in_thread(key: ThreadKey) -> tuple:  # type: ignore[type-arg]
    return (
        Message.team_id == key.team_id,
        Message.channel_id == key.channel_id,
        Message.thread_ts == key.thread_ts,
    )
