"""The narrow async interface the rest of the bot uses to reach the database."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import texts
from bot.db.engine import create_sessionmaker
from bot.db.models import ChannelSetting, Claim, Feedback, Message, MessageFile
from bot.errors import StorageUnavailable

logger = logging.getLogger(__name__)


class ReplyStatus(StrEnum):
    """How a stored assistant message stands; stored as its value."""

    STREAMING = "streaming"  # being written by the replica in `owner`
    COMPLETE = "complete"
    STOPPED = "stopped"  # the user pressed Stop
    FAILED = "failed"  # the model or the bot failed; the reply says so
    INTERRUPTED = "interrupted"  # a deadline, a shutdown or a crash ended it


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """Run one transaction; a database that cannot be reached raises StorageUnavailable."""
    try:
        async with sessions() as session, session.begin():
            yield session
    except IntegrityError:
        raise
    # OSError covers refused connections and connect timeouts; PoolTimeout a full pool.
    except (OperationalError, DBAPIError, OSError, PoolTimeout) as exc:
        logger.warning("database unavailable: %s", type(exc).__name__)
        raise StorageUnavailable(texts.STORAGE_DOWN, detail=type(exc).__name__) from exc


@dataclass(frozen=True, slots=True)
class ThreadKey:
    """Where a conversation lives: workspace, channel and thread root."""

    team_id: str
    channel_id: str
    thread_ts: str


@dataclass(frozen=True, slots=True)
class StoredFile:
    """What was read from a file on a message (see bot/files)."""

    name: str
    mimetype: str
    kind: str  # text | image
    content: str  # the text, or the image as a data URL
    file_id: str = ""
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to append to a thread."""

    role: str
    content: str = ""
    user_id: str | None = None
    slack_ts: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    status: str = ReplyStatus.COMPLETE
    files: tuple[StoredFile, ...] = ()
    provider_fields: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message read back from a thread, oldest first."""

    id: int
    role: str
    content: str
    user_id: str | None = None
    slack_ts: str | None = None
    tool_calls: list[dict[str, Any]] | None = field(default=None)
    tool_call_id: str | None = None
    status: str = ReplyStatus.COMPLETE
    files: tuple[StoredFile, ...] = ()
    provider_fields: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class OpenClaim:
    """A message claimed by a process that is gone before its reply row existed."""

    key: ThreadKey  # where the answer goes (thread_ts "" for a top-level DM answer)
    message_ts: str
    owner: str | None
    reply_ts: str | None  # its placeholder, when the process got to note it


@dataclass(frozen=True, slots=True)
class UnfinishedReply:
    """An assistant message left streaming by a process that is gone."""

    id: int
    key: ThreadKey
    slack_ts: str | None
    content: str
    owner: str | None = None  # the replica it was taken from
    parts: list[list[Any]] | None = None  # the messages it spans, as saved


_STORED_COLUMNS = (
    Message.id,
    Message.role,
    Message.content,
    Message.user_id,
    Message.slack_ts,
    Message.tool_calls,
    Message.tool_call_id,
    Message.status,
    Message.provider_fields,
)


def _claim_key(team_id: str, channel_id: str, message_ts: str) -> tuple[Any, ...]:
    return (
        Claim.team_id == team_id,
        Claim.channel_id == channel_id,
        Claim.message_ts == message_ts,
    )


def _stored(row: Any) -> StoredMessage:
    """Build a StoredMessage from a row of `_STORED_COLUMNS` (unpacked by position: cheap)."""
    id_, role, content, user_id, slack_ts, tool_calls, tool_call_id, status, fields = row
    return StoredMessage(
        id_,
        role,
        content or "",
        user_id,
        slack_ts,
        tool_calls,
        tool_call_id,
        status,
        provider_fields=fields,
    )


async def _files_of(session: AsyncSession, ids: list[int]) -> dict[int, list[StoredFile]]:
    """Return the files read from the given messages, by message id."""
    if not ids:
        return {}
    rows = await session.execute(
        select(
            MessageFile.message_id,
            MessageFile.name,
            MessageFile.mimetype,
            MessageFile.kind,
            MessageFile.content,
            MessageFile.file_id,
            MessageFile.user_id,
        )
        .where(MessageFile.message_id.in_(ids))
        .order_by(MessageFile.id)
    )
    found: dict[int, list[StoredFile]] = {}
    for message_id, name, mimetype, kind, content, file_id, user_id in rows:
        found.setdefault(message_id, []).append(
            StoredFile(name, mimetype, kind, content or "", file_id, user_id)
        )
    return found


def _with_files(message: StoredMessage, files: Sequence[StoredFile]) -> StoredMessage:
    if not files:
        return message
    return dataclasses.replace(message, files=tuple(files))


class Store:
    """Claims, thread history and reply state, each call one short transaction."""

    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker | None = None,
        *,
        owner: str | None = None,
    ) -> None:
        self.engine = engine
        self.owner = owner  # this replica's id, stamped on the replies it streams
        self._sessions = sessions or create_sessionmaker(engine)

    def _tx(self) -> AbstractAsyncContextManager[AsyncSession]:
        return transaction(self._sessions)

    async def ping(self) -> bool:
        """Tell whether the database answers a trivial query."""
        try:
            async with self._sessions() as session:
                await session.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - any failure means "not reachable"
            return False

    async def claim(
        self,
        team_id: str,
        channel_id: str,
        message_ts: str,
        event_id: str | None,
        *,
        thread_ts: str | None = None,
        settled: bool = True,
    ) -> bool:
        """Claim a Slack message for answering; False when someone already did.

        `settled=False` keeps the claim open until the reply's row exists (`append` with
        `settles`): crash recovery answers or marks an open claim whose replica is gone.
        """
        try:
            async with self._tx() as session:
                session.add(
                    Claim(
                        team_id=team_id,
                        channel_id=channel_id,
                        message_ts=message_ts,
                        event_id=event_id,
                        thread_ts=thread_ts,
                        owner=self.owner,
                        settled=settled,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def placeholder_posted(
        self, team_id: str, channel_id: str, message_ts: str, reply_ts: str
    ) -> None:
        """Note the placeholder of an open claim, so recovery can end it."""
        await self._update_claim(team_id, channel_id, message_ts, reply_ts=reply_ts)

    async def settle_claim(self, team_id: str, channel_id: str, message_ts: str) -> None:
        """Close a claim that needs no reply row (the bot said what it had to say)."""
        await self._update_claim(team_id, channel_id, message_ts, settled=True)

    async def _update_claim(
        self, team_id: str, channel_id: str, message_ts: str, **values: Any
    ) -> None:
        async with self._tx() as session:
            await session.execute(
                update(Claim).where(*_claim_key(team_id, channel_id, message_ts)).values(**values)
            )

    async def release_claim(self, team_id: str, channel_id: str, message_ts: str) -> None:
        """Give a claim back so a redelivery can try again (used when nothing was posted)."""
        async with self._tx() as session:
            claim = await session.get(Claim, (team_id, channel_id, message_ts))
            if claim is not None:
                await session.delete(claim)

    async def has_thread(self, key: ThreadKey) -> bool:
        """Tell whether the bot has stored anything for this thread."""
        async with self._tx() as session:
            found = await session.scalar(
                select(Message.id)
                .where(
                    Message.team_id == key.team_id,
                    Message.channel_id == key.channel_id,
                    Message.thread_ts == key.thread_ts,
                )
                .limit(1)
            )
        return found is not None

    async def append(
        self,
        key: ThreadKey,
        items: Sequence[NewMessage],
        *,
        settles: str | None = None,
        placeholder: str | None = None,
    ) -> list[int]:
        """Append messages to a thread in order; return their ids.

        `settles`: the ts of a claimed message in this channel whose reply row this is; its
        claim closes in the same transaction, noting `placeholder` (the reply's first
        message) unless `placeholder_posted` already did.
        """
        async with self._tx() as session:
            if settles is not None:
                values: dict[str, Any] = {"settled": True}
                if placeholder is not None:
                    values["reply_ts"] = placeholder
                await session.execute(
                    update(Claim)
                    .where(*_claim_key(key.team_id, key.channel_id, settles))
                    .values(**values)
                )
            rows = [
                Message(
                    team_id=key.team_id,
                    channel_id=key.channel_id,
                    thread_ts=key.thread_ts,
                    role=item.role,
                    content=item.content,
                    user_id=item.user_id,
                    slack_ts=item.slack_ts,
                    tool_calls=item.tool_calls,
                    tool_call_id=item.tool_call_id,
                    provider_fields=item.provider_fields,
                    status=item.status,
                    owner=self.owner if item.status == ReplyStatus.STREAMING else None,
                )
                for item in items
            ]
            session.add_all(rows)
            await session.flush()
            session.add_all(
                MessageFile(
                    message_id=row.id,
                    team_id=key.team_id,
                    channel_id=key.channel_id,
                    file_id=file.file_id,
                    user_id=file.user_id,
                    name=file.name[:255],
                    mimetype=file.mimetype[:128],
                    kind=file.kind,
                    content=file.content,
                )
                for row, item in zip(rows, items, strict=True)
                for file in item.files
            )
            return [row.id for row in rows]

    async def set_reply(
        self,
        message_id: int,
        *,
        content: str | None = None,
        status: str | None = None,
        tool_calls: list[dict[str, Any]] | None = None,
        slack_ts: str | None = None,
        provider_fields: dict[str, Any] | None = None,
        parts: list[list[Any]] | None = None,
    ) -> bool:
        """Update an assistant message as its answer progresses or ends; False if not ours."""
        values: dict[str, Any] = {}
        if provider_fields:
            values["provider_fields"] = provider_fields
        if parts is not None:
            values["parts"] = parts
        if content is not None:
            values["content"] = content
        if status is not None:
            values["status"] = status
        if tool_calls is not None:
            values["tool_calls"] = tool_calls
        if slack_ts is not None:
            values["slack_ts"] = slack_ts
        if not values:
            return True
        # Only the replica that owns a reply writes it: once another took it over (this one
        # looked dead), a late write must not flip the reply back.
        mine = Message.owner.is_(None) if self.owner is None else Message.owner == self.owner
        async with self._tx() as session:
            result = await session.execute(
                update(Message).where(Message.id == message_id, mine).values(**values)
            )
        if not result.rowcount:  # type: ignore[attr-defined]
            logger.warning("reply row %s is no longer this replica's; not written", message_id)
            return False
        return True

    async def history(self, key: ThreadKey, *, limit: int) -> list[StoredMessage]:
        """Return the newest `limit` messages of a thread, oldest first (reads through the index)."""
        async with self._tx() as session:
            # Plain column rows, not ORM objects: building 400 tracked instances per turn
            # cost more than the query itself (bench/RESULTS.md, history load).
            rows = (
                await session.execute(
                    select(*_STORED_COLUMNS)
                    .where(
                        Message.team_id == key.team_id,
                        Message.channel_id == key.channel_id,
                        Message.thread_ts == key.thread_ts,
                    )
                    .order_by(Message.id.desc())
                    .limit(limit)
                )
            ).all()
            files = await _files_of(session, [row[0] for row in rows if row[1] == "user"])
        if not files:
            return [_stored(row) for row in reversed(rows)]
        return [_with_files(_stored(row), files.get(row[0], ())) for row in reversed(rows)]

    async def reply_text(self, key: ThreadKey, slack_ts: str) -> str:
        """Return what a reply showed: the text of every model round that shared its message."""
        async with self._tx() as session:
            contents = (
                await session.scalars(
                    select(Message.content)
                    .where(
                        Message.team_id == key.team_id,
                        Message.channel_id == key.channel_id,
                        Message.thread_ts == key.thread_ts,
                        Message.role == "assistant",
                        Message.slack_ts == slack_ts,
                    )
                    .order_by(Message.id)
                )
            ).all()
        shown = ""
        for content in contents:
            if not content:
                continue
            if shown and not shown.endswith(("\n", " ")):
                shown += "\n\n"  # how a turn separates the text of its rounds
            shown += content
        return shown

    async def reply_parts(self, key: ThreadKey, slack_ts: str) -> list[list[Any]] | None:
        """Return the messages a reply spans as last saved by any of its model rounds."""
        async with self._tx() as session:
            return await session.scalar(
                select(Message.parts)
                .where(
                    Message.team_id == key.team_id,
                    Message.channel_id == key.channel_id,
                    Message.thread_ts == key.thread_ts,
                    Message.role == "assistant",
                    Message.slack_ts == slack_ts,
                    Message.parts.is_not(None),
                )
                .order_by(Message.id.desc())
                .limit(1)
            )

    async def channel_settings(self, team_id: str, channel_id: str) -> dict[str, Any] | None:
        """Return a channel's stored settings (see `bot.turns.channel_settings`), None when unset."""
        async with self._tx() as session:
            row = await session.get(ChannelSetting, (team_id, channel_id))
            if row is None:
                return None
            return {
                "preset": row.preset,
                "language": row.language,
                "system_prompt": row.system_prompt,
                "model": row.model,
                "temperature": row.temperature,
                "reasoning_effort": row.reasoning_effort or "",
                "mcp_servers": None if row.mcp_servers is None else tuple(row.mcp_servers),
                "updated_by": row.updated_by,
            }

    async def save_channel_settings(
        self, team_id: str, channel_id: str, values: dict[str, Any]
    ) -> None:
        """Create or replace a channel's settings."""
        async with self._tx() as session:
            row = await session.get(ChannelSetting, (team_id, channel_id))
            if row is None:
                row = ChannelSetting(team_id=team_id, channel_id=channel_id)
                session.add(row)
            for name, value in values.items():
                setattr(row, name, value)

    async def record_feedback(
        self, message_id: int, *, team_id: str, channel_id: str, user_id: str, rating: str
    ) -> bool:
        """Store a user's rating of an answer, replacing their earlier one; False if unknown."""
        async with self._tx() as session:
            if await session.get(Message, message_id) is None:
                return False
            row = await session.scalar(
                select(Feedback).where(
                    Feedback.message_id == message_id, Feedback.user_id == user_id
                )
            )
            if row is None:
                session.add(
                    Feedback(
                        message_id=message_id,
                        team_id=team_id,
                        channel_id=channel_id,
                        user_id=user_id,
                        rating=rating,
                    )
                )
            else:
                row.rating = rating
        return True

    async def feedback_for(self, message_id: int) -> dict[str, str]:
        """Return the ratings of one answer by user."""
        async with self._tx() as session:
            rows = (
                await session.scalars(select(Feedback).where(Feedback.message_id == message_id))
            ).all()
        return {row.user_id: row.rating for row in rows}
