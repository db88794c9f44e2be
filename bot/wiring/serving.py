"""What a process serves: Slack events over HTTP or Socket Mode, /healthz and /metrics."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from bot.settings import Settings
from bot.slack_app.app import BotApp
from bot.telemetry.endpoints import health_app, metrics_app, metrics_handler
from bot.telemetry.metrics import Metrics

logger = logging.getLogger(__name__)


class Serving:
    """Own the listening sockets and the Socket Mode connection."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port: int | None = None  # events (HTTP mode) or /healthz only (Socket Mode)
        self.metrics_port: int | None = None  # METRICS_PORT, once listening
        self._runners: list[web.AppRunner] = []
        self._socket_handler: Any = None

    async def serve(self, bot: BotApp, metrics: Metrics) -> None:
        """Listen for events (or connect over Socket Mode), and serve metrics when asked."""
        s = self.settings
        if s.metrics_port is not None:
            app = metrics_app(metrics, s.metrics_token)
            self.metrics_port = await self._listen(app, s.metrics_host, s.metrics_port)
            logger.info(
                "serving metrics on http://%s:%s/metrics", s.metrics_host, self.metrics_port
            )
        if s.socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            self._socket_handler = AsyncSocketModeHandler(bot.bolt, s.slack_app_token)
            await self._socket_handler.connect_async()
            logger.info("connected over Socket Mode")
            # No events arrive over HTTP, but a container's HEALTHCHECK still asks /healthz.
            health = health_app(bot.healthz)
            if s.metrics_token and s.metrics_port is None:
                health.router.add_get("/metrics", metrics_handler(metrics, s.metrics_token))
            self.port = await self._listen(health, s.host, s.port)
            logger.info("serving /healthz on http://%s:%s/healthz", s.host, self.port)
            return
        self.port = await self._listen(bot.web, s.host, s.port)
        logger.info("serving Slack events on http://%s:%s/slack/events", s.host, self.port)

    async def _listen(self, app: web.Application, host: str, port: int) -> int:
        """Serve `app` on host:port; return the port it listens on (port 0 picks one)."""
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, host, port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        return int(sockets[0].getsockname()[1]) if sockets else port

    async def disconnect(self) -> None:
        """Stop taking events over Socket Mode (HTTP keeps answering 503 while draining)."""
        if self._socket_handler is not None:
            await self._socket_handler.close_async()

    async def stop(self) -> None:
        """Close every listening socket."""
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()
