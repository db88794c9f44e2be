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

from bot import texts_tools
from bot.testing.harness import Harness, text_of
from bot.testing.interactive import click, element
from bot.testing.openai import text_reply, tool_call_reply
from bot.testing.toolchecks import results_by_name
from bot.turns.approval import APPROVE_ACTION, DENY_ACTION
from tests.tools.mcp.approval_kit import (
    TITLE,
    approvals_counted,
    asked,
    ephemerals,
    filed,
    request_of,
    script_ticket,
    start,
    ticket_result,
)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: PostgreSQL runs the store's conditional updates in tests/db."""
    return f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"


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
    reply_ts = [m for m in harness.slack.replies("C1", event["ts"]) if m.get("bot_id")][0]["ts"]

    def reply_text() -> str:
        return text_of(
            [m for m in harness.slack.replies("C1", event["ts"]) if m["ts"] == reply_ts][0]
        )

    await harness.stop()
    assert texts_tools.APPROVAL_PAUSED.strip() in reply_text()
    await harness.start()
    # The new process takes the waiting round up again: the reply says it waits, not paused.
    await harness.slack.wait_for(lambda: "Waiting for approval" in reply_text(), timeout=15)
    assert texts_tools.APPROVAL_PAUSED.strip() not in reply_text()
    assert filed(tickets) == []
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


async def test_a_reply_over_several_messages_goes_on_in_its_last(
    harness: Harness, tmp_path: Path
) -> None:
    tickets = await start(harness, tmp_path, slack_message_max_chars=300)
    long = " ".join(f"word{i:03d}" for i in range(90))  # about 720 characters: three messages
    harness.llm.script(
        tool_call_reply(
            [("c1", "kit__create_ticket", json.dumps({"title": "T"}))], content_before=long
        ),
        text_reply("Done here."),
    )
    event = await harness.mention("file a ticket")
    request = await asked(harness, event["ts"])

    def reply() -> list[dict[str, Any]]:
        bots = [m for m in harness.slack.replies("C1", event["ts"]) if m.get("bot_id")]
        return [m for m in bots if m["ts"] != request["ts"]]

    await harness.slack.wait_for(lambda: "Waiting for approval" in text_of(reply()[-1]))
    await harness.stop()
    before = [(m["ts"], text_of(m)) for m in reply()]
    assert len(before) >= 3, before
    assert texts_tools.APPROVAL_PAUSED.strip() in before[-1][1]
    await harness.start()
    await harness.slack.wait_for(lambda: "Waiting for approval" in text_of(reply()[-1]))
    await harness.interact(click(request, APPROVE_ACTION, user="U1"))
    await harness.slack.wait_for(lambda: text_of(reply()[-1]).endswith("Done here."), timeout=15)
    await harness.settle()
    after = [(m["ts"], text_of(m)) for m in reply()]
    # The answer goes on in the last message (which may roll over again as it grows).
    assert after[: len(before) - 1] == before[:-1], "the earlier messages stay as they were"
    assert after[len(before) - 1][0] == before[-1][0]
    assert "Waiting for approval" not in after[len(before) - 1][1]
    shown = " ".join(text for _, text in after)
    assert [w for w in shown.split() if w.startswith("word")] == long.split(), "each word once"
    assert len(filed(tickets)) == 1


async def test_a_waiting_answer_lends_its_slot_and_keeps_its_thread(
    harness: Harness, tmp_path: Path
) -> None:
    tickets = await start(harness, tmp_path, max_concurrent_answers=1)

    def respond(body: dict[str, Any]) -> Any:
        asked = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
        if "ticket" in str(asked):
            if any(m["role"] == "tool" for m in body["messages"]):
                return text_reply("Done here.")
            return tool_call_reply([("c1", "kit__create_ticket", json.dumps({"title": "T"}))])
        return text_reply(f"Answer to {asked}.")

    harness.llm.responder = respond
    event = await harness.mention("file a ticket")
    request = await asked(harness, event["ts"])
    # A follow-up in the same thread, then a question elsewhere, while the first waits.
    follow = await harness.mention("and then?", thread_ts=event["ts"])
    other = await harness.mention("other question")
    await harness.slack.wait_for(
        lambda: (
            [text_of(m) for m in harness.slack.replies("C1", other["ts"]) if m.get("bot_id")]
            == ["Answer to other question."]
        ),
        what="the other question answered: the only slot was lent",
    )
    assert len(harness.llm.requests) == 2, "the follow-up waits for the decision"
    await harness.interact(click(request, APPROVE_ACTION, user="U1"))
    await harness.slack.wait_for(
        lambda: any(
            text_of(m) == "Answer to and then?." for m in harness.slack.replies("C1", event["ts"])
        ),
        timeout=15,
    )
    asked_in_order = [
        [m["content"] for m in r["messages"] if m["role"] == "user"][-1]
        for r in harness.llm.requests
    ]
    assert asked_in_order == ["file a ticket", "other question", "file a ticket", "and then?"]
    assert len(filed(tickets)) == 1
    assert follow["thread_ts"] == event["ts"]


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
