"""Which Real-time Search results an answer may repeat where it goes (`bot.tools.sharing`).

Slack searched with the asker's own access, so the asker may see every result; what
remains is the rule for everyone else in the conversation. A result from a private
channel, group DM or DM goes only into that same conversation or the asker's own DM with
the bot. A public channel's result does not go into a conversation shared with another
organisation, nor into a thread where someone who wrote cannot see that channel. A
conversation the bot cannot look up (a private channel it is not in) counts as private.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from bot.tools.registry import ToolContext
from bot.tools.sharing import MAX_PARTICIPANTS, is_external, is_private
from bot.tools.slack_api import SlackRefused, call
from bot.tools.visibility import who_can_read


async def info(ctx: ToolContext, channel_id: str) -> dict[str, Any] | None:
    """Return conversations.info's object for `channel_id`, or None when Slack will not say."""
    try:
        found = (await call(ctx, "conversations.info", channel=channel_id)).get("channel")
    except SlackRefused:
        return None
    return {"id": channel_id, **found} if isinstance(found, dict) else None


async def shareable(ctx: ToolContext, channel_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Return, of `channel_ids`, the conversations whose results may be shown here."""
    here = await info(ctx, ctx.channel_id) or {"id": ctx.channel_id}
    own_dm = bool(here.get("is_im")) and bool(ctx.user_id) and here.get("user") == ctx.user_id
    others = sorted(ctx.participants - {ctx.user_id or ""})
    allowed: dict[str, dict[str, Any]] = {}
    for channel_id in dict.fromkeys(channel_ids):
        if channel_id == ctx.channel_id:
            allowed[channel_id] = here  # everyone here can already see it
            continue
        source = await info(ctx, channel_id)
        if source is None or is_private(source):
            if own_dm:
                allowed[channel_id] = source or {"id": channel_id}
            continue
        if own_dm:
            allowed[channel_id] = source
            continue
        if is_external(here) or len(others) > MAX_PARTICIPANTS:
            continue
        if not others or all(
            await who_can_read(partial(call, ctx), source, others, team_id=ctx.team_id)
        ):
            allowed[channel_id] = source
    return allowed
