"""The streaming renderer's throttle and coalescing, on an injected clock."""

from __future__ import annotations

from typing import Any

from bot.slack.reply.split import open_fence
from bot.slack.reply.update import ReplyTarget, StreamingReply
from bot.testing.clock import FakeClock
from bot.testing.writer import RecordingWriter


def make(clock: FakeClock, writer: RecordingWriter, **kw: Any) -> StreamingReply:
    return StreamingReply(
        writer=writer,
        target=ReplyTarget("T1", "C1", "1.0"),
        interval=1.0,
        clock=clock,
        **kw,
    )


async def test_first_text_is_shown_without_waiting_an_interval() -> None:
    clock = FakeClock()
    writer = RecordingWriter(clock)
    reply = make(clock, writer)
    await reply.start()
    started = clock.now()
    reply.update("Hel")
    await clock.advance(0)
    assert writer.updates() == [(started, "Hel")]
    await clock.run(reply.finish("Hello"))


async def test_edits_are_spaced_by_the_interval_and_coalesced() -> None:
    clock = FakeClock()
    writer = RecordingWriter(clock, latency=0.05)
    reply = make(clock, writer)
    await clock.run(reply.start())
    text = ""
    for i in range(200):
        text += f"w{i} "
        reply.update(text)
        await clock.advance(0.02)  # the model sends a delta every 20 ms
    await clock.run(reply.finish(text + "end"))
    updates = writer.updates()
    times = [t for t, _ in updates]
    assert all(b - a >= 1.0 - 1e-9 for a, b in zip(times, times[1:], strict=False)), times
    # ~4 s of streaming at one edit a second, not 200 edits.
    assert 3 <= len(updates) <= 7, len(updates)
    # Never an older text after a newer one, and the final edit is the whole answer.
    texts = [u for _, u in updates]
    assert all(len(b) >= len(a) for a, b in zip(texts, texts[1:], strict=False))
    assert texts[-1] == text + "end"
    assert writer.max_in_flight == 1


async def test_final_edit_lands_when_no_intermediate_edit_happened() -> None:
    clock = FakeClock()
    writer = RecordingWriter(clock)
    reply = make(clock, writer)
    await reply.start()
    await clock.run(reply.finish("All at once."))
    assert writer.updates()[-1][1] == "All at once."


async def test_unchanged_text_is_not_sent_again() -> None:
    clock = FakeClock()
    writer = RecordingWriter(clock)
    reply = make(clock, writer)
    await reply.start()
    reply.update("same")
    await clock.advance(0.01)
    await clock.run(reply.finish("same"))
    assert [u for _, u in writer.updates()] == ["same"]


async def test_long_answer_rolls_over_into_new_messages_at_safe_points() -> None:
    clock = FakeClock()
    writer = RecordingWriter(clock)
    reply = make(clock, writer, limit=500)
    await reply.start()
    code = "```python\n" + "\n".join(f"print({i})" for i in range(120)) + "\n```\n"
    answer = "Intro words here. " * 20 + "\n\n" + code + "Closing words. " * 30
    shown = ""
    for i in range(0, len(answer), 7):
        shown = answer[: i + 7]
        reply.update(shown)
        await clock.advance(0.05)
    await clock.run(reply.finish(answer))
    posts = [a for _, m, a in writer.calls if m == "chat.postMessage"]
    assert len(posts) >= 4  # placeholder plus continuation messages
    finals: dict[str, str] = {}
    for _, method, args in writer.calls:
        if method == "chat.update":
            finals[args["ts"]] = args["markdown_text"]
    assert len(reply.message_ts) == len(posts)
    parts = [finals.get(ts, "") for ts in reply.message_ts]
    assert all(len(p) <= 500 for p in parts)
    assert all(open_fence(p) is None for p in parts), "a code block was left open"
    # Removing the close/reopen fences gives back the whole answer, nothing lost or repeated.
    joined = "".join(parts).replace("\n```\n```python\n", "\n")
    assert joined == answer
