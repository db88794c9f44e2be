"""The invariant every reply must hold in Slack, checked on what the fake Slack recorded.

At the end of a reply, the text Slack shows across the reply's messages, in order, is the
answer as rendered (`to_slack`), nothing missing and nothing twice; and every message sent
is within Slack's limits. What a split adds is allowed: a code fence closed at the end of
one message and reopened at the top of the next, and a table's header repeated at the top
of the next message. Tables are compared without their alignment padding (each message
aligns its own rows; a row longer than a message is cut and shown as text), so whitespace
and table pipes never count. A reply Slack refused to take whole may
instead end with `texts.REPLY_CUT_SHORT` after a leading part of the answer.

Where it is checked: at the end of every test through the real app, on every reply against
what the fake model streamed for it (`bot.testing.answered`, run by the `harness` fixture;
its docstring says which replies cannot be checked there and why: written outside a turn,
a model stream that did not end, still streaming, or ended early); on every test with the
fake Slack for limits and duplicate parts (the `slack` fixture); and on adversarial answers
with faults through both renderers (`tests/slack/test_reply_generator.py`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from bot import texts
from bot.slack.posted import REPLY_EVENT
from bot.slack.reply.format import to_slack
from bot.slack.reply.markup import markdown_of
from bot.slack.reply.split import DELIMITER

FENCE_LINE = re.compile(r"^\s*(```+|~~~+)[^`\s]*\s*$")
RULE_LINE = re.compile(
    r"^\s*-(-+|-*\+[-+]*)\s*$"
)  # a rendered table's `---+---` row, not a bare `-`
SPACE = re.compile(r"[\s|]+")  # whitespace, and the pipes a table is drawn with
LIMIT_ERRORS = {"msg_too_long", "invalid_blocks", "msg_blocks_too_long"}
MESSAGE_CALLS = {"chat.postMessage", "chat.update", "chat.startStream", "chat.appendStream"}


def squash(text: str) -> str:
    return SPACE.sub("", text)


def _content_lines(
    markdown: str, repeated_header: str | None, expected: str | None, at: int
) -> tuple[list[str], str | None]:
    """Return a message's lines that carry answer text, and the header of a table it ends in.

    A message that starts with the header of the table the previous one ended in repeats it
    (a split), unless the answer itself goes on with that header there (a new table).
    """
    lines = markdown.split("\n")
    ending = _ending_table(lines)
    if (
        repeated_header is not None
        and len(lines) > 2
        and FENCE_LINE.match(lines[0])
        and RULE_LINE.match(lines[2])
        and squash(lines[1]) == repeated_header
        and not (expected is not None and expected.startswith(repeated_header, at))
    ):
        lines = [lines[0], *lines[2:]]  # the header a split repeats
    return [line for line in lines if not _drawing(line)], ending


def _ending_table(lines: list[str]) -> str | None:
    """Return the header of the rendered table a message ends with (it may go on), if any."""
    body = [line for line in lines if line.strip()]
    if len(body) < 3 or not FENCE_LINE.match(body[-1]):
        return None
    opened = (
        max(i for i, line in enumerate(body[:-1]) if FENCE_LINE.match(line))
        if any(FENCE_LINE.match(line) for line in body[:-1])
        else None
    )
    if opened is None or opened + 2 >= len(body) - 1 or not RULE_LINE.match(body[opened + 2]):
        return None
    return squash(body[opened + 1]) or None


def _drawing(line: str) -> bool:
    """Tell whether a line only draws: a fence, a table's rule or delimiter row."""
    delimiter = "|" in line and DELIMITER.match(line)  # a bare `-` is a list item's marker
    return bool(FENCE_LINE.match(line) or RULE_LINE.match(line) or delimiter)


def shown_text(markdowns: Sequence[str], expected: str | None = None) -> str:
    """Return what a reply's messages show, as one whitespace-free string (split artifacts out).

    `expected` (the answer, as `shown_text` gives it) tells a repeated table header from the
    same header starting a new table.
    """
    out = ""
    header: str | None = None
    for markdown in markdowns:
        if not markdown.strip():
            continue  # an empty message neither shows text nor ends a table
        lines, header = _content_lines(markdown, header, expected, len(out))
        out += squash("".join(lines))
    return out


def reply_problems(markdowns: Sequence[str], answer: str) -> list[str]:
    """Return how the messages (their Markdown, in order) fail to show `answer` once, whole."""
    expected = shown_text([to_slack(answer)])
    actual = shown_text(markdowns, expected)
    if actual == expected:
        return []
    note = squash(to_slack(texts.REPLY_CUT_SHORT))
    if actual.endswith(note) and expected.startswith(actual[: -len(note)]):
        return []  # cut short, and saying so
    at = next(
        (i for i, (a, b) in enumerate(zip(actual, expected, strict=False)) if a != b),
        min(len(actual), len(expected)),
    )
    return [
        f"reply differs from the answer at {at} (shown {len(actual)}, answer {len(expected)}):"
        f" shown …{actual[max(0, at - 40) : at + 60]!r}… answer …{expected[max(0, at - 40) : at + 60]!r}…"
    ]


def reply_markdowns(messages: Iterable[dict[str, Any]]) -> list[str]:
    """Return the Markdown each (stored, fake-Slack) message shows."""
    return [markdown_of(m) for m in messages]


def limit_problems(calls: Iterable[Any]) -> list[str]:
    """Return the message calls Slack refused for their size (`msg_too_long`, `invalid_blocks`)."""
    return [
        f"{call.method} refused: {call.response.get('error')}"
        for call in calls
        if call.method in MESSAGE_CALLS | {"chat.stopStream"}
        and call.response.get("error") in LIMIT_ERRORS
    ]


def duplicate_parts(messages: Iterable[dict[str, Any]]) -> list[str]:
    """Return the reply parts that were posted more than once (same reply, same part)."""
    seen: set[str] = set()
    twice = []
    for message in messages:
        meta = message.get("metadata") or {}
        if meta.get("event_type") != REPLY_EVENT:
            continue
        key = repr(sorted((meta.get("event_payload") or {}).items()))
        if key in seen:
            twice.append(f"{message.get('channel')}/{message.get('ts')}: {key}")
        seen.add(key)
    return twice


def assert_reply_shows(slack: Any, channel: str, thread_ts: str, answer: str) -> None:
    """Assert that the bot's messages in a thread show `answer` once, whole, within limits."""
    bots = [
        m for m in slack.replies(channel, thread_ts) if m.get("bot_id") and m["ts"] != thread_ts
    ]
    problems = reply_problems(reply_markdowns(bots), answer)
    problems += limit_problems(slack.calls) + duplicate_parts(bots)
    assert not problems, "\n".join(problems)
