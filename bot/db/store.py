"""The narrow async interface the rest of the bot uses to reach the database.

`Store` is composed of one part per concern, each in its own module: claims
(`bot.db.claims`), writing threads (`bot.db.messages`), reading them (`bot.db.history`),
channel settings and feedback (`bot.db.channel_rows`). The records it takes and returns
live in `bot.db.records`.
"""

from __future__ import annotations

from sqlalchemy import text

from bot.db.channel_rows import ChannelRows, FeedbackRows
from bot.db.claims import ClaimRows
from bot.db.history import HistoryReads
from bot.db.messages import MessageRows


class Store(ClaimRows, MessageRows, HistoryReads, ChannelRows, FeedbackRows):
    """Claims, thread history and reply state, each call one short transaction."""

    async def ping(self) -> bool:
        """Tell whether the database answers a trivial query."""
        try:
            async with self._sessions() as session:
                await session.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - any failure means "not reachable"
            return False
