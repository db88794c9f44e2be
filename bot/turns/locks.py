"""Per-thread ordering across replicas: a Redis queue and lock with a lease.

Turns of one thread wait in a sorted set ordered by their Slack message ts, so follow-ups
are answered in the order they were written even when they reach different replicas: a
follow-up stays queued for a reorder window first, which lets an earlier message whose
event arrives up to that much later (on any replica) join the queue ahead of it. The
head of the queue takes the lock (`SET NX PX`); a heartbeat extends the lease while the turn
runs, and a waiter whose heartbeat stopped (its replica died) is dropped from the queue, so
a crash delays a thread by at most one lease. When Redis fails, the turn proceeds under
the in-process lock rather than not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import RedisError

from bot.db.records import ThreadKey

logger = logging.getLogger(__name__)

# Extend the lease only while we still hold it; delete only our own lock.
EXTEND = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)


@dataclass
class _Line:
    """The turns of one thread in this process: who waits (by order) and whether one runs."""

    waiting: list[tuple[str, int]] = field(default_factory=list)  # a heap
    held: bool = False
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


class LocalThreadLocks:
    """One lock per thread in this process, taken in message order; dropped when unused."""

    def __init__(self) -> None:
        self._lines: dict[ThreadKey, _Line] = {}
        self._arrivals = itertools.count()

    @contextlib.asynccontextmanager
    async def hold(
        self, key: ThreadKey, order: str = "", window: float = 0.0
    ) -> AsyncIterator[None]:
        """Hold the thread's lock: lowest `order` (message ts) first, then arrival order.

        `window`: seconds to wait first, so that an earlier message whose event arrives a
        little later still goes first.
        """
        line = self._lines.setdefault(key, _Line())
        me = (order, next(self._arrivals))
        heapq.heappush(line.waiting, me)
        try:
            if window:
                await asyncio.sleep(window)
            async with line.changed:
                await line.changed.wait_for(lambda: not line.held and line.waiting[0] == me)
                heapq.heappop(line.waiting)
                line.held = True
            try:
                yield
            finally:
                line.held = False
        finally:
            if me in line.waiting:  # cancelled while waiting
                line.waiting.remove(me)
                heapq.heapify(line.waiting)
            if not line.waiting and not line.held:
                self._lines.pop(key, None)
            else:
                async with line.changed:
                    line.changed.notify_all()


class RedisThreadLocks:
    """Thread locks shared by every replica through Redis."""

    def __init__(self, redis: Any, prefix: str, *, lease: float = 15.0, poll: float = 0.05) -> None:
        self.redis = redis
        self.prefix = prefix
        self.lease_ms = int(lease * 1000)
        self.poll = poll
        self.fallback = LocalThreadLocks()

    @contextlib.asynccontextmanager
    async def hold(
        self, key: ThreadKey, order: str = "", window: float = 0.0
    ) -> AsyncIterator[None]:
        """Wait for this thread's turn (by message ts) across replicas, then hold it.

        `window`: seconds to stay queued before taking the lock even when the thread is
        free, so that an earlier message whose event reaches another replica a little later
        joins the queue and goes first (docs/reliability.md, "Order in a thread").
        """
        base = f"{self.prefix}thread:{key.team_id}:{key.channel_id}:{key.thread_ts}"
        me = f"{order}:{uuid.uuid4().hex}"
        held = asyncio.Event()
        beating = asyncio.create_task(self._beat(base, me, held))
        try:
            try:
                await self._acquire(base, me, window)
            except RedisError as exc:
                logger.warning("redis lock unavailable (%s); using the local lock", exc)
                beating.cancel()
                async with self.fallback.hold(key, order, window):
                    yield
                return
            held.set()
            yield
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
            await asyncio.shield(self._cleanup(base, me))

    async def _acquire(self, base: str, me: str, window: float) -> None:
        r, queue = self.redis, f"{base}:queue"
        await r.set(f"{base}:live:{me}", 1, px=self.lease_ms)
        await r.zadd(queue, {me: 0})
        await r.pexpire(queue, self.lease_ms * 40)
        if window:
            await asyncio.sleep(window)
        while True:
            head = await r.zrange(queue, 0, 0)
            first = head[0].decode() if head else me
            if first != me:
                if not await r.exists(f"{base}:live:{first}"):
                    logger.info("dropping a dead waiter from the queue of %s", base)
                    await r.zrem(queue, first)
                    continue
            elif await r.set(f"{base}:lock", me, nx=True, px=self.lease_ms):
                await r.zrem(queue, me)
                await r.delete(f"{base}:live:{me}")
                return
            await asyncio.sleep(self.poll)

    async def _beat(self, base: str, me: str, held: asyncio.Event) -> None:
        """Keep our queue entry, then our lock, alive while this turn needs them."""
        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            try:
                if held.is_set():
                    if not await self.redis.eval(EXTEND, 1, f"{base}:lock", me, self.lease_ms):
                        logger.warning("lost the lock of %s (lease expired)", base)
                        return
                else:
                    await self.redis.pexpire(f"{base}:live:{me}", self.lease_ms)
            except RedisError as exc:
                logger.warning("could not extend a thread lock (%s)", exc)

    async def _cleanup(self, base: str, me: str) -> None:
        try:
            await self.redis.eval(RELEASE, 1, f"{base}:lock", me)
            await self.redis.zrem(f"{base}:queue", me)
            await self.redis.delete(f"{base}:live:{me}")
        except RedisError as exc:
            logger.warning("could not release a thread lock (%s); its lease will expire", exc)
