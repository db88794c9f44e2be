"""One edit budget per workspace and method, shared fairly by the people whose replies stream.

Slack rate-limits `chat.update` (and `chat.appendStream`) per method per workspace, not per
message, so every reply asks the budget before each edit. A token bucket per (team, method)
sets the pace; waiting replies are served person by person in turn (the asker least recently
served goes first), then each person's replies in arrival order, and since a reply asks again
only after its edit went out, both are a round robin: with P people waiting each gets 1/P of
the budget, however many replies each of them has, so one person's burst costs that person. A reply never
queues edits: it waits with at most one request and sends its newest text once served.
Final edits go first, then a reply's first edit (the one that replaces its placeholder),
then the others; and while several replies stream, those other edits leave up to half the
burst in the bucket, so an answer's first and last edits do not wait behind the others'
progress. A 429 pause recorded by `SlackWriter` empties the bucket for the whole
workspace and method until the pause ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from bot.clock import Clock, SystemClock

logger = logging.getLogger(__name__)

EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class Limit:
    """A token bucket: `per_minute` steady rate, up to `burst` calls at once."""

    per_minute: float
    burst: int

    @property
    def rate(self) -> float:
        """Return tokens per second."""
        return self.per_minute / 60.0


@dataclass(slots=True)
class BucketStats:
    """What one (team, method) budget did, for metrics and the benchmark."""

    granted: int = 0
    granted_final: int = 0
    waited: float = 0.0  # total seconds replies spent waiting for a token
    max_wait: float = 0.0
    paused: int = 0  # times a 429 pause emptied the bucket
    active: int = 0  # replies registered now
    waiting: int = 0  # replies waiting for a token now


@dataclass(eq=False, slots=True)
class _Bucket:
    team_id: str
    method: str
    limit: Limit
    tokens: float
    stamp: float
    leases: set[Lease] = field(default_factory=set)
    queue: list[Lease] = field(default_factory=list)
    served: dict[str, int] = field(default_factory=dict)  # asker -> grant number last served
    grants: int = 0
    task: asyncio.Task[None] | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    stats: BucketStats = field(default_factory=BucketStats)
    in_pause: bool = False


class Lease:
    """One reply's place in a workspace budget, with at most one request waiting."""

    __slots__ = (
        "_asked_at",
        "_bucket",
        "_budget",
        "_future",
        "_promoted",
        "final",
        "granted",
        "owner",
    )

    def __init__(self, budget: EditBudget, bucket: _Bucket | None, owner: str = "") -> None:
        self._budget = budget
        self._bucket = bucket
        self.owner = owner  # the asker whose reply this is
        self._future: asyncio.Future[None] | None = None
        self._asked_at = 0.0
        self._promoted = False
        self.final = False  # the priority of the request waiting now
        self.granted = 0  # calls this reply made

    async def acquire(self, *, final: bool = False) -> None:
        """Wait until this reply may make one call; final calls go first."""
        bucket = self._bucket
        if bucket is None:
            return
        self.final = final or self._promoted
        budget = self._budget
        self._asked_at = budget.clock.now()
        rank = self.rank
        ahead = any(w.rank <= rank for w in bucket.queue)
        if budget._closed or (not ahead and budget._wait(bucket, budget._need(bucket, self)) <= 0):
            budget._grant(bucket, self)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._future = future
        bucket.queue.append(self)
        if rank < 2:
            bucket.wake.set()
        budget._kick(bucket)
        try:
            await future
        finally:
            if not future.done() and self in bucket.queue:
                bucket.queue.remove(self)
            self._future = None

    @property
    def rank(self) -> int:
        """Return this request's priority: 0 final, 1 a reply's first call, 2 the others."""
        return 0 if self.final else 1 if self.granted == 0 else 2

    def promote(self) -> None:
        """Make this reply's waiting request, and every later one, final."""
        self._promoted = self.final = True
        if self._bucket is not None and self in self._bucket.queue:
            self._bucket.wake.set()

    def close(self) -> None:
        """Leave the budget: the reply finished or was aborted."""
        bucket, self._bucket = self._bucket, None
        if bucket is None:
            return
        bucket.leases.discard(self)
        if self in bucket.queue:
            bucket.queue.remove(self)
        if self._future is not None and not self._future.done():
            self._future.cancel()


