"""Keep stored history only as long as allowed: the retention purge and Slack deletions."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.db.privacy import Privacy
from bot.metrics import Metrics

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


async def purge_once(privacy: Privacy, days: float, metrics: Metrics | None = None) -> int:
    """Delete what is older than `days`; return how many messages went."""
    removed = await privacy.purge_before(datetime.now(UTC) - timedelta(days=days))
    if removed:
        logger.info("retention: deleted %d message(s) older than %g days", removed, days)
        if metrics is not None:
            metrics.purged.labels(reason="retention").inc(removed)
    return removed


async def purge_forever(
    privacy: Privacy, days: float, interval: float, metrics: Metrics | None = None
) -> None:
    """Purge now and then every `interval` seconds until cancelled; survive database outages."""
    while True:
        try:
            await purge_once(privacy, days, metrics)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the next round tries again
            logger.warning("retention purge failed (%s); retrying later", type(exc).__name__)
        await asyncio.sleep(interval)
