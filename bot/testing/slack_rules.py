"""What the fake Slack Web API refuses as Slack does: errors, required fields, limits, chunks.

Limits are measured on what is sent, in characters: `text` over 40,000 is refused by
`chat.postMessage` (Slack documents cutting it there; refusing is the strict reading) and over
4,000 by `chat.update` (`msg_too_long` "at about 4,000"; the reference names no number);
`markdown_text` and a message's `markdown` blocks hold 12,000 together, a section 3,000, a
message 50 blocks (`invalid_blocks`).
"""

from __future__ import annotations

import json
from typing import Any

Json = dict[str, Any]
TEXT_LIMIT = 40_000
UPDATE_TEXT_LIMIT = 4_000
MARKDOWN_LIMIT = 12_000  # `markdown_text`, and the `markdown` blocks of a message together
SECTION_LIMIT = 3_000
MAX_BLOCKS = 50


class SlackError(Exception):
    """Abort an API method with ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.body: Json = {"ok": False, "error": error, **extra}


def require(args: Json, *fields: str) -> None:
    for field in fields:
        if not args.get(field):
            raise SlackError(
                "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] missing required field: {field}"]},
            )


def ts_key(ts: str) -> tuple[int, ...]:
    return tuple(int(part) for part in ts.split("."))


TASK_STATUSES = {"pending", "in_progress", "complete", "error"}


def check_chunk(chunk: Any) -> None:
    """Refuse a chunk Slack's reference would refuse (task ids, titles and statuses)."""
    kind = chunk.get("type") if isinstance(chunk, dict) else None
    if kind == "task_update":
        if not (chunk.get("id") and chunk.get("title")) or chunk.get("status") not in TASK_STATUSES:
            raise SlackError("invalid_chunks")
        for source in chunk.get("sources") or []:  # url source elements
            if not isinstance(source, dict) or source.get("type") != "url":
                raise SlackError("invalid_chunks")
            if not (source.get("url") and source.get("text")):
                raise SlackError("invalid_chunks")
    elif kind == "plan_update":
        if not chunk.get("title"):
            raise SlackError("invalid_chunks")
    elif kind not in ("markdown_text", "blocks"):
        raise SlackError("invalid_chunks")


def stream_text(args: Json) -> str:
    parts = [args.get("markdown_text") or ""]
    for chunk in args.get("chunks") or []:
        check_chunk(chunk)
        if isinstance(chunk, dict) and chunk.get("type") == "markdown_text":
            parts.append(str(chunk.get("text", "")))
    text = "".join(parts)
    if len(text) > MARKDOWN_LIMIT:
        raise SlackError("msg_too_long")
    return text


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
