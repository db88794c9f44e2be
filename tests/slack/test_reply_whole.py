"""Every answer arrives whole in Slack (issue 28): each finding pinned through the real app.

Each test ends with `assert_reply_shows`: the reply's messages, in order, show the answer
as rendered, nothing missing and nothing twice, and Slack refused no message for its size.
"""

from __future__ import annotations

import asyncio
from typing import Literal

import pytest

from bot import texts
from bot.db.records import ReplyStatus
from bot.slack.reply.markup import STOP_ACTION
from bot.testing.harness import Harness, dm, text_of
from bot.testing.interactive import element
from bot.testing.invariant import assert_reply_shows
from bot.testing.openai import text_reply
from bot.testing.stored import stored_replies

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

WORDS = " ".join(f"word{i}" for i in range(600))  # about 4,800 characters


def table(rows: int, wide: str = "") -> str:
    lines = ["| name | value | note |", "|---|---|---|"]
    lines += [f"| row{i} | {wide if i == 3 else i * 7} | ok |" for i in range(rows)]
    return "\n".join(lines)


class Gate(asyncio.Event):
    """A model stream's `hold`: tells when the stream reached it."""

    reached = False

    async def wait(self) -> Literal[True]:
        self.reached = True
        return await super().wait()


async def ask(bot: Harness, text: str = "go") -> str:
    event = await bot.mention(text)
    await bot.wait_reply_done("C1", event["ts"], timeout=30)
    await bot.settle(timeout=30)
    return str(event["ts"])


async def long_reasoning_next(bot: Harness) -> None:
    """Teach the bot that the model opens <think>, then script ~4,000 characters of reasoning
    closed by a lone </think> before "Short answer." as the next answer."""
    reasoning = " ".join(f"thinking{i}" for i in range(400))
    # One lone </think> is no proof that the template opens the block; two in a row are.
    teach = text_reply("Hm.</think>\n\nShort answer.")
    bot.llm.script(
        teach, text_reply(f"{reasoning}</think>\n\nShort answer.", pieces=80, delay=0.03)
    )
    earlier = await bot.mention("first", channel="C2")
    await bot.wait_reply_done("C2", earlier["ts"], timeout=30)


async def test_retraction_across_rollover(harness: Harness) -> None:
    bot = await harness.start(slack_message_max_chars=400)
    await long_reasoning_next(bot)
    ts = await ask(bot)
    assert len(bot.slack.calls_to("chat.postMessage")) > 2, "the reasoning rolled over"
    assert bot.slack.calls_to("chat.delete"), "the messages holding reasoning were deleted"
    assert_reply_shows(bot.slack, "C1", ts, "Short answer.")


async def test_native_retraction_across_streams(harness: Harness) -> None:
    # The same on native streams: the reasoning filled earlier streams, which an append
    # cannot take back; the reply goes on with chat.update and deletes them.
    bot = await harness.start(
        stream_mode="native", native_flush_interval=0.05, slack_message_max_chars=400
    )
    await long_reasoning_next(bot)
    root = bot.slack.add_message("D1", "hello", "U1")
    await bot.send(dm("think about it", thread_ts=root))
    await bot.wait_reply_done("D1", root, timeout=30)
    await bot.settle(timeout=30)
    assert len(bot.slack.calls_to("chat.startStream")) > 2, "the reasoning rolled over"
    assert bot.slack.calls_to("chat.delete"), "the streams holding reasoning were deleted"
    assert_reply_shows(bot.slack, "D1", root, "Short answer.")


async def test_rollover_post_fails_keeps_text(harness: Harness) -> None:
    bot = await harness.start(slack_message_max_chars=400)
    assert bot.runtime is not None
    assert bot.runtime.slack is not None
    bot.runtime.slack.writer.backoff = 0.01
    gate = asyncio.Event()
    bot.llm.script(text_reply(WORDS, pieces=120, delay=0.01, hold=gate, hold_at=3))
    event = await bot.mention("go")
    await bot.slack.wait_for(lambda: bool(bot.slack.bot_messages("C1")))
    # One rollover's post fails outright (6 attempts), the next attempt's twice more.
    bot.slack.fail_next("chat.postMessage", status=500, times=8)
    gate.set()
    await bot.wait_reply_done("C1", event["ts"], timeout=30)
    await bot.settle(timeout=30)
    failed = [c for c in bot.slack.calls_to("chat.postMessage") if c.status == 500]
    assert len(failed) == 8
    assert_reply_shows(bot.slack, "C1", event["ts"], WORDS)


