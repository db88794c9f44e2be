"""Helpers for MCP tests: write MCP_SERVERS files, run the HTTP server, check processes."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from asyncio.subprocess import Process
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.testing.harness import SECRET
from bot.testing.ports import free_port, wait_until_ready

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent / "servers"
KIT = str(HERE / "kit.py")
WEB = str(HERE / "web.py")


def kit(*args: str, **extra: Any) -> dict[str, Any]:
    """Return an mcpServers entry running the stdio kit server."""
    return {"command": sys.executable, "args": [KIT, *args], **extra}


def write_servers(path: Path, servers: dict[str, Any]) -> str:
    """Write an MCP_SERVERS file and return its path.

    Servers run their tools without asking unless the entry sets `approval` (these tests are
    about the MCP plumbing; tests/tools/mcp/test_mcp_approval.py is about approval).
    """
    servers = {name: {"approval": "never", **entry} for name, entry in servers.items()}
    path.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    return str(path)


@asynccontextmanager
async def web_server(token: str, port: int | None = None) -> AsyncIterator[str]:
    """Run the Streamable HTTP server in a subprocess; yield its MCP endpoint URL."""
    port = port or free_port()
    proc = await asyncio.create_subprocess_exec(sys.executable, WEB, str(port), token)
    try:
        await wait_until_ready(
            f"http://127.0.0.1:{port}/ready",
            alive=lambda: proc.returncode is None,
            describe=lambda: "the MCP HTTP server",
        )
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()


def alive(pid: int) -> bool:
    """Tell whether a process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def pids(path: Path) -> list[int]:
    """Return the pids the kit server wrote to its pidfile."""
    if not path.exists():
        return []
    return [int(line) for line in path.read_text().split()]


def bot_env(slack_api_url: str, llm_base_url: str, workdir: Path) -> dict[str, str]:
    """Return the environment of a `python -m bot` process talking to the fakes."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack_api_url,
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": llm_base_url,
        "OPENAI_MODEL": "fake-model",
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'bot.db'}",
        "HOST": "127.0.0.1",
        "SLACK_UPDATE_INTERVAL": "0.05",
        "LOG_LEVEL": "INFO",
    }


@asynccontextmanager
async def bot_process(env: dict[str, str], workdir: Path) -> AsyncIterator[Process]:
    """Run `python -m bot run` until it reports healthy; kill it if the test left it running."""
    port = free_port()
    log = workdir / "bot.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env={**env, "PORT": str(port)},
            cwd=workdir,
            stdout=out,
            stderr=out,
        )
    try:
        await wait_until_ready(
            f"http://127.0.0.1:{port}/healthz",
            alive=lambda: proc.returncode is None,
            describe=log.read_text,
        )
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def run_console(env: dict[str, str], workdir: Path, stdin: str) -> tuple[int, str, str]:
    """Run `python -m bot console` with `stdin`; return its exit code, stdout and stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "console",
        env=env,
        cwd=workdir,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 60)
    return proc.returncode or 0, out.decode(), err.decode()
