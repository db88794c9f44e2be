"""Where approvals meet Stop, the agent session and usage: a real stdio MCP server, the real app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot import texts
from bot.testing.harness import Harness, text_of
from bot.testing.interactive import click
from bot.turns.approval import APPROVE_ACTION
from bot.usage.record import UsageLedger
from tests.tools.mcp.test_mcp_approval import asked, ephemerals, filed, script_ticket, start


@pytest.fixture
def database_url(tmp_path: Path) -> str:
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
