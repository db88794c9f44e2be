"""A read stream that tells when the server's messages have ended."""

from __future__ import annotations

import asyncio
from typing import Any

import anyio


class EndWatch:
    """Pass a transport's read stream through; set `ended` once it is exhausted or closed."""

    def __init__(self, stream: Any, ended: asyncio.Event) -> None:
        self._stream = stream
        self._ended = ended

    def __getattr__(self, name: str) -> Any:  # e.g. `last_context` of context streams
        return getattr(self._stream, name)

    async def receive(self) -> Any:
        try:
            return await self._stream.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._ended.set()
            raise

    def __aiter__(self) -> EndWatch:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        self._ended.set()
        await self._stream.aclose()

    async def __aenter__(self) -> EndWatch:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
