"""slack_sdk retry handlers that never repeat a write Slack may already have applied.

slack_sdk's default `AsyncConnectionErrorRetryHandler` retries any call once after a
dropped connection (`ServerDisconnectedError`, a reset): for `chat.postMessage` and
`chat.startStream` that posts a second message when the first one landed and only its answer
was lost. Those methods are left to `SlackWriter`, which looks the post up first.
"""

from __future__ import annotations

from aiohttp import ClientConnectorError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

# Writes that are not idempotent: repeating one after an unknown outcome duplicates it.
NOT_IDEMPOTENT = frozenset({"chat.postMessage", "chat.startStream"})


def method_of(request: HttpRequest) -> str:
    """Return the Web API method a request calls (`.../api/chat.postMessage` -> its name)."""
    return request.url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]


class SafeConnectionRetry(AsyncConnectionErrorRetryHandler):
    """Retry connection errors, except for a non-idempotent write that may have landed."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if method_of(request) in NOT_IDEMPOTENT and not isinstance(error, ClientConnectorError):
            return False  # the request may have reached Slack: SlackWriter looks it up
        return await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


def retry_handlers() -> list[AsyncRetryHandler]:
    """Return the retry handlers every Web API client of the bot uses."""
    return [SafeConnectionRetry()]