async def test_rollover_post_fails_at_the_end_says_so(harness: Harness) -> None:
    bot = await harness.start(slack_message_max_chars=400)
    assert bot.runtime is not None
    assert bot.runtime.slack is not None
    bot.runtime.slack.writer.backoff = 0.01
    gate = asyncio.Event()
    bot.llm.script(text_reply(WORDS, pieces=len(WORDS), hold=gate, hold_at=1))
    event = await bot.mention("go")
    await bot.slack.wait_for(lambda: bool(bot.slack.bot_messages("C1")))
    bot.slack.fail_next("chat.postMessage", status=503, times=1000)  # Slack's posts are down
    gate.set()
    await bot.settle(timeout=30)
    shown = [text_of(m) for m in bot.slack.bot_messages("C1")]
    assert len(shown) == 1 and shown[0].endswith(texts.REPLY_CUT_SHORT), shown
    assert_reply_shows(bot.slack, "C1", event["ts"], WORDS)  # a leading part, then the note


async def test_wide_table_rendered_size(harness: Harness) -> None:
    bot = await harness.start()
    answer = "The table:\n\n" + table(40, wide="x" * 1500) + "\n\nThat is all."
    bot.llm.script(text_reply(answer, pieces=400, delay=0.01))
    ts = await ask(bot)
    assert_reply_shows(bot.slack, "C1", ts, answer)
    assert "row39" in "".join(text_of(m) for m in bot.slack.bot_messages("C1"))


async def test_escaped_text_grows_past_the_limit(harness: Harness) -> None:
    bot = await harness.start(slack_message_max_chars=11_000)
    answer = "Compare a<b and c&#1; here. " * 700  # `<` and `&` are sent escaped: 4x and 5x
    bot.llm.script(text_reply(answer, pieces=2000))
    ts = await ask(bot)
    assert_reply_shows(bot.slack, "C1", ts, answer)


async def test_table_split_repeats_header(harness: Harness) -> None:
    bot = await harness.start(slack_message_max_chars=500)
    answer = "Before.\n\n" + table(60) + "\n\nAfter."
    bot.llm.script(text_reply(answer, pieces=50, delay=0.01))
    ts = await ask(bot)
    shown = [text_of(m) for m in bot.slack.bot_messages("C1")]
    assert len(shown) > 2
    continued = [s for s in shown[1:] if "row" in s]
    assert continued and all(s.startswith("```\nname") for s in continued), shown
    assert_reply_shows(bot.slack, "C1", ts, answer)


async def test_links_are_never_cut_in_half(harness: Harness) -> None:
    # Found by the generator: a cut at the space inside `<url|the docs>` showed the link's
    # halves as raw text (`&lt;https://…`) in two messages.
    bot = await harness.start(slack_message_max_chars=400)
    answer = "".join(  # fillers of every length: the cuts fall anywhere
        f"{'w' * n} <https://example.com/{n}|the team docs> [our wiki page](https://e.org/{n}) "
        for n in range(1, 40)
    )
    bot.llm.script(text_reply(answer, pieces=200, delay=0.005))
    ts = await ask(bot)
    shown = [text_of(m) for m in bot.slack.bot_messages("C1")]
    assert len(shown) > 3
    halves = [
        s
        for s in shown
        if "&lt;" in s
        or s.count("[our wiki page](") != s.count("wiki")
        or s.count("[the team docs](") != s.count("team")
    ]
    assert not halves, halves
    assert_reply_shows(bot.slack, "C1", ts, answer)


async def test_native_rollover_inside_code_block(harness: Harness) -> None:
    bot = await harness.start(
        stream_mode="native", native_flush_interval=0.05, slack_message_max_chars=500
    )
    code = "\n".join(f"print({i})  # line {i}" for i in range(80))
    # After the block: text a stream must hold back until it is complete (a link, a table).
    after = "See <https://example.com/docs|the docs> now.\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    answer = f"Here:\n\n```python\n{code}\n```\n\n{after}\n\nDone."
    gate = Gate()
    held = 2 + (answer.index("|the ") + 4) // 6  # the model pauses inside the link
    bot.llm.script(text_reply(answer, pieces=6, delay=0.002, hold=gate, hold_at=held))
    root = bot.slack.add_message("D1", "hello", "U1")
    await bot.send(dm("code please", thread_ts=root))

    await bot.slack.wait_for(lambda: gate.reached, timeout=20)
    # The half-written link is not shown; this pause only gives a wrong append its chance
    # (the settle check used to take the closing fence for an opening one and show it).
    await asyncio.sleep(0.5)
    gate.set()
    await bot.wait_reply_done("D1", root, timeout=30)
    await bot.settle(timeout=30)
    assert len(bot.slack.calls_to("chat.startStream")) > 2
    assert bot.slack.calls_to("chat.update") == [], "no fallback to chat.update"
    assert_reply_shows(bot.slack, "D1", root, answer)


