"""Helpers for MCP tests: write MCP_SERVERS files, run the HTTP server, check processes."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
KIT = str(HERE / "kit.py")
WEB = str(HERE / "web.py")


def kit(*args: str, **extra: Any) -> dict[str, Any]:
    """Return an mcpServers entry running the stdio kit server."""
    return {"command": sys.executable, "args": [KIT, *args], **extra}


def write_servers(path: Path, servers: dict[str, Any]) -> str:
    """Write an MCP_SERVERS file and return its path."""
    path.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    return str(path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def web_server(token: str, port: int | None = None) -> AsyncIterator[str]:
    """Run the Streamable HTTP server in a subprocess; yield its MCP endpoint URL."""
    port = port or free_port()
    proc = await asyncio.create_subprocess_exec(sys.executable, WEB, str(port), token)
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(600):  # up to 60 s on a loaded machine
                assert proc.returncode is None, "the MCP HTTP server exited"
                try:
                    async with http.get(f"http://127.0.0.1:{port}/ready") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
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
