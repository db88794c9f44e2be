"""Who can see a Slack conversation: the check every tool that reads Slack content makes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
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
    return all(await who_can_read(call, channel, [user_id], team_id=team_id))


async def who_can_read(
    call: SlackCall, channel: dict[str, Any], user_ids: Sequence[str | None], *, team_id: str
) -> list[bool]:
    """Tell, for each user, whether they can see `channel`; members are listed only once."""
    if not channel.get("id"):
        return [False for _ in user_ids]
    if channel.get("is_im"):
        return [bool(u) and channel.get("user") == u for u in user_ids]
    members: set[str] | None = None
    answers = []
    for user_id in user_ids:
        if not user_id:
            answers.append(False)
            continue
        if members is None:
            members = await _members(call, channel["id"])
        if user_id in members:
            answers.append(True)
        elif channel.get("is_private") or channel.get("is_mpim") or channel.get("is_group"):
            answers.append(False)
        else:
            answers.append(await _full_member(call, user_id, team_id))
    return answers


async def _full_member(call: SlackCall, user_id: str, team_id: str) -> bool:
    user = (await call("users.info", user=user_id)).get("user") or {}
    guest = user.get("is_restricted") or user.get("is_ultra_restricted")
    outsider = user.get("is_stranger") or (user.get("team_id") not in (None, team_id))
    return not (guest or outsider or user.get("deleted"))


async def _members(call: SlackCall, channel_id: str) -> set[str]:
    """Return the channel's members (at most MAX_MEMBER_PAGES pages of 1,000), listed once."""
    found: set[str] = set()
    cursor = ""
    for _ in range(MAX_MEMBER_PAGES):
        params: dict[str, Any] = {"channel": channel_id, "limit": 1000}
        if cursor:
            params["cursor"] = cursor
        page = await call("conversations.members", **params)
        found.update(page.get("members") or [])
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
        if not cursor:
            break
    return found
