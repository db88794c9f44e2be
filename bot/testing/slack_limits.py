"""Slack's message limits, enforced by the fake the way Slack answers them.

Measured on what is sent, in characters (Python `len`), from Slack's documentation:
`text` is cut at 40,000 characters by `chat.postMessage` (this fake refuses it with
`msg_too_long`, the strict reading); `chat.update` answers `msg_too_long` for a `text` near
4,000 characters (our platform notes; the reference names no number, so the fake takes the
strict 4,000); `markdown_text` and the `markdown` blocks of one message hold 12,000 together;
a section's text holds 3,000, a message 50 blocks (`invalid_blocks`).
"""

from __future__ import annotations

import json
from typing import Any

Json = dict[str, Any]

TEXT_LIMIT = 40_000
UPDATE_TEXT_LIMIT = 4_000
MARKDOWN_LIMIT = 12_000
SECTION_LIMIT = 3_000
MAX_BLOCKS = 50


class SlackError(Exception):
    """Abort an API method with ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.body: dict[str, Any] = {"ok": False, "error": error, **extra}


def limit_error(args: dict[str, Any], text_limit: int | None = TEXT_LIMIT) -> str | None:
    """Return the error Slack answers for content beyond its limits, None when within them."""
    text, markdown = args.get("text"), args.get("markdown_text")
    if (markdown and len(markdown) > MARKDOWN_LIMIT) or (
        text and text_limit is not None and len(text) > text_limit
    ):
        return "msg_too_long"
    return blocks_error(args.get("blocks"))


def blocks_error(blocks: Any) -> str | None:
    """Return `invalid_blocks` for blocks Slack refuses by size or count."""
    if not blocks:
        return None
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        return "invalid_blocks"
    markdown = 0
    for block in blocks:
        if not isinstance(block, dict):
            return "invalid_blocks"
        if block.get("type") == "markdown":
            markdown += len(str(block.get("text", "")))
        elif block.get("type") == "section":
            texts = [block.get("text") or {}, *(block.get("fields") or [])]
            if any(len(str(t.get("text", ""))) > SECTION_LIMIT for t in texts):
                return "invalid_blocks"
    return "invalid_blocks" if markdown > MARKDOWN_LIMIT else None


TASK_STATUSES = {"pending", "in_progress", "complete", "error"}


def _check_chunk(chunk: Any) -> None:
    """Refuse a chunk Slack's reference would refuse (task ids, titles and statuses)."""
    kind = chunk.get("type") if isinstance(chunk, dict) else None
    if kind == "task_update":
        if not (chunk.get("id") and chunk.get("title")) or chunk.get("status") not in TASK_STATUSES:
            raise SlackError("invalid_chunks")
    elif kind == "plan_update":
        if not chunk.get("title"):
            raise SlackError("invalid_chunks")
    elif kind not in ("markdown_text", "blocks"):
        raise SlackError("invalid_chunks")


def stream_text(args: Json) -> str:
    """Return the Markdown a stream call carries; refuse bad chunks and too much text."""
    parts = [args.get("markdown_text") or ""]
    for chunk in args.get("chunks") or []:
        _check_chunk(chunk)
        if isinstance(chunk, dict) and chunk.get("type") == "markdown_text":
            parts.append(str(chunk.get("text", "")))
    text = "".join(parts)
    if len(text) > MARKDOWN_LIMIT:
        raise SlackError("msg_too_long")
    return text


def metadata_of(value: Any) -> Json | None:
    """Check message `metadata` as Slack does: an `event_type` and an `event_payload` object."""
    if value is None:
        return None
    if isinstance(value, str):  # form-encoded calls send it as JSON text
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise SlackError("invalid_metadata_format") from exc
    if not isinstance(value, dict) or not isinstance(value.get("event_payload"), dict):
        raise SlackError("invalid_metadata_format")
    if not value.get("event_type"):
        raise SlackError("invalid_metadata_format")
    return {"event_type": value["event_type"], "event_payload": value["event_payload"]}
