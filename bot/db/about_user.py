"""Which stored tool results are about one user: a privacy request covers them too.

A tool result is about a user when a tool ran while answering them (a round of a turn
they asked: `current_user` returns their profile, `read_slack_message` what they pointed
at), or when it names their user id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Message


async def tool_results_about(session: AsyncSession, user_id: str, team_id: str | None) -> list[int]:
    """Return the ids of tool results about `user_id` (in `team_id`, or anywhere)."""
    scope = Message.team_id == team_id if team_id else true()
    threads = (
        await session.execute(
            select(Message.team_id, Message.channel_id, Message.thread_ts)
            .where(scope, Message.user_id == user_id, Message.role == "user")
            .distinct()
        )
    ).all()
    found: set[int] = set()
    for team, channel, thread in threads:
        rows = (
            await session.execute(
                select(
                    Message.id,
                    Message.role,
                    Message.user_id,
                    Message.tool_calls,
                    Message.tool_call_id,
                )
                .where(
                    Message.team_id == team,
                    Message.channel_id == channel,
                    Message.thread_ts == thread,
                )
                .order_by(Message.id)
            )
        ).all()
        found.update(_answered_for(rows, user_id))
    named = await session.scalars(
        select(Message.id).where(
            and_(scope, Message.role == "tool", Message.content.contains(user_id))
        )
    )
    found.update(named.all())
    return sorted(found)


def _answered_for(rows: Sequence[Any], user_id: str) -> list[int]:
    """Return the tool results of the calls made while answering `user_id` in one thread."""
    asker: str | None = None
    calls: set[str] = set()
    found = []
    for id_, role, author, tool_calls, tool_call_id in rows:
        if role == "user":
            asker = author
        elif role == "assistant" and asker == user_id:
            calls.update(str(c.get("id")) for c in tool_calls or () if c.get("id"))
        elif role == "tool" and tool_call_id in calls:
            found.append(id_)
    return found
