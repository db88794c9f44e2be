"""`python -m bot run` as a real process: SIGTERM and SIGKILL in the middle of a stream.

The fake Slack and model servers run in the test process; the bot is a subprocess with a
temporary SQLite database, talking to them over loopback.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot import texts
from bot.llm.client import RESUME_INSTRUCTION
from bot.slack.reply.markup import STOP_ACTION
from bot.testing.harness import channel_message, dm, text_of
from bot.testing.interactive import element
from bot.testing.leftovers import stale_stop_buttons
from bot.testing.openai import FakeOpenAI, text_reply
from bot.testing.processes import diagnose, stored, stored_by_channel
from bot.testing.slack import FakeSlack

LONG = " ".join(f"step{i}" for i in range(120))  # 120 chunks


def answers(full: dict[str, str], first: dict[str, Any]) -> Any:
    """Answer "<channel>|..." questions with `first`; a resume request with `full` at once."""

    def respond(body: dict) -> Any:
        messages = body["messages"]
        asked = [m["content"] for m in messages if m["role"] == "user" and "|" in m["content"]]
        channel = asked[-1].split("|")[0]
        if messages[-1]["content"] == RESUME_INSTRUCTION:  # starts over: the repeat is dropped
            return text_reply(full[channel], pieces=500)
        return first[channel]

    return respond


def words_of(messages: list[dict]) -> list[str]:
    return [word for m in messages for word in text_of(m).split()]


async def test_sigterm_mid_stream_finishes_or_leaves_replies_to_resume_and_exits(
    launch: Any, slack: FakeSlack, llm: FakeOpenAI, tmp_path: Path
) -> None:
    short = " ".join(f"tick{i}" for i in range(20))
    full = {"C1": short, "C2": LONG}
    llm.responder = answers(
        full, {"C1": text_reply(short, delay=0.05), "C2": text_reply(LONG, delay=0.1)}
    )
    async with launch(SHUTDOWN_GRACE="2") as bot:
        for channel in ("C1", "C2"):
            event = channel_message(f"<@UBOT> {channel}|count", channel=channel)
            await bot.send({**event, "type": "app_mention"})
        await slack.wait_for(
            lambda: all(
                any(text_of(m).startswith(first) for m in slack.bot_messages(c))
                for c, first in (("C1", "tick0"), ("C2", "step0"))
            ),
            what="both answers are streaming",
        )
        assert await bot.signal(signal.SIGTERM) == 0  # within 15 s
    # About 1 s of streaming left: finished within SHUTDOWN_GRACE.
    assert [text_of(m) for m in slack.bot_messages("C1")] == [short]
    # About 12 s left: saved and left streaming at the grace, for the next start.
    [cut] = [text_of(m) for m in slack.bot_messages("C2")]
    assert texts.INTERRUPTED.strip() not in cut, diagnose(slack, bot)
    assert cut and LONG.startswith(cut) and cut != LONG
    rows = stored(tmp_path)
    assert (short, "complete") in rows, rows
    [(content, status)] = [row for row in rows if row[0] != short]
    assert status == "streaming" and content and LONG.startswith(content)
    async with launch(PORT=str(bot.port)) as again:  # the same replica id
        await slack.wait_for(
            lambda: [text_of(m) for m in slack.bot_messages("C2")] == [LONG],
            what="the left answer resumed and finished",
        )
    assert not stale_stop_buttons(slack.bot_messages()), diagnose(slack, again)


async def test_sigkill_mid_stream_then_restart_resumes_the_replies(
    launch: Any, slack: FakeSlack, llm: FakeOpenAI, tmp_path: Path
) -> None:
    # C1: a short reply being streamed. C2: a fast one that has rolled over into several
    # messages (a roomy edit budget, so that the rollovers are not paced).
    big = " ".join(f"word{i:05d}" for i in range(2500))  # 25,000 characters
    llm.responder = answers(
        {"C1": LONG, "C2": big},
        {"C1": text_reply(LONG, delay=0.1), "C2": text_reply(big, pieces=250, delay=0.05)},
    )
    async with launch(EDIT_BUDGET_PER_MINUTE="6000", EDIT_BUDGET_BURST="100") as bot:
        for channel in ("C1", "C2"):
            event = channel_message(f"<@UBOT> {channel}|count", channel=channel)
            await bot.send({**event, "type": "app_mention"})
        await slack.wait_for(
            lambda: (
                len(slack.bot_messages("C2")) >= 4
                and any(text_of(m).startswith("step0") for m in slack.bot_messages("C1"))
                and stale_stop_buttons(slack.bot_messages("C2"))  # the last one shows Stop
            ),
            what="C1 streaming, C2 rolled over three times (past its 2-second save)",
        )
        await bot.signal(signal.SIGKILL)
    before = {c: [text_of(m) for m in slack.bot_messages(c)] for c in ("C1", "C2")}
    assert [status for _, status in stored(tmp_path)] == ["streaming", "streaming"]

    # The same service restarted (same PORT, so the same replica id): its own left replies
    # are resumed in the messages they were in, from their last saves.
    async with launch(PORT=str(bot.port)) as again:
        await slack.wait_for(
            lambda: {status for _, (_, status) in stored_by_channel(tmp_path)} == {"complete"},
            timeout=30,
            what="both replies finished",
        )
    rows = dict(stored_by_channel(tmp_path))
    assert rows == {"C1": (LONG, "complete"), "C2": (big, "complete")}
    assert [text_of(m) for m in slack.bot_messages("C1")] == [LONG], diagnose(slack, again)
    # C2: its closed messages stay as they were; the last one goes on, and the answer reads
    # whole across the messages, no word lost or repeated.
    after = slack.bot_messages("C2")
    assert [text_of(m) for m in after][: len(before["C2"]) - 1] == before["C2"][:-1]
    assert words_of(after) == big.split(), diagnose(slack, again)
    assert not stale_stop_buttons(slack.bot_messages())
    assert not any(texts.INTERRUPTED.strip() in text_of(m) for m in slack.bot_messages())


@pytest.mark.parametrize("where", ["channel thread", "top-level DM"])
async def test_killed_after_a_rollover_post_before_its_save_the_resume_shows_it_once(
    launch: Any, slack: FakeSlack, llm: FakeOpenAI, tmp_path: Path, where: str
) -> None:
    # The database stops taking writes (another process holds SQLite's write lock), so the
    # save naming a message just posted never lands; the process is killed then. The
    # message shows no Stop button (it is not saved), and the restarted process, resuming
    # from the layout saved before it, deletes it rather than showing its text twice.
    words = " ".join(f"word{i:03d}" for i in range(60))  # a message holds about nine
    channel = "C1" if where == "channel thread" else "D1"
    llm.responder = answers({channel: words}, {channel: text_reply(words, delay=0.15)})
    async with launch(SLACK_MESSAGE_MAX_CHARS="300") as bot:
        if channel == "C1":
            event = channel_message("<@UBOT> C1|count", channel="C1")
            await bot.send({**event, "type": "app_mention"})
        else:  # answered top level (DM_THREADS off): the rollovers are top level too
            await bot.send(dm("D1|count"))
        await slack.wait_for(
            lambda: (
                len(slack.bot_messages(channel)) == 2
                and bool(stale_stop_buttons(slack.bot_messages(channel)))
            ),
            timeout=30,
            what="rolled over once, and saved (the second message shows Stop)",
        )
        lock = sqlite3.connect(tmp_path / "bot.db", isolation_level=None, timeout=30)
        lock.execute("BEGIN IMMEDIATE")  # no write lands from now on
        try:
            await slack.wait_for(
                lambda: len(slack.bot_messages(channel)) == 3, timeout=30, what="a third message"
            )
            await asyncio.sleep(2.5)  # past ROLL_SAVE_WAIT: it streams on, unsaved
            orphan = slack.bot_messages(channel)[2]
            assert element(orphan, STOP_ACTION) is None, "no Stop before its save lands"
            await bot.signal(signal.SIGKILL)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
    async with launch(PORT=str(bot.port)) as again:
        await slack.wait_for(
            lambda: [status for _, status in stored(tmp_path)] == ["complete"],
            timeout=30,
            what="the reply finished",
        )
    after = slack.bot_messages(channel)
    assert words_of(after) == words.split(), diagnose(slack, again)
    assert orphan["ts"] not in [m["ts"] for m in after], "the unsaved message was deleted"
    assert not stale_stop_buttons(after)
