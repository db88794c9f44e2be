"""Who can see a Slack conversation: the check every tool that reads Slack content makes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

SlackCall = Callable[..., Awaitable[dict[str, Any]]]
MAX_MEMBER_PAGES = 20


async def asker_can_read(
    call: SlackCall, channel: dict[str, Any], user_id: str | None, *, team_id: str
) -> bool:
    """Tell whether `user_id` can see the conversation `channel` (a conversations.info object).

    Private channels, DMs and group DMs: only members. Public channels: members, and full
    members of this workspace (not guests, not people from other organisations).
    """
    if not user_id or not channel.get("id"):
        return False
    if channel.get("is_im"):
        return channel.get("user") == user_id
    if await _is_member(call, channel["id"], user_id):
        return True
    if channel.get("is_private") or channel.get("is_mpim") or channel.get("is_group"):
        return False
    user = (await call("users.info", user=user_id)).get("user") or {}
    guest = user.get("is_restricted") or user.get("is_ultra_restricted")
    outsider = user.get("is_stranger") or (user.get("team_id") not in (None, team_id))
    return not (guest or outsider or user.get("deleted"))


async def _is_member(call: SlackCall, channel_id: str, user_id: str) -> bool:
    cursor = ""
    for _ in range(MAX_MEMBER_PAGES):
        params: dict[str, Any] = {"channel": channel_id, "limit": 1000}
        if cursor:
            params["cursor"] = cursor
        page = await call("conversations.members", **params)
        if user_id in (page.get("members") or []):
            return True
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
        if not cursor:
            return False
    return False
