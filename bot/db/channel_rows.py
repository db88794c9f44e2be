"""Per-channel settings and users' ratings of answers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.db.models import ChannelSetting, Feedback, Message
from bot.db.transactions import StorePart


class ChannelRows(StorePart):
    """Read and replace a channel's stored settings."""

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


class FeedbackRows(StorePart):
    """Store and read users' ratings of answers."""

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
