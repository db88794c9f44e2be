"""Admission: at most `limit` answers stream at once; the rest wait, served person by person.

Past the cap, more streams only make every answer slower: one event loop runs them all, and
when it is saturated even Slack's acks and database checkouts wait (2,000 answers at once
without a cap: 14 % failed on pool timeouts; bench/FINDINGS.md). Waiting answers keep their
placeholder. A freed slot goes to the person served longest ago who has an answer waiting
(round robin across people), then to that person's oldest waiting answer, so one person's
burst waits behind itself, not in front of everyone. `per_person` (off by default) also caps
how many of one person's answers stream at once.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot import texts
from bot.errors import ShuttingDown

logger = logging.getLogger(__name__)


class Slot:
    """One answer's streaming slot, which it can lend back while it waits for a person."""

    def __init__(self, admission: Admission, person: str) -> None:
        self.admission, self.person = admission, person
        self.held = True

    @asynccontextmanager
    async def lent(self) -> AsyncIterator[None]:
        """Give the slot back meanwhile; queue for one again (as a new answer) once over.

        A wait that ends by an exception (a shutdown) does not queue again: the answer ends.
        """
        admission = self.admission
        if not admission.capped or not self.held:
            yield
            return
        admission._give_back(self.person)
        self.held = False
        yield
        await admission._acquire(self.person)
        self.held = True


class Admission:
    """Streaming slots for answers (MAX_CONCURRENT_ANSWERS, MAX_CONCURRENT_ANSWERS_PER_USER)."""

    def __init__(self, limit: int, per_person: int = 0) -> None:
        self.limit = limit  # 0 or less: no cap
        self.per_person = per_person  # 0 or less: no cap
        self.closing = False  # set when shutdown begins: answers still waiting end
        self.streaming: Counter[str] = Counter()  # answers holding a slot, per person
        self._queues: dict[str, deque[asyncio.Future[None]]] = {}  # waiting, per person
        self._served: dict[str, int] = {}  # person -> turn number last served
        self._turns = itertools.count(1)

    @property
    def waiting(self) -> int:
        """Return how many answers wait for a slot now."""
        return sum(len(q) for q in self._queues.values())

    @property
    def capped(self) -> bool:
        """Tell whether answers wait for slots at all."""
        return self.limit > 0 or self.per_person > 0

    @asynccontextmanager
    async def slot(self, person: str = "") -> AsyncIterator[Slot]:
        """Hold one slot while `person`'s answer streams; raise ShuttingDown if closing meanwhile."""
        held = Slot(self, person)
        if not self.capped:
            yield held
            return
        await self._acquire(person)
        try:
            if self.closing:  # a slot freed during shutdown: do not start a new stream
                raise ShuttingDown(texts.NOT_ANSWERED)
            yield held
        finally:
            if held.held:  # not when lent and the wait ended by an exception
                self._give_back(person)

    async def _acquire(self, person: str) -> None:
        if not self._queues and self._free(person):
            self._take(person)
        else:
            await self._wait(person)

    def _free(self, person: str) -> bool:
        total = sum(self.streaming.values())
        if 0 < self.limit <= total:
            return False
        return not (0 < self.per_person <= self.streaming[person])

    def _take(self, person: str) -> None:
        self.streaming[person] += 1
        self._served[person] = next(self._turns)

    async def _wait(self, person: str) -> None:
        logger.info("%d answers streaming; this one waits for a slot", sum(self.streaming.values()))
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(person, deque()).append(future)
        self._hand_out()  # a slot may be free for this person though others wait
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._give_back(person)  # granted as it was cancelled: pass the slot on
            else:
                self._drop(person, future)
            raise

    def _drop(self, person: str, future: asyncio.Future[None]) -> None:
        queue = self._queues.get(person)
        if queue is not None and future in queue:
            queue.remove(future)
            if not queue:
                del self._queues[person]

    def _give_back(self, person: str) -> None:
        self.streaming[person] -= 1
        if self.streaming[person] <= 0:
            del self.streaming[person]
        self._hand_out()

    def _hand_out(self) -> None:
        """Grant free slots: the person served longest ago first, their oldest answer first."""
        while True:
            ready = [p for p in self._queues if self._free(p)]
            if not ready:
                return
            person = min(ready, key=lambda p: self._served.get(p, 0))
            queue = self._queues[person]
            future = queue.popleft()
            if not queue:
                del self._queues[person]
            if future.done():  # its answer was stopped while waiting
                continue
            self._take(person)
            future.set_result(None)
            if len(self._served) > 4096:  # forget people with nothing streaming or waiting
                keep = set(self.streaming) | set(self._queues)
                self._served = {p: n for p, n in self._served.items() if p in keep}
