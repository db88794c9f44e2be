"""Cost guards that count instead of timing: SQL per answer, the bot's calls per delta.

Counts do not flake the way timings do; a change that adds a query to every answer, or work
to every streamed delta, fails here with the count in the message. Each budget says where
its number comes from; lower it when the code gets cheaper, never raise it to make a slow
change pass.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

import bot
from bot.testing.harness import Harness, text_of
from bot.testing.openai import text_reply, tool_call_reply

OURS = str(Path(bot.__file__).parent)
FAKES = str(Path(OURS) / "testing")


@dataclass
class Statements:
    """The SQL statements and commits the bot's main engine sent."""

    sql: list[str] = field(default_factory=list)
    commits: int = 0

    @property
    def per_answer(self) -> list[str]:
        """The statements but the channel's settings, which are read once per 30 s per channel."""
        return [s for s in self.sql if "FROM channel_settings" not in s]

    @property
    def settings_reads(self) -> int:
        return len(self.sql) - len(self.per_answer)

    def __str__(self) -> str:
        listing = "\n".join(f"  {s.split(chr(10))[0][:110]}" for s in self.sql)
        return f"{len(self.sql)} statements, {self.commits} commits:\n{listing}"


def check(seen: Statements, statements: int, commits: int, what: str) -> None:
    """Fail with the statements listed when an answer needed more than its budget."""
    assert len(seen.per_answer) <= statements, f"{what}: over {statements} statements: {seen}"
    assert seen.commits <= commits + seen.settings_reads, f"{what}: over {commits} commits: {seen}"
    assert seen.settings_reads <= 1, f"{what}: the channel's settings read twice: {seen}"


