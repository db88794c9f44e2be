"""A process killed between claiming a message and writing its reply's row, then restarted.

Two windows: after the claim and before the placeholder reached Slack, and after the
placeholder and before the reply's row (here, while the thread's history is being
imported). In each, the restarted process finds the claim still open and ends the
message clearly: the placeholder it names gets "could not answer", and without one the
note is posted in the thread. The fake Slack stalls the call the process is in (never
applied, as if the process died sending it).
"""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path
from typing import Any

from bot import texts, texts_tools
from bot.testing.harness import channel_message, text_of
from bot.testing.interactive import element
from bot.testing.openai import FakeOpenAI, text_reply
from bot.testing.processes import diagnose
from bot.testing.slack import FakeSlack


def claims(tmp_path: Path) -> list[tuple[str, int, str | None]]:
    with sqlite3.connect(tmp_path / "bot.db") as db:
        rows = db.execute("SELECT message_ts, settled, reply_ts FROM claims").fetchall()
    return [(str(ts), int(settled), reply) for ts, settled, reply in rows]


async def test_killed_between_claim_and_placeholder_the_thread_gets_the_note(
    launch: Any,  # noqa: F811
    slack: FakeSlack,
    llm: FakeOpenAI,
    tmp_path: Path,
) -> None:
    llm.script(text_reply("never asked"))
    slack.stall("chat.postMessage")
    async with launch() as bot:
        event = channel_message("<@UBOT> hello?")
        await bot.send({**event, "type": "app_mention"})
        await slack.wait_for(lambda: "chat.postMessage" in slack.held, what="placeholder sent")
        assert claims(tmp_path) == [(event["ts"], 0, None)], "claimed, still open"
        await bot.signal(signal.SIGKILL)
    assert slack.bot_messages("C1") == [], "the placeholder never reached Slack"
    slack.unstall("chat.postMessage")
    async with launch(PORT=str(bot.port)) as again:
        pass  # recovery runs before the process reports healthy
    replies = [m for m in slack.replies("C1", event["ts"]) if m.get("bot_id")]
    assert [text_of(m) for m in replies] == [texts.NOT_ANSWERED], diagnose(slack, again)
    assert claims(tmp_path) == [(event["ts"], 1, None)]
    assert llm.requests == [], "nothing was asked of the model"


async def test_killed_between_placeholder_and_row_the_placeholder_gets_the_note(
    launch: Any,  # noqa: F811
    slack: FakeSlack,
    llm: FakeOpenAI,
    tmp_path: Path,
) -> None:
    llm.script(text_reply("never asked"))
    root = slack.add_message("C1", "a thread the bot is not part of", "U2")
    slack.stall("conversations.replies")  # the import of that thread's history
    async with launch() as bot:
        event = channel_message("<@UBOT> what do you think?", thread_ts=root)
        await bot.send({**event, "type": "app_mention"})
        await slack.wait_for(lambda: "conversations.replies" in slack.held, what="importing")
        [placeholder] = slack.bot_messages("C1")
        assert text_of(placeholder) == texts.PLACEHOLDER
        assert claims(tmp_path) == [(event["ts"], 0, placeholder["ts"])], "noted, no row yet"
        await bot.signal(signal.SIGKILL)
    slack.unstall("conversations.replies")
    async with launch(PORT=str(bot.port)) as again:
        pass
    [ended] = slack.bot_messages("C1")
    assert ended["ts"] == placeholder["ts"]
    assert text_of(ended) == texts.NOT_ANSWERED, diagnose(slack, again)
    assert element(ended, "stop_reply") is None
    assert claims(tmp_path) == [(event["ts"], 1, placeholder["ts"])]


async def test_killed_while_answering_a_workflow_step_the_step_fails_at_restart(
    launch: Any,  # noqa: F811
    slack: FakeSlack,
    llm: FakeOpenAI,
    tmp_path: Path,
) -> None:
    llm.script(text_reply("slow " * 40, pieces=40, delay=0.5))
    event = slack.function_executed("ask_model", {"prompt": "Draft a reply", "user_id": "U7"})
    execution = slack.executions[event["function_execution_id"]]
    async with launch() as bot:
        await bot.send(event)
        await slack.wait_for(lambda: len(llm.requests) == 1, what="the model asked")
        await bot.signal(signal.SIGKILL)
    assert execution["outcome"] is None, "the workflow still waits for the step"
    async with launch(PORT=str(bot.port)) as again:
        pass  # recovery runs before the process reports healthy
    assert execution["outcome"] == "error", diagnose(slack, again)
    assert execution["error"] == texts_tools.STEP_RESTARTED
    with sqlite3.connect(tmp_path / "bot.db") as db:
        rows = db.execute("SELECT status FROM messages WHERE role = 'assistant'").fetchall()
    assert rows == [("interrupted",)]
    assert slack.calls_to("agents.sessions.setStatus") == [], "a step has no thread to settle"
