"""Admission: at most `limit` answers stream at once; the rest wait their turn (FIFO).

Past the cap, more streams only make every answer slower: one event loop runs them all, and
when it is saturated even Slack's acks and database checkouts wait (2,000 answers at once
without a cap: 14 % failed on pool timeouts; bench/FINDINGS.md). Waiting answers keep their
placeholder.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot import texts
from bot.errors import ShuttingDown

logger = logging.getLogger(__name__)


class Slot:
    """One answer's streaming slot, which it can lend back while it waits for a person."""

    def __init__(self, admission: Admission) -> None:
        self.admission = admission
        self.held = True

    @asynccontextmanager
    async def lent(self) -> AsyncIterator[None]:
        """Give the slot back meanwhile; queue for one again (FIFO) once the wait is over.

        A wait that ends by an exception (a shutdown) does not queue again: the answer ends.
        """
        slots = self.admission._slots
        if slots is None or not self.held:
            yield
            return
        slots.release()
        self.held = False
        yield
        await self.admission._acquire()
        self.held = True


class Admission:
    """Streaming slots for answers (MAX_CONCURRENT_ANSWERS; 0 or less: no cap)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.closing = False  # set when shutdown begins: answers still waiting end
        self.waiting = 0  # answers queued for a slot right now
        self._slots = asyncio.Semaphore(limit) if limit > 0 else None

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[Slot]:
        """Hold one slot while the answer streams; raise ShuttingDown if closing meanwhile."""
        held = Slot(self)
        if self._slots is None:
            yield held
            return
        await self._acquire()
        try:
            if self.closing:  # a slot freed during shutdown: do not start a new stream
                raise ShuttingDown(texts.NOT_ANSWERED)
            yield held
        finally:
            if held.held:  # not when lent and the wait ended by an exception
                self._slots.release()

    async def _acquire(self) -> None:
        assert self._slots is not None
        if self._slots.locked():
            logger.info("%d answers streaming; this one waits for a slot", self.limit)
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
