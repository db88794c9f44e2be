"""Writing a thread: append messages, and update an assistant reply as it streams and ends."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import update

from bot.db.claims import claim_key
from bot.db.models import Claim, Message, MessageFile
from bot.db.records import NewMessage, ReplyStatus, ThreadKey
from bot.db.transactions import StorePart

logger = logging.getLogger(__name__)


class MessageRows(StorePart):
    """Append messages to threads and update replies, only those this replica owns."""

    async def append(
        self,
        key: ThreadKey,
        items: Sequence[NewMessage],
        *,
        settles: str | None = None,
        completes: int | None = None,
    ) -> list[int]:
        """Append messages to a thread in order; return their ids.

        `settles`: the ts of a claimed message in this channel whose reply row this is; its
        claim closes in the same transaction. `completes`: the id of this replica's reply
        row whose tool results these are; it turns complete in the same transaction, and
        nothing is appended (an empty list) when the row is no longer this replica's.
        """
        async with self._tx() as session:
            if completes is not None:
                done = await session.execute(
                    update(Message)
                    .where(Message.id == completes, Message.owner == self.owner)
                    .values(status=ReplyStatus.COMPLETE)
                )
                if not done.rowcount:  # type: ignore[attr-defined]
                    return []  # taken over meanwhile: the new owner goes on, not us
            if settles is not None:
                await session.execute(
                    update(Claim)
                    .where(*claim_key(key.team_id, key.channel_id, settles))
                    .values(settled=True)
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
