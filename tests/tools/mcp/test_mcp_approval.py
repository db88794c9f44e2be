"""Tool calls that change things wait for Approve: a real stdio MCP server through the real app.

The kit server's `create_ticket` is annotated `readOnlyHint: false` and appends to a file,
so each test sees whether it really ran; `count_tickets` is annotated read-only.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from bot import texts, texts_tools
from bot.db.replicas import Replica
from bot.testing.harness import Harness, next_ts, text_of
from bot.testing.interactive import click, element
from bot.testing.openai import FakeOpenAI, text_reply, tool_call_reply
from bot.testing.slack import FakeSlack
from bot.testing.toolchecks import results_by_name
from bot.turns.approval import APPROVE_ACTION, DENY_ACTION
from bot.usage.record import UsageLedger
from tests.tools.mcp.helpers import kit, write_servers

TITLE = "Printer on fire <!channel> <@U9>"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: PostgreSQL runs the store's conditional updates in tests/db."""
    return f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"


async def start(harness: Harness, tmp_path: Path, approval: str = "by_hint", **kw: Any) -> Path:
    tickets = tmp_path / "tickets.txt"
    entry = kit(env={"KIT_TICKETS": str(tickets)}, approval=approval)
    await harness.start(mcp_servers=write_servers(tmp_path / "mcp.json", {"kit": entry}), **kw)
    return tickets


def script_ticket(bot: Harness) -> None:
    bot.llm.script(
        tool_call_reply([("c1", "kit__create_ticket", json.dumps({"title": TITLE}))]),
        text_reply("Done here."),
    )


def request_of(bot: Harness, thread_ts: str) -> dict[str, Any] | None:
    for message in bot.slack.replies("C1", thread_ts):
        if element(message, APPROVE_ACTION) is not None:
            return message
    return None


async def asked(bot: Harness, thread_ts: str) -> dict[str, Any]:
    await bot.slack.wait_for(lambda: request_of(bot, thread_ts) is not None, timeout=15)
    message = request_of(bot, thread_ts)
    assert message is not None
    return message


def filed(tickets: Path) -> list[str]:
    return tickets.read_text().splitlines() if tickets.exists() else []


def ticket_result(bot: Harness) -> str:
    return results_by_name(bot.llm.requests[-1])["kit__create_ticket"][0]


def ephemerals(bot: Harness, user: str) -> list[str]:
    return [
        c.args["text"] for c in bot.slack.calls_to("chat.postEphemeral") if c.args["user"] == user
    ]


async def approvals_counted(bot: Harness, decision: str) -> float:
    for line in (await bot.scrape()).splitlines():
        if line.startswith(f'slackbot_tool_approvals_total{{decision="{decision}"}}'):
            return float(line.split()[-1])
    return 0.0


async def test_approved_call_runs_and_the_answer_goes_on(harness: Harness, tmp_path: Path) -> None:
    tickets = await start(harness, tmp_path)
    script_ticket(harness)
    event = await harness.mention("file a ticket")
    request = await asked(harness, event["ts"])
    assert filed(tickets) == [], "nothing runs before Approve"
    shown = json.dumps(request["blocks"])
    assert "kit__create_ticket" in shown and "Printer on fire" in shown
    assert "<!channel>" not in shown, "no broadcast from the arguments"
    preformatted = request["blocks"][1]["elements"][0]
    assert preformatted["type"] == "rich_text_preformatted"
    assert {e["type"] for e in preformatted["elements"]} == {"text"}, "plain text: no pings"
    assert len(harness.llm.requests) == 1, "the model waits for the decision"
    await harness.interact(click(request, APPROVE_ACTION, user="U1"))
    replies = await harness.wait_reply_done("C1", event["ts"])
    assert filed(tickets) == [TITLE]
    assert ticket_result(harness).startswith("ticket filed:")
    assert "Done here." in text_of(replies[0])
    decided = [m for m in harness.slack.replies("C1", event["ts"]) if m["ts"] == request["ts"]][0]
    assert element(decided, APPROVE_ACTION) is None, "the buttons are gone"
    assert "approved by <@U1>" in json.dumps(decided["blocks"])
    assert await approvals_counted(harness, "approved") == 1
    assert harness.runtime is not None and harness.runtime.usage is not None
    await harness.settle()
    rows = await usage_rows(harness)
    assert rows[-1]["approvals"] == {"approved": 1}


