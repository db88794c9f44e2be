"""The fake model server's `/props` (template, context window) and its window, enforced.

Tokens are counted as the fake's usage counts them (4 characters each). A prompt that fills
the window is refused as llama-server refuses it; an answer that reaches it ends with
finish_reason "length". The window is reported at `/props` (llama.cpp), as `max_model_len`
in `/v1/models` (vLLM), or not at all.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, TypeVar

from aiohttp import web

Json = dict[str, Any]
R = TypeVar("R")


class ContextWindowMixin:
    """Serve `/props` and say where the window is reported."""

    def _init_window(self) -> None:
        self.context_window: int | None = None
        self.window_reported_by: str = "props"  # "props", "models" or "none"
        self.chat_template: str | None = None  # served at /props as llama.cpp does
        # Set: `/props` answers only once the test sets it (a gateway that hangs on it).
        self.props_gate: asyncio.Event | None = None

    def window_of_model(self) -> Json:
        """Return the fields `/v1/models` adds to the model's entry."""
        if self.context_window and self.window_reported_by == "models":
            return {"max_model_len": self.context_window}
        return {}

    def within_window(self, reply: R, prompt: int) -> R:
        """Cut `reply` where the window is full after a prompt of `prompt` tokens."""
        window = self.context_window or 0
        usage = {"prompt_tokens": prompt, "completion_tokens": window - prompt}
        return cut_at(reply, (window - prompt) * 4, {**usage, "total_tokens": window})

    async def _props(self, request: web.Request) -> web.Response:
        """Answer llama.cpp's `/props`: the template and the window (404 when neither)."""
        if self.props_gate is not None:
            await self._hold(self.props_gate)  # type: ignore[attr-defined]
        body: Json = {"total_slots": 1}
        if self.chat_template is not None:
            body["chat_template"] = self.chat_template
        if self.context_window and self.window_reported_by == "props":
            n_ctx = self.context_window
            body["default_generation_settings"] = {"n_ctx": n_ctx, "params": {"n_ctx": n_ctx}}
        if len(body) == 1:
            return web.json_response({"error": {"code": 404, "message": "Not Found"}}, status=404)
        return web.json_response(body)


def window_exceeded() -> web.Response:
    """Refuse a prompt that does not fit, in llama-server's words."""
    error = {
        "code": 400,
        "message": "the request exceeds the available context size, try increasing it",
        "type": "exceed_context_size_error",
    }
    return web.json_response({"error": error}, status=400)


def cut_at(reply: R, chars: int, usage: Json) -> R:
    """End a text answer (a `Reply`) after `chars` characters with finish_reason "length".

    The usage then says the window is full, as llama-server's does."""
    if getattr(reply, "raw", False) or getattr(reply, "error", None) is not None:
        return reply
    kept: list[Json] = []
    for chunk in reply.chunks:  # type: ignore[attr-defined]
        content = (chunk.get("delta") or {}).get("content")
        if isinstance(content, str) and len(content) > chars:
            kept.append({**chunk, "delta": {**chunk["delta"], "content": content[:chars]}})
            kept.append({"delta": {}, "finish_reason": "length"})
            return dataclasses.replace(reply, chunks=kept, usage=usage)  # type: ignore[type-var]
        chars -= len(content) if isinstance(content, str) else 0
        kept.append(chunk)
    return reply
