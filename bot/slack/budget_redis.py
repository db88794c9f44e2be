"""The edit budget shared by every replica: each workspace's Slack limits hold across processes.

`SharedEditBudget` keeps the in-process `EditBudget` (fair turns among this replica's
replies, finals first) and adds a second token bucket per (team, method) in Redis, taken
after the local grant, so N replicas together stay within one workspace's budget. A 429
pause seen by one replica is written to Redis and pauses the others too. If Redis fails,
a reply goes on under the local budget alone (Slack's 429s still protect the workspace).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from redis.exceptions import RedisError

from bot.clock import Clock
from bot.slack.budget import EditBudget, Lease, Limit

logger = logging.getLogger(__name__)

# KEYS: bucket, pause, finals waiting. ARGV: tokens/second, burst, pause ms seen locally,
# 1 for a final edit. Returns 0 when a token was taken, else milliseconds to wait. Redis TIME
# is the one clock. While a final edit waits (on any replica), intermediate ones let it go first.
TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate, burst, seen = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if ARGV[4] == '0' and tonumber(redis.call('get', KEYS[3]) or '0') > 0 then
  return math.ceil(1000 / rate)
end
local pause = redis.call('pttl', KEYS[2])
if seen > 0 and seen > pause then
  redis.call('set', KEYS[2], 1, 'PX', seen)
  pause = seen
end
if pause > 0 then
  redis.call('hset', KEYS[1], 'tokens', 0, 'stamp', now + pause)
  redis.call('pexpire', KEYS[1], 600000)
  return pause
end
local b = redis.call('hmget', KEYS[1], 'tokens', 'stamp')
local tokens, stamp = tonumber(b[1]), tonumber(b[2])
if tokens == nil then tokens, stamp = burst, now end
if now > stamp then
  tokens = math.min(burst, tokens + (now - stamp) * rate / 1000)
  stamp = now
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate) + math.max(0, stamp - now)
end
redis.call('hset', KEYS[1], 'tokens', tostring(tokens), 'stamp', stamp)
redis.call('pexpire', KEYS[1], 600000)
return wait
"""


# KEYS: finals waiting. ARGV: +1 or -1. The count expires if a replica dies while waiting.
FINALS = """
local n = redis.call('incrby', KEYS[1], ARGV[1])
if n <= 0 then redis.call('del', KEYS[1]) else redis.call('pexpire', KEYS[1], 10000) end
return n
"""

# KEYS: pause. ARGV: pause ms seen locally; extend the shared pause, never shorten it.
PAUSE = "if tonumber(ARGV[1]) > redis.call('pttl', KEYS[1]) then redis.call('set', KEYS[1], 1, 'PX', ARGV[1]) end return 0"


class SharedLease(Lease):
    """A reply's lease: its local turn first, then a token from the shared bucket."""

    __slots__ = ("_inner", "_method", "_shared", "_team")

    def __init__(self, shared: SharedEditBudget, inner: Lease, team_id: str, method: str) -> None:
        super().__init__(shared, None)
        self._shared, self._inner, self._team, self._method = shared, inner, team_id, method

    async def acquire(self, *, final: bool = False) -> None:
        """Wait for this reply's local share, then for the workspace's shared token."""
        await self._shared.share_pause(self._team, self._method)
        await self._inner.acquire(final=final)
        self.final = self._inner.final
        await self._shared.take(self._team, self._method, final=self.final)

    def promote(self) -> None:
        """Make this reply's requests final."""
        self._inner.promote()
        self.final = True

    def close(self) -> None:
        """Leave the budget."""
        self._inner.close()


class SharedEditBudget(EditBudget):
    """An `EditBudget` whose limits also hold across replicas, through Redis."""

    def __init__(
        self,
        limits: Mapping[str, Limit],
        *,
        redis: Any,
        prefix: str,
        clock: Clock | None = None,
        paused_for: Callable[[str, str], float] | None = None,
    ) -> None:
        super().__init__(limits, clock=clock, paused_for=paused_for)
        self.redis = redis
        self.prefix = prefix
        self._serial: dict[tuple[str, str], asyncio.Lock] = {}
        self._shared_closed = False

    def lease(self, team_id: str, method: str, owner: str = "") -> Lease:
        """Register `owner`'s reply; budgeted methods also draw on the shared bucket."""
        inner = super().lease(team_id, method, owner)
        if method not in self.limits:
            return inner
        return SharedLease(self, inner, team_id, method)

    async def share_pause(self, team_id: str, method: str) -> None:
        """Tell the other replicas about a 429 pause this replica is in."""
        seen = int(self.paused_for(team_id, method) * 1000)
        if seen <= 0:
            return
        try:
            await self.redis.eval(PAUSE, 1, f"{self.prefix}pause:{team_id}:{method}", seen)
        except RedisError as exc:
            logger.warning("could not share a 429 pause (%s)", exc)

    async def take(self, team_id: str, method: str, *, final: bool = False) -> None:
        """Take one token of (team, method) from Redis, waiting in turn for it.

        Intermediate edits queue for Redis one at a time, in order. A final edit does not
        queue behind them (it won its local turn as a final already): it asks Redis
        directly, and while it waits every replica's intermediate edits hold back.
        """
        if not final:
            serial = self._serial.setdefault((team_id, method), asyncio.Lock())
            async with serial:  # this replica's replies ask Redis one at a time, in order
                await self._take(team_id, method, final=False)
            return
        finals = f"{self.prefix}finals:{team_id}:{method}"
        try:
            await self.redis.eval(FINALS, 1, finals, 1)
        except RedisError as exc:
            logger.warning("shared edit budget unavailable (%s); pacing locally", exc)
            return
        try:
            await self._take(team_id, method, final=True)
        finally:
            try:
                await self.redis.eval(FINALS, 1, finals, -1)
            except RedisError as exc:  # the count expires on its own
                logger.warning("could not clear a final edit's place (%s)", exc)

    async def _take(self, team_id: str, method: str, *, final: bool) -> None:
        limit = self.limits[method]
        keys = (
            f"{self.prefix}budget:{team_id}:{method}",
            f"{self.prefix}pause:{team_id}:{method}",
            f"{self.prefix}finals:{team_id}:{method}",
        )
        while not self._shared_closed:
            seen = int(self.paused_for(team_id, method) * 1000)
            try:
                wait_ms = int(
                    await self.redis.eval(TAKE, 3, *keys, limit.rate, limit.burst, seen, int(final))
                )
            except RedisError as exc:
                logger.warning("shared edit budget unavailable (%s); pacing locally", exc)
                return
            if wait_ms <= 0:
                return
            await self.clock.sleep(wait_ms / 1000)

    async def close(self) -> None:
        """Stop pacing (shutdown): waiting and later requests go through at once."""
        self._shared_closed = True
        await super().close()