async def usage_rows(bot: Harness) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from bot.db.models import UsageRecord

    assert bot.runtime is not None
    async with bot.runtime.engine.connect() as conn:
        result = await conn.execute(select(UsageRecord.approvals))
        return [{"approvals": row[0]} for row in result]


async def test_denied_call_does_not_run_and_the_model_hears_it(
    harness: Harness, tmp_path: Path
) -> None:
    tickets = await start(harness, tmp_path)
    script_ticket(harness)
    event = await harness.mention("file a ticket")
    request = await asked(harness, event["ts"])
    await harness.interact(click(request, DENY_ACTION, user="U1"))
    replies = await harness.wait_reply_done("C1", event["ts"])
    assert filed(tickets) == []
    assert ticket_result(harness) == texts_tools.TOOL_DECLINED
    assert "Done here." in text_of(replies[0])
    assert await approvals_counted(harness, "denied") == 1


async def test_no_answer_in_time_counts_as_declined(harness: Harness, tmp_path: Path) -> None:
    tickets = await start(harness, tmp_path, approval_timeout=0.3)
    script_ticket(harness)
    event = await harness.mention("file a ticket")
    request = await asked(harness, event["ts"])
    late = click(request, APPROVE_ACTION, user="U1")  # the buttons as the user saw them
    replies = await harness.wait_reply_done("C1", event["ts"])
    assert filed(tickets) == []
    assert ticket_result(harness) == texts_tools.TOOL_EXPIRED
    assert "Done here." in text_of(replies[0])
    decided = [m for m in harness.slack.replies("C1", event["ts"]) if m["ts"] == request["ts"]][0]
    assert "not approved in time" in json.dumps(decided["blocks"])
    await harness.interact(late)
    await harness.settle()
    assert filed(tickets) == []
    assert any("already decided (expired)" in t for t in ephemerals(harness, "U1"))


async def test_only_the_asker_or_an_approver_decides(harness: Harness, tmp_path: Path) -> None:
    tickets = await start(harness, tmp_path, approvers="U3")
    script_ticket(harness)
    event = await harness.mention("file a ticket")
    request = await asked(harness, event["ts"])
    by_approver = click(request, APPROVE_ACTION, user="U3")
    await harness.interact(click(request, APPROVE_ACTION, user="U2"))
    await harness.slack.wait_for(lambda: bool(ephemerals(harness, "U2")))
    assert ephemerals(harness, "U2") == [texts_tools.APPROVAL_NOT_ALLOWED.format(asker="U1")]
    # The refusal is posted after the check that decided nothing: the round still waits.
    assert filed(tickets) == [] and len(harness.llm.requests) == 1, "still waiting"
    await harness.interact(by_approver)  # an approver
    await harness.wait_reply_done("C1", event["ts"])
    assert len(filed(tickets)) == 1


async def test_a_double_click_counts_once(harness: Harness, tmp_path: Path) -> None:
    tickets = await start(harness, tmp_path)
    script_ticket(harness)
    event = await harness.mention("file a ticket")
    request = await asked(harness, event["ts"])
    approve, deny = click(request, APPROVE_ACTION), click(request, DENY_ACTION)
    await asyncio.gather(harness.interact(approve), harness.interact(deny))
    await harness.wait_reply_done("C1", event["ts"])
    await harness.settle()
    assert len(harness.llm.requests) == 2
    decided = await approvals_counted(harness, "approved") + await approvals_counted(
        harness, "denied"
    )
    assert decided == 1
    assert len(filed(tickets)) == (1 if ticket_result(harness).startswith("ticket") else 0)
    assert any("already decided" in t for t in ephemerals(harness, "U1"))


