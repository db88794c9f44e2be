"""Bot replicas as real processes on one PostgreSQL database and Redis, for tests and bench.

`run_cluster()` starts a fake Slack and a fake model server in this process, a database of its
own (reached through a `DbProxy` the caller can cut), a Redis key prefix of its own, and
`python -m bot run` per replica name; `Cluster.send` posts signed events to a replica,
`running_cluster()` is the same for a test (skipped without PostgreSQL or Redis),
`Cluster.interact` posts a signed button click, `Cluster.restart` starts a killed one again under
the same REPLICA_ID (tests/db, tests/tools/mcp/test_mcp_approval_replicas.py, bench).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import redis.asyncio as aioredis

from bot.testing.dbproxy import DbProxy
from bot.testing.harness import SECRET
from bot.testing.openai import FakeOpenAI
from bot.testing.ports import free_port, wait_until_ready
from bot.testing.postgres import PG_ADMIN, pg_exec
from bot.testing.signing import event_body, signed_headers
from bot.testing.slack import FakeSlack

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass
class Replica:
    """One `python -m bot run` process."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL the process and reap it."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    async def terminate(self) -> int:
        """SIGTERM the process; return its exit code (the fakes keep serving meanwhile)."""
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(self.process.wait, 15)


@dataclass
class Cluster:
    """Replicas, the fakes they talk to, the database proxy, and signed events to either."""

    slack: FakeSlack
    llm: FakeOpenAI
    database_url: str  # direct, for the test's own reads
    proxy: DbProxy  # what the replicas reach the database through
    replicas: list[Replica]
    http: aiohttp.ClientSession
    env: dict[str, str]
    tmp: Path

    async def send(
        self,
        replica: Replica,
        event: dict[str, Any],
        *,
        event_id: str,
        retry_num: int | None = None,
    ) -> None:
        body = event_body(event, event_id=event_id)
        headers = signed_headers(SECRET, body)
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        async with self.http.post(f"{replica.url}/slack/events", data=body, headers=headers) as r:
            assert r.status == 200, (r.status, await r.text(), replica.output())

    async def interact(self, replica: Replica, payload: dict[str, Any]) -> None:
        """Deliver an interaction (a button click) to `replica`, signed like Slack."""
        body = urlencode({"payload": json.dumps(payload)})
        headers = signed_headers(SECRET, body)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        async with self.http.post(f"{replica.url}/slack/events", data=body, headers=headers) as r:
            assert r.status == 200, (r.status, await r.text(), replica.output())

    def cleared(self) -> Cluster:
        """Return the cluster with the fakes' scripts and records of earlier tests cleared."""
        self.llm.responder = None
        self.llm.requests.clear()
        self.slack.clear_calls()
        return self

    def bot_replies(self, channel: str, thread_ts: str) -> list[dict]:
        return [m for m in self.slack.replies(channel, thread_ts) if m.get("bot_id")]

    def logs(self) -> str:
        return "\n".join(f"--- {r.name}\n{r.output()}" for r in self.replicas)

    async def wait(self, predicate: Callable[[], Any], what: str, timeout: float = 20.0) -> None:
        try:
            await self.slack.wait_for(predicate, timeout=timeout, what=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.logs()}") from None

    async def restart(self, replica: Replica) -> Replica:
        """Start a stopped replica again, under the same REPLICA_ID, and wait until healthy."""
        again = _start(replica.name, self.env, self.tmp, suffix=".again")
        self.replicas[self.replicas.index(replica)] = again
        await healthy(again)
        return again

    async def rows_become(self, sql: str, expected: list[tuple], timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until a query on the replicas' database returns `expected` (or fail)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (rows := await self.rows(sql)) != expected:
            if loop.time() >= deadline:
                raise AssertionError(f"{sql}\n{rows} != {expected}\n{self.logs()}")
            await asyncio.sleep(0.05)

    async def rows(self, sql: str) -> list[tuple]:
        """Return the rows of a query on the replicas' database."""
        import asyncpg

        conn = await asyncpg.connect(self.database_url)
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()


def _start(name: str, env: dict[str, str], tmp: Path, suffix: str = "") -> Replica:
    port = free_port()
    log = tmp / f"{name}{suffix}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp,
        env={**env, "PORT": str(port), "REPLICA_ID": name},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return Replica(name, port, process, log)


async def healthy(replica: Replica) -> None:
    """Wait until a replica answers /healthz (it fails at once if the process ended)."""
    await wait_until_ready(
        f"{replica.url}/healthz",
        alive=lambda: replica.process.poll() is None,
        describe=lambda: f"{replica.name}:\n{replica.output()}",
        timeout=30,
    )


async def reachable() -> str | None:
    """Return why PostgreSQL or Redis cannot be used here, None when both answer."""
    client = aioredis.from_url(REDIS_URL)
    try:
        await client.ping()
        await pg_exec("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        return str(exc)
    finally:
        await client.aclose()
    return None


@asynccontextmanager
async def running_cluster(
    tmp: Path, names: tuple[str, ...] = ("replica-a", "replica-b"), **settings: str
) -> AsyncIterator[Cluster]:
    """`run_cluster` for a test: skipped when PostgreSQL or Redis is missing (failed in CI)."""
    import pytest

    problem = await reachable()
    if problem is not None:
        if os.environ.get("CI") or os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL and Redis are required in CI ({problem})")
        pytest.skip("PostgreSQL or Redis is not reachable here (CI runs these)")
    async with run_cluster(tmp, names, **settings) as found:
        yield found


@asynccontextmanager
async def run_cluster(tmp: Path, names: tuple[str, ...], **settings: str) -> AsyncIterator[Cluster]:
    """Run replicas `names` on a database and Redis prefix of their own; stop them after."""
    slack, llm = FakeSlack(), FakeOpenAI()
    await slack.start()
    await llm.start()
    name = f"bot_cluster_{uuid.uuid4().hex[:10]}"
    await pg_exec(f'CREATE DATABASE "{name}"')
    database_url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    proxy = DbProxy.for_url(database_url)
    await proxy.start()
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_"))}
    env.update(
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack.api_url,
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=llm.base_url,
        OPENAI_MODEL="fake-model",
        DATABASE_URL=proxy.url(database_url),
        HOST="127.0.0.1",
        REDIS_URL=REDIS_URL,
        REDIS_KEY_PREFIX=prefix,
        HEARTBEAT_INTERVAL="0.3",
        REPLICA_STALE_AFTER="1.5",
        SLACK_UPDATE_INTERVAL="0.2",
        SHUTDOWN_GRACE="1",
        LOG_FORMAT="json",
        EDIT_BUDGET_PER_MINUTE="600",  # the budget has tests of its own
    )
    env.update(settings)
    http = aiohttp.ClientSession()
    replicas = [_start(n, env, tmp) for n in names]
    found = Cluster(slack, llm, database_url, proxy, replicas, http, env, tmp)
    try:
        for replica in replicas:
            await healthy(replica)
        yield found
    finally:
        await proxy.restore()
        for replica in found.replicas:
            if replica.process.poll() is None:
                replica.process.send_signal(signal.SIGTERM)
        for replica in found.replicas:
            try:  # in a thread: the fakes on this loop keep answering while it drains
                await asyncio.to_thread(replica.process.wait, 15)
            except subprocess.TimeoutExpired:
                replica.process.kill()
        await http.close()
        await proxy.close()
        await slack.stop()
        await llm.stop()
        client = aioredis.from_url(REDIS_URL)
        keys = [k async for k in client.scan_iter(f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
        await pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
