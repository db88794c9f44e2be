"""Stream a chat completion as our own events, resuming broken streams without repeats.

A round is one streamed request. When its stream breaks (connection reset, incomplete chunked read,
an error event, or nothing received for `idle_timeout` seconds) the round is asked again after a
backoff, with the text already shown sent back as the assistant's turn and a short user turn asking
to continue it (never a system message after the first: strict chat templates refuse that, see
`bot.llm.template`). Whatever the new stream repeats of that text is dropped
(`overlap.continuation_start`), so the caller sees the whole answer exactly once. Tool calls are
only reported once a round completed, so a call cut mid-arguments is never run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import openai

from bot import texts
from bot.llm.context_window import ContextWindows
from bot.llm.errors import ModelError, give_up, http_transport, is_transient
from bot.llm.events import (
    ReasoningDelta,
    RoundDone,
    StreamEvent,
    StreamRetry,
    TextDelta,
    TextRetracted,
    ToolCallsReady,
)
from bot.llm.model_facts import OPENS_THINK, ModelFacts, template_opens_think
from bot.llm.overlap import continuation_start
from bot.llm.params import ParameterFallbacks
from bot.llm.reasoning import REASONING_FIELDS, ThinkSplitter, reasoning_of
from bot.llm.server_template import server_template
from bot.llm.sse import read_events
from bot.llm.toolcalls import ToolCallAssembler
from bot.telemetry.scope import turn_headers

logger = logging.getLogger(__name__)

TEMPLATE_WAIT = 1.0  # seconds an answer waits for the template probe (a local server: ms)
RESUME_INSTRUCTION = (
    "Your answer above was cut off by a network error. Continue it exactly where it "
    "stopped, without repeating any of it and without mentioning the interruption."
)


def openai_client(
    *, api_key: str, base_url: str | None, max_retries: int = 2, timeout: float = 600.0
) -> openai.AsyncOpenAI:
    """Build the model client over aiohttp (the SDK's `DefaultAioHttpClient`).

    Its default transport (httpx2 on anyio) registers and unregisters the socket with the
    event loop for every read, which at one read per streamed delta cost more CPU than the
    rest of the bot's per-delta work (bench/FINDINGS.md); aiohttp reads through a protocol.
    """
    return openai.AsyncOpenAI(
        api_key=api_key,
        base_url=base_url,
        max_retries=max_retries,
        timeout=timeout,
        http_client=openai.DefaultAioHttpClient(timeout=timeout),
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


class _Resumed:
    """Hold back a resumed attempt's text until it is clear what of it repeats `shown`."""

    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.pending = ""
        self.decided = not shown

    def feed(self, text: str) -> str:
        """Return the new part of `text` that can be shown now."""
        if self.decided:
            return text
        self.pending += text
        skip = continuation_start(self.shown, self.pending)
        if skip is None:
            return ""
        self.decided = True
        return self.pending[skip:]

    def flush(self) -> str:
        """Return what is still held back, once the attempt ended."""
        if self.decided:
            return ""
        self.decided = True
        return self.pending[continuation_start(self.shown, self.pending, final=True) or 0 :]


class ChatModel:
    """An OpenAI-compatible chat model, streamed."""

    def __init__(
        self,
        *,
        client: openai.AsyncOpenAI,
        model: str,
        policy: StreamPolicy | None = None,
        max_tokens: int | None = None,
        reasoning_effort: str = "",
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        windows: ContextWindows | None = None,
        facts: ModelFacts | None = None,
    ) -> None:
        self.client = client
        self.windows = windows  # the context windows the server reports (None: not asked)
        self.model = model
        self.policy = policy or StreamPolicy()
        self.max_tokens = max_tokens
        self.reasoning_effort = reasoning_effort
        self.facts = facts or ModelFacts()
        self.base_url = str(client.base_url)
        self.fallbacks = ParameterFallbacks(self.facts, self.base_url)
        self._templates: dict[str, asyncio.Task[None]] = {}  # per model, the template probe
        self._sleep = sleep

    async def history_budget(self, model: str, configured: int) -> int:
        """Return the history budget for `model`: `configured`, or less to fit its window."""
        return configured if self.windows is None else await self.windows.budget(model)

    async def close(self) -> None:
        """Stop the server probes; close the lookups' HTTP session (the client is the owner's)."""
        probes, self._templates = list(self._templates.values()), {}
        for probe in probes:
            probe.cancel()
        await asyncio.gather(*probes, return_exceptions=True)
        if self.windows is not None:
            await self.windows.close()

    def knows(self, fact: str, model: str | None = None) -> bool:
        """Tell whether `fact` (see `bot.llm.model_facts`) holds now for `model` here."""
        return self.facts.knows(self.base_url, model or self.model, fact)

    def learn(self, fact: str, why: str, model: str | None = None) -> None:
        """Note `fact` about `model` on this server, with its evidence."""
        self.facts.learn(self.base_url, model or self.model, fact, why)

    def forget(self, fact: str, why: str, model: str | None = None) -> None:
        """Drop `fact` about `model` on this server: an answer contradicted it."""
        self.facts.forget(self.base_url, model or self.model, fact, why)

    async def stream(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        model: str | None = None,
        temperature: float | None = None,
        reasoning_effort: str | None = None,
        resume: str = "",
    ) -> AsyncIterator[StreamEvent]:
        """Yield one round of the answer: text deltas, then tool calls or the finish reason.

        `resume`: the round's text another process already showed (it died mid-answer); the
        round goes on from there exactly as after a cut stream, yielding only the rest.
        """
        shown = resume  # answer text already yielded this round (reasoning never counts)
        attempt = 0
        effort = self.reasoning_effort if reasoning_effort is None else reasoning_effort
        while True:
            request = list(messages)
            if shown:
                # No system message after the first: strict chat templates refuse it.
                request += [
                    {"role": "assistant", "content": shown},
                    {"role": "user", "content": RESUME_INSTRUCTION},
                ]
            resumed = _Resumed(shown)
            given = ""  # answer text this attempt passed on
            try:
                async for event in self._attempt(request, tools, model, temperature, effort):
                    if type(event) is TextDelta:
                        text = event.text if resumed.decided else resumed.feed(event.text)
                        if text:
                            shown += text
                            given += text
                            yield event if text is event.text else TextDelta(text)
                        continue
                    if isinstance(event, TextRetracted):
                        # A lone </think>: what this attempt gave as answer was reasoning.
                        if given:
                            shown = shown[: len(shown) - len(given)]
                            yield TextRetracted(given)
                        given = ""
                        resumed = _Resumed(shown)
                        continue
                    if isinstance(event, ReasoningDelta):
                        yield event
                        continue
                    rest = resumed.flush()
                    if rest:
                        shown += rest
                        yield TextDelta(rest)
                    yield event
                return
            except Exception as exc:
                transient = is_transient(exc)
                if not transient and not isinstance(exc, openai.APIError):
                    raise  # a bug, or a model error the server stated: let the turn report it
                if not transient or attempt >= self.policy.max_retries:
                    raise give_up(exc, shown) from exc
                reason = type(exc).__name__
            attempt += 1
            delay = self.policy.backoff(attempt)
            logger.warning(
                "model stream broke (%s) after %d characters; resuming, attempt %d in %.2fs",
                reason,
                len(shown),
                attempt,
                delay,
            )
            yield StreamRetry(attempt=attempt, reason=reason, delay=delay)
            await self._sleep(delay)

    def _timeout(self) -> http_transport.Timeout:
        """The client's timeouts, with the read timeout set to the stream's idle timeout."""
        base = self.client.timeout
        if isinstance(base, http_transport.Timeout):
            connect, write, pool = base.connect, base.write, base.pool
        else:
            connect = write = pool = float(base) if isinstance(base, int | float) else None
        return http_transport.Timeout(
            connect=connect, read=self.policy.idle_timeout, write=write, pool=pool
        )

    async def _open(self, stack: contextlib.AsyncExitStack, kwargs: dict[str, Any]) -> Any:
        """Open the stream, once more without each optional parameter the provider refuses."""
        name = kwargs["model"]
        while True:
            sent = {**self.fallbacks.apply(name, kwargs), "extra_headers": turn_headers()}
            opened = self.client.chat.completions.with_streaming_response.create(**sent)
            try:
                return await stack.enter_async_context(opened)
            except openai.APIStatusError as exc:
                if not self.fallbacks.learn(name, exc, sent):
                    raise

    async def _attempt(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        model: str | None,
        temperature: float | None,
        reasoning_effort: str,
    ) -> AsyncIterator[StreamEvent]:
        # The SDK checks every message and tool against its TypedDicts before sending (some hundred
        # calls a message a round); ours are plain JSON: `extra_body` (`messages` is required).
        body: dict[str, Any] = {"messages": messages}
        if tools:
            body["tools"] = tools
        kwargs: dict[str, Any] = {
            "model": model or self.model,
            "messages": [],
            "extra_body": body,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self.max_tokens:
            kwargs["max_tokens"] = self.max_tokens
        if temperature is not None:
            kwargs["temperature"] = temperature
        if reasoning_effort:
            kwargs["reasoning_effort"] = reasoning_effort
        calls = ToolCallAssembler()
        name = kwargs["model"]
        await self._read_template(name)
        opened = self.facts.knows(self.base_url, name, OPENS_THINK)
        think = ThinkSplitter(
            opened=opened, believe_lone=self.facts.think_proof_due(self.base_url, name)
        )
        answered = False  # content came (an answer is evidence about <think>)
        kept_reasoning: list[str] = []  # DeepSeek's reasoning_content, sent back with tool calls
        finish_reason: str | None = None
        usage: dict[str, Any] | None = None
        # The SDK sends the request (its retries, typed status errors); the body is read as
        # plain dicts (bot/llm/sse.py), which costs a fraction of the SDK's chunk models.
        # The idle timeout is the HTTP read timeout: the transport already re-arms it on
        # every read, so a stall (no byte for `idle_timeout`) raises APITimeoutError and the
        # round is resumed, at no per-chunk cost here.
        kwargs["timeout"] = self._timeout()
        async with contextlib.AsyncExitStack() as stack:
            response = await self._open(stack, kwargs)
            request = response.http_response.request
            async for chunk in read_events(response.http_response):
                if chunk.get("usage") is not None:
                    usage = chunk["usage"]
                for choice in chunk.get("choices") or ():
                    if choice.get("index", 0) != 0:
                        continue  # n > 1 (or a server that sends extra choices): the first only
                    delta = choice.get("delta")
                    if delta:
                        if REASONING_FIELDS & delta.keys():
                            thought = reasoning_of(delta)
                            if thought:
                                if opened and not answered:
                                    # The server parses reasoning out itself (llama.cpp's default):
                                    # its content is the answer, whatever the template opens.
                                    why = "the server sends reasoning in a field of its own"
                                    self.facts.forget(self.base_url, name, OPENS_THINK, why)
                                    opened, think = False, ThinkSplitter(believe_lone=False)
                                if isinstance(delta.get("reasoning_content"), str):
                                    kept_reasoning.append(thought)
                                yield ReasoningDelta(thought)
                        content = delta.get("content") or delta.get("refusal")
                        if content and type(content) is str:
                            answered = True
                            if think.plain(content):  # the usual delta: no tag can start here
                                yield TextDelta(content)
                            else:
                                for event in self._split(think, think.feed(content)):
                                    yield event
                        fragments = delta.get("tool_calls")
                        if fragments:
                            calls.feed(fragments)
                    finish = choice.get("finish_reason")
                    if finish == "error":
                        # OpenRouter's way to say the model failed mid-answer: not a cut to
                        # resume, and nothing after it is worth reading.
                        raise ModelError(texts.MODEL_ERROR, detail="finish_reason error")
                    if finish:
                        finish_reason = finish
            for event in self._split(think, think.flush()):
                yield event
        self._weigh_think(name, think, opened=opened, answered=answered)
        if finish_reason is None:
            # The server closed the stream cleanly but never said it was done.
            raise openai.APIError(
                "stream ended without a finish_reason", request=request, body=None
            )
        assembled = calls.finish()
        if assembled:
            fields = {"reasoning_content": "".join(kept_reasoning)} if kept_reasoning else None
            yield ToolCallsReady(assembled, provider_fields=fields)
        if self.windows is not None:
            self.windows.answer_ended(kwargs["model"], finish_reason, usage)
        yield RoundDone(finish_reason=finish_reason, usage=usage)

    def _split(self, think: ThinkSplitter, pieces: list[tuple[bool, str]]) -> list[StreamEvent]:
        """Turn `<think>`-split content into events; a believed lone `</think>` retracts."""
        events: list[StreamEvent] = []
        for reasoning, text in pieces:
            events.append(ReasoningDelta(text) if reasoning else TextDelta(text))
        if think.lone_close:
            think.lone_close = False
            if think.believes_lone:
                events.insert(0, TextRetracted(""))
        return events

    def _weigh_think(
        self, name: str, think: ThinkSplitter, *, opened: bool, answered: bool
    ) -> None:
        """Learn or forget "opens <think> in the template" from what this answer showed."""
        if think.unclosed and opened and answered:
            self.facts.forget(self.base_url, name, OPENS_THINK, "an answer never closed the block")
        elif answered and not opened:
            self.facts.answer_shows_think(self.base_url, name, think.saw_lone_close)

    async def _read_template(self, name: str) -> None:
        """Ask the server for its chat template once per model (llama.cpp's `/props`).

        The probe runs as a task of its own and an answer waits for it at most
        `TEMPLATE_WAIT` seconds: a gateway that hangs on `/props` costs no answer its time.
        """
        probe = self._templates.get(name)
        if probe is None:
            probe = asyncio.create_task(self._probe_template(name), name=f"template-{name}")
            self._templates[name] = probe
        if not probe.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(probe), TEMPLATE_WAIT)

    async def _probe_template(self, name: str) -> None:
        template = await server_template(self.client)
        if template and template_opens_think(template):
            self.facts.learn(
                self.base_url, name, OPENS_THINK, "the server's chat template opens it"
            )
