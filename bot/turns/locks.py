"""Per-thread ordering across replicas: a Redis queue and lock with a lease.

Turns of one thread wait in a sorted set ordered by their Slack message ts, so follow-ups
are answered in the order they were written even when they reach different replicas. The
head of the queue takes the lock (`SET NX PX`); a heartbeat extends the lease while the turn
runs, and a waiter whose heartbeat stopped (its replica died) is dropped from the queue, so
a crash delays a thread by at most one lease. When Redis fails, the turn proceeds under
the in-process lock rather than not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from redis.exceptions import RedisError

from bot.db.records import ThreadKey

logger = logging.getLogger(__name__)

# Extend the lease only while we still hold it; delete only our own lock.
EXTEND = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)


class LocalThreadLocks:
    """One FIFO asyncio lock per thread, dropped when nobody uses it."""

    def __init__(self) -> None:
        self._locks: dict[ThreadKey, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: ThreadKey, order: str = "") -> AsyncIterator[None]:
        """Hold the thread's lock (arrival order)."""
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class RedisThreadLocks:
    """Thread locks shared by every replica through Redis."""

    def __init__(self, redis: Any, prefix: str, *, lease: float = 15.0, poll: float = 0.05) -> None:
        self.redis = redis
        self.prefix = prefix
        self.lease_ms = int(lease * 1000)
        self.poll = poll
        self.fallback = LocalThreadLocks()

    @contextlib.asynccontextmanager
    async def hold(self, key: ThreadKey, order: str = "") -> AsyncIterator[None]:
        """Wait for this thread's turn (by message ts) across replicas, then hold it."""
        base = f"{self.prefix}thread:{key.team_id}:{key.channel_id}:{key.thread_ts}"
        me = f"{order}:{uuid.uuid4().hex}"
        held = asyncio.Event()
        beating = asyncio.create_task(self._beat(base, me, held))
        try:
            try:
                await self._acquire(base, me)
            except RedisError as exc:
                logger.warning("redis lock unavailable (%s); using the local lock", exc)
                beating.cancel()
                async with self.fallback.hold(key, order):
                    yield
                return
            held.set()
            yield
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
            await asyncio.shield(self._cleanup(base, me))

    async def _acquire(self, base: str, me: str) -> None:
        r, queue = self.redis, f"{base}:queue"
        await r.set(f"{base}:live:{me}", 1, px=self.lease_ms)
        await r.zadd(queue, {me: 0})
        await r.pexpire(queue, self.lease_ms * 40)
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
