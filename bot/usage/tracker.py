"""What the turn and the slash command use: meter an answer, record it, check the limits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
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
from bot.usage.reservations import Hold, Reservations

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
        reserve: int = 2000,
        hold_for: float = 660.0,
    ) -> None:
        self.ledger = ledger
        self.limits = limits or Limits()
        self.periods = periods or Periods.named("UTC")
        self.prices = prices or PriceTable()
        self.metrics = metrics
        self.now = now
        self.admins = AdminCheck()
        self.reserve = reserve  # tokens an answer in flight holds for its next round
        self.hold_for = hold_for  # seconds a hold lives without being renewed
        self.book = Reservations(ledger.engine)
        self._check = LimitCheck(self.book, self.limits, self.periods)

    async def admit(
        self, team_id: str, channel_id: str, user_id: str, client: Any
    ) -> Hold | Reached:
        """Hold a new answer against the limits, or return the one that refuses it.

        Raises StorageUnavailable. Every `Hold` is handed to `record` (or `release`) in the end.
        """
        hold = Hold(team_id, channel_id, user_id)
        if not self.limits:
            return hold  # no limit: nothing to hold

        async def is_admin(user: str) -> bool:
            return await self.admins(client, team_id, user)

        now = self.now()
        reached = await self._check.admit(
            hold, now, estimate=self.reserve, expires=self._expiry(now), is_admin=is_admin
        )
        if reached is None:
            return hold
        if self.metrics is not None:
            self.metrics.limited.labels(scope=reached.scope).inc()
        logger.info(
            "usage limit reached (%s): %d of %d", reached.scope, reached.used, reached.limit
        )
        return reached

    async def next_round(self, hold: Hold, meter: UsageMeter) -> Reached | None:
        """Before each model request: settle what the answer spent, check, hold the request.

        The hold is the request's prompt (as `meter.asked` estimated it) plus `reserve` for
        what comes back. Returns the limit that stops the answer here, or None to go on. A
        database that does not answer lets the request go (logged).
        """
        if hold.id is None:
            return None
        now = self.now()
        try:
            reached = await self._check.next_round(
                hold,
                now,
                spent=meter.tokens.total,
                estimate=meter.prompt_estimate + self.reserve,
                expires=self._expiry(now),
            )
        except StorageUnavailable:
            logger.warning("could not settle the usage of the answer to %s", meter.message_ts)
            return None
        if reached is not None:
            logger.info("usage limit reached (%s) before a model request", reached.scope)
        return reached

    async def release(self, hold: Hold) -> None:
        """Drop the reservation of an answer that never asked the model (best effort)."""
        try:
            await self.book.release(hold)
        except Exception:
            logger.exception("could not release a usage reservation (it expires)")

    def _expiry(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.hold_for)

    async def record(
        self,
        meter: UsageMeter,
        status: str,
        duration: float,
        hold: Hold | None = None,
        *,
        stopped: bool = False,
    ) -> None:
        """Store what an answer cost and drop its hold (best effort: a loss is logged)."""
        meter.finish(stopped=stopped)
        reservation = hold.id if hold is not None else None
        if not meter.rounds or not meter.tokens.total:
            # The model was never asked, or every attempt failed before any output.
            if reservation is not None:
                await self.release(hold)  # type: ignore[arg-type]
            return
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
                await self.ledger.add(usage, reservation=reservation)
                return
            except StorageUnavailable:
                if delay is None:
                    logger.error("could not record the usage of the answer to %s", message_ts)
                    return
                await asyncio.sleep(delay)
            except Exception:
                logger.exception("could not record the usage of the answer to %s", message_ts)
                return
