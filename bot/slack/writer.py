"""Slack write calls that honour 429 Retry-After per workspace and method and retry 5xx.

The pause is shared: when Slack says a method is rate limited, every reply in that
workspace waits, not only the one that got the 429. A write that must land (a final edit,
a new message) waits out pauses and retries server and connection errors; a skippable one
(an intermediate edit) gives up at once and lets the next edit carry the newer text.
"""

from __future__ import annotations

import logging
import random
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.clock import Clock, SystemClock
from bot.errors import BotError
from bot.slack.mentions import defuse_args
from bot.slack.posted import find_posted, post_metadata
from bot.slack.retry import NOT_IDEMPOTENT
from bot.telemetry.scope import turn_headers

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
MAX_RATE_LIMITED = 10  # 429s one must-land write waits out before it gives up
MAX_BACKOFF = 8.0


class Writer(Protocol):
    """What the reply renderers need to write to Slack (`SlackWriter`, or a test's recorder)."""

    def paused_for(self, team_id: str, method: str) -> float:
        """Return how long `method` is still paused in this workspace (after a 429)."""
        ...

    async def call(self, team_id: str, method: str, *, must_land: bool = True, **args: Any) -> Any:
        """Call `method`; None when a skippable write was not made."""
        ...


class SlackWriteFailed(BotError):
    """A write that had to land did not, after every retry."""


def _status_and_error(exc: SlackApiError) -> tuple[int, str | None]:
    response = exc.response
    # slack_sdk sometimes puts the raw aiohttp response here (an unreadable body).
    status = getattr(response, "status_code", None) or getattr(response, "status", 0) or 0
    data = getattr(response, "data", None)
    error = data.get("error") if isinstance(data, dict) else None
    return int(status), error


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
    ) -> AsyncSlackResponse | dict[str, Any] | None:
        """Call `method`; None when a skippable write was not made (the caller coalesces).

        A post whose outcome is unknown (a timeout, a dropped connection) is never simply
        sent again: one that carries `metadata` is looked up in its thread first and, when
        found, its answer is the message found; one without is given up.
        """
        failures = limited = 0
        args = defuse_args(args)  # the last line of defence: no write pings a whole channel
        if method == "chat.postMessage" and not args.get("metadata"):
            args["metadata"] = post_metadata()  # so that a lost answer can be looked up
        while True:
            pause = self.paused_for(team_id, method)
            if pause > 0:
                if not must_land:
                    return None
                await self.clock.sleep(pause)
            try:
                return await self.client.api_call(method, json=args, headers=turn_headers())
            except SlackApiError as exc:
                status, error = _status_and_error(exc)
                if status == 429 or error == "ratelimited":
                    self._pause(team_id, method, getattr(exc.response, "headers", None) or {})
                    limited += 1
                    if not must_land:
                        return None
                    if limited < MAX_RATE_LIMITED:
                        continue
                    raise SlackWriteFailed(f"{method} rate limited {limited} times") from exc
                if not (status >= 500 or error in TRANSIENT_ERRORS):
                    raise
                reason = f"{status} {error}"
            except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
                reason = type(exc).__name__
                if method in NOT_IDEMPOTENT and not isinstance(exc, aiohttp.ClientConnectorError):
                    if not args.get("metadata"):
                        raise SlackWriteFailed(f"{method} outcome unknown ({reason})") from exc
                    found = await self._look_up(team_id, method, args, reason)
                    if found is not None:
                        return found
            if not must_land:
                logger.info("slack %s failed (%s); the next edit carries the text", method, reason)
                return None
            failures += 1
            if failures >= self.max_attempts:
                raise SlackWriteFailed(f"{method} failed after {failures} attempts: {reason}")
            delay = min(MAX_BACKOFF, self.backoff * 2 ** (failures - 1))
            delay = delay / 2 + random.uniform(0, delay / 2)
            logger.warning(
                "slack %s failed (%s); retry %d in %.2fs", method, reason, failures, delay
            )
            await self.clock.sleep(delay)

    async def _look_up(
        self, team_id: str, method: str, args: dict[str, Any], reason: str
    ) -> dict[str, Any] | None:
        """Find a post that may have landed; raise when even that cannot be known."""
        try:
            found = await find_posted(self.client, args)
        except (SlackApiError, TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
            raise SlackWriteFailed(f"{method} outcome unknown ({reason}), lookup failed") from exc
        if found is not None:
            logger.info("slack %s failed (%s) but had landed: %s", method, reason, found["ts"])
        return found

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
