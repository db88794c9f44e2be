"""Build the usage tracker from Settings (the bot and the App Home share it)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import wall_now
from bot.settings import Settings
from bot.telemetry.metrics import Metrics
from bot.usage.limits import Limits
from bot.usage.metrics import TokenMetrics
from bot.usage.periods import Periods
from bot.usage.prices import PriceTable
from bot.usage.record import UsageLedger
from bot.usage.tracker import UsageTracker


def usage_tracker(
    s: Settings,
    engine: AsyncEngine,
    metrics: Metrics | None = None,
    *,
    now: Callable[[], datetime] = wall_now,
) -> UsageTracker:
    """Return the tracker with the limits, time zone and prices of Settings."""
    limits = Limits(
        user_daily=s.usage_limit_user_daily_tokens,
        channel_daily=s.usage_limit_channel_daily_tokens,
        team_monthly=s.usage_limit_team_monthly_tokens,
        exempt_admins=s.usage_limit_exempt == "admins",
    )
    token_metrics = None
    if metrics is not None:  # only configured models become labels
        token_metrics = TokenMetrics(metrics, [s.openai_model, *s.model_prices])
    return UsageTracker(
        UsageLedger(engine),
        limits=limits,
        periods=Periods.named(s.usage_timezone),
        prices=PriceTable(s.model_prices),
        metrics=token_metrics,
        now=now,
        reserve=s.max_output_tokens or s.usage_reserve_tokens,  # what one request may return
        # A hold is renewed at every round; a crashed process's holds stop counting after this.
        hold_for=s.turn_deadline + 60.0,
    )
