"""Follow Slack in the stored history: a deleted message leaves it, an edited one changes.

A secret pasted and then edited out (or a file removed from a message) must not live on in
what follow-ups and summaries send to the model.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.db.privacy import Privacy
from bot.slack.reply.format import from_slack
from bot.telemetry.metrics import Metrics
from bot.turns.dispatcher import MENTION

logger = logging.getLogger(__name__)


def register(app: AsyncApp, privacy: Privacy, metrics: Metrics | None = None) -> None:
    """Forget a message when it is deleted in Slack (register before the turn listeners)."""

    @app.event({"type": "message", "subtype": "message_deleted"})
    async def on_message_deleted(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        team_id = context.team_id or body.get("team_id", "")
        ts = event.get("deleted_ts") or (event.get("previous_message") or {}).get("ts")
        if not ts or not event.get("channel"):
            return
        removed = await privacy.forget_slack_message(team_id, event["channel"], ts)
        if removed:
            logger.info("forgot %d stored message(s) deleted in Slack", removed)
            if metrics is not None:
                metrics.purged.labels(reason="deleted_in_slack").inc(removed)

    @app.event({"type": "message", "subtype": "message_changed"})
    async def on_message_changed(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        team_id = context.team_id or body.get("team_id", "")
        message = event.get("message") or {}
        ts, channel = message.get("ts"), event.get("channel")
        if not ts or not channel or message.get("bot_id"):
            return  # our own answers are edited all the time while streaming
        if message.get("subtype") == "tombstone":  # deleted, but its thread replies remain
            await privacy.forget_slack_message(team_id, channel, ts)
            return
        bot_user = context.bot_user_id or ""
        if bot_user and message.get("user") == bot_user:
            return
        text = MENTION.sub(
            lambda m: "" if m.group(1) == bot_user else m.group(0),
            from_slack(message.get("text") or ""),
        ).strip()
        files = {str(f.get("id")) for f in message.get("files") or () if isinstance(f, dict)}
        if await privacy.follow_edit(team_id, channel, ts, text, files):
            logger.info("stored message follows its edit in Slack")

    @app.event("file_deleted")
    async def on_file_deleted(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        team_id = context.team_id or body.get("team_id", "")
        file_id = event.get("file_id") or (event.get("file") or {}).get("id")
        if not file_id:
            return
        removed = await privacy.forget_file(team_id, file_id)
        if removed:
            logger.info("forgot %d stored copy(ies) of a file deleted in Slack", removed)
