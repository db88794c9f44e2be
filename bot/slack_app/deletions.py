"""Forget what is deleted in Slack: a deleted message leaves the stored history too."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.db.privacy import Privacy
from bot.telemetry.metrics import Metrics

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

    @app.event("file_deleted")
    async def on_file_deleted(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        team_id = context.team_id or body.get("team_id", "")
        file_id = event.get("file_id") or (event.get("file") or {}).get("id")
        if not file_id:
            return
        removed = await privacy.forget_file(team_id, file_id)
        if removed:
            logger.info("forgot %d stored copy(ies) of a file deleted in Slack", removed)
