"""Adversarial answers, streamed into the fake Slack with faults: every reply arrives whole.

Hypothesis builds answers of wide and long tables, code fences, links, lists, multi-byte
text, very long lines and reasoning retracted by a lone `</think>`; streams them in random
fragments at several SLACK_MESSAGE_MAX_CHARS values through the update-mode renderer, the
real `SlackWriter` and slack_sdk client, over HTTP to the fake Slack, while posts fail with
5xx beyond the retries, edits get 429 and posts are applied with their answer lost. Each
example ends with the invariant (`bot/testing/invariant.py`). CI runs a bounded number of
examples; REPLY_EXAMPLES=500 runs more.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.reply.update import ReplyTarget, StreamingReply
from bot.slack.retry import retry_handlers
from bot.slack.writer import SlackWriter
from bot.testing.invariant import (
    duplicate_parts,
    limit_problems,
    reply_markdowns,
    reply_problems,
)
from bot.testing.leftovers import stale_stop_buttons
from bot.testing.slack import FakeSlack

EXAMPLES = int(os.environ.get("REPLY_EXAMPLES", "30"))

WORD = st.sampled_from(
    [
        "word",
        "the",
        "Größe",
        "日本語",
        "naïve",
        "🙂",
        "x<y",
        "a&b",
        "`code`",
        "**bold**",
        "<https://example.com/a|a link>",
        "[md](https://example.org)",
        "Vec<String>",
        "~~s~~",
    ]
)


@st.composite
def paragraph(draw: st.DrawFn) -> str:
    words = draw(st.lists(WORD, min_size=1, max_size=80))
    return " ".join(words)


@st.composite
def table(draw: st.DrawFn) -> str:
    columns = draw(st.integers(2, 4))
    rows = draw(st.integers(1, 70))
    wide = draw(st.sampled_from([0, 0, 300, 1500]))
    wide_at = draw(st.integers(0, rows - 1))
    lines = ["| " + " | ".join(f"h{c}" for c in range(columns)) + " |"]
    lines.append("|" + "---|" * columns)
    for r in range(rows):
        cells = [f"r{r}c{c} Ü" for c in range(columns)]
        if wide and r == wide_at:
            cells[draw(st.integers(0, columns - 1))] = "w" * wide
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


@st.composite
def fence(draw: st.DrawFn) -> str:
    lines = draw(st.integers(1, 120))
    lang = draw(st.sampled_from(["", "python", "sh"]))
    body = "\n".join(f"line_{i} = '<{i}>' & 'ö'" for i in range(lines))
    return f"```{lang}\n{body}\n```"


@st.composite
def listing(draw: st.DrawFn) -> str:
    items = draw(st.lists(paragraph(), min_size=1, max_size=12))
    return "\n".join(f"- {item}" for item in items)


LONG_LINE = st.integers(500, 5000).map(lambda n: "y" * n)
BLOCK = st.one_of(paragraph(), table(), fence(), listing(), LONG_LINE)


@dataclass
class Faults:
    post_5xx: int  # chat.postMessage calls answered 503 (3 attempts each post)
    update_429: int  # chat.update calls answered 429
    post_cut: int  # chat.postMessage calls applied with their answer lost
    at: float  # where in the stream they start (a fraction of the fragments)


FAULTS = st.builds(
    Faults,
    post_5xx=st.sampled_from([0, 0, 2, 4, 1000]),
    update_429=st.integers(0, 3),
    post_cut=st.integers(0, 2),
    at=st.floats(0, 1),
)


@st.composite
def scenario(draw: st.DrawFn) -> tuple[str, str, list[int], int, Faults, bool]:
    answer = "\n\n".join(draw(st.lists(BLOCK, min_size=1, max_size=6)))
    reasoning = draw(st.sampled_from(["", "", "Let me think. " * 400]))
    sizes = draw(st.lists(st.integers(1, 3000), min_size=1, max_size=40))
    limit = draw(st.sampled_from([500, 1200, 3900, 11000]))
    return answer, reasoning, sizes, limit, draw(FAULTS), draw(st.booleans())


def fragments(text: str, sizes: list[int]) -> list[str]:
    out, i, n = [], 0, 0
    while i < len(text):
        size = sizes[n % len(sizes)]
        out.append(text[i : i + size])
        i, n = i + size, n + 1
    return out


async def stream(
    answer: str, reasoning: str, sizes: list[int], limit: int, faults: Faults, stop: bool
) -> list[str]:
    async with FakeSlack() as slack:
        client = AsyncWebClient(
            token="xoxb-test", base_url=slack.api_url, retry_handlers=retry_handlers()
        )
        writer = SlackWriter(client, max_attempts=3, backoff=0.001)
        reply = StreamingReply(
            writer=writer,
            target=ReplyTarget("T1", "C1", "1600000000.000001"),
            interval=0.005,
            limit=limit,
        )
        if stop:
            reply.offer_stop("1600000000.000001")
        await reply.start()
        pieces = fragments(reasoning, sizes) + [None] + fragments(answer, sizes)
        fault_at = int(faults.at * len(pieces))
        shown = ""
        for n, piece in enumerate(pieces):
            if n == fault_at:
                if faults.post_5xx:
                    slack.fail_next("chat.postMessage", status=503, times=faults.post_5xx)
                if faults.update_429:
                    slack.fail_next(
                        "chat.update", status=429, retry_after=0, times=faults.update_429
                    )
                if faults.post_cut:
                    slack.cut_after_applying("chat.postMessage", times=faults.post_cut)
            shown = "" if piece is None else shown + piece  # None: a lone </think> retracts
            reply.update(shown)
            await asyncio.sleep(0.001 if n % 3 else 0)
        await reply.finish(answer)
        messages = [m for m in slack.bot_messages("C1")]
        problems = reply_problems(reply_markdowns(messages), answer)
        problems += limit_problems(slack.calls) + duplicate_parts(messages)
        problems += [f"Stop button left: {m['ts']}" for m in stale_stop_buttons(messages)]
        await client.session.close() if client.session else None
        return problems


@pytest.mark.timeout(max(120, EXAMPLES * 2))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenario())
def test_adversarial_answers_arrive_whole(
    case: tuple[str, str, list[int], int, Faults, bool],
) -> None:
    problems = asyncio.run(stream(*case))
    assert not problems, "\n".join(problems)
