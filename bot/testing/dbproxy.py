"""A TCP proxy in front of PostgreSQL that a test can cut and restore.

`cut()` drops every open connection and stops listening, so the bot meets the same
"connection refused" and "connection lost mid-query" errors a database restart or a
network partition gives; `restore()` listens again on the same port.

Usage::

    async with DbProxy("127.0.0.1", 5432) as proxy:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/test"
        await proxy.cut()
        ...
        await proxy.restore()
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Self

from sqlalchemy.engine import make_url


class DbProxy:
    """Forward 127.0.0.1:port to a database server until told to cut."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.target_port = host, port
        self.port = 0
        self.connections = 0  # accepted since start, for assertions
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def for_url(cls, url: str) -> DbProxy:
        """Build a proxy for the server a SQLAlchemy URL points at."""
        parsed = make_url(url)
        return cls(parsed.host or "127.0.0.1", parsed.port or 5432)

    def url(self, url: str) -> str:
        """Return `url` rewritten to go through this proxy."""
        return make_url(url).set(host="127.0.0.1", port=self.port).render_as_string(False)

    async def start(self) -> None:
        """Listen (on the same port as before, after a cut)."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Drop every connection and refuse new ones."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._pipes):
            writer.transport.abort()
        self._pipes.clear()

    async def restore(self) -> None:
        """Accept connections again."""
        if self._server is None:
            await self.start()

    async def close(self) -> None:
        """Cut and stop every forwarding task."""
        await self.cut()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._pipes.update((writer, up_writer))
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._pipes.discard(sink)
            with contextlib.suppress(Exception):
                sink.transport.abort()
