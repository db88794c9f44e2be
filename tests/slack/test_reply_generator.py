"""Adversarial answers, streamed into the fake Slack with faults: every reply arrives whole.

Hypothesis builds answers of wide and long tables, code fences, links, lists, multi-byte
text, very long lines and reasoning retracted by a lone `</think>`; streams them in random
fragments at several SLACK_MESSAGE_MAX_CHARS values through both renderers (update mode,
and native streams with their fallback to chat.update), the real `SlackWriter` and
slack_sdk client, over HTTP to the fake Slack, while posts (`chat.postMessage`,
`chat.startStream`) fail with 5xx beyond the retries, edits and appends get 429, posts are
applied with their answer lost (a timeout), and streams expire. Each example ends with the
invariant (`bot/testing/invariant.py`). CI runs a bounded number of examples;
REPLY_EXAMPLES=500 runs more.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.reply.native import NativeReply
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
THREAD = "1600000000.000001"

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


POSTS = {False: ("chat.postMessage",), True: ("chat.startStream", "chat.postMessage")}
EDITS = {False: ("chat.update",), True: ("chat.appendStream", "chat.update")}
TIMEOUT = 0.5  # the client's timeout (s) when a lost answer comes as a timeout


@dataclass
class Faults:
    post_5xx: int  # posts answered 503 (3 attempts each post): `chat.postMessage`, `startStream`
    update_429: int  # edits answered 429: `chat.update`, `chat.appendStream`
    post_cut: int  # posts applied with their answer lost
    timeout: bool  # the lost answer comes as a timeout (else a dropped connection)
    expire: bool  # the native stream expires there (`message_not_in_streaming_state`)
    at: float  # where in the stream they start (a fraction of the fragments)

    def inject(self, slack: FakeSlack, native: bool) -> None:
        """Make Slack fail from now on, as drawn."""
        for method in POSTS[native]:
            if self.post_5xx:
                slack.fail_next(method, status=503, times=self.post_5xx)
            if self.post_cut:
                hang = TIMEOUT * 1.1 if self.timeout else 0.0
                slack.cut_after_applying(method, times=self.post_cut, hang=hang)
        for method in EDITS[native]:
            if self.update_429:
                slack.fail_next(method, status=429, retry_after=0, times=self.update_429)


FAULTS = st.builds(
    Faults,
    post_5xx=st.sampled_from([0, 0, 2, 4, 1000]),
    update_429=st.integers(0, 3),
    post_cut=st.integers(0, 2),
    timeout=st.sampled_from([False, False, False, True]),
    expire=st.booleans(),
    at=st.floats(0, 1),
)


@dataclass
class Case:
    answer: str
    reasoning: str  # streamed first, then retracted (a native stream goes on with chat.update)
    sizes: list[int]  # fragment sizes, in turn
    limit: int  # SLACK_MESSAGE_MAX_CHARS
    faults: Faults
    stop: bool  # the reply offers a Stop button
    native: bool  # chat.startStream (else chat.postMessage and chat.update)


@st.composite
def scenario(draw: st.DrawFn) -> Case:
    answer = "\n\n".join(draw(st.lists(BLOCK, min_size=1, max_size=6)))
    reasoning = draw(st.sampled_from(["", "", "Let me think. " * 400]))
    sizes = draw(st.lists(st.integers(1, 3000), min_size=1, max_size=40))
    limit = draw(st.sampled_from([500, 1200, 3900, 11000]))
    return Case(
        answer, reasoning, sizes, limit, draw(FAULTS), draw(st.booleans()), draw(st.booleans())
    )


def fragments(text: str, sizes: list[int]) -> list[str]:
    out, i, n = [], 0, 0
    while i < len(text):
        size = sizes[n % len(sizes)]
        out.append(text[i : i + size])
        i, n = i + size, n + 1
    return out


def renderer(case: Case, writer: SlackWriter) -> StreamingReply | NativeReply:
    target = ReplyTarget("T1", "C1", THREAD)
    if case.native:
        return NativeReply(
            writer=writer,
            target=target,
            recipient_user_id="U1",
            recipient_team_id="T1",
            interval=0.005,
            update_interval=0.005,
            limit=case.limit,
        )
    return StreamingReply(writer=writer, target=target, interval=0.005, limit=case.limit)


async def stream(case: Case) -> list[str]:
    """Stream the case's answer into the fake Slack; return how the reply breaks the invariant."""
    async with FakeSlack() as slack:
        client = AsyncWebClient(
            token="xoxb-test",
            base_url=slack.api_url,
            retry_handlers=retry_handlers(),
            timeout=TIMEOUT if case.faults.timeout else 30,  # type: ignore[arg-type]
        )
        writer = SlackWriter(client, max_attempts=3, backoff=0.001)
        reply = renderer(case, writer)
        if case.stop:
            reply.offer_stop(THREAD)
        await reply.start()
        answer = case.answer
        pieces: list[str | None] = [*fragments(case.reasoning, case.sizes), None]
        pieces += fragments(case.answer, case.sizes)
        fault_at = int(case.faults.at * len(pieces))
        shown = ""
        kept = False  # a native reply that fell back before the retraction keeps the reasoning
        for n, piece in enumerate(pieces):
            if n == fault_at:
                case.faults.inject(slack, case.native)
                if case.native and case.faults.expire and reply.message_ts:
                    slack.expire_stream("C1", reply.message_ts[-1])
            if piece is None and isinstance(reply, NativeReply) and not reply.takes_back:
                kept = True  # the turn does not take it back then (`ModelRound`)
                continue
            shown = "" if piece is None else shown + piece  # None: a lone </think> retracts
            reply.update(shown)
            await asyncio.sleep(0.001 if n % 3 else 0)
        # Glued as the turn keeps it: the blank lines after a `</think>` go with the tag.
        expected = case.reasoning + case.answer if kept else answer
        await reply.finish(expected)
        messages = list(slack.bot_messages("C1"))
        problems = reply_problems(reply_markdowns(messages), expected)
        problems += limit_problems(slack.calls) + duplicate_parts(messages)
        problems += [f"Stop button left: {m['ts']}" for m in stale_stop_buttons(messages)]
        problems += [f"stream left open: {m['ts']}" for m in messages if m.get("streaming")]
        await client.session.close() if client.session else None
        return problems


@pytest.mark.timeout(max(120, EXAMPLES * 4))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenario())
def test_adversarial_answers_arrive_whole(case: Case) -> None:
    problems = asyncio.run(stream(case))
    assert not problems, "\n".join(problems)
