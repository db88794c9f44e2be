"""`search_slack`: ground an answer in what the workspace already knows (Real-time Search).

It calls `assistant.search.context`, which searches with the asking user's own access: with
the bot token it needs the short-lived `action_token` of the event that started the turn
(an @-mention or a DM), so the tool is offered only in such turns, or when
`SLACK_SEARCH_USER_TOKEN` is set (then it searches public channels only, with that user's
access: a shared token must never open its owner's private conversations to others).

Results go to the model for this answer only and are never stored (Slack's API terms:
no copies or indexes of workspace data): the history keeps a note of the query and the
links found. Results the answer may not repeat here (`bot.tools.search_rules`) are counted
for the model, not shown. Slack's refusals become a result the model can explain.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.tools.decorator import tool
from bot.tools.registry import ToolContext, ToolError, ToolResult
from bot.tools.search_rules import shareable
from bot.tools.slack_reader import names_of, when_of

MAX_RESULTS = 20
MAX_TEXT = 1500
ALL_TYPES = "public_channel,private_channel,mpim,im"

REFUSED = {
    "missing_scope": (
        "The bot's Slack app lacks the search permission ({needed}). A workspace admin must "
        "add the search:read scopes to the app and reinstall it."
    ),
    "invalid_action_token": (
        "Slack only lets me search when a message addresses me directly (a mention or a "
        "direct message), and only for a short while after it; ask me again that way."
    ),
    "ratelimited": "Slack is limiting how often I can search right now; try again in a minute.",
    "access_denied": "Slack denied the search for this person or workspace.",
    "not_allowed_token_type": "This Slack app cannot use Real-time Search (wrong token type).",
}
NO_TOKEN = REFUSED["invalid_action_token"]
WITHHELD = (
    "{n} more result(s) are in conversations whose content I may not repeat here (private "
    "conversations, or channels someone in this thread cannot see). Say that they exist and "
    "that the asker can ask me in a direct message; do not guess what they say."
)
CITE = "Cite each message you use as a Slack link: <permalink|short label>."


def available(ctx: ToolContext) -> bool:
    """Tell whether this turn can search Slack (an action token, or a user token)."""
    return bool(ctx.action_token or ctx.search_token)


async def _search(ctx: ToolContext, query: str, limit: int) -> list[dict[str, Any]]:
    if ctx.client is None or not available(ctx):
        raise ToolError(NO_TOKEN)
    params: dict[str, Any] = {"query": query, "limit": limit}
    if ctx.action_token:
        params |= {"action_token": ctx.action_token, "channel_types": ALL_TYPES}
    else:  # a configured user token: public channels only
        params |= {"token": ctx.search_token, "channel_types": "public_channel"}
    try:
        response = await ctx.client.api_call(
            "assistant.search.context", http_verb="POST", params=params
        )
    except SlackApiError as exc:
        data = exc.response.data if exc.response is not None else {}
        data = data if isinstance(data, dict) else {}
        code = str(data.get("error") or "unknown_error")
        needed = str(data.get("needed") or "search:read.*")
        text = REFUSED.get(code, "Slack refused the search ({code}).")
        raise ToolError(text.format(needed=needed, code=code)) from None
    results = (response.data if isinstance(response.data, dict) else {}).get("results") or {}
    return [m for m in results.get("messages") or [] if isinstance(m, dict)]


@tool
async def search_slack(
    ctx: ToolContext,
    query: str,
    limit: int = 10,
) -> ToolResult:
    """Search this Slack workspace's messages, with the asking person's own access.

    Use it when the answer may be in what people already wrote in Slack (decisions, dates,
    owners, links). Cite what you use as Slack links: <permalink|short label>.

    Args:
        query: What to look for, in plain words, like "Gizmo launch date".
        limit: How many messages to return, 1 to 20.
    """
    found = await _search(ctx, query, max(1, min(MAX_RESULTS, int(limit))))
    allowed = await shareable(ctx, [str(m.get("channel_id") or "") for m in found])
    shown = [m for m in found if str(m.get("channel_id") or "") in allowed]
    names = await names_of(ctx, {str(m.get("author_user_id")) for m in shown})
    results = []
    for m in shown:
        author = str(m.get("author_user_id") or "")
        channel = allowed[str(m.get("channel_id"))]
        text = str(m.get("content") or "")
        results.append(
            {
                "author": f"{names[author]} ({author})" if author in names else author,
                "channel": _label(channel, str(m.get("channel_name") or "")),
                "time": when_of(str(m.get("message_ts") or "")),
                "text": text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…",
                "permalink": str(m.get("permalink") or ""),
            }
        )
    answer: dict[str, Any] = {"query": query, "results": results, "note": CITE}
    if withheld := len(found) - len(shown):
        answer["withheld"] = WITHHELD.format(n=withheld)
    if not found:
        answer["note"] = "Nothing in Slack matched; say so rather than guess."
    links = [r["permalink"] for r in results if r["permalink"]]
    note = f"Searched Slack for {query!r}: {len(found)} result(s), not kept."
    if links:
        note += " Links found: " + " ".join(links)
    return ToolResult(
        json.dumps(answer, ensure_ascii=False),
        stored=note,
        sources=tuple((r["permalink"], r["channel"]) for r in results if r["permalink"]),
    )


def _label(channel: dict[str, Any], name: str) -> str:
    if channel.get("is_im"):
        return "a direct message"
    if channel.get("is_mpim"):
        return "a group DM"
    name = str(channel.get("name") or name)
    return f"#{name}" if name else str(channel.get("id") or "")


search_slack = replace(search_slack, offered=available)
