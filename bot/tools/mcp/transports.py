"""Open the connection to one MCP server: a guarded child process over stdio, or HTTP."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
from mcp import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from bot.tools.mcp import guard
from bot.tools.mcp.config import ServerConfig

HTTP_TIMEOUT = httpx2.Timeout(30.0, read=300.0)  # the SDK's defaults: long reads for SSE


def guarded(config: ServerConfig) -> StdioServerParameters:
    """Return how to start a stdio server under the guard that ties it to this process."""
    return StdioServerParameters(
        command=sys.executable,
        args=[str(Path(guard.__file__)), str(os.getpid()), "--", config.command, *config.args],
        env=dict(config.env) or None,
        cwd=config.cwd,
    )


@asynccontextmanager
async def open_transport(config: ServerConfig) -> AsyncIterator[Any]:
    """Yield the (read, write) streams of a connection; leaving closes it (and stops a child)."""
    if config.transport == "stdio":
        async with stdio_client(guarded(config)) as streams:
            yield streams
        return
    async with (
        httpx2.AsyncClient(headers=dict(config.headers), timeout=HTTP_TIMEOUT) as http,
        streamable_http_client(config.url, http_client=http) as streams,
    ):
        yield streams
