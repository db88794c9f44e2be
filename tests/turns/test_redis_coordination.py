"""The Redis thread order and shared edit budget, with two instances standing in for replicas."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.db.records import ThreadKey
from bot.slack.budget import Limit
from bot.slack.budget_redis import SharedEditBudget
from bot.turns.locks import RedisThreadLocks

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
KEY = ThreadKey("T1", "C1", "1600000000.000001")


@pytest.fixture
async def redis() -> AsyncIterator[tuple[Any, str]]:
    """A Redis client and a key prefix of its own, cleaned up afterwards."""
    client = aioredis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception:
        await client.aclose()
        if os.environ.get("CI") or os.environ.get("REQUIRE_REDIS"):
            pytest.fail(f"Redis is required in CI but not reachable at {REDIS_URL}")
        pytest.skip("Redis is not reachable here (CI runs these)")
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    try:
        yield client, prefix
    finally:
        keys = [k async for k in client.scan_iter(f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_waiters_on_two_replicas_go_in_message_order(redis: tuple[Any, str]) -> None:
    client, prefix = redis
    one, two = RedisThreadLocks(client, prefix), RedisThreadLocks(client, prefix)
    order: list[str] = []
    release = asyncio.Event()

    async def turn(locks: RedisThreadLocks, ts: str, hold: asyncio.Event | None = None) -> None:
        async with locks.hold(KEY, ts):
            order.append(ts)
            if hold is not None:
                await hold.wait()

    first = asyncio.create_task(turn(one, "1600000000.000010", release))
    await _until(lambda: order == ["1600000000.000010"])
    later = asyncio.create_task(turn(one, "1600000000.000030"))  # arrives first...
    await _until(lambda: _queued(client, prefix, 1), sync=False)
    earlier = asyncio.create_task(turn(two, "1600000000.000020"))  # ...but was written first
    await _until(lambda: _queued(client, prefix, 2), sync=False)  # both wait, in ts order
    assert order == ["1600000000.000010"], "nobody enters while the lock is held"
    release.set()
    await asyncio.gather(first, later, earlier)
    assert order == ["1600000000.000010", "1600000000.000020", "1600000000.000030"]


async def test_a_dead_waiter_does_not_block_the_thread(redis: tuple[Any, str]) -> None:
    client, prefix = redis
    base = f"{prefix}thread:{KEY.team_id}:{KEY.channel_id}:{KEY.thread_ts}"
    # A replica queued the oldest message and died: its entry has no live key.
    await client.zadd(f"{base}:queue", {"1500000000.000001:dead": 0})
    locks = RedisThreadLocks(client, prefix)
    async with asyncio.timeout(5):
        async with locks.hold(KEY, "1600000000.000002"):
            pass
    assert await client.zcard(f"{base}:queue") == 0


async def test_lock_of_a_dead_holder_expires_with_its_lease(redis: tuple[Any, str]) -> None:
    client, prefix = redis
    base = f"{prefix}thread:{KEY.team_id}:{KEY.channel_id}:{KEY.thread_ts}"
    await client.set(f"{base}:lock", "someone-dead", px=300)
    locks = RedisThreadLocks(client, prefix)
    async with asyncio.timeout(5):
        async with locks.hold(KEY, "1600000000.000002"):
            assert (await client.get(f"{base}:lock")).decode().startswith("1600000000.000002:")


async def test_two_replicas_share_one_workspace_edit_budget(redis: tuple[Any, str]) -> None:
    client, prefix = redis
    limits = {"chat.update": Limit(per_minute=0.6, burst=3)}  # 3 now, then one per 100 s
    budgets = [SharedEditBudget(limits, redis=client, prefix=prefix) for _ in range(2)]
    leases = [b.lease("T1", "chat.update") for b in budgets]
    for lease in (leases[0], leases[1], leases[0]):
        await asyncio.wait_for(lease.acquire(), 2)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(leases[1].acquire(), 0.5)  # each local bucket still has tokens
    other_team = budgets[1].lease("T2", "chat.update")
    await asyncio.wait_for(other_team.acquire(), 2)  # another workspace has its own budget
    for budget in budgets:
        await budget.close()


async def test_a_429_on_one_replica_pauses_the_other(redis: tuple[Any, str]) -> None:
    client, prefix = redis
    limits = {"chat.update": Limit(per_minute=6000, burst=50)}
    paused = SharedEditBudget(
        limits, redis=client, prefix=prefix, paused_for=lambda team, method: 30.0
    )
    calm = SharedEditBudget(limits, redis=client, prefix=prefix)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(paused.lease("T1", "chat.update").acquire(), 0.3)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(calm.lease("T1", "chat.update").acquire(), 0.3)
    assert await client.pttl(f"{prefix}pause:T1:chat.update") > 20_000
    await paused.close()
    await calm.close()


async def _queued(client: Any, prefix: str, count: int) -> bool:
    keys = [k async for k in client.scan_iter(f"{prefix}*:queue")]
    return bool(keys) and await client.zcard(keys[0]) >= count


async def _until(predicate: Any, *, sync: bool = True, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not (predicate() if sync else await predicate()):
            await asyncio.sleep(0.01)


async def test_unreachable_redis_falls_back_to_in_process_coordination(harness: Any) -> None:
    from bot.testing.harness import text_of
    from bot.testing.openai import text_reply

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    bot = await harness.start(redis_url=dead)
    bot.llm.script(text_reply("Answered without Redis."))
    event = await bot.mention("is redis needed?")
    replies = await bot.wait_reply_done("C1", event["ts"])
    assert [text_of(m) for m in replies] == ["Answered without Redis."]


async def test_redis_final_edit_priority(redis: tuple[Any, str]) -> None:
    """A final edit that won its local turn does not queue behind intermediate edits for Redis."""
    client, prefix = redis
    limits = {"chat.update": Limit(per_minute=1200, burst=1)}  # 20 a second, shared
    here, there = (SharedEditBudget(limits, redis=client, prefix=prefix) for _ in range(2))
    granted: list[str] = []
    done = asyncio.Event()

    async def streaming(budget: SharedEditBudget) -> None:
        lease = budget.lease("T1", "chat.update")
        while not done.is_set():  # redis-py may swallow a cancellation mid-command
            await lease.acquire()
            granted.append("edit")

    # Replies on two replicas: the shared bucket gives this one half of what it grants locally.
    churn = [asyncio.ensure_future(streaming(b)) for b in (here, there) for _ in range(8)]
    try:
        serial = here._serial
        await _until(lambda: any(len(lock._waiters or ()) >= 6 for lock in serial.values()))
        final = here.lease("T1", "chat.update")
        final.promote()
        before = len(granted)
        await asyncio.wait_for(final.acquire(final=True), 5)
        # Without priority it waited for every queued intermediate edit (6+) first.
        assert len(granted) - before <= 3, len(granted) - before
    finally:
        done.set()
        for task in churn:
            task.cancel()
        await here.close()
        await there.close()
        await asyncio.gather(*churn, return_exceptions=True)
