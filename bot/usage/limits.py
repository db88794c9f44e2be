"""Token limits per user and channel a day, and per workspace a month, checked in the database.

The check sums the stored records before the model is asked, so every replica sees the same
totals. Answers already streaming when a limit is reached still finish and are counted: a
limit can be overshot by the answers in flight at that moment, never by later ones.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from bot import texts
from bot.db.models import UsageRecord
from bot.usage.periods import Periods
from bot.usage.record import UsageLedger


@dataclass(frozen=True, slots=True)
class Limits:
    """The configured limits (None: no limit) and who is exempt."""

    user_daily: int | None = None
    channel_daily: int | None = None
    team_monthly: int | None = None
    exempt_admins: bool = False

    def __bool__(self) -> bool:
        return any((self.user_daily, self.channel_daily, self.team_monthly))


@dataclass(frozen=True, slots=True)
class Reached:
    """A limit that is used up: which, how much, and when it resets."""

    scope: str  # user | channel | team
    limit: int
    used: int
    resets: datetime  # in the usage time zone

    def sentence(self) -> str:
        """Return the one sentence the asker sees instead of an answer."""
        return texts.usage_limit_reached(self.scope, self.limit, self.resets)


class LimitCheck:
    """Tell whether a question may be answered under the configured limits."""

    def __init__(self, ledger: UsageLedger, limits: Limits, periods: Periods) -> None:
        self.ledger = ledger
        self.limits = limits
        self.periods = periods

    async def reached(
        self,
        team_id: str,
        channel_id: str,
        user_id: str,
        now: datetime,
        is_admin: Callable[[str], Awaitable[bool]] | None = None,
    ) -> Reached | None:
        """Return the first limit the asker is over (user, channel, workspace), or None."""
        limits = self.limits
        if not limits:
            return None
        day, month = self.periods.day_start(now), self.periods.month_start(now)
        r = UsageRecord
        wanted = {
            "user": (limits.user_daily, r.user_id == user_id, day, self.periods.next_day(now)),
            "channel": (
                limits.channel_daily,
                r.channel_id == channel_id,
                day,
                self.periods.next_day(now),
            ),
            "team": (
                limits.team_monthly,
                r.team_id == team_id,
                month,
                self.periods.next_month(now),
            ),
        }
        checks = {name: (where, since) for name, (cap, where, since, _) in wanted.items() if cap}
        used = await self.ledger.spent(team_id, checks)
        for name, (cap, _, _, resets) in wanted.items():
            if cap and used.get(name, 0) >= cap:
                if limits.exempt_admins and is_admin is not None and await is_admin(user_id):
                    return None
                return Reached(name, cap, used[name], resets)
        return None
