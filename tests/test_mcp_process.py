"""`python -m bot run` as a real process with stdio MCP servers: none outlives the bot.

SIGTERM: the bot stops its servers on the way out. SIGKILL: the bot cannot do anything, so
each server runs under a guard that the kernel tells of the bot's death (PR_SET_PDEATHSIG)
and that then stops the server's whole process group.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from bot.testing.slack import FakeSlack
from tests.mcp_servers.fixtures import alive, kit, pids, write_servers
from tests.test_process import launch  # noqa: F401 - the fixture


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
async def test_no_mcp_server_outlives_the_bot_process(
    launch: Any,  # noqa: F811 - the imported fixture
    slack: FakeSlack,
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
    async with launch(MCP_SERVERS=config) as bot:
        await slack.wait_for(lambda: len(pids(pidfile)) == 2, timeout=30, what="servers up")
        servers_pids = pids(pidfile)
        assert all(alive(pid) for pid in servers_pids)
        code = await bot.signal(sig)
        assert code == (0 if sig == signal.SIGTERM else -signal.SIGKILL)
    await slack.wait_for(
        lambda: not any(alive(pid) for pid in servers_pids),
        timeout=15,
        what="every MCP server process has ended",
    )
