"""The bot's own stream vocabulary; nothing outside `bot.llm` sees SDK chunk types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of answer text, in order."""

    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's reasoning: never shown as, stored as or counted as answer text."""

    text: str


@dataclass(frozen=True, slots=True)
class TextRetracted:
    """The answer text given so far this round was reasoning after all (a lone `</think>`)."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One complete tool call the model asked for."""

    id: str
    name: str
    arguments: str
    problem: str | None = None  # why it must not run (set by the assembler: too large)
    extra: dict[str, Any] | None = None  # provider fields to send back (Gemini's extra_content)

    def as_message(self) -> dict[str, Any]:
        """Render as an entry of an assistant message's `tool_calls`."""
        message: dict[str, Any] = {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }
        if self.extra:
            message.update(self.extra)
        return message


@dataclass(frozen=True, slots=True)
class ToolCallsReady:
    """The model finished a round by asking for these tool calls.

    `provider_fields` go back on the assistant message that carries the calls (DeepSeek's
    `reasoning_content`, which its thinking mode requires on the following requests).
    """

    calls: tuple[ToolCall, ...]
    provider_fields: dict[str, Any] | None = None


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


StreamEvent = TextDelta | ReasoningDelta | TextRetracted | ToolCallsReady | StreamRetry | RoundDone
