"""Keep stored history only as long as allowed: the periodic retention purge."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from bot.db.privacy import Privacy
from bot.telemetry.metrics import Metrics

logger = logging.getLogger(__name__)


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
