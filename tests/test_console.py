"""`python -m bot console`: the same pipeline in a terminal, driven by scripted stdin."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from pathlib import Path

from bot.ops.console import TerminalSlack
from bot.testing.openai import FakeOpenAI, text_reply, tool_call_reply


async def run_console(llm: FakeOpenAI, db: Path, stdin: str, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_"))}
    env.update(
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=llm.base_url,
        OPENAI_MODEL="fake-model",
        DATABASE_URL=f"sqlite+aiosqlite:///{db}",
        SLACK_UPDATE_INTERVAL="0.05",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "console",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=db.parent,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_console_chats_through_the_pipeline_without_slack(
    llm: FakeOpenAI, tmp_path: Path
) -> None:
    llm.script(
        text_reply("Nice to meet you, **Ada**.", pieces=3, delay=0.01),
        tool_call_reply([("call_1", "current_datetime", '{"timezone": "UTC"}')]),
        text_reply("Your name is Ada; it is a fine day."),
    )
    code, out, err = await run_console(
        llm, tmp_path / "console.db", "my name is Ada\n\nwhat is my name and the date?\n"
    )
    assert code == 0, err
    assert "Nice to meet you, **Ada**." in out
    assert "Your name is Ada; it is a fine day." in out
    assert "Thinking" not in out.split("you> ")[-1], "the final answer replaces the placeholder"
    first, second, third = llm.requests
    assert first["messages"][-1] == {"role": "user", "content": "my name is Ada"}
    assert second["tools"], "the console offers the same tools"
    sent = [(m["role"], m.get("content")) for m in third["messages"][1:]]
    assert sent[:3] == [
        ("user", "my name is Ada"),
        ("assistant", "Nice to meet you, **Ada**."),
        ("user", "what is my name and the date?"),
    ], "history comes from the database"
    assert third["messages"][-1]["role"] == "tool"
    # The conversation is stored: resuming the printed thread continues it.
    thread = out.split("--thread ", 1)[1].split(")", 1)[0]
    llm.script(text_reply("Still Ada."))
    code, out, err = await run_console(llm, tmp_path / "console.db", "again?\n", "--thread", thread)
    assert code == 0, err
    assert "Still Ada." in out
    assert "my name is Ada" in [m.get("content") for m in llm.requests[-1]["messages"]]


def test_terminal_redraws_one_message_in_place_as_it_is_edited() -> None:
    screen = io.StringIO()
    terminal = TerminalSlack(screen, live=True)
    ts = terminal.answer("chat.postMessage", {"channel": "D", "markdown_text": "_Thinking…_"})["ts"]
    terminal.answer("assistant.threads.setStatus", {"status": "is thinking…"})
    terminal.answer("chat.update", {"ts": ts, "markdown_text": "Hello"})
    terminal.answer(
        "chat.update",
        {"ts": ts, "blocks": [{"type": "markdown", "text": "Hello &lt;world&gt;"}], "text": "x"},
    )
    drawn = screen.getvalue()
    assert drawn.count("\x1b[J") == 4, "each change clears and redraws the turn's area"
    assert "\x1b[2F" in drawn, "it moves back over the message and the status line"
    assert drawn.endswith("Hello <world>\n\x1b[2mbot is thinking…\x1b[0m\n")
    assert terminal.edits == 2
