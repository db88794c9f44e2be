"""Small helpers the built-in tools share for calling Slack and explaining its refusals."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError

from bot.tools.registry import ToolContext, ToolError

# What a Slack error code means for the person asking, phrased for the model to pass on.
EXPLAIN = {
    "not_in_channel": "I am not a member of that channel. Invite me there (/invite) and ask again.",
    "channel_not_found": (
        "I cannot see that conversation: it does not exist, or it is private and I am not in it."
    ),
    "thread_not_found": "There is no message at that link (it may have been deleted).",
    "message_not_found": "There is no message at that link (it may have been deleted).",
    "user_not_found": "Slack does not know that user.",
    "missing_scope": "The bot's Slack app lacks the permission (scope) needed for this.",
    "ratelimited": "Slack is limiting how often I can read this right now; try again in a minute.",
    "access_denied": "Slack denied access to that conversation.",
}


class SlackRefused(ToolError):
    """Slack answered with an error; the text says what it means."""


async def call(ctx: ToolContext, method: str, **params: Any) -> dict[str, Any]:
    """Call a Web API method with the bot's client; raise SlackRefused with a clear text."""
    if ctx.client is None:
        raise SlackRefused("Slack is not available to tools in this conversation.")
    try:
        response = await ctx.client.api_call(method, http_verb="GET", params=params)
    except SlackApiError as exc:
        code = str(exc.response.get("error", "unknown_error")) if exc.response else "unknown"
        raise SlackRefused(EXPLAIN.get(code, f"Slack refused the request ({code}).")) from None
    return dict(response.data) if isinstance(response.data, dict) else {}


async def user_info(ctx: ToolContext, user_id: str) -> dict[str, Any]:
    """Return Slack's user object for `user_id`."""
    return dict((await call(ctx, "users.info", user=user_id)).get("user") or {})
