"""`python -m bot run` as a real process: SIGTERM and SIGKILL in the middle of a stream.

The fake Slack and model servers run in the test process; the bot is a subprocess with a
temporary SQLite database, talking to them over loopback.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from bot import texts
from bot.slack.reply.split import ROLLOVER_MARGIN
from bot.testing.harness import channel_message, text_of
from bot.testing.leftovers import stale_stop_buttons
from bot.testing.openai import FakeOpenAI, text_reply
from bot.testing.processes import diagnose, saved_parts, stored, stored_by_channel
from bot.testing.slack import FakeSlack

LONG = " ".join(f"step{i}" for i in range(120))  # 120 chunks


async def test_sigterm_mid_stream_finishes_or_marks_replies_and_exits(
    launch: Any, slack: FakeSlack, llm: FakeOpenAI, tmp_path: Path
) -> None:
    short = " ".join(f"tick{i}" for i in range(20))
    replies = {"C1": text_reply(short, delay=0.05), "C2": text_reply(LONG, delay=0.1)}
    llm.responder = lambda body: replies[body["messages"][-1]["content"].split("|")[0]]
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
    # About 12 s left: cut at the grace and marked, in Slack and in the database.
    [cut] = [text_of(m) for m in slack.bot_messages("C2")]
    assert cut.endswith(texts.INTERRUPTED), diagnose(slack, bot)
    partial = cut.removesuffix(texts.INTERRUPTED)
    assert partial and LONG.startswith(partial)
    rows = stored(tmp_path)
    assert (short, "complete") in rows, rows
    others = [row for row in rows if row[0] != short]
    assert len(others) == 1, rows
    [(content, status)] = others
    assert status == "interrupted" and content and LONG.startswith(content)


async def test_sigkill_mid_stream_then_restart_marks_the_replies_interrupted(
    launch: Any, slack: FakeSlack, llm: FakeOpenAI, tmp_path: Path
) -> None:
    # C1: a short reply being streamed. C2: a fast one that has rolled over into several
    # messages (a roomy edit budget, so that the rollovers are not paced).
    big = " ".join(f"word{i:05d}" for i in range(2500))  # 25,000 characters
    replies = {"C1": text_reply(LONG, delay=0.1), "C2": text_reply(big, pieces=250, delay=0.05)}
    llm.responder = lambda body: replies[body["messages"][-1]["content"].split("|")[0]]
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
    assert not any(t.endswith(texts.INTERRUPTED) for t in before["C1"] + before["C2"])
    assert [status for _, status in stored(tmp_path)] == ["streaming", "streaming"]

    # The same service restarted (same PORT, so the same replica id); recovery runs before
    # the new process reports healthy.
    async with launch(PORT=str(bot.port)) as again:
        pass
    rows = dict(stored_by_channel(tmp_path))
    assert {status for _, status in rows.values()} == {"interrupted"}
    # C1: one message, edited to the last saved text plus the note.
    content = rows["C1"][0]
    assert LONG.startswith(content)  # empty when killed before the first save
    [reply] = [text_of(m) for m in slack.bot_messages("C1")]
    assert reply == (content + texts.INTERRUPTED).strip(), diagnose(slack, again)
    assert "ask again" in reply
    # C2: its closed messages stay as they were; the last one (saved as the reply rolled
    # over) gets its part of the saved text plus the note, and loses its Stop button.
    after = [text_of(m) for m in slack.bot_messages("C2")]
    assert after[:-1] == before["C2"][:-1], diagnose(slack, again)
    assert big.startswith(rows["C2"][0]) and len(rows["C2"][0]) > 3900 - ROLLOVER_MARGIN
    last_ts, start, prefix = saved_parts(tmp_path, "C2")[-1]
    assert last_ts == slack.bot_messages("C2")[-1]["ts"]
    own = prefix + rows["C2"][0][start:]
    assert after[-1] == (own + texts.INTERRUPTED).strip(), diagnose(slack, again)
    assert before["C2"][-1].startswith(own.strip()), "the saved text is what was shown"
    assert not stale_stop_buttons(slack.bot_messages())
