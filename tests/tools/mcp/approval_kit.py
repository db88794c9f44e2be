"""Helpers for the approval tests: the kit MCP server's ticket tool, its request, its file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.testing.harness import Harness
from bot.testing.interactive import element
from bot.testing.openai import text_reply, tool_call_reply
from bot.testing.toolchecks import results_by_name
from bot.turns.approval import APPROVE_ACTION
from tests.tools.mcp.helpers import kit, write_servers

TITLE = "Printer on fire <!channel> <@U9>"


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
