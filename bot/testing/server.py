"""Shared plumbing for the in-process fake HTTP servers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Self, TypeVar

from aiohttp import web

T = TypeVar("T")


class FakeServer:
    """Serve an aiohttp app on 127.0.0.1 with an ephemeral port."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._stopping = asyncio.Event()
        self._inflight: set[asyncio.Task[Any]] = set()

    def _build_app(self) -> web.Application:
        """Return the aiohttp application to serve."""
        raise NotImplementedError

    def _describe(self) -> str:
        """Summarise recorded state for assertion messages."""
        return ""

    @property
    def origin(self) -> str:
        """Return the server origin, e.g. ``http://127.0.0.1:PORT``."""
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> None:
        """Start listening on an ephemeral localhost port."""
        if self._runner is not None:
            raise RuntimeError(f"{type(self).__name__} is already started")
        self._stopping = asyncio.Event()
        # handler_cancellation: a client disconnect cancels the handler, so stalled
        # streams notice it; shutdown_timeout bounds stop() if a handler misbehaves.
        runner = web.AppRunner(
            self._build_app(), handler_cancellation=True, shutdown_timeout=2.0, access_log=None
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Release paused handlers and shut the server down."""
        self._stopping.set()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - a polling deadline is this helper's API
        *,
        what: str | None = None,
    ) -> None:
        """Poll ``predicate`` every 10 ms until it is true or fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                name = what or getattr(predicate, "__qualname__", repr(predicate))
                detail = self._describe()
                raise AssertionError(
                    f"condition {name!r} not met within {timeout}s"
                    + (f"\n{detail}" if detail else "")
                )
            await asyncio.sleep(0.01)

    async def _shielded(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` to completion even if the client disconnects meanwhile."""
        task = asyncio.ensure_future(coro)
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        return await asyncio.shield(task)

    async def _pause(self, seconds: float) -> None:
        """Sleep for ``seconds`` or until the server is stopping."""
        if seconds <= 0 or self._stopping.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
