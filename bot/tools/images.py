"""Images a tool hands to the model beside its result text, for vision models.

A tool result is text (it is stored with the thread), but a chat request can show images
only in a user message. So a tool attaches image parts to the turn that called it (through
a context variable the turn sets around its tool calls), and the turn adds one user message
with them to the request that follows the calls. Later requests see only the result text.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

INTRO = "Images returned by the tool calls above:"

_sink: ContextVar[list[dict[str, Any]] | None] = ContextVar("tool_images", default=None)


def attach(parts: list[dict[str, Any]]) -> bool:
    """Hand `image_url` parts to the calling turn; False when no turn collects them."""
    sink = _sink.get()
    if sink is None:
        return False
    sink.extend(parts)
    return True


@contextmanager
def collecting() -> Iterator[list[dict[str, Any]]]:
    """Collect the image parts tools attach while the block runs (tasks it starts included)."""
    sink: list[dict[str, Any]] = []
    token = _sink.set(sink)
    try:
        yield sink
    finally:
        _sink.reset(token)


def as_messages(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the user message showing `parts` to the model ([] when there are none)."""
    if not parts:
        return []
    return [{"role": "user", "content": [{"type": "text", "text": INTRO}, *parts]}]
