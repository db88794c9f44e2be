"""`python -m bot run` as a real process with stdio MCP servers: none outlives the bot.

SIGTERM: the bot stops its servers on the way out. SIGKILL: the bot cannot do anything, so
each server runs under a guard that the kernel tells of the bot's death (PR_SET_PDEATHSIG)
and that then stops the server's whole process group.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from bot.testing.openai import FakeOpenAI
from bot.testing.slack import FakeSlack
from bot.tools.mcp import guard
from tests.tools.mcp.helpers import alive, bot_env, bot_process, kit, pids, write_servers


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
async def test_no_mcp_server_outlives_the_bot_process(
    slack: FakeSlack,
    llm: FakeOpenAI,
    tmp_path: Path,
    sig: signal.Signals,
) -> None:
    pidfile = tmp_path / "pids"
    # `late` is waiting out a backoff after failing to start: nothing of it may remain either.
    servers = {
        "one": kit("--pidfile", str(pidfile)),
        "two": kit("--pidfile", str(pidfile), "--linger"),  # survives its stdin's end
        "late": kit("--start-only-if", str(tmp_path / "never")),
    }
    config = write_servers(tmp_path / "mcp.json", servers)
    env = {**bot_env(slack.api_url, llm.base_url, tmp_path), "MCP_SERVERS": config}
    async with bot_process(env, tmp_path) as bot:
        await slack.wait_for(lambda: len(pids(pidfile)) == 2, timeout=30, what="servers up")
        servers_pids = pids(pidfile)
        assert all(alive(pid) for pid in servers_pids)
        bot.send_signal(sig)
        code = await asyncio.wait_for(bot.wait(), 15)
        assert code == (0 if sig == signal.SIGTERM else -signal.SIGKILL)
    await slack.wait_for(
        lambda: not any(alive(pid) for pid in servers_pids),
        timeout=15,
        what="every MCP server process has ended",
    )


async def test_a_bad_mcp_servers_file_stops_startup_naming_the_problem(
    slack: FakeSlack, llm: FakeOpenAI, tmp_path: Path
) -> None:
    servers = {"wiki": {"url": "https://wiki.example/mcp", "headers": {"X-Key": "${WIKI_KEY}"}}}
    env = {
        **bot_env(slack.api_url, llm.base_url, tmp_path),
        "MCP_SERVERS": write_servers(tmp_path / "mcp.json", servers),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2
    assert "MCP_SERVERS: mcpServers.wiki.headers.X-Key uses ${WIKI_KEY}, which is not set" in (
        err.decode()
    )


async def test_guard_does_not_start_a_server_for_a_parent_already_gone(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    script = f"open({str(marker)!r}, 'w').close()"
    # The guard's parent is this test process, not the pid it is given: as if that had died.
    proc = await asyncio.create_subprocess_exec(
        sys.executable, guard.__file__, "1", "--", sys.executable, "-c", script
    )
    assert await asyncio.wait_for(proc.wait(), 30) == 1
    assert not marker.exists()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, guard.__file__, str(os.getpid()), "--", sys.executable, "-c", script
    )
    assert await asyncio.wait_for(proc.wait(), 30) == 0
    assert marker.exists()
