"""Where approvals meet Stop, restarts, replicas, expiry and deletion: the real app, a real
stdio MCP server (`create_ticket` appends to a file, so each test sees whether it ran).
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import pytest
from sqlalchemy import update

from bot import texts, texts_tools
from bot.db.replicas import Replica
from bot.testing.harness import Harness, next_ts, text_of
from bot.testing.interactive import click, element
from bot.testing.openai import FakeOpenAI, text_reply, tool_call_reply
from bot.testing.slack import FakeSlack
from bot.turns.approval import APPROVE_ACTION
from bot.usage.record import UsageLedger
from tests.tools.mcp.approval_kit import (
    asked,
    ephemerals,
    filed,
    script_ticket,
    start,
    ticket_result,
)
from tests.tools.mcp.helpers import kit, write_servers


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: PostgreSQL runs the store's conditional updates in tests/db."""
    return f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"


async def usage_statuses(bot: Harness) -> list[str]:
    assert bot.runtime is not None
    return [r.status async for r in UsageLedger(bot.runtime.engine).records()]


async def test_agent_session_stopped_while_waiting_for_approval(
    harness: Harness, tmp_path: Path
) -> None:
    tickets = await start(harness, tmp_path)
    script_ticket(harness)
    event = await harness.mention("file a ticket")
    request = await asked(harness, event["ts"])
    late = click(request, APPROVE_ACTION, user="U1")
    await harness.slack.wait_for(
        lambda: harness.slack.session_statuses("C1", event["ts"]) == ["processing", "suspended"]
    )
    await harness.agent_session_stopped("C1", event["ts"], user="U1")
    replies = await harness.wait_reply_done("C1", event["ts"])
    await harness.settle()
    reply = [m for m in replies if m["ts"] != request["ts"]][0]
    assert text_of(reply).endswith(texts.STOPPED_BY_USER.strip()), text_of(reply)

    def withdrawn() -> bool:  # the request's edit goes through the edit budget: wait for it
        [decided] = [
            m for m in harness.slack.replies("C1", event["ts"]) if m["ts"] == request["ts"]
        ]
        shown = json.dumps(decided["blocks"])
        return "not approved in time" in shown or "expired" in shown

    await harness.slack.wait_for(withdrawn, timeout=15, what="the request shows it expired")
    await harness.slack.wait_for(
        lambda: harness.slack.session_statuses("C1", event["ts"])[-1:] == ["active"], timeout=15
    )
    assert await usage_statuses(harness) == ["stopped"]
    await harness.interact(late)
    await harness.settle()
    assert filed(tickets) == [], "a click after Stop runs nothing"
    assert len(harness.llm.requests) == 1, "a click after Stop does not carry the answer on"
    assert any("already decided" in t for t in ephemerals(harness, "U1"))


async def test_an_answer_carried_on_after_a_restart_ends_its_session_active(
    harness: Harness, tmp_path: Path
) -> None:
    tickets = await start(harness, tmp_path)
    script_ticket(harness)
    event = await harness.mention("file a ticket")
    request = await asked(harness, event["ts"])
    await harness.slack.wait_for(
        lambda: harness.slack.session_statuses("C1", event["ts"]) == ["processing", "suspended"]
    )
    await harness.restart()
    await harness.interact(click(request, APPROVE_ACTION, user="U1"))
    await harness.slack.wait_for(lambda: len(harness.llm.requests) == 2, timeout=15)
    await harness.settle()
    assert len(filed(tickets)) == 1
    statuses = harness.slack.session_statuses("C1", event["ts"])
    assert statuses[-1] == "active", statuses