@contextmanager
def statements(bot: Harness) -> Iterator[Statements]:
    """Record what the bot's database engine executes while the block runs."""
    assert bot.runtime is not None
    seen = Statements()

    def execute(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        seen.sql.append(statement)

    def commit(conn: Any) -> None:
        seen.commits += 1

    engine = bot.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", execute)
    event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", execute)
        event.remove(engine, "commit", commit)


async def _answered(bot: Harness, text: str, **kw: Any) -> dict[str, Any]:
    """Mention the bot (the app_mention + message pair) and wait until it has answered."""
    event = await bot.mention(text, **kw)
    await bot.wait_reply_done("C1", event.get("thread_ts") or event["ts"])
    await bot.settle()
    return event


# Budgets per answer: (statements, commits), counted on SQLite, where an INSERT of several
# messages is one statement per row (PostgreSQL needs one: 6, 9 and 8 statements). Before
# issue 24 (47407a7) the same answers took 10 in 7 commits, 15 in 10 and 11 in 8: the
# placeholder was noted in a transaction of its own, the first delta saved the answer, the
# history was read again after a tool round, and a second query read the messages' files.
PLAIN = (7, 5)  # claim; question + reply row (closing the claim); history; end; usage record
# and one tool round: the calls noted, the results + the next round's row; since issue 23 the
# round's row stays `streaming` while its tools run and turns complete with their results, in
# their transaction (`append(completes=)`: UPDATE messages SET status ... AND owner = ?), one
# statement more and no commit more (measured after merging issue 24 into main: 11 in 7).
TOOL = (11, 7)
FOLLOW_UP = (9, 7)  # a thread reply: the placeholder noted at once, the thread looked up


async def test_sql_statements_per_answer(bot: Harness) -> None:
    bot.llm.script(text_reply("Warm."))
    await _answered(bot, "warm up")  # pools, caches and the channel's settings
    bot.llm.script(text_reply("Plain answer."))
    with statements(bot) as plain:
        first = await _answered(bot, "a plain question")
    check(plain, *PLAIN, "plain answer")

    bot.llm.script(tool_call_reply([("c1", "current_datetime", "{}")]), text_reply("Noon."))
    with statements(bot) as tool:
        await _answered(bot, "what time is it?")
    check(tool, *TOOL, "answer with one tool round")

    bot.llm.script(text_reply("Follow-up answer."))
    with statements(bot) as follow:
        await _answered(bot, "and then?", thread_ts=first["ts"])
    check(follow, *FOLLOW_UP, "follow-up in a thread")


def own_calls(profile: cProfile.Profile) -> int:
    """Count the calls the bot's own code made (to anything), not the fakes' or the tests'."""
    total = 0
    for _, (_, _, _, _, callers) in pstats.Stats(profile).stats.items():  # type: ignore[attr-defined]
        for (filename, _, _), counts in callers.items():
            if filename.startswith(OURS) and not filename.startswith(FAKES):
                total += counts[0]
    return total


async def _profiled_answer(bot: Harness, deltas: int) -> int:
    # A delta every 2 ms: one read per delta, the most calls a stream can cost (reads that
    # bring several deltas at once, on a busy machine, cost fewer).
    bot.llm.script(text_reply("abcd" * deltas, pieces=4, delay=0.002))
    profile = cProfile.Profile()
    profile.enable()
    try:
        await _answered(bot, f"{deltas} deltas please")
    finally:
        profile.disable()
    return own_calls(profile)


# The bot's own calls per 1,000 streamed deltas: the difference between an answer of 1,100
# deltas and one of 100, so the per-answer part (events, database, placeholder) cancels out.
# Measured with one read per delta: main before issue 24 (20724e0) made 71,600; now 38,400
# (the usual delta takes a fast path through the stream reader, the model client and the
# turn). The margin covers an edit more or less while the long answer streams.
CALLS_PER_1000_DELTAS = 39_000


async def test_bot_calls_per_1000_deltas(harness: Harness) -> None:
    # Edits follow the clock, not the deltas: one when the text starts, one or two more while
    # a long answer streams, the final one. The heartbeat stays out of the window.
    bot = await harness.start(slack_update_interval=2.0, heartbeat_interval=3600.0)
    bot.llm.script(text_reply("Warm."))
    await _answered(bot, "warm up")
    short = await _profiled_answer(bot, 100)
    long = await _profiled_answer(bot, 1100)
    per_1000 = long - short
    assert per_1000 <= CALLS_PER_1000_DELTAS, (
        f"the bot made {per_1000} calls per 1,000 deltas ({long} for 1,100, {short} for 100)"
    )


async def test_markdown_parsed_once_per_edit(harness: Harness) -> None:
    """A flush measures the message (does it fit?) and renders it to send it: the same text,
    converted once. Before issue 24's second round every `chat.update` of a streaming answer
    cost three markdown-it parses of the whole message (two size checks and the render)."""
    bot = await harness.start(slack_update_interval=0.05, heartbeat_interval=3600.0)
    bot.llm.script(text_reply("Warm."))
    await _answered(bot, "warm up")
    bot.slack.calls.clear()
    bot.llm.script(text_reply("word " * 400, pieces=4, delay=0.002))
    profile = cProfile.Profile()
    profile.enable()
    try:
        await _answered(bot, "a long answer please")
    finally:
        profile.disable()
    parses = sum(
        counts[1]
        for (filename, _, name), counts in pstats.Stats(profile).stats.items()  # type: ignore[attr-defined]
        if name == "parse" and filename.endswith("markdown_it/main.py")
    )
    shown = len(bot.slack.calls_to("chat.update")) + len(bot.slack.calls_to("chat.postMessage"))
    assert shown >= 5, f"the answer was meant to stream over several edits: {shown} calls"
    # One parse per text shown, plus a few for texts measured but not sent (a flush that
    # found nothing new to show, the final text's parts) and the question's own handling.
    assert parses <= shown + 4, f"{parses} markdown parses for {shown} messages shown"


def bolt_argument_builds(profile: cProfile.Profile) -> int:
    """Count how often Bolt built a listener's, matcher's or middleware's arguments."""
    return sum(
        counts[1]
        for (filename, _, name), counts in pstats.Stats(profile).stats.items()  # type: ignore[attr-defined]
        if name == "build_async_required_kwargs" and "slack_bolt" in filename
    )


# Bolt tries listeners in registration order and, for each, builds the arguments of its
# matcher (every payload accessor: ~40 calls) until one matches; a middleware or listener
# run builds them once more. Measured for one answer (a mention arrives as `app_mention` and
# as `message`): 12 matchers tried, 2 middleware and 2 listener runs. Before issue 24's
# second round the uninstall and deletion listeners came before the mention listener and
# the uninstall ones before the message listener: 19 matchers, 23 builds.
BOLT_ARGUMENT_BUILDS = 16


async def test_bolt_tries_the_turn_listeners_first(bot: Harness) -> None:
    bot.llm.script(text_reply("Warm."))
    await _answered(bot, "warm up")
    bot.llm.script(text_reply("Plain answer."))
    profile = cProfile.Profile()
    profile.enable()
    try:
        await _answered(bot, "a plain question")
    finally:
        profile.disable()
    builds = bolt_argument_builds(profile)
    assert builds <= BOLT_ARGUMENT_BUILDS, f"Bolt built listener arguments {builds} times"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PostgreSQL pools several
async def test_sqlite_answers_at_once_share_one_connection(bot: Harness) -> None:
    """Concurrent answers queue for one SQLite connection instead of opening more.

    SQLite has one writer at a time: writers on connections of their own wait for each other
    in SQLite's busy handler (sleeps of 1, 2, 5, 10... ms), and overflow connections were
    opened and closed under load (10 per 100-question batch in the bench's profile). With
    one pooled connection (bot.wiring.database.turns_pool) no answer opens a connection.
    """
    assert bot.runtime is not None
    opened: list[object] = []
    engine = bot.runtime.engine.sync_engine
    bot.llm.script(text_reply("Warm."))
    await _answered(bot, "warm up")

    def connect(dbapi_conn: Any, record: Any) -> None:
        opened.append(dbapi_conn)

    event.listen(engine, "connect", connect)
    try:
        bot.llm.responder = lambda body: text_reply("An answer among many.", pieces=3, delay=0.01)
        asked = await asyncio.gather(*(bot.mention(f"q{i}", channel=f"C{i}") for i in range(12)))
        for i, event_ in enumerate(asked):
            [reply] = await bot.wait_reply_done(f"C{i}", event_["ts"])
            assert text_of(reply) == "An answer among many.", reply
        await bot.settle()
    finally:
        event.remove(engine, "connect", connect)
    assert not opened, f"{len(opened)} SQLite connections opened while 12 answers ran at once"
