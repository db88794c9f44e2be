"""The `/llm-usage` text: the asker's day and month; for admins, the top users and channels."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot import texts
from bot.db.models import UsageRecord
from bot.usage.prices import PriceTable
from bot.usage.record import Total
from bot.usage.tracker import UsageTracker

TOP = 5


@dataclass(slots=True)
class Figure:
    """Usage summed over models: tokens, answers and money (None: some model has no price)."""

    key: str = ""
    tokens: int = 0
    answers: int = 0
    cost: float | None = 0.0
    priced: bool = False  # at least one model had a price
    estimated: bool = False

    def text(self) -> str:
        money = ""
        if self.priced:  # some model has a price: show money, or say what is missing
            if self.cost is None:
                money = texts.USAGE_COST_UNKNOWN
            else:
                money = f"${self.cost:,.2f}" if self.cost >= 1 else f"${self.cost:.4f}"
        return texts.usage_figure(self.tokens, self.answers, money, estimated=self.estimated)


def combine(rows: Iterable[Total], prices: PriceTable) -> list[Figure]:
    """Sum per-model rows into one figure per key, largest first."""
    figures: dict[str, Figure] = {}
    for row in rows:
        figure = figures.setdefault(row.key, Figure(key=row.key))
        figure.tokens += row.total
        figure.answers += row.answers
        figure.estimated |= row.estimated
        cost = prices.cost(row.model, row.prompt, row.completion, row.cached)
        if cost is None:
            figure.cost = None
        else:
            figure.priced = True
            if figure.cost is not None:
                figure.cost += cost
    return sorted(figures.values(), key=lambda f: (-f.tokens, f.key))


def _one(rows: Iterable[Total], prices: PriceTable) -> Figure:
    figures = combine(rows, prices)
    return figures[0] if figures else Figure()


class UsageReport:
    """Read the ledger and write the figures people see."""

    def __init__(self, tracker: UsageTracker) -> None:
        self.tracker = tracker

    async def mine(self, team_id: str, user_id: str) -> tuple[Figure, Figure]:
        """Return the user's figures for today and this month."""
        t = self.tracker
        now = t.now()
        ledger, prices = t.ledger, t.prices
        today = await ledger.totals(team_id, t.periods.day_start(now), user_id=user_id)
        month = await ledger.totals(team_id, t.periods.month_start(now), user_id=user_id)
        return _one(today, prices), _one(month, prices)

    async def for_user(self, team_id: str, channel_id: str, user_id: str) -> str:
        """Return the asker's own usage, with the limits that apply to them."""
        t = self.tracker
        now = t.now()
        today, month = await self.mine(team_id, user_id)
        lines = [
            texts.USAGE_TITLE,
            f"• {texts.USAGE_TODAY}: {today.text()}",
            f"• {texts.USAGE_MONTH}: {month.text()}",
        ]
        limits = t.limits
        if limits.user_daily:
            lines.append(
                "• "
                + texts.usage_limit_line(
                    texts.USAGE_LIMIT_LABEL["user"],
                    today.tokens,
                    limits.user_daily,
                    t.periods.next_day(now),
                )
            )
        if limits.channel_daily:
            here = UsageRecord.channel_id == channel_id
            spent = await t.ledger.spent(team_id, {"channel": (here, t.periods.day_start(now))})
            lines.append(
                "• "
                + texts.usage_limit_line(
                    texts.USAGE_LIMIT_LABEL["channel"],
                    spent["channel"],
                    limits.channel_daily,
                    t.periods.next_day(now),
                )
            )
        return "\n".join(lines)

    async def for_admin(self, team_id: str) -> str:
        """Return the workspace's month: its total, top users and top channels."""
        t = self.tracker
        now = t.now()
        since = t.periods.month_start(now)
        team = _one(await t.ledger.totals(team_id, since), t.prices)
        lines = [texts.USAGE_TEAM_TITLE, f"• {team.text()}"]
        if t.limits.team_monthly:
            lines.append(
                "• "
                + texts.usage_limit_line(
                    texts.USAGE_LIMIT_LABEL["team"],
                    team.tokens,
                    t.limits.team_monthly,
                    t.periods.next_month(now),
                )
            )
        for title, column, mention in (
            (texts.USAGE_TOP_USERS, "user_id", "<@{}>"),
            (texts.USAGE_TOP_CHANNELS, "channel_id", "<#{}>"),
        ):
            top = combine(await t.ledger.totals(team_id, since, by=column), t.prices)[:TOP]
            if not top:
                continue
            lines.append(title)
            lines += [
                f"{n}. {mention.format(f.key)}: {f.text()}" for n, f in enumerate(top, start=1)
            ]
        return "\n".join(lines)
