"""Approvals across real replicas: the click lands on the replica that does not own the turn.

Two `python -m bot run` processes share a PostgreSQL database, Redis and the kit MCP
server's ticket file (each replica runs its own kit server). The last test SIGKILLs the
replica that owns a waiting answer; the click on the survivor carries the answer on.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.slack.reply.markup import STOP_ACTION
from bot.testing.cluster import Cluster, running_cluster
from bot.testing.harness import channel_message, text_of
from bot.testing.interactive import click, element
from bot.testing.leftovers import stale_stop_buttons
from bot.testing.openai import text_reply, tool_call_reply
from bot.turns.approval import APPROVE_ACTION
from tests.tools.mcp.helpers import kit, write_servers

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("approval-replicas")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def cluster(place: Path) -> AsyncIterator[Cluster]:
    entry = kit(env={"KIT_TICKETS": str(place / "tickets.txt")}, approval="by_hint")
    servers = write_servers(place / "mcp.json", {"kit": entry})
    async with running_cluster(place, MCP_SERVERS=servers, SLACK_MESSAGE_MAX_CHARS="300") as c:
        yield c


@pytest.fixture
def fresh(cluster: Cluster) -> Cluster:
    return cluster.cleared()


def filed(place: Path) -> list[str]:
    tickets = place / "tickets.txt"
    return tickets.read_text().splitlines() if tickets.exists() else []


def request_of(cluster: Cluster, channel: str, thread_ts: str) -> dict[str, Any] | None:
    for message in cluster.bot_replies(channel, thread_ts):
        if element(message, APPROVE_ACTION) is not None:
            return message
    return None


def reply_of(cluster: Cluster, channel: str, thread_ts: str, request_ts: str) -> list[dict]:
    """The messages of the answer (the approval request left out)."""
    return [m for m in cluster.bot_replies(channel, thread_ts) if m["ts"] != request_ts]


def ended(cluster: Cluster, channel: str, mention: dict, request: dict) -> bool:
    """Tell whether the answer ended with the model's last words, its Stop button gone."""
    reply = reply_of(cluster, channel, mention["ts"], request["ts"])
    return text_of(reply[-1]).endswith("Done here.") and not stale_stop_buttons(reply)


def _calls(cluster: Cluster, channel: str) -> str:
    """The Web API calls made in `channel`, for a failure's message."""
    return "\n".join(
        f"{c.at:.3f} {c.method} {c.status} ts={c.args.get('ts') or c.response.get('ts')} "
        f"{str(c.args.get('text'))[-80:]!r}"
        for c in cluster.slack.calls
        if c.args.get("channel") == channel
    )


