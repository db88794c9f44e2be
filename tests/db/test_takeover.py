"""Outages and crashes lose no answer: two real replicas, PostgreSQL behind a cuttable proxy.

Each test runs in a channel of its own on one pair of replicas (REPLICA_STALE_AFTER=2):
a database outage of twice that while both stream, a final save that never lands before
the process dies, follow-ups whose events arrive in reverse order, an answer still running
when a SIGTERM's grace ends, and, last, a SIGKILL mid-answer that the survivor resumes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio

from bot import texts
from bot.llm.client import RESUME_INSTRUCTION
from bot.testing.cluster import Cluster, running_cluster
from bot.testing.harness import channel_message, text_of
from bot.testing.leftovers import blockless_updates, stale_stop_buttons
from bot.testing.openai import text_reply

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

STALE_AFTER = 2.0


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    """Two replicas on PostgreSQL (through a proxy) and Redis."""
    async with running_cluster(
        tmp_path_factory.mktemp("takeover"), REPLICA_STALE_AFTER=str(STALE_AFTER)
    ) as found:
        yield found


@pytest.fixture
def fresh(cluster: Cluster) -> Cluster:
    return cluster.cleared()


def words(count: int, tag: str) -> str:
    """Return an answer of distinct words, so any repeat or gap shows."""
    return " ".join(f"{tag}{i}" for i in range(count))


async def eventually(
    cluster: Cluster, check: Callable[[], Awaitable[bool]], what: str, timeout: float = 30
) -> None:
    """Poll an async check (a database read) until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{cluster.logs()}")
        await asyncio.sleep(0.1)


def final(cluster: Cluster, channel: str, thread: str, text: str) -> Callable[[], bool]:
    """Return a predicate: the thread's one bot reply shows `text`, without a Stop button."""

    def check() -> bool:
        replies = cluster.bot_replies(channel, thread)
        return len(replies) == 1 and text_of(replies[0]) == text and not stale_stop_buttons(replies)

    return check


async def replies_in(cluster: Cluster, channel: str) -> list[tuple[str, str, str]]:
    return await cluster.rows(
        "SELECT owner, status, content FROM messages"
        f" WHERE role = 'assistant' AND channel_id = '{channel}' ORDER BY id"
    )


async def test_outage_of_twice_the_stale_period_while_both_stream(fresh: Cluster) -> None:
    cluster = fresh
    a, b = cluster.replicas
    answers = {"C31": words(260, "a"), "C32": words(260, "b")}  # about 10 s each

    def answer(body: dict) -> Any:
        question = body["messages"][-1]["content"]
        return text_reply(answers[question.split()[-1]], pieces=8, delay=0.05)

    cluster.llm.responder = answer
    asked = {}
    for replica, channel in ((a, "C31"), (b, "C32")):
        event = {**channel_message(f"<@UBOT> {channel}", channel=channel), "type": "app_mention"}
        asked[channel] = event["ts"]
        await cluster.send(replica, event, event_id=f"Ev{channel}")
    await cluster.wait(
        lambda: all(
            any("0 " in text_of(m) for m in cluster.bot_replies(c, t)) for c, t in asked.items()
        ),
        "both answers showing",
    )
    await cluster.proxy.cut()
    await asyncio.sleep(2 * STALE_AFTER)  # the outage itself: nobody can beat meanwhile
    await cluster.proxy.restore()
    for channel, thread in asked.items():
        await cluster.wait(final(cluster, channel, thread, answers[channel]), channel, 40)
    for channel, owner in (("C31", "replica-a"), ("C32", "replica-b")):
        wanted = [(owner, "complete", answers[channel])]

        async def saved(channel: str = channel, wanted: list = wanted) -> bool:
            return await replies_in(cluster, channel) == wanted

        await eventually(cluster, saved, f"the final save in {channel}")
    assert len(cluster.llm.requests) == 2, "nobody was taken over, nothing resumed"
    assert not any(
        texts.INTERRUPTED.strip() in (c.args.get("text") or "") for c in cluster.slack.calls
    )
    assert not blockless_updates(cluster.slack.calls)


async def test_final_save_that_never_lands_then_restart_keeps_the_answer(fresh: Cluster) -> None:
    cluster = fresh
    a = cluster.replicas[0]
    full = words(60, "f")  # about 2 s
    cluster.llm.script(text_reply(full, pieces=8, delay=0.05))
    event = {**channel_message("<@UBOT> finish while cut", channel="C33"), "type": "app_mention"}
    await cluster.send(a, event, event_id="EvC33")
    await cluster.wait(
        lambda: any("f0" in text_of(m) for m in cluster.bot_replies("C33", event["ts"])),
        "the answer is showing",
    )
    await cluster.proxy.cut()
    # The answer ends while the database is away: Slack shows it final, the row does not.
    await cluster.wait(final(cluster, "C33", event["ts"], full), "the final edit", 30)
    a.kill()  # before the final save could land
    await cluster.proxy.restore()
    assert [r[:2] for r in await replies_in(cluster, "C33")] == [("replica-a", "streaming")]
    await cluster.restart(a)

    async def kept() -> bool:
        return [r[1] for r in await replies_in(cluster, "C33")] == ["complete"]

    await eventually(cluster, kept, "the row marked complete")
    assert final(cluster, "C33", event["ts"], full)(), "the message is not shortened"
    assert len(cluster.llm.requests) == 1, "nothing resumed: it was finished"


