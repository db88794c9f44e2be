"""Tables split across messages, measured as rendered (cases the generator found)."""

from __future__ import annotations

from bot.slack.reply.format import to_slack
from bot.slack.reply.split import split_message
from bot.testing.invariant import reply_problems


def rendered(markdown: str) -> int:
    return len(to_slack(markdown))


def table(columns: int, rows: int) -> str:
    lines = ["| " + " | ".join(f"h{c}" for c in range(columns)) + " |", "|" + "---|" * columns]
    lines += ["| " + " | ".join(f"r{r}c{c}" for c in range(columns)) + " |" for r in range(rows)]
    return "\n".join(lines)


def test_table_continued_in_the_next_part_repeats_its_header() -> None:
    answer = "Intro.\n\n" + table(3, 60)
    parts = split_message(answer, 400, rendered)
    assert len(parts) > 2
    assert all(part.startswith("| h0 | h1 | h2 |\n|---|---|---|\n") for part in parts[1:])
    assert all(rendered(part) <= 400 for part in parts)
    assert reply_problems([to_slack(p) for p in parts], answer) == []


def test_a_table_after_a_table_ending_a_part_gets_no_header_of_the_first() -> None:
    for rows in range(8, 20):  # one of these ends a part right after the first table
        answer = table(4, rows) + "\n\n" + table(2, 30)
        parts = split_message(answer, 500, rendered)
        assert reply_problems([to_slack(p) for p in parts], answer) == [], rows
        assert not any("| h0 | h1 | h2 | h3 |\n|---|---|---|---|\n| h0 | h1 |" in p for p in parts)


def test_checker_tells_a_new_table_with_the_same_header_from_a_continued_one() -> None:
    first, second = table(2, 3), table(2, 4)
    answer = f"{first}\n\nword\n\n{second}"
    messages = [to_slack(f"{first}\n\nword"), to_slack(second)]
    assert reply_problems(messages, answer) == []  # both headers are the answer's
    continued = [to_slack(first), to_slack(table(2, 2))]
    assert reply_problems(continued, f"{first}\n| r0c0 | r0c1 |\n| r1c0 | r1c1 |") == []


def test_text_glued_to_a_header_row_is_no_table_and_is_not_repeated() -> None:
    # A native stream keeps reasoning a lone </think> took back, glued to the answer: its
    # first line then has a cell more than the delimiter row, so it is no table (GFM).
    answer = "Let me think. " * 40 + table(2, 60)
    parts = split_message(answer, 500, rendered)
    assert len(parts) > 2
    assert sum(part.count("Let me think.") for part in parts) == 40
    assert reply_problems([to_slack(p) for p in parts], answer) == []
