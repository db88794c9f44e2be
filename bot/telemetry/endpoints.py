"""The HTTP pages operators scrape: `/metrics` (own port or bearer token) and `/healthz`.

`/metrics` is never open on the public events port: with `METRICS_PORT` it is served on
that port alone (bind it to a private interface with `METRICS_HOST`), and with
`METRICS_TOKEN` it needs `Authorization: Bearer <token>` wherever it is served. Neither
set: no `/metrics` at all.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.telemetry.metrics import CONTENT_TYPE, Metrics

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def metrics_handler(metrics: Metrics, token: str | None) -> Handler:
    """Return the `/metrics` handler, checking the bearer token when one is set."""
    expected = f"Bearer {token}".encode() if token else None

    async def metrics_page(request: web.Request) -> web.Response:
        if expected is not None:
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return web.Response(
                    status=401, text="unauthorized", headers={"WWW-Authenticate": "Bearer"}
                )
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    return metrics_page


def metrics_app(metrics: Metrics, token: str | None) -> web.Application:
    """Return an application serving only `/metrics` (for METRICS_PORT)."""
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(metrics, token))
    return app


def health_app(healthz: Handler) -> web.Application:
    """Return an application serving only `/healthz` (Socket Mode has no events server)."""
    app = web.Application()
    app.router.add_get("/healthz", healthz)
    return app
