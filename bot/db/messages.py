"""Writing a thread: append messages, and update an assistant reply as it streams and ends."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, Update, bindparam, insert, update

from bot.db.claims import UPDATE_CLAIM, claim_key
from bot.db.models import Message, MessageFile
from bot.db.records import NewMessage, ReplyStatus, ThreadKey
from bot.db.transactions import StorePart

logger = logging.getLogger(__name__)

# Built once; each execution gives the values (SET: the columns named in the parameters).
MESSAGES: Table = Message.__table__  # type: ignore[assignment]
FILES: Table = MessageFile.__table__  # type: ignore[assignment]
INSERT_MESSAGES = insert(MESSAGES).returning(MESSAGES.c.id, sort_by_parameter_order=True)
UPDATE_OWNED = update(MESSAGES).where(
    MESSAGES.c.id == bindparam("row_id"), MESSAGES.c.owner == bindparam("row_owner")
)
UPDATE_UNOWNED = update(MESSAGES).where(
    MESSAGES.c.id == bindparam("row_id"), MESSAGES.c.owner.is_(None)
)


class MessageRows(StorePart):
    """Append messages to threads and update replies, only those this replica owns."""

    async def append(
        self,
        key: ThreadKey,
        items: Sequence[NewMessage],
        *,
        settles: str | None = None,
        completes: int | None = None,
        placeholder: str | None = None,
    ) -> list[int]:
        """Append messages to a thread in order; return their ids.

        `settles`: the ts of a claimed message in this channel whose reply row this is; its
        claim closes in the same transaction, noting `placeholder` (the reply's first
        message) unless `placeholder_posted` already did. `completes`: the id of this
        replica's reply row whose tool results these are; it turns complete in the same
        transaction, and nothing is appended (an empty list) when the row is no longer this
        replica's.
        """
        rows = [
            {
                "team_id": key.team_id,
                "channel_id": key.channel_id,
                "thread_ts": key.thread_ts,
                "role": item.role,
                "content": item.content,
                "user_id": item.user_id,
                "slack_ts": item.slack_ts,
                "tool_calls": item.tool_calls,
                "tool_call_id": item.tool_call_id,
                "provider_fields": item.provider_fields,
                "status": item.status,
                "owner": self.owner if item.status == ReplyStatus.STREAMING else None,
            }
            for item in items
        ]
        async with self._core() as connection:
            if completes is not None:
                done = await connection.execute(
                    *self._owned(completes, {"status": ReplyStatus.COMPLETE})
                )
                if not done.rowcount:
                    return []  # taken over meanwhile: the new owner goes on, not us
            if settles is not None:
                values: dict[str, Any] = {"settled": True}
                if placeholder is not None:
                    values["reply_ts"] = placeholder
                await connection.execute(
                    UPDATE_CLAIM, {**claim_key(key.team_id, key.channel_id, settles), **values}
                )
            # One INSERT for every row (RETURNING the ids in the order given).
            ids = list((await connection.execute(INSERT_MESSAGES, rows)).scalars())
            files = [
                {
                    "message_id": message_id,
                    "team_id": key.team_id,
                    "channel_id": key.channel_id,
                    "file_id": file.file_id,
                    "user_id": file.user_id,
                    "name": file.name[:255],
                    "mimetype": file.mimetype[:128],
                    "kind": file.kind,
                    "content": file.content,
                }
                for message_id, item in zip(ids, items, strict=True)
                for file in item.files
            ]
            if files:
                await connection.execute(insert(FILES), files)
        return ids

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
        async with self._core() as connection:
            result = await connection.execute(*self._owned(message_id, values))
        if not result.rowcount:
            logger.warning("reply row %s is no longer this replica's; not written", message_id)
            return False
        return True

    def _owned(self, row_id: int, values: dict[str, Any]) -> tuple[Update, dict[str, Any]]:
        """Return the UPDATE of a reply row (only if this replica owns it) and its parameters."""
        if self.owner is None:
            return UPDATE_UNOWNED, {**values, "row_id": row_id}
        return UPDATE_OWNED, {**values, "row_id": row_id, "row_owner": self.owner}