async def test_follow_ups_whose_events_arrive_reversed_are_answered_in_order(
    fresh: Cluster,
) -> None:
    cluster = fresh
    a, b = cluster.replicas

    def answer(body: dict) -> Any:
        return text_reply(f"answer to {body['messages'][-1]['content']}", pieces=4, delay=0.02)

    cluster.llm.responder = answer
    root = {**channel_message("<@UBOT> root", channel="C34"), "type": "app_mention"}
    await cluster.send(a, root, event_id="EvRootC34")
    await cluster.wait(final(cluster, "C34", root["ts"], "answer to root"), "the root answer")
    first = channel_message("first", channel="C34", thread_ts=root["ts"])
    second = channel_message("second", channel="C34", thread_ts=root["ts"])
    # The thread is idle; the later message reaches its replica first, and its turn has
    # begun there (logged) before the earlier message's event is delivered to the other.
    await cluster.send(a, second, event_id="EvSecondC34")
    await cluster.wait(
        lambda: f"turn for message {second['ts']}" in a.output(), "the later turn begun"
    )
    await cluster.send(b, first, event_id="EvFirstC34")
    await cluster.wait(
        lambda: (
            [text_of(m) for m in cluster.bot_replies("C34", root["ts"])]
            == ["answer to root", "answer to first", "answer to second"]
        ),
        "three answers, in order",
    )
    asked = [r["messages"][-1]["content"] for r in cluster.llm.requests]
    assert asked == ["root", "first", "second"]
    last = [(m["role"], m["content"]) for m in cluster.llm.requests[-1]["messages"][1:]]
    assert last[-3:] == [("user", "first"), ("assistant", "answer to first"), ("user", "second")]


async def test_an_answer_past_a_sigterm_s_grace_is_finished_by_the_other_replica(
    fresh: Cluster,
) -> None:
    cluster = fresh
    a, b = cluster.replicas
    full = words(200, "t")  # about 7 s, past SHUTDOWN_GRACE=1

    def answer(body: dict) -> Any:
        if body["messages"][-1]["content"] == RESUME_INSTRUCTION:
            return text_reply(full, pieces=40, delay=0.01)
        return text_reply(full, pieces=8, delay=0.05)

    cluster.llm.responder = answer
    event = {**channel_message("<@UBOT> a long one", channel="C36"), "type": "app_mention"}
    await cluster.send(a, event, event_id="EvC36")
    await cluster.wait(
        lambda: any("t3 " in text_of(m) for m in cluster.bot_replies("C36", event["ts"])),
        "the answer is showing",
    )
    assert await a.terminate() == 0
    # Saved and left streaming at the grace; the replica deregistered, so b resumes at once.
    await cluster.wait(final(cluster, "C36", event["ts"], full), "b's answer", 30)

    async def finished() -> bool:
        return await replies_in(cluster, "C36") == [("replica-b", "complete", full)]

    await eventually(cluster, finished, "b's final save")
    assert len(cluster.llm.requests) == 2
    assert texts.INTERRUPTED.strip() not in text_of(cluster.bot_replies("C36", event["ts"])[0])
    await cluster.restart(a)


async def test_a_killed_replica_s_answer_is_finished_whole_by_the_survivor(
    fresh: Cluster,
) -> None:
    cluster = fresh
    a, b = cluster.replicas
    full = words(200, "k")  # about 7 s

    def answer(body: dict) -> Any:
        if body["messages"][-1]["content"] == RESUME_INSTRUCTION:
            return text_reply(full, pieces=40, delay=0.01)  # starts over: the repeat is dropped
        return text_reply(full, pieces=8, delay=0.05)

    cluster.llm.responder = answer
    event = {**channel_message("<@UBOT> a long one", channel="C35"), "type": "app_mention"}
    await cluster.send(a, event, event_id="EvC35")

    async def saved() -> bool:
        return any(r[0] == "replica-a" and r[2] for r in await replies_in(cluster, "C35"))

    await eventually(cluster, saved, "a progress save")
    a.kill()
    await cluster.wait(final(cluster, "C35", event["ts"], full), "the survivor's answer", 30)

    async def finished() -> bool:  # the final save lands after the final edit
        return await replies_in(cluster, "C35") == [("replica-b", "complete", full)]

    await eventually(cluster, finished, "the survivor's final save")
    resumed = cluster.llm.requests[-1]["messages"]
    assert len(cluster.llm.requests) == 2
    assert resumed[-1] == {"role": "user", "content": RESUME_INSTRUCTION}
    assert resumed[-2]["role"] == "assistant" and full.startswith(resumed[-2]["content"])
    assert not blockless_updates(cluster.slack.calls)
    usage = f"SELECT status FROM usage_records WHERE message_ts = '{event['ts']}'"

    async def recorded() -> bool:
        return bool(await cluster.rows(usage))

    await eventually(cluster, recorded, "the usage record")
    assert await cluster.rows(usage) == [("complete",)], "usage recorded once"
