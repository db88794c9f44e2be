"""One MCP server kept connected: start, list tools, call, notice the end, start again.

Each server lives in one asyncio task (the SDK's context managers must be entered and left
in one task). The task connects, initialises, lists the tools and then watches: the end of
the server's message stream (a stdio server that exited), a failed ping (an HTTP server
that went away) or `notifications/tools/list_changed` (list again). When the connection
ends it is logged, its tools are withdrawn and it is tried again after a backoff. Leaving
the task (at shutdown) closes the connection; the SDK stops a stdio server's process
(stdin closed, then SIGTERM, then SIGKILL to its process group) even under cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any, cast

import mcp_types as types
from mcp import ClientSession
from mcp.shared.exceptions import MCPError

from bot.tools.mcp.config import ServerConfig
from bot.tools.mcp.streams import EndWatch
from bot.tools.mcp.transports import open_transport
from bot.tools.registry import ToolError

logger = logging.getLogger(__name__)

BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)  # seconds between attempts, the last repeats
SETTLE_WAIT = 5.0  # longest a call waits for the tool list it changed to be listed again
STABLE_AFTER = 60.0  # a connection that lasted this long starts the backoff over
CLIENT_INFO = types.Implementation(name="slack-llm-bot", version="1")


class ServerLink:
    """The connection to one MCP server, re-established whenever it ends."""

    def __init__(
        self,
        config: ServerConfig,
        *,
        start_timeout: float = 30.0,
        ping_interval: float = 30.0,
        backoff: Sequence[float] = BACKOFF,
        on_change: Callable[[ServerLink], None] | None = None,
    ) -> None:
        self.config = config
        self.on_change = on_change  # told whenever `up` or `tools` changes
        self.start_timeout = start_timeout
        self.ping_interval = ping_interval
        self.backoff = tuple(backoff)
        self.session: ClientSession | None = None
        self.tools: list[types.Tool] = []
        self.up = False
        self.failures = 0  # attempts that failed, and connections that ended
        self.last_error = ""  # why the last attempt or connection ended
        self.tried = asyncio.Event()  # the first attempt has succeeded or failed
        self._stale = asyncio.Event()  # the server said its tools changed
        self._fresh = asyncio.Event()  # the tools listed are the server's current ones
        self._lost = asyncio.Event()  # a call saw the connection closed

    @property
    def name(self) -> str:
        """Return the server's name from the configuration."""
        return self.config.name

    async def run(self) -> None:
        """Keep the server connected until cancelled."""
        attempt = 0
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            try:
                await self._connect_and_watch()
                reason = "the connection ended"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - logged; the server is tried again
                reason = _describe(exc)
            finally:
                self._withdraw()
            self.last_error = reason
            self.failures += 1
            if loop.time() - began >= STABLE_AFTER:
                attempt = 0
            delay = self.backoff[min(attempt, len(self.backoff) - 1)]
            attempt += 1
            logger.warning(
                "MCP server %s is unavailable (%s); trying again in %gs", self.name, reason, delay
            )
            self.tried.set()
            await asyncio.sleep(delay)

    async def call(
        self, tool: str, arguments: dict[str, Any], meta: dict[str, Any]
    ) -> types.CallToolResult:
        """Call one tool; a server that is away becomes a ToolError the model reads."""
        session = self.session
        if session is None or not self.up:
            raise ToolError(f"the MCP server {self.name} is not available right now")
        try:
            result = await session.call_tool(
                tool, arguments, meta=cast(types.RequestParamsMeta, meta)
            )
        except MCPError as exc:
            if exc.code == types.CONNECTION_CLOSED:
                self._lost.set()
                raise ToolError(
                    f"the MCP server {self.name} stopped while running {tool}; try again later"
                ) from None
            raise ToolError(
                f"{tool} failed on the MCP server {self.name}: {exc.error.message}"
            ) from None
        await self._settled()
        return result

    async def _settled(self) -> None:
        """Wait (briefly) for a tool list this call changed, so the next request offers it."""
        await asyncio.sleep(0)  # a notification sent before the result is handled first
        if self._fresh.is_set():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SETTLE_WAIT):
                await self._fresh.wait()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self)

    def _withdraw(self) -> None:
        self.up = False
        self.session = None
        self.tools = []
        self._changed()

    async def _connect_and_watch(self) -> None:
        ended = asyncio.Event()
        async with contextlib.AsyncExitStack() as stack:
            read, write = await stack.enter_async_context(open_transport(self.config))
            session = await stack.enter_async_context(
                ClientSession(
                    EndWatch(read, ended),
                    write,
                    message_handler=self._on_message,
                    client_info=CLIENT_INFO,
                )
            )
            async with asyncio.timeout(self.start_timeout):
                await session.initialize()
                self._stale.clear()
                await self._list(session)
            self.session, self.up = session, True
            self._changed()
            self._lost.clear()
            self.tried.set()
            logger.info(
                "MCP server %s is up with %d tools (%s)",
                self.name,
                len(self.tools),
                ", ".join(t.name for t in self.tools) or "none",
            )
            await self._watch(session, ended)

    async def _watch(self, session: ClientSession, ended: asyncio.Event) -> None:
        """Return when the connection has ended; list tools again when they change."""
        waits = {
            "ended": asyncio.ensure_future(ended.wait()),
            "lost": asyncio.ensure_future(self._lost.wait()),
        }
        try:
            while not ended.is_set() and not self._lost.is_set():
                stale = asyncio.ensure_future(self._stale.wait())
                done, _ = await asyncio.wait(
                    {stale, *waits.values()},
                    timeout=self.ping_interval,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                stale.cancel()
                if ended.is_set() or self._lost.is_set():
                    return
                async with asyncio.timeout(self.start_timeout):
                    if stale in done:
                        self._stale.clear()
                        await self._list(session)
                        logger.info(
                            "MCP server %s changed its tools: %s",
                            self.name,
                            ", ".join(t.name for t in self.tools) or "none",
                        )
                    else:
                        await session.send_ping()
        finally:
            for wait in waits.values():
                wait.cancel()

    async def _list(self, session: ClientSession) -> None:
        tools: list[types.Tool] = []
        cursor: str | None = None
        while True:
            params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await session.list_tools(params=params)
            tools += page.tools
            cursor = page.next_cursor
            if not cursor:
                break
        self.tools = tools
        self._changed()
        if not self._stale.is_set():
            self._fresh.set()

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            self._fresh.clear()
            self._stale.set()
        elif isinstance(message, Exception):
            logger.info("MCP server %s: %s", self.name, _describe(message))


def _describe(exc: BaseException) -> str:
    """Say what went wrong without a traceback (and never a header value)."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    if isinstance(exc, TimeoutError):
        return "it did not answer in time"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
