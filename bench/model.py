"""The fake model server of the benchmark: bot.testing's FakeOpenAI, timed and paced.

The stream handler is overridden for two reasons: it records when each content chunk is
written (so the lag to Slack can be measured on the same clock), and it paces chunks
against a deadline (start + i * delay) instead of sleeping after each write, so a busy
fake does not slow the model down and distort the figures.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.testing.openai import FakeOpenAI, Reply, text_reply

TAG = re.compile(r"q:(\w+)")
WORDS = (
    "the bot streams one answer into a single Slack message edited in place while the model "
    "is still writing so people see progress at once and never a trail of partial messages"
).split()


def make_answer(chars: int, seed: int) -> str:
    """Return a deterministic answer of exactly `chars` characters (words, some newlines)."""
    out: list[str] = []
    size, i = 0, seed
    while size < chars:
        word = WORDS[i % len(WORDS)]
        sep = "\n" if i % 13 == 12 else " "
        out.append(word + sep)
        size += len(word) + 1
        i += 7
    return "".join(out)[:chars].rstrip() or "ok"


@dataclass
class Plan:
    """What the model answers for one tag, and how fast."""

    answer: str
    pieces: int
    delay: float
    first_delay: float


@dataclass
class StreamLog:
    """When each content chunk of one answer left the fake model."""

    started: float = 0.0
    chunks: list[tuple[float, int]] = field(default_factory=list)  # (time, chars so far)
    done: float | None = None


def tag_of(body: dict[str, Any]) -> str | None:
    """Find the reply tag in the newest user message of a request."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            found = TAG.search(str(message.get("content") or ""))
            return found.group(1) if found else None
    return None


class BenchOpenAI(FakeOpenAI):
    """FakeOpenAI answering each tagged question with its plan, logging chunk times."""

    def __init__(self) -> None:
        super().__init__()
        self.plans: dict[str, Plan] = {}
        self.logs: dict[str, StreamLog] = {}
        self.responder = self._respond

    def _respond(self, body: dict[str, Any]) -> Reply:
        plan = self.plans.get(tag_of(body) or "")
        if plan is None:
            return text_reply("ok")
        return text_reply(
            plan.answer, pieces=plan.pieces, delay=plan.delay, first_chunk_delay=plan.first_delay
        )

    async def _stream(
        self, request: web.Request, body: dict[str, Any], reply: Reply, meta: dict[str, Any]
    ) -> web.StreamResponse:
        log = StreamLog(started=time.monotonic())
        self.logs[tag_of(body) or f"untagged-{len(self.logs)}"] = log
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        payloads: list[tuple[bytes, int]] = []
        for chunk in reply.chunks:
            choice = {"index": 0, "delta": {}, "logprobs": None, "finish_reason": None, **chunk}
            event = {"id": meta["id"], "object": "chat.completion.chunk", **meta}
            event["choices"] = [choice]
            if include_usage:
                event["usage"] = None
            content = len(choice["delta"].get("content") or "")
            payloads.append(
                (f"data: {json.dumps(event, separators=(',', ':'))}\n\n".encode(), content)
            )
        if include_usage:
            last = {"id": meta["id"], "object": "chat.completion.chunk", **meta, "choices": []}
            last["usage"] = self._usage(body, reply)
            payloads.append((f"data: {json.dumps(last, separators=(',', ':'))}\n\n".encode(), 0))
        payloads.append((b"data: [DONE]\n\n", 0))
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
            }
        )
        response.enable_chunked_encoding()
        await response.prepare(request)
        start, total = time.monotonic() + reply.first_chunk_delay, 0
        try:
            for index, (payload, content) in enumerate(payloads):
                wait = start + index * reply.delay - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if content:
                    total += content
                    log.chunks.append((time.monotonic(), total))
                await response.write(payload)
            await response.write_eof()
        except (asyncio.CancelledError, ConnectionResetError):
            self.disconnects += 1
            raise
        log.done = time.monotonic()
        return response
