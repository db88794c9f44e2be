"""Token limits per user and channel a day, and per workspace a month, checked in the database.

A limit counts the stored records plus the answers in flight (their reservations,
`bot.usage.reservations`), so every replica sees the same totals. A question is admitted
while its estimate fits under every limit that applies; near a limit (the estimate no longer
fits, something is left) an answer is admitted only when none is in flight for that limit,
so at most one answer runs past it. Between tool rounds the limit is checked again: an answer
stops once the limit is used up, so the overshoot is bounded by one round of one answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from bot import texts
from bot.usage.periods import Periods
from bot.usage.reservations import Hold, Reservations, Scope, Tally, Verdict


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


def refusal(scopes: list[Scope], *, estimate: int) -> Verdict:
    """Return the verdict on a request of `estimate` tokens, for a new answer or a next round.

    For a next round the tallies count its own spending and only the answers admitted
    before it, so near a limit the oldest answer goes on and the younger ones stop.
    """

    def verdict(tallies: dict[str, Tally]) -> str | None:
        for scope in scopes:
            tally = tallies[scope.name]
            if tally.total >= scope.cap:
                return scope.name
            if tally.total + estimate > scope.cap and tally.answers:
                return scope.name  # near the limit: one answer at a time
        return None

    return verdict


class LimitCheck:
    """Admit questions under the configured limits, and check answers between rounds."""

    def __init__(self, book: Reservations, limits: Limits, periods: Periods) -> None:
        self.book = book
        self.limits = limits
        self.periods = periods

    def scopes(self, hold: Hold, now: datetime) -> list[Scope]:
        """Return the limits that apply to an answer for `hold`'s asker and channel."""
        limits, p = self.limits, self.periods
        wanted = [
            ("user", limits.user_daily, "user_id", hold.user_id, p.day_start, p.next_day),
            (
                "channel",
                limits.channel_daily,
                "channel_id",
                hold.channel_id,
                p.day_start,
                p.next_day,
            ),
            ("team", limits.team_monthly, "team_id", hold.team_id, p.month_start, p.next_month),
        ]
        return [
            Scope(name, cap, column, value, start(now), resets(now))
            for name, cap, column, value, start, resets in wanted
            if cap
        ]

    async def admit(
        self,
        hold: Hold,
        now: datetime,
        *,
        estimate: int,
        expires: datetime,
        is_admin: Callable[[str], Awaitable[bool]] | None = None,
    ) -> Reached | None:
        """Reserve `estimate` for a new answer, or return the limit that refuses it."""
        scopes = self.scopes(hold, now)
        verdict = refusal(scopes, estimate=estimate)
        refused, tallies = await self.book.admit(
            hold, scopes, verdict, estimate=estimate, now=now, expires=expires
        )
        if refused is None:
            return None
        if self.limits.exempt_admins and is_admin is not None and await is_admin(hold.user_id):
            await self.book.force(hold, estimate=estimate, now=now, expires=expires)
            hold.exempt = True
            return None
        return _reached(scopes, refused, tallies)

    async def next_round(
        self, hold: Hold, now: datetime, *, spent: int, estimate: int, expires: datetime
    ) -> Reached | None:
        """Settle what the answer spent; return the limit that stops it before its next round."""
        scopes = self.scopes(hold, now)
        refused = await self.book.settle(
            hold,
            scopes,
            None if hold.exempt else refusal(scopes, estimate=estimate),
            spent=spent,
            estimate=estimate,
            now=now,
            expires=expires,
        )
        return None if refused is None else _reached(scopes, refused, {})


def _reached(scopes: list[Scope], name: str, tallies: dict[str, Tally]) -> Reached:
    scope = next(s for s in scopes if s.name == name)
    used = tallies[name].total if name in tallies else scope.cap
    return Reached(name, scope.cap, used, scope.resets)
