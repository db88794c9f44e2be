"""End what a crashed process left behind: replies still streaming, and claimed messages.

A reply row marked `streaming` whose replica is gone gets its last saved text plus the
interrupted note, on every message it spans. A message claimed by a gone replica before
its reply row existed (the claim is still open) gets "could not answer" on its
placeholder: the one the claim names, or, when the process died between posting it and
noting it, the bot message in the thread whose Stop button names the claimed message;
without a placeholder the note is posted in the thread. Each is taken by one conditional
change of owner, so only one replica ever marks it.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot import texts
from bot.db.records import OpenClaim, ThreadKey
from bot.db.replicas import ReplicaRegistry
from bot.db.store import Store
from bot.slack.reply.interrupted import mark_interrupted, mark_not_answered
from bot.slack.reply.markup import STOP_ACTION
from bot.slack.sessions import AgentSessions
from bot.slack.writer import SlackWriter
from bot.telemetry.scope import turn_scope

logger = logging.getLogger(__name__)


async def recover(
    replicas: ReplicaRegistry,
    store: Store,
    writer: SlackWriter,
    *,
    limit: int,
    startup: bool,
    sessions: AgentSessions | None = None,
) -> None:
    """Mark orphaned replies interrupted and answer orphaned claims, in Slack and the DB.

    The thread's agent session, left `processing` (with Slack's Stop, which nothing would
    answer any more), is set `active`.
    """
    for reply in await replicas.orphaned_replies(startup=startup):
        if not await replicas.take_over(reply):
            continue  # another replica got there first
        logger.warning("reply %s was left unfinished; marking it interrupted", reply.slack_ts)
        if not reply.slack_ts:
            continue
        try:
            shown = await store.reply_text(reply.key, reply.slack_ts)
            # A round after tools starts a new row: the parts may be saved on an earlier one.
            parts = reply.parts or await store.reply_parts(reply.key, reply.slack_ts)
            with turn_scope(reply.key.team_id, reply.key.channel_id):
                await mark_interrupted(
                    writer, reply.key, reply.slack_ts, shown, limit=limit, parts=parts
                )
                await _end_session(sessions, reply.key, reply.key.thread_ts)
        except Exception:
            logger.exception("could not mark reply %s in Slack", reply.slack_ts)
    for claim in await replicas.open_claims(startup=startup):
        if not await replicas.take_claim(claim):
            continue
        logger.warning("message %s was claimed but never answered", claim.message_ts)
        try:
            with turn_scope(claim.key.team_id, claim.key.channel_id):
                reply_ts = claim.reply_ts or await find_placeholder(writer, claim)
                await mark_not_answered(writer, claim.key, reply_ts)
                await _end_session(sessions, claim.key, claim.key.thread_ts or claim.message_ts)
        except Exception:
            logger.exception("could not mark message %s in Slack", claim.message_ts)


async def _end_session(sessions: AgentSessions | None, key: ThreadKey, thread_ts: str) -> None:
    """Leave the thread's agent session `active` (a top-level DM reply has none to end)."""
    if sessions is not None and thread_ts:
        await sessions.set_status(key.team_id, key.channel_id, thread_ts, "active")


async def find_placeholder(writer: SlackWriter, claim: OpenClaim) -> str | None:
    """Return the ts of the bot's reply to a claimed message, read back from Slack."""
    key = claim.key
    try:
        if key.thread_ts:
            response = await writer.client.conversations_replies(
                channel=key.channel_id, ts=key.thread_ts, limit=100
            )
        else:  # a top-level DM answer sits in the channel itself, after the question
            response = await writer.client.conversations_history(
                channel=key.channel_id, oldest=claim.message_ts, limit=100
            )
    except (SlackApiError, OSError, TimeoutError) as exc:
        logger.warning("could not read back the thread of %s (%s)", claim.message_ts, exc)
        return None
    for message in response.get("messages") or ():
        if _answers(message, claim.message_ts):
            return str(message["ts"])
    return None


def _answers(message: dict[str, Any], message_ts: str) -> bool:
    """Tell whether a Slack message is the bot's streaming reply to `message_ts`."""
    if not message.get("bot_id") or float(message.get("ts") or 0) <= float(message_ts):
        return False
    for block in message.get("blocks") or ():
        for item in block.get("elements") or ():
            if item.get("action_id") == STOP_ACTION and item.get("value") == message_ts:
                return True
    return (message.get("text") or "") == texts.PLACEHOLDER
