"""Read the message or thread a shortcut points at, with read_slack_message's access rules.

The conversation must be one the bot can see (`conversations.info`) and the person asking
could read themselves (`bot.tools.visibility.asker_can_read`). A thread the bot already has
comes from the store; otherwise from one `conversations.replies` call (apps outside the
Marketplace may make 1 a minute, so no paging: what did not fit is said to the model).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError

from bot import texts
from bot.db.records import ThreadKey
from bot.db.store import Store
from bot.errors import StorageUnavailable, UserFacingError
from bot.slack.reply.format import from_slack
from bot.slack_app.private import PrivateAnswers, Source
from bot.tools.visibility import asker_can_read

logger = logging.getLogger(__name__)

MAX_MESSAGES = 200  # of a thread given to the model (history fitting trims further)


class SourceRefused(UserFacingError):
    """The asker may not have this conversation read, or Slack would not give it."""


@dataclass(frozen=True, slots=True)
class SourceMessage:
    """One message of the source, in the words the model reads."""

    ts: str
    author: str  # "<@U123>", or "the assistant" for the bot's own answers
    text: str


def _refusal(exc: SlackApiError) -> SourceRefused:
    code = str(exc.response.get("error", "")) if exc.response is not None else ""
    if code == "ratelimited" or getattr(exc.response, "status_code", 0) == 429:
        return SourceRefused(texts.SOURCE_RATE_LIMITED, detail=code)
    return SourceRefused(texts.SOURCE_NOT_VISIBLE, detail=code or "refused")


async def check_access(client: Any, *, team_id: str, user_id: str, channel_id: str) -> None:
    """Raise SourceRefused unless the bot sees the conversation and the asker may read it."""

    async def call(method: str, **params: Any) -> dict[str, Any]:
        response = await client.api_call(method, http_verb="GET", params=params)
        return dict(response.data) if isinstance(response.data, dict) else {}

    try:
        channel = (await call("conversations.info", channel=channel_id)).get("channel") or {}
        allowed = await asker_can_read(call, channel, user_id, team_id=team_id)
    except SlackApiError as exc:
        raise _refusal(exc) from None
    if not allowed:
        raise SourceRefused(texts.SOURCE_NOT_ALLOWED)


async def read_thread(
    client: Any,
    store: Store,
    *,
    team_id: str,
    channel_id: str,
    thread_ts: str,
    bot_user_id: str,
    message_ts: str = "",
) -> tuple[list[SourceMessage], bool]:
    """Return a thread's messages, oldest first, and whether some were left out.

    The store's copy is used when it holds the message asked about (`message_ts`): it only
    has what was addressed to the bot, so without that message it is not the thread asked about.
    """
    key = ThreadKey(team_id, channel_id, thread_ts)
    try:
        stored = await store.history(key, limit=MAX_MESSAGES * 2)
    except StorageUnavailable:
        stored = []
    found = [
        SourceMessage(
            m.slack_ts or "",
            "the assistant" if m.role == "assistant" else f"<@{m.user_id}>",
            m.content,
        )
        for m in stored
        if m.role in ("user", "assistant") and m.content
    ]
    if found and any(m.ts == (message_ts or thread_ts) for m in found):
        return found[-MAX_MESSAGES:], len(found) > MAX_MESSAGES
    try:
        response = await client.conversations_replies(
            channel=channel_id, ts=thread_ts, limit=MAX_MESSAGES
        )
    except SlackApiError as exc:
        raise _refusal(exc) from None
    messages = []
    for message in response.get("messages") or []:
        text = from_slack(str(message.get("text") or "")).strip()
        if not text or message.get("subtype") in ("channel_join", "channel_leave"):
            continue
        mine = message.get("user") == bot_user_id and bool(message.get("bot_id"))
        author = "the assistant" if mine else f"<@{message.get('user') or message.get('bot_id')}>"
        messages.append(SourceMessage(str(message.get("ts", "")), author, text))
    return messages, bool(response.get("has_more"))


def transcript(messages: list[SourceMessage], *, mark_ts: str = "") -> str:
    """Render messages as lines the model reads; the message at `mark_ts` is marked."""
    lines = []
    for m in messages:
        marker = " [the message asked about]" if mark_ts and m.ts == mark_ts else ""
        lines.append(f"{m.author}{marker}: {m.text}")
    return "\n\n".join(lines)


@dataclass
class SourceGuard:
    """Check and read a shortcut's source; whatever stops it is told to the asker privately."""

    store: Store
    private: PrivateAnswers

    async def admitted(self, source: Source, client: Any) -> bool:
        """Tell whether the asker may have this source read; if not, say why, privately."""
        try:
            await check_access(
                client, team_id=source.team_id, user_id=source.user_id, channel_id=source.channel_id
            )
        except SourceRefused as exc:
            logger.info("shortcut on %s refused (%s)", source.channel_id, exc)
            await self.private.tell(source, exc.user_message)
            return False
        return True

    async def thread(
        self, source: Source, client: Any, bot_user_id: str
    ) -> tuple[list[SourceMessage], bool] | None:
        """Return the source's thread, or None after telling the asker why it cannot be read."""
        try:
            return await read_thread(
                client,
                self.store,
                team_id=source.team_id,
                channel_id=source.channel_id,
                thread_ts=source.thread_ts,
                bot_user_id=bot_user_id,
                message_ts=source.message_ts,
            )
        except SourceRefused as exc:
            await self.private.tell(source, exc.user_message)
            return None
