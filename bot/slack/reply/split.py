"""Split a long Markdown answer into Slack-sized messages, never inside a word, link or code block.

A cut goes, by preference, at a paragraph break, a line break or a space *outside* code
blocks. Only when a code block alone is longer than what is left of a message is it cut,
at a line break, and then closed at the end of one message and reopened (same fence, same
language) at the top of the next.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

FENCE = re.compile(r"^[ ]{0,3}(```+|~~~+)(.*)$", re.MULTILINE)
# A table's delimiter row (`|---|:--:|`), the second line of a table.
DELIMITER = re.compile(r"^[ ]{0,3}\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
# What a cut must not fall inside, since half of it renders as raw text: a Slack link or
# mention (`<https://x|the docs>`, `<@U1>`) and a Markdown link (`[the docs](https://x)`).
ATOMIC = re.compile(r"<[^<>\n]{1,500}>|\[[^\[\]\n]{0,300}\]\([^()\s]{0,2000}\)")
# Room kept for the closing fence added to a cut code block and the reopening line.
FENCE_SLACK = 24
# A streaming message rolls over once its text passes `limit - ROLLOVER_MARGIN`: room is kept
# for a status line ("Running `search`…") and a reopened code fence below the text.
ROLLOVER_MARGIN = 200


class CodeSpan(NamedTuple):
    """One fenced code block: where it starts and ends, its opening line, whether it closed."""

    start: int
    end: int
    opener: str
    marker: str
    closed: bool


def code_spans(text: str) -> list[CodeSpan]:
    """Return the fenced code blocks of `text`; one left open runs to the end."""
    spans: list[CodeSpan] = []
    start, marker, opener = -1, "", ""
    for match in FENCE.finditer(text):
        run, info = match.group(1), match.group(2)
        if start < 0:
            if run[0] == "`" and "`" in info:
                continue  # inline code such as ```x``` at a line start, not a fence
            start, marker, opener = match.start(), run, match.group(0).strip()
        elif run[0] == marker[0] and len(run) >= len(marker) and not info.strip():
            spans.append(CodeSpan(start, match.end(), opener, marker, True))
            start = -1
    if start >= 0:
        spans.append(CodeSpan(start, len(text), opener, marker, False))
    return spans


def open_fence(text: str) -> str | None:
    """Return the opening line of a code fence left open at the end of `text`, if any."""
    spans = code_spans(text)
    return spans[-1].opener if spans and not spans[-1].closed else None


def split_point(text: str, limit: int, *, prefix: str = "") -> int:
    """Return where to cut `text` so the first part fits `limit`, at the safest boundary.

    `prefix` is what the message starts with before `text` (a reopened code fence), so
    that a block continued from the previous message counts as code.
    """
    if len(text) <= limit:
        return len(text)
    window = text[:limit]
    floor = limit // 3
    shift = len(prefix)
    # A block still open at the end of the window runs on past it.
    spans = [
        (s.start - shift, s.end - shift if s.closed else limit + 1)
        for s in code_spans(prefix + window)
    ]

    # A link running past the window is found too: the text beyond it is read that far.
    links = [(m.start(), m.end()) for m in ATOMIC.finditer(text, 0, limit + 2500)]
    spans += links

    def in_code(cut: int) -> bool:
        return any(start < cut < end for start, end in spans)

    for separator in ("\n\n", "\n", " "):
        index = window.rfind(separator)
        while index >= floor:
            cut = index + len(separator)
            if not in_code(cut):
                return cut
            index = window.rfind(separator, 0, index)
    index = window.rfind("\n")  # a code block longer than a message: cut it between lines
    if index >= floor:
        return index + 1
    index = max(window.rfind(" "), window.rfind("\t"))
    while index > 0 and any(start < index + 1 < end for start, end in links):
        index = window.rfind(" ", 0, index)  # a short part rather than half a link
    if index <= 0:
        index = max(window.rfind(" "), window.rfind("\t"))
    if index > 0:
        return index + 1
    return limit  # one unbroken run longer than a message: nothing better exists


def close_part(part: str, following: str = "") -> tuple[str, str]:
    """Close a block cut at the end of `part`; return it and the prefix for the next part.

    A code block is closed and reopened (same fence); a table continued in `following`
    (the text after the cut) has its header and delimiter rows repeated, so the next part
    is a table too rather than raw `| a | b |` lines.
    """
    spans = code_spans(part)
    if not spans or spans[-1].closed:
        return part, table_header(part, following)
    closed = part if part.endswith("\n") else part + "\n"
    return closed + spans[-1].marker + "\n", spans[-1].opener + "\n"


def table_header(part: str, following: str) -> str:
    """Return the header and delimiter rows of a table that `following` continues, or ""."""
    if not part.endswith("\n") or not following.lstrip(" ").startswith("|"):
        return ""
    body = part[:-1]
    if not body.rsplit("\n", 1)[-1].strip():
        return ""  # the part ends with a blank line: what follows is another table
    start = body.rfind("\n\n")
    lines = body[start + 2 if start >= 0 else 0 :].split("\n")
    if len(lines) >= 2 and "|" in lines[0] and "|" in lines[1] and DELIMITER.match(lines[1]):
        if _cells(lines[0]) == _cells(lines[1]):  # else no table (GFM): text, not a header
            return f"{lines[0]}\n{lines[1]}\n"
    return ""


def _cells(row: str) -> int:
    """Return how many cells a table row has (its outer pipes are optional)."""
    inner = row.strip().removeprefix("|").removesuffix("|")
    return len(re.split(r"(?<!\\)\|", inner))


def fit_part(
    rest: str, room: int, *, prefix: str = "", measure: Callable[[str], int] = len
) -> tuple[str, int, str]:
    """Return the next part of `rest` (after `prefix`), its cut, the next part's prefix.

    The part is measured with `measure` (the rendered size that is sent, which padding and
    escaping can make much longer than the Markdown): the cut shrinks until it fits `room`.
    """
    budget = max(1, room - len(prefix) - FENCE_SLACK)
    while True:
        cut = split_point(rest, budget, prefix=prefix)
        part, next_prefix = close_part(prefix + rest[:cut], rest[cut:])
        size = measure(part)
        if size <= room or budget <= 1:
            return part, cut, next_prefix
        budget = max(1, min(budget - 1, budget * room // size - 1))


def split_message(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """Split a whole answer into parts of at most `limit` (as `measure` counts) each."""
    parts: list[str] = []
    prefix = ""
    rest = text
    while rest and measure(prefix + rest) > limit:
        part, cut, prefix_next = fit_part(rest, limit, prefix=prefix, measure=measure)
        parts.append(part)
        rest, prefix = rest[cut:], prefix_next
    parts.append(prefix + rest)
    return parts
