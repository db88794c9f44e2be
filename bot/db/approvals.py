"""Stored approvals of tool calls: asked, decided once, found again after a restart.

A decision is one conditional UPDATE of a `pending` row, so two clicks (on one replica or
two) never both count. Which process runs the approved call is settled on the reply's row:
the one whose `owner` it is (`Store.set_reply`); a click that finds the owner gone takes the
row over (`take_round`) and carries the answer on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.dbclock import db_epoch
from bot.db.engine import create_sessionmaker
from bot.db.models import Approval, Claim, Message
from bot.db.records import ReplyStatus
from bot.db.replicas import Replica
from bot.db.transactions import transaction


class Decision(StrEnum):
    """Where an approval stands; stored as its value."""

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"  # nobody decided within APPROVAL_TIMEOUT


@dataclass(frozen=True, slots=True)
class AskedCall:
    """One tool call to put to a person, and where its turn lives."""

    message_id: int  # the assistant message (round) that asked for the call
    call_id: str
    team_id: str
    channel_id: str
    thread_ts: str
    question_ts: str
    reply_ts: str | None
    asker: str
    tool: str
    arguments: str


@dataclass(frozen=True, slots=True)
class StoredApproval:
    """An approval as stored."""

    id: int
    call: AskedCall
    status: Decision
    decided_by: str | None
    prompt_ts: str | None
    expires_at: float


def _stored(row: Approval) -> StoredApproval:
    call = AskedCall(
        message_id=row.message_id,
        call_id=row.call_id,
        team_id=row.team_id,
        channel_id=row.channel_id,
        thread_ts=row.thread_ts,
        question_ts=row.question_ts,
        reply_ts=row.reply_ts,
        asker=row.asker,
        tool=row.tool,
        arguments=row.arguments,
    )
    return StoredApproval(
        row.id, call, Decision(row.status), row.decided_by, row.prompt_ts, row.expires_at
    )


class ApprovalStore:
    """Approvals in the database; every call one short transaction."""

    def __init__(
        self, engine: AsyncEngine, *, owner: str | None, wall: Callable[[], float] = time.time
    ) -> None:
        self.owner = owner  # this replica's id (the reply rows it streams carry it)
        self.wall = wall  # wall-clock seconds: expiry must hold across processes
        self._sessions = create_sessionmaker(engine)

    async def ask(self, call: AskedCall, wait: float) -> tuple[StoredApproval, bool]:
        """Return the approval of `call`, storing it as pending first if new (True then)."""
        try:
            async with transaction(self._sessions) as session:
                row = Approval(
                    **{f: getattr(call, f) for f in AskedCall.__dataclass_fields__},
                    status=Decision.PENDING,
                    expires_at=self.wall() + wait,
                )
                session.add(row)
                await session.flush()
                return _stored(row), True
        except IntegrityError:  # asked before (a resumed round): the stored one stands
            held = await self.of_round(call.message_id)
            return next(a for a in held if a.call.call_id == call.call_id), False

    async def prompted(self, approval_id: int, prompt_ts: str) -> None:
        """Note the Slack message that carries the buttons."""
        async with transaction(self._sessions) as session:
            await session.execute(
                update(Approval).where(Approval.id == approval_id).values(prompt_ts=prompt_ts)
            )

    async def get(self, approval_id: int) -> StoredApproval | None:
        """Return one approval, or None."""
        async with transaction(self._sessions) as session:
            row = await session.get(Approval, approval_id)
            return _stored(row) if row is not None else None

    async def of_round(self, message_id: int) -> list[StoredApproval]:
        """Return the approvals one round asked for, in the order asked."""
        async with transaction(self._sessions) as session:
            rows = await session.scalars(
                select(Approval).where(Approval.message_id == message_id).order_by(Approval.id)
            )
            return [_stored(row) for row in rows]

    async def decide(self, approval_id: int, decision: Decision, user_id: str | None) -> bool:
        """Record a decision if the approval is still pending; False when it was not."""
        async with transaction(self._sessions) as session:
            result = await session.execute(
                update(Approval)
                .where(Approval.id == approval_id, Approval.status == Decision.PENDING)
                .values(status=decision, decided_by=user_id)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def run_once(self, team_id: str, channel_id: str, message_id: int) -> bool:
        """Claim the running of a round's decided calls; False when a process did already.

        The process waiting for the decision and one carrying the round on (its owner looked
        gone: a stalled heartbeat, not a dead process) both get here; the claim's primary key
        lets one of them run the approved calls, never both.
        """
        try:
            async with transaction(self._sessions) as session:
                session.add(
                    Claim(
                        team_id=team_id,
                        channel_id=channel_id,
                        message_ts=f"round-{message_id}"[:32],
                        owner=self.owner,
                        settled=True,  # nothing for crash recovery to answer
                    )
                )
        except IntegrityError:
            return False
        return True

    async def owner_of_round(self, message_id: int, stale_after: float) -> tuple[str | None, bool]:
        """Return the owner of a round's reply row and whether that replica is alive."""
        async with transaction(self._sessions) as session:
            row = (
                await session.execute(
                    select(Message.owner, Replica.heartbeat_at >= db_epoch() - stale_after)
                    .outerjoin(Replica, Replica.id == Message.owner)
                    .where(Message.id == message_id)
                )
            ).first()
        if row is None:
            return None, False
        owner, fresh = row
        return owner, bool(fresh)

    async def take_round(self, message_id: int, was: str | None) -> bool:
        """Make a round's reply row ours (its owner is gone); False when someone else did."""
        same = Message.owner.is_(None) if was is None else Message.owner == was
        streaming = Message.status == ReplyStatus.STREAMING  # its results not stored yet
        async with transaction(self._sessions) as session:
            result = await session.execute(
                update(Message)
                .where(Message.id == message_id, same, streaming)
                .values(owner=self.owner)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def finish_round(self, message_id: int) -> None:
        """Note that a round's answer went past it: no sweep looks at it again."""
        async with transaction(self._sessions) as session:
            await session.execute(
                update(Approval).where(Approval.message_id == message_id).values(done=True)
            )

    async def stranded(self, gone: ColumnElement[bool]) -> list[int]:
        """Return rounds still to carry on whose reply's owner is `gone` (a replica condition
        on `Message.owner`, see `ReplicaRegistry.gone`): pending or decided, not yet done.

        The round's row stays `streaming` while it waits (its tool calls stored, no results:
        `ToolRound`), and `bot.turns.takeover` leaves such rows to this sweep; an answer that
        ended meanwhile (stopped, failed) marked it otherwise and withdrew its requests.
        """
        async with transaction(self._sessions) as session:
            rows = await session.scalars(
                select(Approval.message_id)
                .join(Message, Message.id == Approval.message_id)
                .outerjoin(Replica, Replica.id == Message.owner)
                .where(
                    Approval.done.is_(False),
                    Message.status == ReplyStatus.STREAMING,
                    gone,
                )
                .distinct()
            )
            return list(rows)
