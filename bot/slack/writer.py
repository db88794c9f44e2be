"""Slack write calls that honour 429 Retry-After per workspace and method and retry 5xx.

The pause is shared: when Slack says a method is rate limited, every reply in that
workspace waits, not only the one that got the 429.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.clock import Clock, SystemClock

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}


class SlackWriteFailed(Exception):
    """A write that had to land did not, after every retry."""


class SlackWriter:
    """Make Slack Web API write calls with shared rate-limit pauses and bounded retries."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        clock: Clock | None = None,
        max_attempts: int = 6,
        backoff: float = 0.5,
    ) -> None:
        self.client = client
        self.clock = clock or SystemClock()
        self.max_attempts = max_attempts
        self.backoff = backoff
        self._paused_until: dict[tuple[str, str], float] = {}
        self.rate_limited = 0  # 429s seen, for metrics and the benchmark

    def paused_for(self, team_id: str, method: str) -> float:
        """Return how long `method` is still paused in this workspace."""
        return max(0.0, self._paused_until.get((team_id, method), 0.0) - self.clock.now())

    async def call(
        self, team_id: str, method: str, *, must_land: bool = True, **args: Any
    ) -> AsyncSlackResponse | None:
        """Call `method`; None when a skippable write met a rate limit (the caller coalesces)."""
        attempt = 0
        while True:
            attempt += 1
            pause = self.paused_for(team_id, method)
            if pause > 0:
                if not must_land:
                    return None
                await self.clock.sleep(pause)
            try:
                return await self.client.api_call(method, json=args)
            except SlackApiError as exc:
                status = exc.response.status_code
                error = exc.response.get("error") if exc.response.data else None
                if status == 429 or error == "ratelimited":
                    self._pause(team_id, method, exc.response.headers)
                    if not must_land:
                        return None
                elif not (status >= 500 or error in TRANSIENT_ERRORS):
                    raise
                reason = f"{status} {error}"
            except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
                reason = type(exc).__name__
            if attempt >= self.max_attempts:
                raise SlackWriteFailed(f"{method} failed after {attempt} attempts: {reason}")
            logger.warning("slack %s failed (%s); retry %d", method, reason, attempt)
            if self.paused_for(team_id, method) <= 0:
                await self.clock.sleep(self.backoff * 2 ** (attempt - 1))

    def _pause(self, team_id: str, method: str, headers: Any) -> None:
        self.rate_limited += 1
        try:
            retry_after = float(headers.get("Retry-After") or headers.get("retry-after") or 1)
        except (TypeError, ValueError):
            retry_after = 1.0
        until = self.clock.now() + max(retry_after, 0.1)
        key = (team_id, method)
        self._paused_until[key] = max(until, self._paused_until.get(key, 0.0))
        logger.warning("slack %s rate limited in %s for %.1fs", method, team_id, retry_after)