class EditBudget:
    """Hand out Slack write calls per (team, method) from a token bucket, fairly."""

    def __init__(
        self,
        limits: Mapping[str, Limit],
        *,
        clock: Clock | None = None,
        paused_for: Callable[[str, str], float] | None = None,
    ) -> None:
        self.limits = dict(limits)
        self.clock = clock or SystemClock()
        self.paused_for = paused_for or (lambda team_id, method: 0.0)
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._closed = False

    def lease(self, team_id: str, method: str, owner: str = "") -> Lease:
        """Register `owner`'s reply that will call `method` in `team_id`; close it when done."""
        limit = self.limits.get(method)
        if limit is None or self._closed:
            return Lease(self, None)  # an unbudgeted method: every acquire passes at once
        key = (team_id, method)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(team_id, method, limit, float(limit.burst), self.clock.now())
            self._buckets[key] = bucket
        lease = Lease(self, bucket, owner)
        bucket.leases.add(lease)
        return lease

    def stats(self) -> dict[tuple[str, str], BucketStats]:
        """Return a snapshot of every (team, method) budget's counters."""
        return {
            key: replace(bucket.stats, active=len(bucket.leases), waiting=len(bucket.queue))
            for key, bucket in self._buckets.items()
        }

    async def close(self) -> None:
        """Stop pacing: waiting and later requests go through at once (used at shutdown)."""
        self._closed = True
        tasks = [b.task for b in self._buckets.values() if b.task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for bucket in self._buckets.values():
            while bucket.queue:
                self._grant(bucket, bucket.queue.pop(0))

    def _kick(self, bucket: _Bucket) -> None:
        if bucket.task is None:
            name = f"budget-{bucket.team_id}-{bucket.method}"
            bucket.task = asyncio.create_task(self._dispatch(bucket), name=name)

    async def _dispatch(self, bucket: _Bucket) -> None:
        """Grant waiting requests as tokens become available: finals first, then in turn."""
        try:
            while bucket.queue:
                lease = _next_in_turn(bucket)
                wait = self._wait(bucket, self._need(bucket, lease))
                if wait > 0:
                    await self._sleep(bucket, wait)
                    continue
                bucket.queue.remove(lease)
                self._grant(bucket, lease)
        finally:
            bucket.task = None

    async def _sleep(self, bucket: _Bucket, seconds: float) -> None:
        """Sleep until a token is due, or until a final or first request arrives."""
        bucket.wake.clear()
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        waker = asyncio.ensure_future(bucket.wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()

    @staticmethod
    def _need(bucket: _Bucket, lease: Lease) -> float:
        """Return the tokens the bucket must hold to grant `lease` (the reserve is for ranks 0-1)."""
        if lease.rank < 2:
            return 1.0
        return 1.0 + min(bucket.limit.burst // 2, max(0, len(bucket.leases) - 1))

    def _grant(self, bucket: _Bucket, lease: Lease) -> None:
        bucket.tokens -= 1.0
        bucket.grants += 1
        bucket.served[lease.owner] = bucket.grants
        if len(bucket.served) > 2 * len(bucket.leases) + 64:  # forget people gone quiet
            present = {w.owner for w in bucket.leases}
            bucket.served = {k: v for k, v in bucket.served.items() if k in present}
        lease.granted += 1
        stats = bucket.stats
        stats.granted += 1
        stats.granted_final += lease.final
        waited = self.clock.now() - lease._asked_at
        stats.waited += waited
        stats.max_wait = max(stats.max_wait, waited)
        if lease._future is not None and not lease._future.done():
            lease._future.set_result(None)

    def _wait(self, bucket: _Bucket, need: float = 1.0) -> float:
        """Refill `bucket`; return how long until it holds `need` tokens (0: it does now)."""
        now = self.clock.now()
        pause = self.paused_for(bucket.team_id, bucket.method)
        if pause > 0:
            if not bucket.in_pause:
                bucket.in_pause = True
                bucket.stats.paused += 1
                logger.info(
                    "edit budget %s/%s paused %.1fs by a 429", bucket.team_id, bucket.method, pause
                )
            # Slack said stop: start again from an empty bucket once the pause is over.
            bucket.tokens, bucket.stamp = 0.0, max(bucket.stamp, now + pause)
            return pause
        bucket.in_pause = False
        if now > bucket.stamp:
            limit = bucket.limit
            bucket.tokens = min(limit.burst, bucket.tokens + (now - bucket.stamp) * limit.rate)
            bucket.stamp = now
        if bucket.tokens >= need - EPSILON:
            return 0.0
        if bucket.limit.rate <= 0:
            return 60.0
        return (need - bucket.tokens) / bucket.limit.rate + max(0.0, bucket.stamp - now)


def _next_in_turn(bucket: _Bucket) -> Lease:
    """Return the request to grant next: best rank, then the person served longest ago, FIFO."""
    rank = min(w.rank for w in bucket.queue)
    best = [w for w in bucket.queue if w.rank == rank]
    return min(best, key=lambda w: bucket.served.get(w.owner, 0))  # min keeps queue order
