"""The user's own figures as one short text, for the App Home (or anywhere else)."""

from __future__ import annotations

from bot import texts
from bot.usage.report import UsageReport
from bot.usage.tracker import UsageTracker


class UsageSummary:
    """`await summary(team_id, user_id)` returns e.g. "Today: 1,234 tokens in 2 answers"."""

    def __init__(self, tracker: UsageTracker) -> None:
        self.report = UsageReport(tracker)

    async def __call__(self, team_id: str, user_id: str) -> str:
        today, month = await self.report.mine(team_id, user_id)
        return f"{texts.USAGE_TODAY}: {today.text()}\n{texts.USAGE_MONTH}: {month.text()}"
