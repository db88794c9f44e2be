"""`python -m bot console` offers MCP servers' tools too, and stops their processes on exit."""

from __future__ import annotations

import os
from pathlib import Path

from bot.testing.openai import FakeOpenAI, text_reply, tool_call_reply
from bot.testing.toolchecks import results_by_name
from tests.tools.mcp.helpers import alive, kit, pids, run_console, write_servers


async def test_console_calls_mcp_tools(llm: FakeOpenAI, tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    servers = write_servers(tmp_path / "mcp.json", {"kit": kit("--pidfile", str(pidfile))})
    llm.script(tool_call_reply([("c1", "kit__add", '{"a": 20, "b": 22}')]), text_reply("42."))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_"))}
    env.update(
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=llm.base_url,
        OPENAI_MODEL="fake-model",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'console.db'}",
        MCP_SERVERS=servers,
    )
    code, out, err = await run_console(env, tmp_path, "add 20 and 22\n")
    assert code == 0, err
    assert "42." in out
    assert results_by_name(llm.requests[1])["kit__add"] == ["42"]
    [pid] = pids(pidfile)
    assert not alive(pid), "the server's process ended with the console"
