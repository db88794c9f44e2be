"""Splitting long answers: parts fit, never cut a word, and keep code blocks whole or reopened."""

from __future__ import annotations

import random

import pytest

from bot.slack.reply.split import (
    FENCE_SLACK,
    close_part,
    code_spans,
    open_fence,
    split_message,
    split_point,
)
from bot.testing.stored import reassemble

PROSE = "Moraines are ridges of rock left behind by glaciers as they retreat. " * 3


def unsplit(parts: list[str], text: str) -> str:
    """Join parts, dropping each fence the splitter added (closed below, reopened above)."""
    return "".join(reassemble(parts, text))


def test_split_prefers_a_break_before_a_code_block_over_one_inside_it() -> None:
    code = "```python\ndef a():\n    return 1\n\n\ndef b():\n    return 2\n```\n"
    text = PROSE + "\n\n" + code + PROSE
    cut = split_point(text, len(PROSE) + len(code) - 5)
    assert text[:cut] == PROSE + "\n\n", "the block moved whole into the next message"


def test_code_block_longer_than_a_message_is_cut_between_lines_and_reopened() -> None:
    code = "```sql\n" + "\n".join(f"SELECT {i} FROM ice;" for i in range(200)) + "\n```\n"
    parts = split_message(PROSE + "\n\n" + code + PROSE, 1000)
    assert all(len(p) <= 1000 for p in parts)
    assert all(open_fence(p) is None for p in parts)
    assert sum(p.startswith("```sql\n") for p in parts) >= 3
    for part in parts:
        for line in part.splitlines():
            assert line in ("```sql", "```") or line.startswith(("SELECT", "Moraines")) or not line
    assert unsplit(parts, PROSE + "\n\n" + code + PROSE) == PROSE + "\n\n" + code + PROSE


def test_longer_fence_is_closed_with_its_own_marker() -> None:
    code = "~~~~text\n" + "line with ``` inside\n" * 80 + "~~~~\n"
    part, prefix = close_part(code[:500].rsplit("\n", 1)[0] + "\n")
    assert part.endswith("\n~~~~\n") and prefix == "~~~~text\n"
    assert open_fence(part) is None


def test_block_continued_from_the_previous_message_counts_as_code() -> None:
    code = "x = 1\n\ny = 2\n" * 10  # blank lines inside code look like paragraph breaks
    rest = code + "```\n\n" + PROSE
    limit = len(code) + 50
    assert rest[: split_point(rest, limit, prefix="```python\n")] == code + "```\n\n"
    assert split_point(rest, limit) < len(code), "without the prefix it would cut the code"


def test_inline_triple_backticks_are_not_a_fence() -> None:
    assert code_spans("```not a fence```\nplain text") == []


def test_unbroken_run_longer_than_a_message_is_cut_at_the_limit() -> None:
    assert split_point("a" * 5000, 1000) == 1000


@pytest.mark.parametrize("seed", range(20))
def test_random_markdown_splits_fit_and_rejoin(seed: int) -> None:
    rng = random.Random(seed)
    pieces = []
    for _ in range(rng.randint(5, 40)):
        kind = rng.random()
        if kind < 0.6:
            pieces.append(" ".join("w" * rng.randint(1, 12) for _ in range(rng.randint(5, 90))))
        elif kind < 0.9:
            lines = ["code(" + "a" * rng.randint(0, 40) + ")" for _ in range(rng.randint(1, 60))]
            lines[rng.randrange(len(lines))] = ""
            pieces.append("```py\n" + "\n".join(lines) + "\n```")
        else:
            pieces.append("- item " * rng.randint(1, 20))
    text = "\n\n".join(pieces)
    limit = rng.choice([300, 700, 3900])
    parts = split_message(text, limit)
    assert all(len(p) <= limit for p in parts), limit
    assert all(open_fence(p) is None for p in parts)
    assert unsplit(parts, text) == text
    for part in parts[:-1]:
        body = part.removesuffix("```\n")
        assert body[-1].isspace(), "a split fell inside a word"
    assert FENCE_SLACK >= len("\n```\n")
