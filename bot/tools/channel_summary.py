"""The `summarize_channel` tool: a channel's recent messages, for the model to summarise.

Only a channel both the bot and the asking user can read (the rules of read_slack_message),
within a time window, paging `conversations.history` with `oldest` so that Slack returns
only the window, and stopping at a few pages: apps outside the Marketplace may read history
once a minute, 15 messages at a time, so a rate limit ends the reading with what was read.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any

from bot.tools.decorator import tool
from bot.tools.registry import ToolContext, ToolError
from bot.tools.slack_api import SlackRefused, call
from bot.tools.slack_reader import check_may_share
from bot.tools.visibility import asker_can_read

PAGE = 200  # Slack recommends at most 200 per page (the method allows 999)
MAX_PAGES = 5
MAX_MESSAGES = 300
MAX_TEXT = 600  # characters of one message
MAX_CHARS = 9000  # of the whole transcript: within the default tool-result limit
MAX_HOURS = 24 * 14
CHANNEL = re.compile(r"^<?#?([CGD][A-Z0-9]+)(?:\|[^>]*)?>?$")


def _channel_id(value: str | None, ctx: ToolContext) -> str:
    if not value:
        return ctx.channel_id
    match = CHANNEL.match(value.strip())
    if match is None:
        raise ToolError(
            f"{value!r} is not a channel id; pass an id like C0123ABCD or a channel link "
            "<#C0123ABCD>, or nothing for the current channel."
        )
    return match.group(1)


async def _check(ctx: ToolContext, channel_id: str) -> dict[str, Any]:
    channel = (await call(ctx, "conversations.info", channel=channel_id)).get("channel") or {}
    if channel_id != ctx.channel_id and not await asker_can_read(
        partial(call, ctx), channel, ctx.user_id, team_id=ctx.team_id
    ):
        raise ToolError(
            "The person asking cannot read that channel themselves, so I will not read it here."
        )
    await check_may_share(ctx, channel_id)  # private content stays in its conversation
    return channel


def _when(ts: str) -> str:
    try:
        return datetime.fromtimestamp(float(ts), UTC).strftime("%m-%d %H:%M")
    except (ValueError, OverflowError):
        return ts


def _newest_that_fit(lines: list[str]) -> list[str]:
    """Keep the newest lines within MAX_CHARS (the registry would cut the end, the newest)."""
    total, start = 0, len(lines)
    while start > 0 and total + len(lines[start - 1]) + 1 <= MAX_CHARS:
        start -= 1
        total += len(lines[start]) + 1
    return lines[start:]


@tool
async def summarize_channel(
    ctx: ToolContext,
    channel: Annotated[
        str | None, "A channel id or link like <#C0123ABCD>; empty for the current channel"
    ] = None,
    hours: Annotated[float, "How far back to read, in hours (at most two weeks)"] = 24.0,
) -> dict[str, Any]:
    """Read the recent top-level messages of a Slack channel, to summarise what happened there."""
    channel_id = _channel_id(channel, ctx)
    hours = min(max(hours, 0.1), MAX_HOURS)
    info = await _check(ctx, channel_id)
    oldest = f"{time.time() - hours * 3600:.6f}"
    found: list[dict[str, Any]] = []
    notes: list[str] = []
    cursor = ""
    for _ in range(MAX_PAGES):
        params: dict[str, Any] = {"channel": channel_id, "oldest": oldest, "limit": PAGE}
        if cursor:
            params["cursor"] = cursor
        try:
            page = await call(ctx, "conversations.history", **params)
        except SlackRefused as exc:
            if not found:
                raise
            notes.append(f"Reading stopped early: {exc}")
            break
        found += page.get("messages") or []
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
        if not cursor or len(found) >= MAX_MESSAGES:
            break
    if cursor:
        notes.append(f"Only the newest {len(found)} messages of the window were read.")
    lines = []
    for message in reversed(found[:MAX_MESSAGES]):  # Slack pages newest first
        if message.get("subtype") in ("channel_join", "channel_leave"):
            continue
        text = " ".join(str(message.get("text") or "").split())
        text = text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"
        author = f"<@{message['user']}>" if message.get("user") else "an app"
        replies = f" ({message['reply_count']} replies)" if message.get("reply_count") else ""
        lines.append(f"{_when(str(message.get('ts', '')))} {author}: {text}{replies}")
    kept = _newest_that_fit(lines)
    if len(kept) < len(lines):
        notes.append(f"The oldest {len(lines) - len(kept)} messages were left out to fit.")
    result: dict[str, Any] = {
        "channel_id": channel_id,
        "channel_name": info.get("name"),
        "since": datetime.fromtimestamp(float(oldest), UTC).isoformat(timespec="minutes"),
        "count": len(kept),
        "transcript": "\n".join(kept),
    }
    if not lines:
        notes.append(f"No messages in the last {hours:g} hours.")
    return {**result, "note": " ".join(notes)} if notes else result
