"""What the fake Slack Web API refuses as Slack does: errors, required fields, limits, chunks."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]
TEXT_LIMIT = 40_000
UPDATE_TEXT_LIMIT = 4_000
MARKDOWN_LIMIT = 12_000


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
