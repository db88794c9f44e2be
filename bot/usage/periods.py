"""Days and months in the usage time zone, as UTC instants to query and to announce resets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Periods:
    """Where today and this month begin and end in one time zone."""

    zone: ZoneInfo

    @classmethod
    def named(cls, name: str) -> Periods:
        return cls(ZoneInfo(name or "UTC"))

    def _local(self, now: datetime) -> datetime:
        return now.astimezone(self.zone)

    def day_start(self, now: datetime) -> datetime:
        """Return when today began, in UTC."""
        local = self._local(now).replace(hour=0, minute=0, second=0, microsecond=0)
        return local.astimezone(UTC)

    def next_day(self, now: datetime) -> datetime:
        """Return when tomorrow begins, in the usage time zone."""
        local = self._local(now)
        tomorrow = (local + timedelta(days=1)).date()
        return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=self.zone)

    def month_start(self, now: datetime) -> datetime:
        """Return when this month began, in UTC."""
        local = self._local(now)
        return datetime(local.year, local.month, 1, tzinfo=self.zone).astimezone(UTC)

    def next_month(self, now: datetime) -> datetime:
        """Return when next month begins, in the usage time zone."""
        local = self._local(now)
        year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        return datetime(year, month, 1, tzinfo=self.zone)

    @property
    def label(self) -> str:
        return str(self.zone.key)