async def test_shutdown_does_not_cancel_final_edit(harness: Harness) -> None:
    # One edit a minute: the final edit waits for a token when the shutdown's grace ends.
    bot = await harness.start(edit_budget_per_minute=1, edit_budget_burst=1)
    answer = "The whole answer, " * 20
    bot.llm.script(text_reply(answer, pieces=30, delay=0.05))
    event = await bot.mention("go")
    await bot.slack.wait_for(lambda: bool(bot.slack.calls_to("chat.update")), timeout=10)
    await bot.slack.wait_for(lambda: len(bot.llm.requests) == 1 and not bot.llm.open_streams)
    await bot.stop(grace=0.2)
    assert_reply_shows(bot.slack, "C1", event["ts"], answer)
    await bot.start()
    await bot.settle()
    rows = await stored_replies(bot)
    assert [r.status for r in rows] == [ReplyStatus.COMPLETE]
    assert_reply_shows(bot.slack, "C1", event["ts"], answer)  # recovery left it as it was


async def test_post_timeout_not_duplicated(harness: Harness) -> None:
    bot = await harness.start(slack_message_max_chars=400)
    gate = asyncio.Event()
    bot.llm.script(text_reply(WORDS, pieces=100, delay=0.01, hold=gate, hold_at=2))
    bot.slack.cut_after_applying("chat.postMessage")  # the placeholder lands, its answer is lost
    event = await bot.mention("go")
    await bot.slack.wait_for(lambda: len(bot.slack.cut) == 1)
    bot.slack.cut_after_applying("chat.postMessage", times=2)  # and two rollover posts too
    gate.set()
    await bot.wait_reply_done("C1", event["ts"], timeout=30)
    await bot.settle(timeout=30)
    assert len(bot.slack.cut) == 3
    lookups = bot.slack.calls_to("conversations.replies")
    assert len(lookups) >= 3 and all(c.args.get("include_all_metadata") for c in lookups)
    assert_reply_shows(bot.slack, "C1", event["ts"], WORDS)


async def test_stop_button_only_on_messages_recovery_knows(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A slow database: the save naming a new message lands seconds after it was posted. The
    # Stop button (what a crash's recovery relies on to find a reply's messages) waits for
    # it; before, it came after ROLL_SAVE_WAIT anyway, and a process killed then left a
    # layout without that message: the survivor repeated its text in a new one.
    bot = await harness.start(slack_message_max_chars=300, stream_idle_timeout=30)
    assert bot.runtime is not None and bot.runtime.bot is not None
    store = bot.runtime.bot.dispatcher.store
    gate, held = asyncio.Event(), asyncio.Event()
    real = store.set_reply

    async def slow(row_id: int, **values: object) -> bool:
        parts = values.get("parts")
        if isinstance(parts, list) and len(parts) > 1 and not gate.is_set():
            held.set()
            await gate.wait()
        return await real(row_id, **values)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "set_reply", slow)
    answer = " ".join(f"word{i:03d}" for i in range(20))  # a message holds about nine
    stream = asyncio.Event()  # the model pauses with a few words in the second message
    bot.llm.script(text_reply(answer, delay=0.05, hold=stream, hold_at=15))  # word by word
    event = await bot.mention("go")
    await asyncio.wait_for(held.wait(), 20)
    await asyncio.sleep(3)  # past ROLL_SAVE_WAIT
    shown = bot.slack.bot_messages("C1")
    assert len(shown) == 2
    assert element(shown[1], STOP_ACTION) is None, "Stop before the save landed"
    gate.set()
    await bot.slack.wait_for(
        lambda: element(bot.slack.bot_messages("C1")[-1], STOP_ACTION) is not None,
        what="the Stop button once saved",
    )
    stream.set()
    await bot.wait_reply_done("C1", event["ts"], timeout=30)
    await bot.settle(timeout=30)
    assert_reply_shows(bot.slack, "C1", str(event["ts"]), answer)
