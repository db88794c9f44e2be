"""A virtual clock: sleepers wake only when the test advances time, so tests never sleep."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

T = TypeVar("T")


class FakeClock:
    """Virtual monotonic time with sleepers woken by `advance`."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.t + seconds, next(self._seq), future))
        await future

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking every sleeper whose deadline passed, in order."""
        target = self.t + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, future = heapq.heappop(self._sleepers)
            self.t = max(self.t, deadline)
            if not future.done():
                future.set_result(None)
            for _ in range(5):
                await asyncio.sleep(0)
        self.t = target
        for _ in range(5):
            await asyncio.sleep(0)

    async def run(self, awaitable: Awaitable[T], step: float = 0.05, limit: float = 3600) -> T:
        """Await `awaitable` while advancing time in steps (for code that sleeps on us)."""
        task = asyncio.ensure_future(awaitable)
        spent = 0.0
        while not task.done():
            await self.advance(step)
            spent += step
            if spent > limit:
                task.cancel()
                raise AssertionError("virtual time limit reached")
        return task.result()


class FakeWallClock:
    """Settable wall-clock time (UTC): call it for `datetime`, move it with `advance`."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        """Move time forward by `timedelta(**delta)`."""
        self.current += timedelta(**delta)
