"""The bot's own stream vocabulary; nothing outside `bot.llm` sees SDK chunk types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of answer text, in order."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One complete tool call the model asked for."""

    id: str
    name: str
    arguments: str
    problem: str | None = None  # why it must not run (set by the assembler: too large)

    def as_message(self) -> dict[str, Any]:
        """Render as an entry of an assistant message's `tool_calls`."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass(frozen=True, slots=True)
class ToolCallsReady:
    """The model finished a round by asking for these tool calls."""

    calls: tuple[ToolCall, ...]


@dataclass(frozen=True, slots=True)
class StreamRetry:
    """The stream broke and is being resumed; `attempt` counts from 1."""

    attempt: int
    reason: str
    delay: float


@dataclass(frozen=True, slots=True)
class RoundDone:
    """The model finished a round with this reason; usage when the server sent it."""

    finish_reason: str
    usage: dict[str, Any] | None = field(default=None)


StreamEvent = TextDelta | ToolCallsReady | StreamRetry | RoundDone
