"""Reading a thread back: its newest messages with their files, and what a reply showed."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.db.models import Message, MessageFile
from bot.db.records import StoredFile, StoredMessage, ThreadKey
from bot.db.transactions import StorePart

# Whether a message has files, read with it: the files are fetched only when one has.
_HAS_FILES = exists().where(MessageFile.message_id == Message.id)
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
    _HAS_FILES,
)


_THREAD = (  # the thread's parameters: team, channel, thread
    Message.team_id == bindparam("team"),
    Message.channel_id == bindparam("channel"),
    Message.thread_ts == bindparam("thread"),
)
# Built once; each execution gives the thread and the limit.
HISTORY = (
    select(*_STORED_COLUMNS)
    .where(*_THREAD)
    .order_by(Message.id.desc())
    .limit(bindparam("limit", type_=Integer))
)
# The thread's first messages (what opened it), oldest first.
FIRST_HISTORY = (
    select(*_STORED_COLUMNS)
    .where(*_THREAD)
    .order_by(Message.id.asc())
    .limit(bindparam("limit", type_=Integer))
)
ANY_MESSAGE = select(Message.id).where(*_THREAD).limit(1)


def _thread(key: ThreadKey) -> dict[str, str]:
    return {"team": key.team_id, "channel": key.channel_id, "thread": key.thread_ts}


def _stored(row: Any) -> StoredMessage:
    """Build a StoredMessage from a row of `_STORED_COLUMNS` (unpacked by position: cheap)."""
    id_, role, content, user_id, slack_ts, tool_calls, tool_call_id, status, fields, _ = row
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


async def _files_of(connection: AsyncConnection, ids: list[int]) -> dict[int, list[StoredFile]]:
    """Return the files read from the given messages, by message id."""
    if not ids:
        return {}
    rows = await connection.execute(
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


class HistoryReads(StorePart):
    """Read threads: whether one exists, its history, and what one reply showed."""

    async def has_thread(self, key: ThreadKey) -> bool:
        """Tell whether the bot has stored anything for this thread."""
        async with self._core() as connection:
            found = await connection.scalar(ANY_MESSAGE, _thread(key))
        return found is not None

    async def history(
        self, key: ThreadKey, *, limit: int, first: bool = False
    ) -> list[StoredMessage]:
        """Return the newest `limit` messages of a thread, oldest first (reads through the index).

        `first`: the thread's first `limit` messages instead (what opened it).
        """
        async with self._core() as connection:
            # Plain column rows, not ORM objects: building 400 tracked instances per turn
            # cost more than the query itself (bench/RESULTS.md, history load).
            statement = FIRST_HISTORY if first else HISTORY
            rows = (await connection.execute(statement, {**_thread(key), "limit": limit})).all()
            files = await _files_of(connection, [row[0] for row in rows if row[-1]])
        ordered = rows if first else list(reversed(rows))
        if not files:
            return [_stored(row) for row in ordered]
        return [_with_files(_stored(row), files.get(row[0], ())) for row in ordered]

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
