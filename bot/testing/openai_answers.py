"""What the fake model streamed, request by request, and for which turn (its X-Turn-Id)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.llm.client import RESUME_INSTRUCTION

Json = dict[str, Any]


@dataclass
class Streamed:
    """One streamed answer: its `content` as sent, and whether the stream was sent to its end."""

    turn: str | None  # the X-Turn-Id header of the request
    text: str | None  # the concatenated `delta.content` (None: a verbatim wire body, unknown)
    tool_calls: bool  # the answer asked for tools
    whole: bool = False  # every chunk was written and the body ended
    resumes: bool = False  # the request asks to go on with an answer whose stream broke


def image_parts(body: Json) -> list[str]:
    """Return the image URLs (data URLs) of a recorded request, in order."""
    return [
        part["image_url"]["url"]
        for message in body.get("messages", [])
        if isinstance(message.get("content"), list)
        for part in message["content"]
        if isinstance(part, dict) and part.get("type") == "image_url"
    ]


def streamed(
    body: Json, turn: str | None, chunks: list[Json], *, raw: bool, wire: bool
) -> Streamed:
    """Describe the answer `chunks` make (each a choice, or with `raw` a whole chunk) to `body`."""
    text: list[str] = []
    tools = False
    for chunk in chunks:
        choice = ((chunk.get("choices") or [None])[0] if raw else chunk) or {}
        delta = choice.get("delta") or {}
        text.append(delta.get("content") or "")
        tools = tools or bool(delta.get("tool_calls"))
    resumes = RESUME_INSTRUCTION in json.dumps(body.get("messages") or [], ensure_ascii=False)
    return Streamed(turn, None if wire else "".join(text), tools, resumes=resumes)
