"""A fake OpenAI-compatible chat completions server for the real ``openai.AsyncOpenAI``.

Usage::

    async with FakeOpenAI() as llm:
        llm.script(text_reply("Hello!"), error_reply(429, "slow down"))
        client = AsyncOpenAI(base_url=llm.base_url, api_key="test")
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.telemetry.scope import TURN_HEADER
from bot.testing.openai_answers import Streamed, image_parts, streamed
from bot.testing.openai_window import ContextWindowMixin, window_exceeded
from bot.testing.server import FakeServer
from bot.testing.template_rules import violations

Json = dict[str, Any]
__all__ = [
    "FakeOpenAI",
    "Reply",
    "error_reply",
    "image_parts",
    "reasoning_reply",
    "text_reply",
    "tool_call_reply",
]


@dataclass
class Reply:
    """Describe one scripted chat-completions response."""

    chunks: list[Json] = field(default_factory=list)
    raw: bool = False
    status: int = 200
    error: Json | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    first_chunk_delay: float = 0.0
    cut_after: int | None = None
    stall_after: int | None = None
    usage: Json | None = None
    omit_usage: bool = False  # a server that ignores stream_options.include_usage
    hold: asyncio.Event | None = None  # wait for it before sending chunk `hold_at`
    hold_at: int = 0
    wire: list[bytes] | None = None  # the body verbatim, written piece by piece (SSE tests)


def _split(text: str, pieces: int | None) -> list[str]:
    if pieces is None:
        return re.findall(r"\s*\S+|\s+\Z", text)
    return [text[i : i + pieces] for i in range(0, len(text), max(1, pieces))]


def text_reply(
    text: str,
    *,
    pieces: int | None = None,
    delay: float = 0.0,
    finish_reason: str = "stop",
    **kw: Any,
) -> Reply:
    """Build a streamed text answer split into word pieces or ``pieces``-sized slices."""
    chunks: list[Json] = [{"delta": {"role": "assistant", "content": ""}, "finish_reason": None}]
    chunks += [{"delta": {"content": p}, "finish_reason": None} for p in _split(text, pieces)]
    chunks.append({"delta": {}, "finish_reason": finish_reason})
    return Reply(chunks=chunks, delay=delay, **kw)


def tool_call_reply(
    calls: list[tuple[str, str, str]],
    *,
    content_before: str = "",
    fragment_size: int = 8,
    **kw: Any,
) -> Reply:
    """Build a streamed tool-call answer fragmented like the real API."""
    chunks: list[Json] = []
    if content_before:
        chunks.append({"delta": {"role": "assistant", "content": ""}, "finish_reason": None})
        pieces = _split(content_before, None)
        chunks += [{"delta": {"content": p}, "finish_reason": None} for p in pieces]
    for index, (call_id, name, arguments) in enumerate(calls):
        head = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        delta: Json = {"tool_calls": [head]}
        if not chunks:
            delta = {"role": "assistant", "content": None, **delta}
        chunks.append({"delta": delta, "finish_reason": None})
        for fragment in _split(arguments, fragment_size):
            frag = {"index": index, "function": {"arguments": fragment}}
            chunks.append({"delta": {"tool_calls": [frag]}, "finish_reason": None})
    chunks.append({"delta": {}, "finish_reason": "tool_calls"})
    return Reply(chunks=chunks, **kw)


def reasoning_reply(
    reasoning: str,
    answer: Reply | str,
    *,
    field: str = "reasoning_content",
    pieces: int = 12,
) -> Reply:
    """Put streamed reasoning (under `field`, as the server named it) before `answer`'s chunks.

    `field` "reasoning_details" sends OpenRouter's shape: `reasoning_details` entries plus the
    same text under `reasoning`.
    """
    reply = text_reply(answer) if isinstance(answer, str) else answer
    thoughts: list[Json] = []
    for piece in _split(reasoning, pieces):
        if field == "reasoning_details":
            detail = {"type": "reasoning.text", "text": piece, "format": "unknown", "index": 0}
            delta: Json = {"reasoning": piece, "reasoning_details": [detail]}
        else:
            delta = {field: piece}
        thoughts.append({"delta": {"content": None, **delta}, "finish_reason": None})
    head = [{"delta": {"role": "assistant", "content": ""}, "finish_reason": None}]
    reply.chunks = head + thoughts + reply.chunks
    return reply


def error_reply(
    status: int,
    message: str,
    *,
    type: str = "invalid_request_error",  # noqa: A002 - mirrors the API's field name
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """Build an HTTP error answer with OpenAI's error body."""
    error = {"message": message, "type": type, "code": code, "param": None}
    return Reply(status=status, error=error, headers=dict(headers or {}))


