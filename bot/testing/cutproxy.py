"""A small HTTP proxy in front of a real model server that cuts streamed answers.

It forwards requests as they are and streams the answers back; while `cuts` is above zero,
the next streamed answer is cut (the connection closed) after `cut_after` bytes of its body,
the way a flaky network or gateway does. What each request carried is kept in `requests`.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from aiohttp import web

from bot.testing.server import FakeServer

HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding", "host"}


class CuttingProxy(FakeServer):
    """Forward `/v1/*` to `upstream`; cut the next `cuts` streamed bodies after `cut_after` bytes."""

    def __init__(self, upstream: str, *, cut_after: int = 600) -> None:
        super().__init__()
        self.upstream = upstream.rstrip("/")
        self.cut_after = cut_after
        self.cuts = 0
        self.cut_done = 0
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self._session: aiohttp.ClientSession | None = None

    @property
    def base_url(self) -> str:
        """Return the ``base_url`` for AsyncOpenAI."""
        return f"{self.origin}/v1"

    def _build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/v1/{tail:.*}", self._forward)
        app.on_cleanup.append(self._close_session)
        return app

    def _describe(self) -> str:
        return f"requests={len(self.requests)} cuts_left={self.cuts} cut={self.cut_done}"

    async def _close_session(self, app: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600))
        body = await request.read()
        if body and request.method == "POST":
            self.requests.append(json.loads(body))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        url = f"{self.upstream}{request.rel_url}"
        async with self._session.request(
            request.method, url, data=body, headers=headers
        ) as upstream:
            self.statuses.append(upstream.status)
            response = web.StreamResponse(
                status=upstream.status,
                headers={k: v for k, v in upstream.headers.items() if k.lower() not in HOP_HEADERS},
            )
            streamed = "text/event-stream" in upstream.headers.get("Content-Type", "")
            cut = streamed and self.cuts > 0
            if cut:
                self.cuts -= 1
            response.enable_chunked_encoding()
            await response.prepare(request)
            sent = 0
            async for block in upstream.content.iter_any():
                if cut and sent + len(block) >= self.cut_after:
                    await response.write(block[: max(0, self.cut_after - sent)])
                    self.cut_done += 1
                    if request.transport is not None:
                        request.transport.close()  # mid-body: the client sees a broken stream
                    return response
                await response.write(block)
                sent += len(block)
            await response.write_eof()
            return response
