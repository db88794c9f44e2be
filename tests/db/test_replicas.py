"""Two real bot processes sharing one PostgreSQL database and Redis, behind no balancer.

The module starts `python -m bot run` twice on ports of its own, against a fake Slack and a
fake model server in this process, and the tests deliver signed events to either replica.
The replicas live for the whole module, each test in a channel of its own; what happens
when one dies or the database goes away is in test_takeover.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from bot.testing.cluster import Cluster, running_cluster
from bot.testing.harness import channel_message, text_of
from bot.testing.openai import text_reply

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    """Two replicas on a PostgreSQL database and a Redis key prefix of their own."""
    async with running_cluster(tmp_path_factory.mktemp("replicas")) as found:
        yield found


@pytest.fixture
def fresh(cluster: Cluster) -> Cluster:
    """The shared cluster with the fakes' scripts and records of earlier tests cleared."""
    return cluster.cleared()


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
