"""Replica heartbeats, and which streaming replies no live replica owns any more.

Every replica stamps the replies it streams with its id and beats every few seconds. A
reply still `streaming` belongs to a dead replica when its owner stopped beating for
`stale_after` seconds, left (row deleted), or is unknown (rows from before owners
existed). At startup a replica also takes back its own earlier replies: it restarted.
Taking over is one conditional UPDATE, so two replicas never both mark the same reply.
"""

from __future__ import annotations

import socket
import time

from sqlalchemy import Float, String, and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.engine import create_sessionmaker
from bot.db.models import Base, Message
from bot.db.store import ReplyStatus, ThreadKey, UnfinishedReply


class Replica(Base):
    """A bot process and when it last said it was alive."""

    __tablename__ = "replicas"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    heartbeat_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float] = mapped_column(Float)


def default_replica_id(port: int | None) -> str:
    """Name this process by host and port (stable across restarts of the same service)."""
    return f"{socket.gethostname()}:{port or 0}"


class ReplicaRegistry:
    """Beat for this replica and find the replies whose owner is gone."""

    def __init__(self, engine: AsyncEngine, replica_id: str, *, stale_after: float) -> None:
        self.replica_id = replica_id
        self.stale_after = stale_after
        self._sessions = create_sessionmaker(engine)
        self._started = time.time()

    async def beat(self) -> None:
        """Record that this replica is alive now."""
        now = time.time()
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(Replica).where(Replica.id == self.replica_id).values(heartbeat_at=now)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                session.add(Replica(id=self.replica_id, heartbeat_at=now, started_at=self._started))

    async def leave(self) -> None:
        """Forget this replica (a clean stop); its leftovers count as orphaned at once."""
        async with self._sessions() as session, session.begin():
            await session.execute(delete(Replica).where(Replica.id == self.replica_id))

    async def orphaned_replies(self, *, startup: bool = False) -> list[UnfinishedReply]:
        """Return streaming replies no live replica owns (and, at startup, our own old ones)."""
        stale = time.time() - self.stale_after
        owner_gone = or_(
            Message.owner.is_(None), Replica.id.is_(None), Replica.heartbeat_at < stale
        )
        if startup:
            condition = or_(owner_gone, Message.owner == self.replica_id)
        else:
            condition = and_(
                owner_gone, or_(Message.owner.is_(None), Message.owner != self.replica_id)
            )
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(Message)
                    .outerjoin(Replica, Replica.id == Message.owner)
                    .where(Message.status == ReplyStatus.STREAMING, condition)
                    .order_by(Message.id)
                )
            ).all()
        return [
            UnfinishedReply(
                id=row.id,
                key=ThreadKey(row.team_id, row.channel_id, row.thread_ts),
                slack_ts=row.slack_ts,
                content=row.content or "",
            )
            for row in rows
        ]

    async def take_over(self, message_id: int, status: str = ReplyStatus.INTERRUPTED) -> bool:
        """Mark an orphaned reply finished; False when another replica already did."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(Message)
                .where(Message.id == message_id, Message.status == ReplyStatus.STREAMING)
                .values(status=status, owner=self.replica_id)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]