def _content_text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def _choice(chunk: Json, raw: bool) -> Json | None:
    if not raw:
        return chunk
    choices = chunk.get("choices") or [None]
    return choices[0]


class FakeOpenAI(FakeServer, ContextWindowMixin):
    """Serve scripted ``/v1/chat/completions`` answers, streamed as SSE or as JSON."""

    def __init__(self, *, model: str = "fake-model", strict_template: bool = True) -> None:
        super().__init__()
        self.model = model
        # Refuse (400, as llama-server does) what a strict chat template refuses, and keep
        # the reasons: the test fixture fails any test that made such a request.
        self.strict_template = strict_template
        self.template_violations: list[tuple[int, str]] = []  # (request index, reason)
        # A parameter this server refuses, and how: name -> (status, JSON body), e.g.
        # "max_tokens" -> a 400 like OpenAI's reasoning models. Every request carrying it fails.
        self.refused_params: dict[str, tuple[int, Json]] = {}
        self.requests: list[Json] = []
        self.streamed: list[Streamed] = []  # what each streamed answer sent, in order
        self.request_times: list[float] = []  # time.monotonic() of each request's arrival
        self.responder: Callable[[Json], Reply] | None = None
        self.open_streams = 0
        self.disconnects = 0
        self.vision = True  # False: refuse requests with image parts, as text-only servers do
        self._init_window()  # context_window, window_reported_by, chat_template (/props)
        self._queue: deque[Reply] = deque()
        self._ids = 0

    @property
    def base_url(self) -> str:
        """Return the ``base_url`` for AsyncOpenAI."""
        return f"{self.origin}/v1"

    def script(self, *replies: Reply | str) -> None:
        """Queue replies (strings become ``text_reply``) for the next requests, FIFO."""
        self._queue.extend(text_reply(r) if isinstance(r, str) else r for r in replies)

    def _build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/props", self._props)
        return app

    def _describe(self) -> str:
        return (
            f"requests={len(self.requests)} queued={len(self._queue)} "
            f"open_streams={self.open_streams} disconnects={self.disconnects}"
        )

    def _next_reply(self, body: Json) -> Reply:
        if self.responder is not None:
            return self.responder(body)
        if self._queue:
            return self._queue.popleft()
        users = [m for m in body.get("messages", []) if m.get("role") == "user"]
        last = _content_text(users[-1].get("content")) if users else ""
        return text_reply(f"echo: {last}")

    async def _models(self, request: web.Request) -> web.Response:
        model = {"id": self.model, "object": "model", "created": 0, "owned_by": "fake"}
        model.update(self.window_of_model())
        return web.json_response({"object": "list", "data": [model]})

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.request_times.append(time.monotonic())
        if not self.vision and image_parts(body):
            # llama-server without a multimodal projector answers like this.
            blind = error_reply(400, "image input is not supported by this model")
            return web.json_response({"error": blind.error}, status=400)
        if self.strict_template:
            refused = violations(body.get("messages") or [])
            if refused:
                self.template_violations += [(len(self.requests) - 1, r) for r in refused]
                error: Json = {"code": 400, "message": refused[0], "type": "invalid_request_error"}
                return web.json_response({"error": error}, status=400)
        for name, (status, refused_body) in self.refused_params.items():
            if name in body:
                return web.json_response(refused_body, status=status)
        reply = self._next_reply(body)
        if self.context_window:
            prompt = self._usage(body, Reply())["prompt_tokens"]
            if prompt >= self.context_window:
                return window_exceeded()
            reply = self.within_window(reply, prompt)
        if reply.error is not None or reply.status >= 400:
            default = {"message": "error", "type": "server_error", "code": None, "param": None}
            error = reply.error or default
            return web.json_response({"error": error}, status=reply.status, headers=reply.headers)
        self._ids += 1
        meta = {
            "id": f"chatcmpl-{self._ids}",
            "created": int(time.time()),
            "model": body.get("model", self.model),
            "system_fingerprint": None,
        }
        if body.get("stream"):
            return await self._stream(request, body, reply, meta)
        await self._pause(reply.first_chunk_delay)
        if reply.cut_after is not None or reply.stall_after is not None:
            await self._interrupt(request, stall=reply.cut_after is None)
            return web.Response(status=500)
        return web.json_response(self._completion(body, reply, meta), headers=reply.headers)

    async def _stream(
        self, request: web.Request, body: Json, reply: Reply, meta: Json
    ) -> web.StreamResponse:
        """Write ``reply`` as SSE chunks, honouring delays, cuts and stalls."""
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        include_usage = include_usage and not reply.omit_usage
        events = []
        for chunk in reply.chunks:
            if reply.raw:
                events.append(chunk)
                continue
            choice = {"index": 0, "delta": {}, "logprobs": None, "finish_reason": None, **chunk}
            events.append(
                {"id": meta["id"], "object": "chat.completion.chunk", **meta, "choices": [choice]}
            )
            if include_usage:
                events[-1]["usage"] = None
        if include_usage and not reply.raw:
            events.append(
                {
                    "id": meta["id"],
                    "object": "chat.completion.chunk",
                    **meta,
                    "choices": [],
                    "usage": self._usage(body, reply),
                }
            )
        payloads: list[bytes] = [
            f"data: {json.dumps(e, separators=(',', ':'))}\n\n".encode() for e in events
        ]
        payloads.append(b"data: [DONE]\n\n")
        if reply.wire is not None:
            payloads = list(reply.wire)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                **reply.headers,
            }
        )
        response.enable_chunked_encoding()
        await response.prepare(request)
        self.open_streams += 1
        answer = streamed(
            body,
            request.headers.get(TURN_HEADER),
            reply.chunks,
            raw=reply.raw,
            wire=bool(reply.wire),
        )
        self.streamed.append(answer)
        try:
            for index, payload in enumerate(payloads):
                if index in (reply.cut_after, reply.stall_after):
                    await self._interrupt(request, stall=index != reply.cut_after)
                    return response
                if reply.hold is not None and index == reply.hold_at:
                    await self._hold(reply.hold)
                await self._pause(reply.first_chunk_delay if index == 0 else reply.delay)
                await response.write(payload)
            await response.write_eof()
            answer.whole = True
        except (asyncio.CancelledError, ConnectionResetError):
            if not self._stopping.is_set():
                self.disconnects += 1
            raise
        finally:
            self.open_streams -= 1
        return response

    async def _hold(self, gate: asyncio.Event) -> None:
        """Wait for the test to open `gate` (or for shutdown)."""
        stopping = asyncio.ensure_future(self._stopping.wait())
        opened = asyncio.ensure_future(gate.wait())
        try:
            await asyncio.wait({stopping, opened}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            opened.cancel()

    async def _interrupt(self, request: web.Request, *, stall: bool) -> None:
        """Optionally hang until shutdown, then drop the connection mid-body."""
        if stall:
            await self._stopping.wait()
        if request.transport is not None:
            request.transport.close()

    def _usage(self, body: Json, reply: Reply) -> Json:
        if reply.usage is not None:
            return reply.usage
        prompt = sum(len(_content_text(m.get("content"))) for m in body.get("messages", []))
        completion = len(json.dumps(reply.chunks))
        usage = {
            "prompt_tokens": max(1, prompt // 4),
            "completion_tokens": max(1, completion // 16),
        }
        return {**usage, "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"]}

    def _completion(self, body: Json, reply: Reply, meta: Json) -> Json:
        """Assemble a non-streamed ``chat.completion`` object from ``reply``'s chunks."""
        content: list[str] = []
        calls: dict[int, Json] = {}
        finish_reason = "stop"
        for chunk in reply.chunks:
            choice = _choice(chunk, reply.raw)
            if not choice:
                continue
            delta = choice.get("delta") or {}
            content.append(delta.get("content") or "")
            for part in delta.get("tool_calls") or []:
                call = calls.setdefault(
                    part["index"],
                    {"id": None, "type": "function", "function": {"name": "", "arguments": ""}},
                )
                call["id"] = part.get("id") or call["id"]
                function = part.get("function") or {}
                call["function"]["name"] += function.get("name") or ""
                call["function"]["arguments"] += function.get("arguments") or ""
            finish_reason = choice.get("finish_reason") or finish_reason
        message: Json = {"role": "assistant", "content": "".join(content) or None, "refusal": None}
        if calls:
            message["tool_calls"] = [calls[i] for i in sorted(calls)]
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        return {
            "id": meta["id"],
            "object": "chat.completion",
            **meta,
            "choices": [choice],
            "usage": self._usage(body, reply),
        }
