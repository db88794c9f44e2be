"""Count what one answer costs from the bot's own stream events, round by round.

The server's usage chunk (`stream_options.include_usage`) gives the figures of a round
that finished. A round that ends without one, and an attempt that broke after sending text
(it was resumed, or the answer was stopped), is estimated like the history budget
(UTF-8 bytes / 3, on the high side) and the answer is marked estimated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from bot.llm.events import (
    ReasoningDelta,
    RoundDone,
    StreamEvent,
    StreamRetry,
    TextDelta,
    ToolCallsReady,
)
from bot.llm.history import estimate_tokens, message_tokens


@dataclass(slots=True)
class Tokens:
    """Token counts; reasoning is part of completion, cached part of prompt."""

    prompt: int = 0
    completion: int = 0
    reasoning: int = 0
    cached: int = 0

    @property
    def total(self) -> int:
        return self.prompt + self.completion


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def reported(usage: dict[str, Any]) -> Tokens:
    """Read a server's usage object (OpenAI's shape; details optional)."""
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return Tokens(
        prompt=_int(usage.get("prompt_tokens")),
        completion=_int(usage.get("completion_tokens")),
        reasoning=_int(completion_details.get("reasoning_tokens")),
        cached=_int(prompt_details.get("cached_tokens")),
    )


class Place(Protocol):
    """Where an answer is given (a `ThreadKey`)."""

    @property
    def team_id(self) -> str: ...

    @property
    def channel_id(self) -> str: ...

    @property
    def thread_ts(self) -> str: ...


class UsageMeter:
    """Sum one answer's tokens across tool rounds and resumed streams."""

    def __init__(self, model: str, where: Place, user_id: str, message_ts: str) -> None:
        self.model = model
        self.where = where
        self.user_id = user_id
        self.message_ts = message_ts  # the question answered
        self.tokens = Tokens()
        self.estimated = False
        self.tool_calls = 0
        self.rounds = 0  # requests sent to the model, resumed attempts included
        self.approvals: dict[str, int] = {}  # tool calls put to a person, by decision
        self._prompt_estimate = 0
        self._output = 0  # bytes received in the current attempt (reasoning included)
        self._reasoning = 0  # bytes of reasoning received in the current attempt
        self._open = False  # a request is out and has not finished yet

    def asked(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> None:
        """Note a round's request before it is sent."""
        self._prompt_estimate = sum(message_tokens(m) for m in messages)
        if tools:
            self._prompt_estimate += estimate_tokens(json.dumps(tools))
        self._begin()

    @property
    def prompt_estimate(self) -> int:
        """Return the estimated prompt tokens of the round under way."""
        return self._prompt_estimate

    def saw(self, event: StreamEvent) -> None:
        """Note one stream event of the current round."""
        if type(event) is TextDelta:  # most events, once per delta: checked first
            self._output += len(event.text.encode("utf-8"))
        elif isinstance(event, ReasoningDelta):  # billed as completion tokens by the server
            size = len(event.text.encode("utf-8"))
            self._output += size
            self._reasoning += size
        elif isinstance(event, ToolCallsReady):
            self.tool_calls += len(event.calls)
            self._output += sum(len((c.name + c.arguments).encode("utf-8")) for c in event.calls)
        elif isinstance(event, StreamRetry):
            self._close_estimated()
            self._begin()
        elif isinstance(event, RoundDone):
            if event.usage and reported(event.usage).total:
                figures = reported(event.usage)
                self.tokens.prompt += figures.prompt
                self.tokens.completion += figures.completion
                self.tokens.reasoning += figures.reasoning
                self.tokens.cached += figures.cached
                self._open = False
            else:
                self._close_estimated(always=True)

    def finish(self, *, stopped: bool = False) -> None:
        """Count a round the answer left unfinished (stopped, timed out, failed mid-stream).

        An attempt that sent nothing back (401, 404, retries exhausted) is not counted, unless
        the user stopped it: then its prompt counts, the server read it (a reply stopped
        while the model thinks must not escape the usage limits).
        """
        self._close_estimated(always=stopped)

    def _begin(self) -> None:
        self.rounds += 1
        self._output = 0
        self._reasoning = 0
        self._open = True

    def _close_estimated(self, *, always: bool = False) -> None:
        """Estimate the open attempt; one that sent nothing back is not counted unless told."""
        if not self._open:
            return
        self._open = False
        if not self._output and not always:
            return
        self.estimated = True
        self.tokens.prompt += self._prompt_estimate
        self.tokens.completion += -(-self._output // 3) if self._output else 0
        self.tokens.reasoning += -(-self._reasoning // 3) if self._reasoning else 0
