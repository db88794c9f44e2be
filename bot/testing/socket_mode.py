"""Socket Mode for the fake Slack: apps.connections.open and a WebSocket that delivers events."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from aiohttp import WSMsgType, web

Json = dict[str, Any]


class SocketModeMixin:
    """Serve `/socket` like Slack's Socket Mode endpoint and record the client's acks."""

    api_methods: dict[str, Any]

    @property
    def origin(self) -> str:
        raise NotImplementedError  # FakeServer provides it

    def _init_socket_mode(self) -> None:
        self.sockets: list[web.WebSocketResponse] = []
        self.acks: list[Json] = []
        self._ack_waiters: dict[str, asyncio.Future[Json]] = {}
        self.api_methods["apps.connections.open"] = self._connections_open
        self.app_tokens_without_connections: set[str] = set()  # app tokens lacking the scope

    def _connections_open(self, args: Json) -> Json:
        # Slack refuses any token but an app-level one, and one without connections:write.
        token = getattr(self, "caller_token", None) or ""
        if not token.startswith("xapp-"):
            return {"ok": False, "error": "not_allowed_token_type"}
        if token in self.app_tokens_without_connections:
            return {"ok": False, "error": "missing_scope", "needed": "connections:write"}
        return {"ok": True, "url": self.origin.replace("http://", "ws://") + "/socket"}

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}}
        )
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                ack = json.loads(message.data)
                self.acks.append(ack)
                waiter = self._ack_waiters.pop(ack.get("envelope_id", ""), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(ack)
        finally:
            self.sockets.remove(ws)
        return ws

    async def wait_socket(self, timeout: float = 5.0) -> None:
        """Wait until a Socket Mode client is connected."""
        async with asyncio.timeout(timeout):
            while not self.sockets:
                await asyncio.sleep(0.01)

    async def send_socket_event(self, body: Json, *, timeout: float = 5.0) -> Json:
        """Deliver an Events API body over the socket; return the client's ack."""
        await self.wait_socket(timeout)
        envelope_id = str(uuid.uuid4())
        waiter: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._ack_waiters[envelope_id] = waiter
        await self.sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": "events_api",
                "accepts_response_payload": False,
                "retry_attempt": 0,
                "retry_reason": "",
                "payload": body,
            }
        )
        async with asyncio.timeout(timeout):
            return await waiter