async def ask_for_ticket(
    cluster: Cluster, channel: str, title: str, *, before: str = ""
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Mention the bot on replica a; return the question and the approval request."""
    a = cluster.replicas[0]
    cluster.llm.script(
        tool_call_reply(
            [("c1", "kit__create_ticket", json.dumps({"title": title}))], content_before=before
        ),
        text_reply("Done here."),
    )
    mention = {**channel_message(f"<@UBOT> file {title}", channel=channel), "type": "app_mention"}
    await cluster.send(a, mention, event_id=f"Ev{channel}")
    await cluster.wait(
        lambda: request_of(cluster, channel, mention["ts"]) is not None, "the approval request"
    )
    request = request_of(cluster, channel, mention["ts"])
    assert request is not None
    # Settled: the whole text shown (the last message may lag behind the request), waiting,
    # and the last message saved (its Stop button comes once the bot stored where it is).
    last_words = (before or "Waiting").split()[-1]

    def waits() -> bool:
        last = reply_of(cluster, channel, mention["ts"], request["ts"])[-1]
        shown = text_of(last)
        saved = element(last, STOP_ACTION) is not None
        return "Waiting for approval" in shown and last_words in shown and saved

    await cluster.wait(waits, "the reply says it waits")
    return mention, request


async def test_approve_on_the_other_replica_goes_on_where_the_answer_waits(
    fresh: Cluster, place: Path
) -> None:
    cluster = fresh
    a, b = cluster.replicas
    mention, request = await ask_for_ticket(cluster, "C1", "first")
    await cluster.interact(b, click(request, APPROVE_ACTION, user="U1"))
    await cluster.wait(
        lambda: ended(cluster, "C1", mention, request),
        "the answer ends",
    )
    assert filed(place).count("first") == 1
    assert len(cluster.llm.requests) == 2
    owners = await cluster.rows(
        "SELECT DISTINCT owner FROM messages WHERE role='assistant' AND channel_id='C1'"
    )
    assert owners == [("replica-a",)], "the replica that waited ran the call, not the clicker"
    assert "carrying on" not in b.output()
    rows = await cluster.rows("SELECT status, decided_by, done FROM approvals")
    assert rows == [("approved", "U1", True)]


async def test_a_database_outage_while_waiting_does_not_end_the_answer(
    fresh: Cluster, place: Path
) -> None:
    cluster = fresh
    a, b = cluster.replicas
    mention, request = await ask_for_ticket(cluster, "C4", "fourth")
    await cluster.proxy.cut()
    await asyncio.sleep(3)  # twice REPLICA_STALE_AFTER: the waiting answer looks a few times
    await cluster.proxy.restore()
    await cluster.interact(a, click(request, APPROVE_ACTION, user="U1"))
    await cluster.wait(lambda: ended(cluster, "C4", mention, request), "the answer ends", 30)
    assert filed(place).count("fourth") == 1
    assert "carrying on" not in b.output(), "nobody took a live answer over"
    said = [str(c.args.get("text")) for c in cluster.slack.calls if c.args.get("channel") == "C4"]
    assert not [t for t in said if "reach my database" in t], "the answer never ended meanwhile"
    assert len(cluster.llm.requests) == 2, "the answer went on where it waited"


async def test_an_owner_that_only_looked_gone_leaves_the_round_to_the_survivor(
    fresh: Cluster, place: Path
) -> None:
    cluster = fresh
    a, b = cluster.replicas
    mention, request = await ask_for_ticket(cluster, "C3", "third")
    a.process.send_signal(signal.SIGSTOP)  # alive, but silent past REPLICA_STALE_AFTER
    try:
        await cluster.wait(lambda: "carrying on the answer" in b.output(), "b takes the round")
        await cluster.interact(b, click(request, APPROVE_ACTION, user="U1"))
        await cluster.wait(
            lambda: ended(cluster, "C3", mention, request),
            "the answer ends on b",
            timeout=45,
        )
    finally:
        a.process.send_signal(signal.SIGCONT)
    await cluster.wait(lambda: "carried on by another replica" in a.output(), "a steps aside")
    # Beating again before the next test: until then b rightly takes a's new answers over.
    await cluster.rows_become(
        "SELECT count(*) FROM replicas WHERE id = 'replica-a'"
        " AND heartbeat_at > extract(epoch FROM clock_timestamp()) - 0.5",
        [(1,)],
    )
    assert filed(place).count("third") == 1, "the approved call ran once, on b"
    assert text_of(reply_of(cluster, "C3", mention["ts"], request["ts"])[-1]).endswith(
        "Done here."
    ), "a left the reply alone"
    assert len(cluster.llm.requests) == 2


async def test_owner_killed_while_waiting_the_click_on_the_survivor_carries_it_on(
    fresh: Cluster, place: Path
) -> None:
    cluster = fresh
    a, b = cluster.replicas
    long = " ".join(f"word{i:03d}" for i in range(90))  # about 720 characters: three messages
    mention, request = await ask_for_ticket(cluster, "C2", "second", before=long)
    before = [(m["ts"], text_of(m)) for m in reply_of(cluster, "C2", mention["ts"], request["ts"])]
    assert len(before) >= 3, before
    a.kill()
    await cluster.interact(b, click(request, APPROVE_ACTION, user="U1"))
    await cluster.wait(
        lambda: ended(cluster, "C2", mention, request),
        "the answer carried on by the survivor",
        timeout=45,
    )
    assert filed(place).count("second") == 1, "the approved call ran once"
    after = [(m["ts"], text_of(m)) for m in reply_of(cluster, "C2", mention["ts"], request["ts"])]
    # The answer goes on in the last message (which may roll over again as it grows).
    assert after[: len(before) - 1] == before[:-1], "the earlier messages stay as they were"
    assert after[len(before) - 1][0] == before[-1][0]
    assert "Waiting for approval" not in after[len(before) - 1][1]
    shown = " ".join(text for _, text in after)
    assert [w for w in shown.split() if w.startswith("word")] == long.split(), (
        f"each word once: {before=} {after=}\n{_calls(cluster, 'C2')}\n{cluster.logs()}"
    )
    assert not stale_stop_buttons(reply_of(cluster, "C2", mention["ts"], request["ts"]))
    await cluster.rows_become(  # the end is stored just after it shows
        "SELECT owner, status FROM messages WHERE role='assistant' AND channel_id='C2' ORDER BY id",
        [("replica-b", "complete"), ("replica-b", "complete")],
    )
    assert await cluster.rows("SELECT count(*) FROM approvals WHERE NOT done") == [(0,)]
    # The model heard the ticket's result and the question once: the answer went on whole.
    last = cluster.llm.requests[-1]["messages"]
    assert [m["role"] for m in last[-3:]] == ["user", "assistant", "tool"]
    assert last[-1]["content"].startswith("ticket filed:")
