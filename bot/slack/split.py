"""Split a long Markdown answer into Slack-sized messages, never inside a word or code block."""

from __future__ import annotations

import re

FENCE = re.compile(r"^\s{0,3}(```+|~~~+)(.*)$", re.MULTILINE)
# Room kept for the closing fence added to a cut code block and the reopening line.
FENCE_SLACK = 24


def open_fence(text: str) -> str | None:
    """Return the opening line of a code fence left open at the end of `text`, if any."""
    opener: str | None = None
    marker = ""
    for match in FENCE.finditer(text):
        if opener is None:
            opener, marker = match.group(0).strip(), match.group(1)
        elif match.group(1).startswith(marker[0]) and len(match.group(1)) >= len(marker):
            if not match.group(2).strip():
                opener = None
    return opener


def split_point(text: str, limit: int) -> int:
    """Return where to cut `text` so the first part fits `limit`: a paragraph, line or space."""
    if len(text) <= limit:
        return len(text)
    window = text[:limit]
    for separator in ("\n\n", "\n", " "):
        index = window.rfind(separator)
        if index >= limit // 3:
            return index + len(separator)
    return limit  # one unbroken run longer than a message: nothing better exists


def close_part(part: str) -> tuple[str, str]:
    """Close a code block cut at the end of `part`; return it and the prefix for the next part."""
    opener = open_fence(part)
    if opener is None:
        return part, ""
    closed = part if part.endswith("\n") else part + "\n"
    return closed + opener[:3] + "\n", opener + "\n"


def split_message(text: str, limit: int) -> list[str]:
    """Split a whole answer into parts of at most `limit` characters each."""
    parts: list[str] = []
    prefix = ""
    rest = text
    while len(prefix) + len(rest) > limit:
        budget = max(1, limit - len(prefix) - FENCE_SLACK)
        cut = split_point(rest, budget)
        part, prefix_next = close_part(prefix + rest[:cut])
        parts.append(part)
        rest, prefix = rest[cut:], prefix_next
    parts.append(prefix + rest)
    return parts
