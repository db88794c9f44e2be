"""Read a Slack message or thread from a permalink, within this workspace and with care.

Three checks come before any history is read: the link's host is this workspace's
(`auth.test`), the conversation is visible to the bot (`conversations.info`), and its
content may be repeated where the answer goes (`bot.tools.sharing`: private content only
into the same conversation or the asker's own DM with the bot, public content not into a
conversation shared with another organisation nor to anyone in the thread who could not
see it), so the bot never repeats a thread to outsiders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.tools.decorator import tool
from bot.tools.registry import ToolContext, ToolError
from bot.tools.sharing import refusal
from bot.tools.slack_api import SlackRefused, call, user_info

MAX_MESSAGES = 40
MAX_TEXT = 3000


@dataclass(frozen=True, slots=True)
class Permalink:
    """The parts of `https://<workspace>.slack.com/archives/<channel>/p<digits>`."""

    host: str
    channel: str
    ts: str
    thread_ts: str | None = None


def parse_permalink(url: str) -> Permalink:
    """Parse a Slack message permalink; raise ToolError when it is not one."""
    url = url.strip().strip("<>").split("|", 1)[0]
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    segments = [s for s in parts.path.split("/") if s]
    if (
        parts.scheme not in ("http", "https")
        or not host.endswith(".slack.com")
        or len(segments) != 3
        or segments[0] != "archives"
        or not segments[2].startswith("p")
        or not segments[2][1:].isdigit()
        or len(segments[2]) < 8
    ):
        raise ToolError(
            f"{url!r} is not a Slack message link; expected "
            "https://<workspace>.slack.com/archives/<channel>/p<digits>."
        )
    digits = segments[2][1:]
    thread = parse_qs(parts.query).get("thread_ts", [None])[0]
    return Permalink(host, segments[1].upper(), f"{digits[:-6]}.{digits[-6:]}", thread)


async def _check_workspace(ctx: ToolContext, link: Permalink) -> None:
    auth = await call(ctx, "auth.test")
    home = (urlsplit(str(auth.get("url") or "")).hostname or "").lower()
    if not home or link.host != home:
        raise ToolError(
            f"That link points to another Slack workspace ({link.host}); I only read messages "
            f"in this one ({home or 'unknown'})."
        )


async def check_may_share(ctx: ToolContext, channel_id: str) -> None:
    """Refuse (ToolError, one sentence for the model) content of `channel_id` this answer may
    not repeat where it goes (`bot.tools.sharing`)."""
    if channel_id == ctx.channel_id:
        return
    source = (await call(ctx, "conversations.info", channel=channel_id)).get("channel") or {}
    source = {"id": channel_id, **source}
    here = (await call(ctx, "conversations.info", channel=ctx.channel_id)).get("channel") or {}
    reason = await refusal(
        partial(call, ctx),
        source,
        {"id": ctx.channel_id, **here},
        asker=ctx.user_id,
        participants=ctx.participants,
        team_id=ctx.team_id,
    )
    if reason is not None:
        raise ToolError(reason)


async def names_of(ctx: ToolContext, user_ids: set[str]) -> dict[str, str]:
    """Return the display names of (at most 20 of) `user_ids`; unknown ones are left out."""
    names: dict[str, str] = {}
    for user_id in sorted(user_ids)[:20]:
        try:
            user = await user_info(ctx, user_id)
        except SlackRefused:
            continue
        profile = user.get("profile") or {}
        name = profile.get("display_name") or user.get("real_name") or user.get("name")
        if name:
            names[user_id] = str(name)
    return names


def when_of(ts: str) -> str:
    """Return a message ts as an ISO time in UTC (the ts itself when it is not one)."""
    try:
        return datetime.fromtimestamp(float(ts), UTC).isoformat(timespec="seconds")
    except (ValueError, OverflowError):
        return ts


@tool
async def read_slack_message(ctx: ToolContext, permalink: str) -> dict[str, Any]:
    """Read a Slack message, with its thread, from a permalink someone pasted.

    Works only for links into this workspace and conversations the bot is a member of.

    Args:
        permalink: The message link, like https://acme.slack.com/archives/C0123/p1700000000123456
    """
    link = parse_permalink(permalink)
    await _check_workspace(ctx, link)
    await check_may_share(ctx, link.channel)
    root = link.thread_ts or link.ts
    replies = await call(
        ctx, "conversations.replies", channel=link.channel, ts=root, limit=MAX_MESSAGES
    )
    found = list(replies.get("messages") or [])[:MAX_MESSAGES]
    if not found:
        raise ToolError("There is no message at that link (it may have been deleted).")
    names = await names_of(ctx, {m["user"] for m in found if m.get("user")})
    messages = []
    for message in found:
        author = message.get("user") or message.get("bot_id") or "unknown"
        text = str(message.get("text") or "")
        entry: dict[str, Any] = {
            "author": f"{names[author]} ({author})" if author in names else author,
            "time": when_of(str(message.get("ts", ""))),
            "text": text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…",
        }
        if message.get("ts") == link.ts and len(found) > 1:
            entry["linked"] = True
        messages.append(entry)
    notes = []
    if not any(m.get("ts") == link.ts for m in found):
        notes.append("The linked message itself was not found; it may have been deleted.")
    if replies.get("has_more") or len(found) >= MAX_MESSAGES:
        notes.append(f"Only the first {len(found)} messages of the thread are shown.")
    result: dict[str, Any] = {"channel_id": link.channel, "messages": messages}
    return {**result, "note": " ".join(notes)} if notes else result
