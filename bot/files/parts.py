"""Files in chat messages: a user turn's text with its documents, and its images as parts.

A user message with images becomes a list of content parts (one `text` part, then one
`image_url` part per image, as data URLs); without images it stays a plain string, which
every server takes. Documents are appended to the text, each fenced with its name, after
the question, so that cutting an oversized message keeps the question.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import openai

from bot.db.records import StoredFile
from bot.llm.errors import ContextTooLong


def user_content(text: str, files: Sequence[StoredFile]) -> str | list[dict[str, Any]]:
    """Return a user message's content with its files."""
    for file in files:
        if file.kind == "text":
            text += f"\n\n[Attached file: {file.name}]\n{file.content}\n[End of {file.name}]"
    images = [f for f in files if f.kind == "image"]
    if not images:
        return text
    named = ", ".join(f.name for f in images)
    parts: list[dict[str, Any]] = [
        {"type": "text", "text": f"{text}\n\n[Attached images: {named}]"}
    ]
    parts += [{"type": "image_url", "image_url": {"url": f.content}} for f in images]
    return parts


def has_images(messages: Sequence[dict[str, Any]]) -> bool:
    """Tell whether any message carries an image part."""
    return any(
        isinstance(m.get("content"), list)
        and any(p.get("type") == "image_url" for p in m["content"])
        for m in messages
    )


def without_images(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the messages with image parts replaced by a note (for a model that sees none)."""
    out = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            text = "\n".join(p.get("text", "") for p in content if p.get("type") == "text")
            dropped = sum(1 for p in content if p.get("type") == "image_url")
            if dropped:
                text += f"\n[{dropped} image(s) left out: this model cannot see images]"
            message = {**message, "content": text}
        out.append(message)
    return out


IMAGE_WORDS = ("image", "vision", "multimodal", "multi-modal", "mmproj")
# Words that put the refusal on the model, not on one file ("an unsupported image", "invalid
# image", "too large" are about what one user sent and prove nothing about the model).
BLIND_WORDS = (
    "not supported",
    "does not support",
    "doesn't support",
    "only supported by",
    "not a multimodal",
    "no endpoints found that support image",
    "mmproj",
)


def refused_images(exc: BaseException) -> bool:
    """Tell whether a model error is a server refusing image parts: a 400/415/422 naming them.

    An error that does not name the image input (a bad parameter, a template error) is not
    proof that the model is blind: learning it would strip every user's images.
    """
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    if isinstance(exc, ContextTooLong) or not isinstance(cause, openai.APIStatusError):
        return False
    said = f"{cause.message} {json.dumps(cause.body, default=str)}".lower()
    return cause.status_code in (400, 415, 422) and any(w in said for w in IMAGE_WORDS)


def says_model_is_blind(exc: BaseException) -> bool:
    """Tell whether an image refusal is about the model (every image), not about one file."""
    if not refused_images(exc):
        return False
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    assert isinstance(cause, openai.APIStatusError)
    said = f"{cause.message} {json.dumps(cause.body, default=str)}".lower()
    return any(w in said for w in BLIND_WORDS)
