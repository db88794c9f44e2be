"""Replica heartbeats, and which streaming replies no live replica owns any more.

Every replica stamps the replies it streams with its id and beats every few seconds. A
reply still `streaming` belongs to a dead replica when its owner stopped beating for
`stale_after` seconds, left (row deleted), or is unknown (rows from before owners
existed). At startup a replica also takes back its own earlier replies: it restarted.
Taking over is one conditional UPDATE, so two replicas never both take the same reply.

Heartbeats and staleness are both read on the database's clock (`db_epoch`), never a
host's. And a replica judges others only once it has itself written heartbeats for a full
`stale_after` since it last (re)gained the database: an outage that silenced everyone
leaves every heartbeat old, and by then the others have beaten again too.
"""

from __future__ import annotations

import socket
from typing import Any

from sqlalchemy import Float, String, and_, delete, false, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from bot.clock import Clock, SystemClock
from bot.db.dbclock import db_epoch
from bot.db.engine import create_sessionmaker
from bot.db.models import Approval, Base, Claim, Message
from bot.db.records import OpenClaim, ReplyStatus, ThreadKey, UnfinishedReply


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

    def __init__(
        self,
        engine: AsyncEngine,
        replica_id: str,
        *,
        stale_after: float,
        clock: Clock | None = None,
    ) -> None:
        self.replica_id = replica_id
        self.stale_after = stale_after
        self.clock = clock or SystemClock()
        self._sessions = create_sessionmaker(engine)
        # When this replica's beats began to land again (monotonic, this host only: a
        # duration, never compared with another host's clock); None while they fail.
        self._regained: float | None = None

    @property
    def judging(self) -> bool:
        """Tell whether this replica has beaten for `stale_after` without a failed beat."""
        return self._regained is not None and self.clock.now() - self._regained >= self.stale_after

    async def beat(self) -> None:
        """Record that this replica is alive now (on the database's clock)."""
        try:
            async with self._sessions() as session, session.begin():
                result = await session.execute(
                    update(Replica)
                    .where(Replica.id == self.replica_id)
                    .values(heartbeat_at=db_epoch())
                )
                if not result.rowcount:  # type: ignore[attr-defined]
                    session.add(
                        Replica(id=self.replica_id, heartbeat_at=db_epoch(), started_at=db_epoch())
                    )
        except BaseException:
            self._regained = None  # silenced: others may look dead only for that reason
            raise
        if self._regained is None:
            self._regained = self.clock.now()

    async def leave(self) -> None:
        """Forget this replica (a clean stop); its leftovers count as orphaned at once."""
        async with self._sessions() as session, session.begin():
            await session.execute(delete(Replica).where(Replica.id == self.replica_id))

    def gone(self, owner: Any, *, startup: bool) -> Any:
        """Return the condition "`owner` is not a live replica" (or us, at startup).

        Until this replica is `judging`, nobody else counts as gone: only its own earlier
        replies, at startup (it restarted under the same id).
        """
        if not self.judging:
            return and_(owner == self.replica_id, true()) if startup else false()
        stale = db_epoch() - self.stale_after
        owner_gone = or_(owner.is_(None), Replica.id.is_(None), Replica.heartbeat_at < stale)
        if startup:
            return or_(owner_gone, owner == self.replica_id)
        return and_(owner_gone, or_(owner.is_(None), owner != self.replica_id))

    async def open_claims(self, *, startup: bool = False) -> list[OpenClaim]:
        """Return messages claimed by a replica that is gone before their reply row existed."""
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(Claim)
                    .outerjoin(Replica, Replica.id == Claim.owner)
                    .where(
                        Claim.settled.is_(False),
                        Claim.owner.is_not(None),  # the console claims without an owner
                        self.gone(Claim.owner, startup=startup),
                    )
                    .order_by(Claim.claimed_at)
                )
            ).all()
        return [
            OpenClaim(
                key=ThreadKey(row.team_id, row.channel_id, row.thread_ts or ""),
                message_ts=row.message_ts,
                owner=row.owner,
                reply_ts=row.reply_ts,
            )
            for row in rows
        ]

    async def take_claim(self, claim: OpenClaim) -> bool:
        """Settle an open claim as ours (a conditional change of owner); False if taken."""
        was = Claim.owner.is_(None) if claim.owner is None else Claim.owner == claim.owner
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(Claim)
                .where(
                    Claim.team_id == claim.key.team_id,
                    Claim.channel_id == claim.key.channel_id,
                    Claim.message_ts == claim.message_ts,
                    Claim.settled.is_(False),
                    was,
                )
                .values(settled=True, owner=self.replica_id)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def orphaned_replies(self, *, startup: bool = False) -> list[UnfinishedReply]:
        """Return streaming replies no live replica owns (and, at startup, our own old ones)."""
        condition = self.gone(Message.owner, startup=startup)
        # A round whose approvals are not done (waiting for a person, or decided but not
        # run yet) is carried on by `bot.turns.resume` (`ApprovalStore.stranded`), never
        # resumed from its text here: exactly one of the two looks at any reply.
        awaiting = (
            select(Approval.id)
            .where(Approval.message_id == Message.id, Approval.done.is_(False))
            .exists()
        )
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(Message)
                    .outerjoin(Replica, Replica.id == Message.owner)
                    .where(Message.status == ReplyStatus.STREAMING, condition, ~awaiting)
                    .order_by(Message.id)
                )
            ).all()
        return [
            UnfinishedReply(
                id=row.id,
                key=ThreadKey(row.team_id, row.channel_id, row.thread_ts),
                slack_ts=row.slack_ts,
                content=row.content or "",
                owner=row.owner,
                parts=row.parts,
            )
            for row in rows
        ]

    async def give_back(self, reply: UnfinishedReply) -> None:
        """Leave a reply taken over but not handled to the next look (owner unset)."""
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(Message)
                .where(
                    Message.id == reply.id,
                    Message.status == ReplyStatus.STREAMING,
                    Message.owner == self.replica_id,
                )
                .values(owner=None)
            )

    async def take_over(
        self, reply: UnfinishedReply, status: str = ReplyStatus.INTERRUPTED
    ) -> bool:
        """Make an orphaned reply ours, with `status`; False when it changed meanwhile.

        Recovery keeps it `streaming` (it resumes the reply or decides how it ended). A
        conditional change of owner: it lands only while the reply is still streaming
        under the owner it was found with, so two replicas never both take it; from then
        on the old owner's writes to the row match nothing (`Store.set_reply`).
        """
        was = Message.owner.is_(None) if reply.owner is None else Message.owner == reply.owner
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(Message)
                .where(Message.id == reply.id, Message.status == ReplyStatus.STREAMING, was)
                .values(status=status, owner=self.replica_id)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]
