"""Classify model-server failures into what the user is told and what can be retried.

Two layers retry, each for its own phase. The openai client retries the *request*
(408/409/429/5xx and connection errors, honouring `Retry-After`) before a stream opens;
`ChatModel` resumes a *stream* that broke or stalled after it opened. A status error that
reaches `ChatModel` has therefore already been retried and is final.
"""

from __future__ import annotations

import openai

from bot import texts
from bot.errors import UserFacingError

try:  # openai 3.x streams over httpx2; older releases over httpx.
    import httpx2 as _http
except ImportError:  # pragma: no cover - depends on the installed openai
    import httpx as _http  # type: ignore[no-redef]

http_transport = _http  # the HTTP library under the openai client

# Raised while opening or reading a stream whose connection broke or stalled.
TRANSIENT_STREAM_ERRORS: tuple[type[BaseException], ...] = (
    openai.APIConnectionError,  # includes APITimeoutError
    _http.TransportError,
    TimeoutError,  # our idle timeout
    ConnectionError,
)
CONTEXT_HINTS = (
    "context length",
    "context_length",
    "maximum context",
    "context window",
    "too many tokens",
    "prompt is too long",
)
FILTER_CODES = {"content_filter", "content_policy_violation"}


class ModelError(UserFacingError):
    """The model server refused the request; the user sees a specific message."""


class ContextTooLong(ModelError):
    """The request did not fit the model's context window."""


class StreamBroken(ModelError):
    """The stream kept breaking after every retry; `partial` holds what was received."""

    def __init__(self, partial: str, reason: str) -> None:
        super().__init__(texts.STREAM_FAILED, detail=reason)
        self.partial = partial


def is_transient(exc: BaseException) -> bool:
    """Tell whether `ChatModel` should resume after this failure (the connection was bad)."""
    if isinstance(exc, openai.APIStatusError):
        return False  # the client already retried it, honouring Retry-After
    if isinstance(exc, TRANSIENT_STREAM_ERRORS):
        return True
    # An error event inside an open stream carries no status: the server gave up mid-answer,
    # unless it says why in a way a retry cannot fix.
    return isinstance(exc, openai.APIError) and type(classify(exc)) is ModelError


def give_up(exc: BaseException, partial: str) -> ModelError:
    """Turn the failure that ended a round into what the user is told."""
    refused = isinstance(exc, openai.APIStatusError) and 400 <= exc.status_code < 500
    if partial and not (refused and not isinstance(exc, openai.RateLimitError)):
        return StreamBroken(partial, type(exc).__name__)  # keep what was shown, mark it cut
    if isinstance(exc, openai.APIError):
        return classify(exc)
    return ModelError(texts.MODEL_ERROR, detail=type(exc).__name__)


def classify(exc: openai.APIError) -> ModelError:
    """Turn an SDK error into the message the user sees."""
    code = str(getattr(exc, "code", "") or "")
    detail = f"{type(exc).__name__}: {code}"
    message = str(getattr(exc, "message", "") or "").lower()
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return ModelError(texts.MODEL_AUTH, detail=detail)
    if isinstance(exc, openai.NotFoundError) or code == "model_not_found":
        return ModelError(texts.MODEL_NOT_FOUND, detail=detail)
    if isinstance(exc, openai.RateLimitError):
        return ModelError(texts.MODEL_RATE_LIMITED, detail=detail)
    if code == "context_length_exceeded" or any(hint in message for hint in CONTEXT_HINTS):
        return ContextTooLong(texts.CONTEXT_TOO_LONG, detail=detail)
    if code in FILTER_CODES:
        return ModelError(texts.MODEL_CONTENT_BLOCKED, detail=detail)
    return ModelError(texts.MODEL_ERROR, detail=detail)
