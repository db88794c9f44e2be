"""Two real bot processes sharing one PostgreSQL database and Redis, behind no balancer.

The module starts `python -m bot run` twice on ports of its own, against a fake Slack and a
fake model server in this process, and the tests deliver signed events to either replica.
The replicas live for the whole module (the last test kills one), each test in a channel
of its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from bot import texts
from bot.testing.harness import SECRET, channel_message, text_of
from bot.testing.leftovers import blockless_updates, stale_stop_buttons
from bot.testing.openai import FakeOpenAI, text_reply
from bot.testing.ports import free_port, wait_until_ready
from bot.testing.postgres import PG_ADMIN, pg_exec
from bot.testing.signing import event_body, signed_headers
from bot.testing.slack import FakeSlack

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
pytestmark = pytest.mark.asyncio(loop_scope="module")


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


@dataclass
class Cluster:
    """Two replicas, the fakes they talk to, and a way to post signed events to either."""

    slack: FakeSlack
    llm: FakeOpenAI
    database_url: str
    replicas: list[Replica]
    http: aiohttp.ClientSession

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

    def bot_replies(self, channel: str, thread_ts: str) -> list[dict]:
        return [m for m in self.slack.replies(channel, thread_ts) if m.get("bot_id")]

    async def wait(self, predicate: Any, what: str, timeout: float = 20.0) -> None:
        try:
            await self.slack.wait_for(predicate, timeout=timeout, what=what)
        except AssertionError as exc:
            logs = "\n".join(f"--- {r.name}\n{r.output()}" for r in self.replicas)
            raise AssertionError(f"{exc}\n{logs}") from None


def _start(name: str, env: dict[str, str], tmp: Path) -> Replica:
    port = free_port()
    log = tmp / f"{name}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp,
        env={**env, "PORT": str(port), "REPLICA_ID": name},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return Replica(name, port, process, log)


async def _healthy(replica: Replica) -> None:
    await wait_until_ready(
        f"{replica.url}/healthz",
        alive=lambda: replica.process.poll() is None,
        describe=lambda: f"{replica.name}:\n{replica.output()}",
        timeout=30,
    )


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    """Two replicas on a PostgreSQL database and a Redis key prefix of their own."""
    tmp_path = tmp_path_factory.mktemp("replicas")
    required = os.environ.get("CI") or os.environ.get("REQUIRE_POSTGRES")
    client = aioredis.from_url(REDIS_URL)
    try:
        await client.ping()
        await pg_exec("SELECT 1")
    except Exception as exc:
        await client.aclose()
        if required:
            pytest.fail(f"PostgreSQL and Redis are required in CI ({exc})")
        pytest.skip("PostgreSQL or Redis is not reachable here (CI runs these)")
    slack, llm = FakeSlack(), FakeOpenAI()
    await slack.start()
    await llm.start()
    name = f"bot_replicas_{uuid.uuid4().hex[:10]}"
    await pg_exec(f'CREATE DATABASE "{name}"')
    database_url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_"))}
    env.update(
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack.api_url,
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=llm.base_url,
        OPENAI_MODEL="fake-model",
        DATABASE_URL=database_url,
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
    http = aiohttp.ClientSession()
    replicas = [_start(n, env, tmp_path) for n in ("replica-a", "replica-b")]
    try:
        for replica in replicas:
            await _healthy(replica)
        yield Cluster(slack, llm, database_url, replicas, http)
    finally:
        for replica in replicas:
            if replica.process.poll() is None:
                replica.process.send_signal(signal.SIGTERM)
        for replica in replicas:
            try:
                replica.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                replica.process.kill()
        await http.close()
        await slack.stop()
        await llm.stop()
        keys = [k async for k in client.scan_iter(f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
        await pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def fresh(cluster: Cluster) -> Cluster:
    """The shared cluster with the fakes' scripts and records of earlier tests cleared."""
    cluster.llm.responder = None
    cluster.llm.requests.clear()
    cluster.slack.clear_calls()
    return cluster


