"""Stream a chat completion as our own events, resuming broken streams without repeats."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import openai

from bot.llm.errors import StreamBroken, classify, is_transient
from bot.llm.events import StreamEvent, StreamRetry, TextDelta, ToolCallsReady, TurnDone
from bot.llm.overlap import continuation_start
from bot.llm.toolcalls import ToolCallAssembler

logger = logging.getLogger(__name__)

RESUME_INSTRUCTION = (
    "Your previous answer was cut off by a network error. Continue it exactly where it "
    "stopped, without repeating any of it and without mentioning the interruption."
)


@dataclass(frozen=True, slots=True)
class StreamPolicy:
    """How patiently to wait for, and how often to resume, a broken stream."""

    idle_timeout: float = 30.0
    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 8.0

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        return random.uniform(0, min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1)))


class ChatModel:
    """An OpenAI-compatible chat model, streamed."""

    def __init__(
        self,
        *,
        client: openai.AsyncOpenAI,
        model: str,
        policy: StreamPolicy | None = None,
        max_tokens: int | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.model = model
        self.policy = policy or StreamPolicy()
        self.max_tokens = max_tokens
        self._sleep = sleep

    async def stream(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        model: str | None = None,
        temperature: float | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Yield one round of the answer: text deltas, then tool calls or the finish reason."""
        shown = ""  # text already yielded this round
        attempt = 0
        while True:
            request = list(messages)
            if shown:
                request += [
                    {"role": "assistant", "content": shown},
                    {"role": "system", "content": RESUME_INSTRUCTION},
                ]
            resumed = ""  # text of this attempt not yet matched against `shown`
            skip: int | None = 0 if not shown else None
            try:
                async for event in self._attempt(request, tools, model, temperature):
                    if isinstance(event, TextDelta) and skip is None:
                        resumed += event.text
                        skip = continuation_start(shown, resumed)
                        if skip is None:
                            continue
                        event = TextDelta(resumed[skip:])
                    elif isinstance(event, TurnDone | ToolCallsReady) and skip is None:
                        skip = continuation_start(shown, resumed, final=True)
                        if resumed[skip:]:
                            shown += resumed[skip:]
                            yield TextDelta(resumed[skip:])
                    if isinstance(event, TextDelta):
                        if not event.text:
                            continue
                        shown += event.text
                    yield event
                return
            except openai.APIError as exc:
                if not is_transient(exc) or attempt >= self.policy.max_retries:
                    if is_transient(exc):
                        raise StreamBroken(shown, type(exc).__name__) from exc
                    raise classify(exc) from exc
                reason = type(exc).__name__
            except Exception as exc:
                if not is_transient(exc):
                    raise
                if attempt >= self.policy.max_retries:
                    raise StreamBroken(shown, type(exc).__name__) from exc
                reason = type(exc).__name__
            attempt += 1
            delay = self.policy.backoff(attempt)
            logger.warning(
                "model stream broke (%s); resuming, attempt %d in %.2fs", reason, attempt, delay
            )
            yield StreamRetry(attempt=attempt, reason=reason, delay=delay)
            await self._sleep(delay)

    async def _attempt(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        model: str | None,
        temperature: float | None,
    ) -> AsyncIterator[StreamEvent]:
        kwargs: dict[str, Any] = {
            "model": model or self.model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if tools:
            kwargs["tools"] = tools
        if self.max_tokens:
            kwargs["max_tokens"] = self.max_tokens
        if temperature is not None:
            kwargs["temperature"] = temperature
        stream = await self.client.chat.completions.create(**kwargs)
        calls = ToolCallAssembler()
        finish_reason: str | None = None
        usage: dict[str, Any] | None = None
        iterator = stream.__aiter__()
        try:
            while True:
                try:
                    chunk = await asyncio.wait_for(iterator.__anext__(), self.policy.idle_timeout)
                except StopAsyncIteration:
                    break
                if getattr(chunk, "usage", None) is not None:
                    usage = chunk.usage.model_dump()
                for choice in chunk.choices or ():
                    delta = choice.delta
                    if delta is not None:
                        if delta.content:
                            yield TextDelta(delta.content)
                        if delta.tool_calls:
                            calls.feed(delta.tool_calls)
                    if choice.finish_reason:
                        finish_reason = choice.finish_reason
        finally:
            await stream.close()
        if finish_reason is None:
            # The server closed the stream cleanly but never said it was done.
            raise openai.APIError(
                "stream ended without a finish_reason", request=stream.response.request, body=None
            )
        assembled = calls.finish()
        if assembled:
            yield ToolCallsReady(assembled)
        yield TurnDone(finish_reason=finish_reason, usage=usage)
