"""Built-in tools that make sense in a Slack workspace: time, who is asking, where, and links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from datetime import timezone as fixed_offset
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.tools.channel_summary import summarize_channel
from bot.tools.decorator import tool
from bot.tools.registry import Tool, ToolContext
from bot.tools.slack_api import SlackRefused, call, user_info
from bot.tools.slack_reader import read_slack_message
from bot.tools.slack_search import search_slack


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _zone(name: str | None, offset: Any = None, label: str | None = None) -> tzinfo | None:
    """Return a time zone by IANA name, falling back to a fixed UTC offset in seconds."""
    # Only known keys reach ZoneInfo: others (a directory such as "America", a long name)
    # raise OSErrors whose text names the time-zone files' path in site-packages.
    known = _known_zones()
    if name and (name in known or not known):
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    if isinstance(offset, int):
        delta, shown = timedelta(seconds=offset), label or name
        return fixed_offset(delta, shown) if shown else fixed_offset(delta)
    return None


@tool
async def current_datetime(ctx: ToolContext, timezone: str | None = None) -> dict[str, Any]:
    """Get the current date and time, in the asking user's time zone from their Slack profile.

    Args:
        timezone: An IANA time zone (like "America/New_York") to use instead of the user's.
    """
    if timezone:
        zone, source = _zone(timezone), "requested"
        if zone is None:
            shown = timezone if len(timezone) <= 64 else timezone[:64] + "…"
            return {"error": f"Unknown time zone {shown!r}; use an IANA name like Europe/Paris."}
        name = timezone
    else:
        user: dict[str, Any] = {}
        if ctx.user_id:
            try:
                user = await user_info(ctx, ctx.user_id)
            except SlackRefused:
                user = {}
        zone = _zone(user.get("tz"), user.get("tz_offset"), user.get("tz_label"))
        name, source = user.get("tz") or "UTC", "the user's Slack profile"
        if zone is None:
            zone, source = UTC, "unknown user time zone, so UTC"
    now = datetime.now(zone)
    offset = now.strftime("%z")
    return {
        "datetime": now.isoformat(timespec="seconds"),
        "date": now.strftime("%A, %d %B %Y"),
        "time": now.strftime("%H:%M"),
        "timezone": name,
        "utc_offset": f"{offset[:3]}:{offset[3:]}" if offset else "+00:00",
        "source": source,
    }


@tool
async def current_user(ctx: ToolContext) -> dict[str, Any]:
    """Tell who is asking: their Slack name, title, time zone and user id."""
    if not ctx.user_id:
        return {"error": "This message has no known author."}
    user = await user_info(ctx, ctx.user_id)
    profile = user.get("profile") or {}
    return {
        "user_id": ctx.user_id,
        "name": user.get("name"),
        "real_name": user.get("real_name") or profile.get("real_name"),
        "display_name": profile.get("display_name") or None,
        "title": profile.get("title") or None,
        "timezone": user.get("tz"),
        "is_admin": bool(user.get("is_admin")),
        "is_owner": bool(user.get("is_owner")),
        "is_bot": bool(user.get("is_bot")),
    }


def _kind(channel: dict[str, Any]) -> str:
    if channel.get("is_im"):
        return "direct message"
    if channel.get("is_mpim"):
        return "group direct message"
    return "private channel" if channel.get("is_private") else "public channel"


@tool
async def current_channel(ctx: ToolContext) -> dict[str, Any]:
    """Describe the conversation this question was asked in: name, kind, topic and purpose."""
    info = await call(ctx, "conversations.info", channel=ctx.channel_id, include_num_members=True)
    channel = info.get("channel") or {}
    created = channel.get("created")
    return {
        "channel_id": ctx.channel_id,
        "name": channel.get("name"),
        "kind": _kind(channel),
        "topic": (channel.get("topic") or {}).get("value") or None,
        "purpose": (channel.get("purpose") or {}).get("value") or None,
        "members": channel.get("num_members"),
        "archived": bool(channel.get("is_archived")),
        "created": datetime.fromtimestamp(created, UTC).date().isoformat() if created else None,
        "in_thread": bool(ctx.thread_ts),
        "dm_with_user": channel.get("user"),
    }


BUILTIN_TOOLS: list[Tool] = [
    current_datetime,
    current_user,
    current_channel,
    read_slack_message,
    summarize_channel,
    search_slack,  # offered only when the turn can search (`slack_search.available`)
]
