"""Cost guards that count instead of timing: SQL per answer, the bot's calls per delta.

Counts do not flake the way timings do; a change that adds a query to every answer, or work
to every streamed delta, fails here with the count in the message. Each budget says where
its number comes from; lower it when the code gets cheaper, never raise it to make a slow
change pass.
"""

from __future__ import annotations

import cProfile
import pstats
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event

import bot
from bot.testing.harness import Harness
from bot.testing.openai import text_reply, tool_call_reply

OURS = str(Path(bot.__file__).parent)
FAKES = str(Path(OURS) / "testing")


@dataclass
class Statements:
    """The SQL statements and commits the bot's main engine sent."""

    sql: list[str] = field(default_factory=list)
    commits: int = 0

    def __str__(self) -> str:
        listing = "\n".join(f"  {s.split(chr(10))[0][:110]}" for s in self.sql)
        return f"{len(self.sql)} statements, {self.commits} commits:\n{listing}"


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


# Budgets per answer, counted on SQLite and PostgreSQL alike (see _answered): the claim, the
# question and the reply's row, the history, the end of the reply and its usage record.
PLAIN_SQL = 10  # 47407a7 sent 10 statements in 7 commits
TOOL_SQL = 15  # 47407a7: 15 in 10 (one tool round: the history read again, two more writes)
FOLLOW_UP_SQL = 11  # 47407a7: 11 in 8 (a thread reply also asks whether the thread is known)


async def test_sql_statements_per_answer(bot: Harness) -> None:
    bot.llm.script(text_reply("Warm."))
    await _answered(bot, "warm up")  # pools, caches and the channel's settings
    bot.llm.script(text_reply("Plain answer."))
    with statements(bot) as plain:
        first = await _answered(bot, "a plain question")
    assert len(plain.sql) <= PLAIN_SQL, f"plain answer: {plain}"

    bot.llm.script(tool_call_reply([("c1", "current_datetime", "{}")]), text_reply("Noon."))
    with statements(bot) as tool:
        await _answered(bot, "what time is it?")
    assert len(tool.sql) <= TOOL_SQL, f"answer with one tool round: {tool}"

    bot.llm.script(text_reply("Follow-up answer."))
    with statements(bot) as follow:
        await _answered(bot, "and then?", thread_ts=first["ts"])
    assert len(follow.sql) <= FOLLOW_UP_SQL, f"follow-up in a thread: {follow}"


def own_calls(profile: cProfile.Profile) -> int:
    """Count the calls the bot's own code made (to anything), not the fakes' or the tests'."""
    total = 0
    for _, (_, _, _, _, callers) in pstats.Stats(profile).stats.items():  # type: ignore[attr-defined]
        for (filename, _, _), counts in callers.items():
            if filename.startswith(OURS) and not filename.startswith(FAKES):
                total += counts[0]
    return total


async def _profiled_answer(bot: Harness, deltas: int) -> int:
    bot.llm.script(text_reply("abcd" * deltas, pieces=4))
    profile = cProfile.Profile()
    profile.enable()
    try:
        await _answered(bot, f"{deltas} deltas please")
    finally:
        profile.disable()
    return own_calls(profile)


# The bot's own calls per 1,000 streamed deltas: the difference between an answer of 1,100
# deltas and one of 100, so the per-answer part (events, database, placeholder) cancels out.
# 47407a7 made 31,000 (31 calls a delta). Reads that bring several deltas at once cost less,
# never more, so the count can only come out lower than on a quiet machine.
CALLS_PER_1000_DELTAS = 40_000


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