async def _rows(url: str, sql: str) -> list[tuple]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return [tuple(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


async def test_redelivery_to_the_other_replica_is_answered_once(fresh: Cluster) -> None:
    cluster = fresh
    a, b = cluster.replicas
    cluster.llm.script(text_reply("Answered by one replica.", delay=0.02))
    mention = {**channel_message("<@UBOT> who answers?"), "type": "app_mention"}
    await cluster.send(a, mention, event_id="EvOnce")
    await cluster.send(b, mention, event_id="EvOnce", retry_num=1)
    await cluster.send(b, {**mention, "type": "message"}, event_id="EvTwin")
    await cluster.wait(
        lambda: (
            [text_of(m) for m in cluster.bot_replies("C1", mention["ts"])]
            == ["Answered by one replica."]
        ),
        "one final answer",
    )
    # The replicas are processes: wait for what they log on handling the two other deliveries.
    await cluster.wait(
        lambda: (
            sum(r.log.read_text(errors="replace").count("already claimed") for r in (a, b)) >= 2
        ),
        "the redelivery and the twin event turned away",
    )
    assert len(cluster.slack.calls_to("chat.postMessage")) == 1
    assert len(cluster.llm.requests) == 1


async def test_follow_ups_on_different_replicas_are_answered_in_order(fresh: Cluster) -> None:
    cluster = fresh
    a, b = cluster.replicas

    def answer(body: dict) -> Any:
        question = body["messages"][-1]["content"]
        return text_reply(f"answer to {question}", pieces=4, delay=0.03)

    cluster.llm.responder = answer
    root = {**channel_message("<@UBOT> root question", channel="C2"), "type": "app_mention"}
    await cluster.send(a, root, event_id="EvRoot")
    await cluster.wait(lambda: len(cluster.llm.requests) == 1, "the root answer is streaming")
    first = channel_message("first follow-up", channel="C2", thread_ts=root["ts"])
    second = channel_message("second follow-up", channel="C2", thread_ts=root["ts"])
    # Both arrive while the root answer streams; the later message reaches its replica first.
    await cluster.send(a, second, event_id="EvSecond")
    await cluster.send(b, first, event_id="EvFirst")
    await cluster.wait(
        lambda: (
            len(cluster.bot_replies("C2", root["ts"])) == 3
            and all(not text_of(m).startswith("_") for m in cluster.bot_replies("C2", root["ts"]))
            and text_of(cluster.bot_replies("C2", root["ts"])[-1]).endswith("second follow-up")
        ),
        "three answers",
    )
    asked = [r["messages"][-1]["content"] for r in cluster.llm.requests]
    assert asked == ["root question", "first follow-up", "second follow-up"]
    shown = [text_of(m) for m in cluster.bot_replies("C2", root["ts"])]
    assert shown == [f"answer to {q}" for q in asked]
    last = [(m["role"], m["content"]) for m in cluster.llm.requests[-1]["messages"][1:]]
    assert last[-3:] == [
        ("user", "first follow-up"),
        ("assistant", "answer to first follow-up"),
        ("user", "second follow-up"),
    ]


async def test_a_killed_replica_leaves_a_reply_the_other_marks_interrupted(
    fresh: Cluster,
) -> None:
    cluster = fresh
    a, b = cluster.replicas
    cluster.llm.script(text_reply("word " * 400, pieces=5, delay=0.05))  # about 20 s
    mention = {
        **channel_message("<@UBOT> a long answer please", channel="C3"),
        "type": "app_mention",
    }
    await cluster.send(a, mention, event_id="EvKill")
    await cluster.wait(
        lambda: any("word" in text_of(m) for m in cluster.bot_replies("C3", mention["ts"])),
        "the answer is showing",
    )
    rows = await _rows(
        cluster.database_url,
        "SELECT owner, status FROM messages WHERE role='assistant' AND channel_id='C3'",
    )
    assert rows == [("replica-a", "streaming")]
    a.process.send_signal(signal.SIGKILL)
    a.process.wait(timeout=10)
    await cluster.wait(
        lambda: text_of(cluster.bot_replies("C3", mention["ts"])[0]).endswith(
            texts.INTERRUPTED.strip()
        ),
        "the reply marked interrupted",
    )
    rows = await _rows(
        cluster.database_url,
        "SELECT owner, status FROM messages WHERE role='assistant' AND channel_id='C3'",
    )
    assert rows == [("replica-b", "interrupted")]
    assert not stale_stop_buttons(cluster.bot_replies("C3", mention["ts"]))
    assert not blockless_updates(cluster.slack.calls)
    # The surviving replica keeps answering.
    cluster.llm.script(text_reply("Still here."))
    after = {**channel_message("<@UBOT> anyone there?", channel="C3"), "type": "app_mention"}
    await cluster.send(b, after, event_id="EvAfter")
    await cluster.wait(
        lambda: [text_of(m) for m in cluster.bot_replies("C3", after["ts"])] == ["Still here."],
        "the survivor answers",
    )
