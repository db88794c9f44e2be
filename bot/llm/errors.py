"""Classify model-server failures into what the user is told and what can be retried."""

from __future__ import annotations

import openai

from bot import messages as texts
from bot.errors import UserFacingError

try:  # openai 3.x streams over httpx2; older releases over httpx.
    import httpx2 as _http
except ImportError:  # pragma: no cover - depends on the installed openai
    import httpx as _http  # type: ignore[no-redef]

# Raised while iterating a stream whose connection broke or stalled.
TRANSIENT_STREAM_ERRORS: tuple[type[BaseException], ...] = (
    openai.APIConnectionError,
    openai.InternalServerError,
    openai.RateLimitError,
    _http.TransportError,
    TimeoutError,
)


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
    """Tell whether a failure is worth retrying (the connection, not the request, was bad)."""
    if isinstance(exc, TRANSIENT_STREAM_ERRORS):
        return True
    # An error event inside an open stream carries no status: the server gave up mid-answer.
    return isinstance(exc, openai.APIError) and not isinstance(exc, openai.APIStatusError)


def classify(exc: openai.APIError) -> ModelError:
    """Turn a non-retryable SDK error into the message the user sees."""
    detail = f"{type(exc).__name__}: {getattr(exc, 'code', None) or ''}"
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return ModelError(texts.MODEL_AUTH, detail=detail)
    if isinstance(exc, openai.NotFoundError):
        return ModelError(texts.MODEL_NOT_FOUND, detail=detail)
    if isinstance(exc, openai.RateLimitError):
        return ModelError(texts.MODEL_RATE_LIMITED, detail=detail)
    code = str(getattr(exc, "code", "") or "")
    message = str(getattr(exc, "message", "") or "").lower()
    if (
        code == "context_length_exceeded"
        or "context length" in message
        or "maximum context" in message
    ):
        return ContextTooLong(texts.CONTEXT_TOO_LONG, detail=detail)
    return ModelError(texts.MODEL_ERROR, detail=detail)
