"""The ids of the turn being handled, visible to logs and metrics anywhere in its task."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TurnScope:
    """Which workspace, channel and turn the current task works for, and since when."""

    team_id: str
    channel_id: str
    turn_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started_at: float = field(default_factory=time.monotonic)


TURN_HEADER = "X-Turn-Id"  # names the turn on its HTTP calls, to match them up in other logs

_current: ContextVar[TurnScope | None] = ContextVar("turn_scope", default=None)


def current() -> TurnScope | None:
    """Return the scope of the turn this task is working on, if any."""
    return _current.get()


@contextmanager
def turn_scope(team_id: str, channel_id: str) -> Iterator[TurnScope]:
    """Run the body (and every task it starts) inside a new turn scope."""
    scope = TurnScope(team_id, channel_id)
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)


def turn_headers() -> dict[str, str]:
    """Return the header naming the current turn on an outgoing call ({} outside a turn)."""
    scope = _current.get()
    return {TURN_HEADER: scope.turn_id} if scope is not None else {}
