"""Turn a thread's stored messages into the chat history the model reads.

In a thread where several people (or other apps) spoke, each human message is labelled with
its author's display name ("Alice: …"), so that the model can tell who said what once
`bot.llm.template.alternate` has merged consecutive messages into one user turn. A thread
with a single human author (every DM) stays unlabelled. Messages by other apps are user
turns labelled "(app)", never assistant turns: only the bot's own words are the assistant's.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.db.records import StoredMessage
from bot.files import parts

logger = logging.getLogger(__name__)

NAME_TTL = 3600.0  # how long a display name is reused before asking Slack again
NAME_MEMORY = 4096  # names remembered per process


class DisplayNames:
    """Look up (and remember) the names people and apps show in Slack."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._names: OrderedDict[tuple[str, str], tuple[float, str]] = OrderedDict()

    async def name(self, team_id: str, user_id: str) -> str:
        """Return how `user_id` is shown in Slack ("Name (app)" for apps); a mention if unknown."""
        key = (team_id, user_id)
        known = self._names.get(key)
        if known is not None and time.monotonic() - known[0] < NAME_TTL:
            return known[1]
        try:
            response = await self.client.users_info(user=user_id)
        except (SlackApiError, OSError, TimeoutError) as exc:
            logger.info("users.info failed for a history label (%s)", type(exc).__name__)
            return f"<@{user_id}>"
        name = _display_name(response.get("user") or {}) or f"<@{user_id}>"
        self._names[key] = (time.monotonic(), name)
        while len(self._names) > NAME_MEMORY:
            self._names.popitem(last=False)
        return name


def _display_name(user: dict[str, Any]) -> str:
    profile = user.get("profile") or {}
    name = str(
        profile.get("display_name")
        or profile.get("real_name")
        or user.get("real_name")
        or user.get("name")
        or ""
    ).strip()
    if name and (user.get("is_bot") or profile.get("bot_id")):
        return f"{name} (app)"
    return name


def to_chat(message: StoredMessage) -> dict[str, Any]:
    """Render a stored message as an OpenAI chat message (provider fields included)."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    chat: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.files:  # what was read from files on the message: text and image parts
        chat["content"] = parts.user_content(message.content, message.files)
    if message.role == "assistant" and message.tool_calls:
        chat["tool_calls"] = message.tool_calls
        chat["content"] = message.content or None  # the API's shape for "only tool calls"
        chat.update(message.provider_fields or {})  # e.g. DeepSeek's reasoning_content
    return chat


async def build(
    stored: list[StoredMessage], *, team_id: str, names: DisplayNames | None
) -> list[dict[str, Any]]:
    """Return the chat messages for `stored`, human messages labelled when several spoke."""
    authors = {m.user_id for m in stored if m.role == "user" and m.user_id}
    labels: dict[str, str] = {}
    if names is not None and len(authors) > 1:
        for user_id in sorted(authors):
            labels[user_id] = await names.name(team_id, user_id)
    chat = []
    for message in stored:
        entry = to_chat(message)
        label = labels.get(message.user_id or "") if message.role == "user" else None
        if label and isinstance(entry.get("content"), str):
            entry["content"] = f"{label}: {entry['content']}"
        elif label and isinstance(entry.get("content"), list):  # text and image parts (files)
            entry["content"] = [{"type": "text", "text": f"{label}:"}, *entry["content"]]
        chat.append(entry)
    return chat