async def test_approved_after_a_restart(harness: Harness, tmp_path: Path) -> None:
    tickets = await start(harness, tmp_path)
    script_ticket(harness)
    event = await harness.mention("file a ticket")
    request = await asked(harness, event["ts"])
    approve = click(request, APPROVE_ACTION, user="U1")
    await harness.restart()
    assert filed(tickets) == []
    reply_ts = [m for m in harness.slack.replies("C1", event["ts"]) if m.get("bot_id")][0]["ts"]
    assert texts_tools.APPROVAL_PAUSED.strip() in text_of(
        [m for m in harness.slack.replies("C1", event["ts"]) if m["ts"] == reply_ts][0]
    )
    await harness.interact(approve)
    await harness.slack.wait_for(lambda: len(harness.llm.requests) == 2, timeout=15)
    await harness.settle()
    assert len(filed(tickets)) == 1
    assert ticket_result(harness).startswith("ticket filed:")
    final = [m for m in harness.slack.replies("C1", event["ts"]) if m["ts"] == reply_ts][0]
    assert "Done here." in text_of(final), "the same reply carries on"
    assert texts_tools.APPROVAL_PAUSED.strip() not in text_of(final)


async def test_a_read_only_tool_runs_without_asking(harness: Harness, tmp_path: Path) -> None:
    await start(harness, tmp_path)
    harness.llm.script(
        tool_call_reply([("c1", "kit__count_tickets", "{}")]), text_reply("None yet.")
    )
    event = await harness.mention("how many tickets?")
    replies = await harness.wait_reply_done("C1", event["ts"])
    assert "None yet." in text_of(replies[-1])
    assert results_by_name(harness.llm.requests[-1])["kit__count_tickets"] == ["0"]
    assert request_of(harness, event["ts"]) is None


async def test_approval_never_runs_a_writing_tool_at_once(harness: Harness, tmp_path: Path) -> None:
    tickets = await start(harness, tmp_path, approval="never")
    script_ticket(harness)
    event = await harness.mention("file a ticket")
    await harness.wait_reply_done("C1", event["ts"])
    assert len(filed(tickets)) == 1 and request_of(harness, event["ts"]) is None


async def test_waiting_for_approval_suspends_the_agent_session(
    harness: Harness, tmp_path: Path
) -> None:
    await start(harness, tmp_path)
    script_ticket(harness)
    event = await harness.mention("file a ticket")
    request = await asked(harness, event["ts"])
    await harness.slack.wait_for(
        lambda: harness.slack.session_statuses("C1", event["ts"]) == ["processing", "suspended"]
    )
    await harness.interact(click(request, APPROVE_ACTION, user="U1"))
    await harness.wait_reply_done("C1", event["ts"])
    await harness.slack.wait_for(
        lambda: harness.slack.session_statuses("C1", event["ts"])[-1:] == ["active"]
    )
    statuses = harness.slack.session_statuses("C1", event["ts"])
    assert statuses == ["processing", "suspended", "processing", "active"], statuses


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
    decided = [m for m in harness.slack.replies("C1", event["ts"]) if m["ts"] == request["ts"]][0]
    assert "not approved in time" in json.dumps(decided["blocks"]) or "expired" in json.dumps(
        decided["blocks"]
    ), decided
    assert harness.slack.session_statuses("C1", event["ts"])[-1] == "active"
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
    import time

    tickets = await start(harness, tmp_path, approval_timeout=3.0)
    script_ticket(harness)
    event = await harness.mention("file a ticket")
    request = await asked(harness, event["ts"])
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
    await harness.slack.wait_for(lambda: len(harness.llm.requests) == 2, timeout=15)
    await harness.settle()
    assert filed(tickets) == [], "a call nobody approved never runs"
    assert "ticket filed" not in json.dumps(harness.llm.requests[-1])
