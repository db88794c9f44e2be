"""A context window for the fake model server, enforced and reported like real servers do.

Tokens are counted as the fake's usage counts them (4 characters each). A prompt that fills
the window is refused as llama-server refuses it; an answer that reaches it ends with
finish_reason "length". The window is reported at `/props` (llama.cpp), as `max_model_len`
in `/v1/models` (vLLM), or not at all.
"""

from __future__ import annotations

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

    def window_of_model(self) -> Json:
        """Return the fields `/v1/models` adds to the model's entry."""
        if self.context_window and self.window_reported_by == "models":
            return {"max_model_len": self.context_window}
        return {}

    async def _props(self, request: web.Request) -> web.Response:
        if not self.context_window or self.window_reported_by != "props":
            return web.json_response({"error": {"code": 404, "message": "Not Found"}}, status=404)
        settings = {"n_ctx": self.context_window, "params": {"n_ctx": self.context_window}}
        return web.json_response({"default_generation_settings": settings, "total_slots": 1})


def window_exceeded() -> web.Response:
    """Refuse a prompt that does not fit, in llama-server's words."""
    error = {
        "code": 400,
        "message": "the request exceeds the available context size, try increasing it",
        "type": "exceed_context_size_error",
    }
    return web.json_response({"error": error}, status=400)


def cut_at(reply: R, chars: int) -> R:
    """End a text answer (a `Reply`) after `chars` characters with finish_reason "length"."""
    if getattr(reply, "raw", False) or getattr(reply, "error", None) is not None:
        return reply
    kept: list[Json] = []
    for chunk in reply.chunks:  # type: ignore[attr-defined]
        content = (chunk.get("delta") or {}).get("content")
        if isinstance(content, str) and len(content) > chars:
            kept.append({**chunk, "delta": {**chunk["delta"], "content": content[:chars]}})
            kept.append({"delta": {}, "finish_reason": "length"})
            return dataclasses.replace(reply, chunks=kept)  # type: ignore[type-var]
        chars -= len(content) if isinstance(content, str) else 0
        kept.append(chunk)
    return reply