async def test_a_click_on_a_replica_that_takes_over_a_silent_ones_round_runs_the_call_once(
    slack: FakeSlack, llm: FakeOpenAI, tmp_path: Path
) -> None:
    """Replica A waits for the decision but stops beating (a stalled heartbeat: alive, yet
    silent past REPLICA_STALE_AFTER); the click lands on B, which takes the round over. A
    must not run the approved call as well."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    tickets = tmp_path / "tickets.txt"
    servers = write_servers(
        tmp_path / "mcp.json", {"kit": kit(env={"KIT_TICKETS": str(tickets)}, approval="by_hint")}
    )
    a = Harness(slack=slack, llm=llm, database_url=url)
    b = Harness(slack=slack, llm=llm, database_url=url)
    try:
        await a.start(replica_id="replica-a", mcp_servers=servers, heartbeat_interval=3600)
        await b.start(replica_id="replica-b", mcp_servers=servers, heartbeat_interval=3600)
        script_ticket(a)
        event = await a.mention("file a ticket")
        request = await asked(a, event["ts"])
        assert a.runtime is not None
        async with a.runtime.engine.begin() as conn:
            await conn.execute(
                update(Replica).where(Replica.id == "replica-a").values(heartbeat_at=0.0)
            )
        await b.interact(click(request, APPROVE_ACTION, user="U1"))
        await slack.wait_for(lambda: len(filed(tickets)) >= 1, timeout=15)
        await a.settle()
        await b.settle()
        assert len(filed(tickets)) == 1, filed(tickets)
        assert len(llm.requests) == 2, "the answer goes on once"
        reply = [m for m in slack.replies("C1", event["ts"]) if m.get("bot_id")][0]
        assert text_of(reply).startswith("Done here."), text_of(reply)
    finally:
        await a.close()
        await b.close()


async def test_a_click_after_the_timeout_runs_nothing_even_before_the_sweep(
    harness: Harness, tmp_path: Path
) -> None:
    """The request said "within N minutes": a click past that is too late, even when no
    process has marked the request expired yet (its replica restarted; no sweep since)."""
    tickets = await start(harness, tmp_path, approval_timeout=3.0)
    script_ticket(harness)
    event = await harness.mention("file a ticket")
    # As the person saw it (the restarted replica carries its own round on at once, and its
    # wait marks the request expired at APPROVAL_TIMEOUT, editing the buttons away).
    request = copy.deepcopy(await asked(harness, event["ts"]))
    await harness.restart(heartbeat_interval=3600)  # the startup sweep ran before expiry
    assert harness.runtime is not None and harness.runtime.bot is not None
    approvals = harness.runtime.bot.dispatcher.approvals
    assert approvals is not None
    button = element(request, APPROVE_ACTION)
    assert button is not None
    pending = await approvals.store.get(int(button["value"]))
    assert pending is not None
    assert str(pending.status) == "pending", "nothing expired it yet"
    await harness.slack.wait_for(lambda: time.time() > pending.expires_at + 0.1, timeout=10)
    await harness.interact(click(request, APPROVE_ACTION, user="U1"))
    await harness.slack.wait_for(lambda: len(harness.llm.requests) == 2, timeout=15)
    await harness.settle()
    assert filed(tickets) == [], "too late: not run"
    assert ticket_result(harness) == texts_tools.TOOL_EXPIRED
    assert any("expired" in t for t in ephemerals(harness, "U1"))


async def test_a_request_whose_round_was_deleted_runs_nothing(
    harness: Harness, tmp_path: Path
) -> None:
    """The reply (its stored round, and with it the pending approvals) is deleted in Slack
    while a call waits: the call is not run as if approved; it counts as not approved."""
    tickets = await start(harness, tmp_path)
    script_ticket(harness)
    event = await harness.mention("file a ticket")
    await asked(harness, event["ts"])
    reply_ts = [m for m in harness.slack.replies("C1", event["ts"]) if m.get("bot_id")][0]["ts"]
    harness.slack._delete({"channel": "C1", "ts": reply_ts})  # an admin deletes the reply
    await harness.send(
        {
            "type": "message",
            "subtype": "message_deleted",
            "channel": "C1",
            "channel_type": "channel",
            "hidden": True,
            "ts": next_ts(),
            "deleted_ts": reply_ts,
            "previous_message": {"type": "message", "ts": reply_ts, "thread_ts": event["ts"]},
        }
    )
    # The waiting round notices within a poll; the turn then ends (its row is gone).
    await harness.slack.wait_for(lambda: harness.finished([]), timeout=15)
    await harness.settle()
    assert filed(tickets) == [], "a call nobody approved never runs"
    assert "ticket filed" not in json.dumps(harness.llm.requests[-1])


async def test_a_workflow_step_never_runs_a_tool_that_waits_for_approval(
    harness: Harness, tmp_path: Path
) -> None:
    tickets = await start(harness, tmp_path)
    script_ticket(harness)
    event = harness.slack.function_executed("ask_model", {"prompt": "file a ticket"})
    assert await harness.send(event) == 200
    execution = harness.slack.executions[event["function_execution_id"]]
    await harness.slack.wait_for(lambda: execution["outcome"] is not None, timeout=15)
    assert execution["outcome"] == "success", execution
    assert filed(tickets) == []
    assert ticket_result(harness) == texts_tools.TOOL_DECLINED
    assert harness.slack.calls_to("chat.postMessage") == [], "no request posted anywhere"


async def test_an_answer_carried_on_after_a_restart_keeps_its_threads_order(
    harness: Harness, tmp_path: Path
) -> None:
    """A follow-up written while the carried-on answer streams waits for it, as it would
    for any answer in its thread: whichever runs second sees the other's answer."""
    await start(harness, tmp_path)
    first = "Alpha " * 60
    harness.llm.script(
        tool_call_reply([("c1", "kit__create_ticket", json.dumps({"title": "Printer"}))]),
        text_reply(first, delay=0.03),
        text_reply("Beta."),
    )
    event = await harness.mention("file a ticket")
    request = await asked(harness, event["ts"])
    await harness.restart()
    await harness.interact(click(request, APPROVE_ACTION, user="U1"))
    await harness.llm.wait_for(lambda: len(harness.llm.requests) == 2, timeout=15)
    await harness.mention("and another thing", thread_ts=event["ts"])
    await harness.llm.wait_for(lambda: len(harness.llm.requests) == 3, timeout=15)
    await harness.settle(timeout=20)
    later = json.dumps(harness.llm.requests[2]["messages"])
    assert first.strip() in later, "the second answer ran while the first still streamed"
