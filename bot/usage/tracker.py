"""What the turn and the slash command use: meter an answer, record it, check the limits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.clock import wall_now
from bot.errors import StorageUnavailable
from bot.usage.admins import AdminCheck
from bot.usage.limits import LimitCheck, Limits, Reached
from bot.usage.meter import UsageMeter
from bot.usage.metrics import TokenMetrics
from bot.usage.periods import Periods
from bot.usage.prices import PriceTable
from bot.usage.record import AnswerUsage, UsageLedger

logger = logging.getLogger(__name__)

SAVE_BACKOFF = (0.5, 1.0, 2.0)  # retries of a record while the database blinks (billing data)


class UsageTracker:
    """Record answers' usage and refuse questions over a limit."""

    def __init__(
        self,
        ledger: UsageLedger,
        *,
        limits: Limits | None = None,
        periods: Periods | None = None,
        prices: PriceTable | None = None,
        metrics: TokenMetrics | None = None,
        now: Callable[[], datetime] = wall_now,
    ) -> None:
        self.ledger = ledger
        self.limits = limits or Limits()
        self.periods = periods or Periods.named("UTC")
        self.prices = prices or PriceTable()
        self.metrics = metrics
        self.now = now
        self.admins = AdminCheck()
        self._check = LimitCheck(ledger, self.limits, self.periods)

    async def over_limit(
        self, team_id: str, channel_id: str, user_id: str, client: Any
    ) -> Reached | None:
        """Return the limit that stops this question, or None (raises StorageUnavailable)."""
        if not self.limits:
            return None

        async def is_admin(user: str) -> bool:
            return await self.admins(client, team_id, user)

        reached = await self._check.reached(team_id, channel_id, user_id, self.now(), is_admin)
        if reached is not None:
            if self.metrics is not None:
                self.metrics.limited.labels(scope=reached.scope).inc()
            logger.info(
                "usage limit reached (%s): %d of %d", reached.scope, reached.used, reached.limit
            )
        return reached

    async def record(self, meter: UsageMeter, status: str, duration: float) -> None:
        """Store what an answer cost (best effort: a lost record is logged, not raised)."""
        meter.finish()
        if not meter.rounds:
            return  # the model was never asked
        if self.metrics is not None:
            self.metrics.add(meter.model, meter.tokens, estimated=meter.estimated)
        message_ts = meter.message_ts
        usage = AnswerUsage(
            team_id=meter.where.team_id,
            channel_id=meter.where.channel_id,
            user_id=meter.user_id,
            thread_ts=meter.where.thread_ts,
            message_ts=message_ts,
            model=meter.model,
            tokens=meter.tokens,
            estimated=meter.estimated,
            duration=duration,
            tool_calls=meter.tool_calls,
            rounds=meter.rounds,
            status=status,
            created_at=self.now(),
            approvals=dict(meter.approvals),
        )
        for delay in (*SAVE_BACKOFF, None):
            try:
                await self.ledger.add(usage)
                return
            except StorageUnavailable:
                if delay is None:
                    logger.error("could not record the usage of the answer to %s", message_ts)
                    return
                await asyncio.sleep(delay)
            except Exception:
                logger.exception("could not record the usage of the answer to %s", message_ts)
                return
