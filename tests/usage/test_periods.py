"""Usage days and months in a time zone: starts, resets, and daylight saving time."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.usage.periods import Periods


def test_day_and_month_in_utc() -> None:
    p = Periods.named("UTC")
    now = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    assert p.day_start(now) == datetime(2026, 12, 31, tzinfo=UTC)
    assert p.next_day(now).astimezone(UTC) == datetime(2027, 1, 1, tzinfo=UTC)
    assert p.month_start(now) == datetime(2026, 12, 1, tzinfo=UTC)
    assert p.next_month(now).astimezone(UTC) == datetime(2027, 1, 1, tzinfo=UTC)


def test_a_berlin_day_that_is_23_hours_long() -> None:
    p = Periods.named("Europe/Berlin")
    now = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)  # clocks went forward at 02:00 CET
    assert p.day_start(now) == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert p.next_day(now).astimezone(UTC) == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    assert p.next_day(now).tzname() == "CEST"


def test_the_local_month_begins_before_the_utc_one() -> None:
    p = Periods.named("Europe/Berlin")
    now = datetime(2026, 10, 31, 23, 30, tzinfo=UTC)  # already 1 November in Berlin
    assert p.month_start(now) == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
    assert p.next_month(now).astimezone(UTC) == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
