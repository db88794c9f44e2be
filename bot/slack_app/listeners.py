"""Which Slack events become a turn: mentions, DMs and thread follow-ups."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.db.records import ThreadKey
from bot.db.store import Store
from bot.errors import StorageUnavailable
from bot.slack.reply.format import from_slack
from bot.turns.request import TurnRequest

logger = logging.getLogger(__name__)

USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
# Subtypes that are still a person writing to us; every other subtype (edits, deletions,
# joins, bot posts, ...) never starts a turn.
HUMAN_SUBTYPES = {None, "file_share", "thread_broadcast"}

Submit = Callable[[TurnRequest], Awaitable[None]]
AnswerAll = Callable[[str, str], Awaitable[bool]]  # (team, channel) -> answer every message?


def is_from_bot(event: dict[str, Any], bot_user_id: str) -> bool:
    """Tell whether a message was written by an app, ours included."""
    return bool(event.get("bot_id") or event.get("bot_profile")) or event.get("user") == bot_user_id


def addressed_elsewhere(text: str, bot_user_id: str) -> bool:
    """Tell whether a message mentions people but not the bot."""
    mentioned = set(USER_MENTION.findall(text))
    return bool(mentioned) and bot_user_id not in mentioned


def to_request(
    event: dict[str, Any],
    team_id: str,
    event_id: str | None,
    bot_user_id: str = "",
    *,
    dm_threads: bool = False,
) -> TurnRequest:
    """Build the turn for a message event.

    DM top-level messages share one conversation, answered top level; with `dm_threads`
    each starts its own thread, as Slack's agent messaging experience shows them.
    """
    ts = event["ts"]
    thread_ts = event.get("thread_ts")
    if not thread_ts:
        thread_ts = "" if event.get("channel_type") == "im" and not dm_threads else ts
    return TurnRequest(
        team_id=team_id,
        channel=event["channel"],
        thread_ts=thread_ts,
        message_ts=ts,
        user_id=event.get("user", ""),
        text=from_slack(event.get("text") or ""),
        event_id=event_id,
        bot_user_id=bot_user_id,
        files=tuple(f for f in event.get("files") or () if isinstance(f, dict)),
        action_token=str(event.get("action_token") or ""),
    )


async def should_answer(
    event: dict[str, Any],
    bot_user_id: str,
    store: Store,
    team_id: str,
    answer_all: AnswerAll | None = None,
) -> bool:
    """Decide whether a `message` event is for the bot."""
    if event.get("subtype") not in HUMAN_SUBTYPES or is_from_bot(event, bot_user_id):
        return False
    if not event.get("user") or not event.get("ts") or not event.get("channel"):
        return False
    text = event.get("text") or ""
    if event.get("channel_type") == "im":
        return True
    if f"<@{bot_user_id}" in text:
        return True  # a channel mention (its app_mention twin is deduped by the claim)
    if answer_all is not None and await answer_all(team_id, event["channel"]):
        return True  # a channel whose preset answers every message (translation)
    thread_ts = event.get("thread_ts")
    if not thread_ts or thread_ts == event["ts"] or addressed_elsewhere(text, bot_user_id):
        return False
    try:
        return await store.has_thread(ThreadKey(team_id, event["channel"], thread_ts))
    except StorageUnavailable:
        return False


def register_mentions(app: AsyncApp, *, submit: Submit) -> None:
    """Attach the mention listener to `app` (the first listener: Bolt tries them in order)."""

    @app.event("app_mention")
    async def on_mention(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        if (
            is_from_bot(event, context.bot_user_id or "")
            or event.get("subtype") not in HUMAN_SUBTYPES
        ):
            return
        if not event.get("ts") or not event.get("channel"):
            return
        team_id = context.team_id or body.get("team_id", "")
        await submit(to_request(event, team_id, body.get("event_id"), context.bot_user_id or ""))


def register_messages(
    app: AsyncApp,
    *,
    store: Store,
    submit: Submit,
    answer_all: AnswerAll | None = None,
    dm_threads: bool = False,
) -> None:
    """Attach the message listener to `app`, after the listeners of message subtypes."""

    @app.event("message")
    async def on_message(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        team_id = context.team_id or body.get("team_id", "")
        if await should_answer(event, context.bot_user_id or "", store, team_id, answer_all):
            await submit(
                to_request(
                    event,
                    team_id,
                    body.get("event_id"),
                    context.bot_user_id or "",
                    dm_threads=dm_threads,
                )
            )

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        event = body.get("event") if isinstance(body, dict) else None
        kind = event.get("type") if isinstance(event, dict) else None
        logger.error("listener failed: %s (event type %s)", type(error).__name__, kind)
