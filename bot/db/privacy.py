"""Deleting and exporting stored messages: retention, Slack deletions, one user's data.

Export and erase cover the same rows: everything the user wrote (imported thread
context included), every message of their DMs with the bot, the bot's answers too, and the
tool results about them (`about_user.py`). Erasing also removes their ratings and their
name from the channel settings they changed. Ratings go with the messages they rate
everywhere (explicitly, and by the foreign key's cascade).
The usage records of the questions they asked go too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, exists, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.about_user import tool_results_about
from bot.db.engine import create_sessionmaker
from bot.db.models import ChannelSetting, Claim, Feedback, Message, MessageFile, UsageRecord
from bot.db.records import ReplyStatus

PURGE_BATCH = 500  # rows per retention transaction


class Privacy:
    """Remove or read back stored messages for retention and privacy requests."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = create_sessionmaker(engine)

    async def purge_before(self, cutoff: datetime, *, batch: int = PURGE_BATCH) -> int:
        """Delete messages (with their ratings) and claims created before `cutoff`.

        In batches of `batch` rows, each its own short transaction: SQLite has one writer
        at a time, and one long delete would hold every turn's writes up until it ends.
        Returns the messages deleted.
        """
        removed = 0
        while True:
            async with self._sessions() as session, session.begin():
                ids = (
                    await session.scalars(
                        select(Message.id)
                        .where(Message.created_at < cutoff, Message.status != ReplyStatus.STREAMING)
                        .limit(batch)
                    )
                ).all()
                await _delete_messages(session, ids)
            removed += len(ids)
            if len(ids) < batch:
                break
        while True:
            async with self._sessions() as session, session.begin():
                keys = (
                    await session.execute(
                        select(Claim.team_id, Claim.channel_id, Claim.message_ts)
                        .where(Claim.claimed_at < cutoff)
                        .limit(batch)
                    )
                ).all()
                if keys:
                    columns = tuple_(Claim.team_id, Claim.channel_id, Claim.message_ts)
                    await session.execute(
                        delete(Claim).where(columns.in_([tuple(k) for k in keys]))
                    )
            if len(keys) < batch:
                break
        async with self._sessions() as session, session.begin():
            # Files whose message is gone (SQLite without the cascade, or older rows).
            await session.execute(
                delete(MessageFile).where(
                    or_(
                        MessageFile.created_at < cutoff,
                        ~exists().where(Message.id == MessageFile.message_id),
                    )
                )
            )
            await session.execute(delete(UsageRecord).where(UsageRecord.created_at < cutoff))
        return removed

    async def forget_file(self, team_id: str, file_id: str) -> int:
        """Delete what was read from a Slack file (deleted in Slack); return the copies."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                delete(MessageFile).where(
                    MessageFile.team_id == team_id, MessageFile.file_id == file_id
                )
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def forget_slack_message(self, team_id: str, channel_id: str, ts: str) -> int:
        """Delete the stored copy of a Slack message (and tool results of its calls)."""
        async with self._sessions() as session, session.begin():
            rows = (
                await session.scalars(
                    select(Message).where(
                        Message.team_id == team_id,
                        Message.channel_id == channel_id,
                        Message.slack_ts == ts,
                    )
                )
            ).all()
            call_ids = {
                call.get("id") for row in rows for call in row.tool_calls or () if call.get("id")
            }
            await _delete_messages(session, [row.id for row in rows])
            if call_ids:
                threads = {(row.thread_ts,) for row in rows}
                results = await session.scalars(
                    select(Message.id).where(
                        Message.team_id == team_id,
                        Message.channel_id == channel_id,
                        Message.thread_ts.in_([t for (t,) in threads]),
                        Message.role == "tool",
                        Message.tool_call_id.in_(call_ids),
                    )
                )
                await _delete_messages(session, list(results.all()))
        return len(rows)

    async def follow_edit(
        self, team_id: str, channel_id: str, ts: str, content: str, file_ids: set[str]
    ) -> int:
        """Store a Slack message's edited text; drop files no longer on it. Return rows changed.

        Only people's messages (role "user") follow: the bot's own answers are edited by the
        bot, and tool results are not Slack messages.
        """
        mine = (
            Message.team_id == team_id,
            Message.channel_id == channel_id,
            Message.slack_ts == ts,
            Message.role == "user",
        )
        async with self._sessions() as session, session.begin():
            ids = (await session.scalars(select(Message.id).where(*mine))).all()
            if not ids:
                return 0
            await session.execute(update(Message).where(*mine).values(content=content))
            await session.execute(
                delete(MessageFile).where(
                    MessageFile.message_id.in_(ids), MessageFile.file_id.not_in(file_ids)
                )
            )
        return len(ids)

    async def export_user(self, user_id: str, team_id: str | None = None) -> list[dict[str, Any]]:
        """Return the user's stored messages, oldest first, as plain dicts."""
        async with self._sessions() as session:
            ids = await self._owned(session, user_id, team_id)
            rows = []
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                rows += (
                    await session.scalars(
                        select(Message).where(Message.id.in_(chunk)).order_by(Message.id)
                    )
                ).all()
            files = await self._files(session, [row.id for row in rows])
        return [
            {
                "team_id": row.team_id,
                "channel_id": row.channel_id,
                "thread_ts": row.thread_ts,
                "slack_ts": row.slack_ts,
                "role": row.role,
                "user_id": row.user_id,
                "content": row.content,
                "created_at": _iso(row.created_at),
                **({"files": files[row.id]} if row.id in files else {}),
            }
            for row in rows
        ]

    async def export_user_usage(
        self, user_id: str, team_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Return the usage records of the user's questions, oldest first."""
        query = select(UsageRecord).where(_usage_of(user_id, team_id)).order_by(UsageRecord.id)
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return [usage_row(row) for row in rows]

    async def _files(self, session: Any, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        """Return what was read from the files on these messages, by message id."""
        found: dict[int, list[dict[str, Any]]] = {}
        for start in range(0, len(ids), 500):
            rows = await session.scalars(
                select(MessageFile)
                .where(MessageFile.message_id.in_(ids[start : start + 500]))
                .order_by(MessageFile.id)
            )
            for row in rows:
                found.setdefault(row.message_id, []).append(
                    {
                        "file_id": row.file_id,
                        "name": row.name,
                        "mimetype": row.mimetype,
                        "kind": row.kind,
                        "content": row.content,
                    }
                )
        return found

    async def erase_user(self, user_id: str, team_id: str | None = None) -> int:
        """Delete what `export_user` returns, their ratings, and their name on channel settings.

        Returns how many messages were deleted.
        """
        async with self._sessions() as session, session.begin():
            ids = await self._owned(session, user_id, team_id)
            # Ratings go too: the user's own, and any on the erased messages.
            by_user = Feedback.user_id == user_id
            if team_id:
                by_user = and_(by_user, Feedback.team_id == team_id)
            await session.execute(delete(Feedback).where(by_user))
            await session.execute(delete(UsageRecord).where(_usage_of(user_id, team_id)))
            uploaded = MessageFile.user_id == user_id  # their files on others' messages too
            if team_id:
                uploaded = and_(uploaded, MessageFile.team_id == team_id)
            await session.execute(delete(MessageFile).where(uploaded))
            await _delete_messages(session, ids)
            changed_by = ChannelSetting.updated_by == user_id
            if team_id:
                changed_by = and_(changed_by, ChannelSetting.team_id == team_id)
            await session.execute(update(ChannelSetting).where(changed_by).values(updated_by=None))
        return len(ids)

    async def _owned(self, session: Any, user_id: str, team_id: str | None) -> list[int]:
        """Return the ids of the user's own messages, every message of their DMs with the
        bot, and the tool results about them, in order."""
        mine = Message.user_id == user_id
        if team_id:
            mine = and_(mine, Message.team_id == team_id)
        dms = (
            await session.execute(
                select(Message.team_id, Message.channel_id)
                .where(mine, Message.channel_id.like("D%"))
                .distinct()
            )
        ).all()
        in_dm = [and_(Message.team_id == t, Message.channel_id == c) for t, c in dms]
        own = (await session.scalars(select(Message.id).where(or_(mine, *in_dm)))).all()
        about = await tool_results_about(session, user_id, team_id)
        return sorted(set(own) | set(about))


async def _delete_messages(session: Any, ids: Sequence[int]) -> None:
    """Delete messages with their ratings and files (explicitly, whatever the cascade does)."""
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        await session.execute(delete(Feedback).where(Feedback.message_id.in_(chunk)))
        await session.execute(delete(MessageFile).where(MessageFile.message_id.in_(chunk)))
        await session.execute(delete(Message).where(Message.id.in_(chunk)))


def _usage_of(user_id: str, team_id: str | None) -> Any:
    mine = UsageRecord.user_id == user_id
    return and_(mine, UsageRecord.team_id == team_id) if team_id else mine


def usage_row(row: UsageRecord) -> dict[str, Any]:
    """Return a usage record as a plain dict (the export and export-user share it)."""
    return {
        "created_at": _iso(row.created_at),
        "team_id": row.team_id,
        "channel_id": row.channel_id,
        "user_id": row.user_id,
        "thread_ts": row.thread_ts,
        "message_ts": row.message_ts,
        "model": row.model,
        "prompt_tokens": row.prompt_tokens,
        "completion_tokens": row.completion_tokens,
        "reasoning_tokens": row.reasoning_tokens,
        "cached_tokens": row.cached_tokens,
        "total_tokens": row.total_tokens,
        "estimated": bool(row.estimated),
        "duration_seconds": row.duration,
        "tool_calls": row.tool_calls,
        "rounds": row.rounds,
        "status": row.status,
    }


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()
