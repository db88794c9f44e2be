"""The native stream renderer at the seam we own: chunk order and the formatting repair."""

from __future__ import annotations

import pytest

from bot.slack.reply import native
from bot.slack.reply.format import to_slack
from bot.testing.clock import FakeClock
from bot.testing.writer import RecordingWriter, native_reply, stream_chunks


async def test_task_updates_go_out_between_the_text_around_them() -> None:
    clock = FakeClock()
    writer = RecordingWriter(clock)
    reply = native_reply(clock, writer)
    await reply.start()
    reply.update("Let me check. ")
    reply.task("c1", "lookup", "in_progress")
    await clock.advance(0.6)
    reply.task("c1", "lookup", "complete")  # the tool is done; the next round writes on
    reply.update("Let me check. It is ")
    for _ in range(4):
        await clock.advance(0.3)
    await clock.run(reply.finish("Let me check. It is late."))
    assert stream_chunks(writer) == [
        ("chat.appendStream", "Let me check. "),
        ("chat.appendStream", ("c1", "in_progress")),
        ("chat.appendStream", ("c1", "complete")),
        ("chat.appendStream", "It is "),
        ("chat.stopStream", "late."),
    ]


async def test_formatting_that_changes_after_it_streamed_is_repaired_with_chat_update(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Pretend every character settles at once, so a table goes out row by row as prose
    # and only later turns into the code block Slack gets for tables.
    monkeypatch.setattr(native, "settled", lambda text, start=0: len(text))
    clock = FakeClock()
    writer = RecordingWriter(clock)
    reply = native_reply(clock, writer)
    await reply.start()
    answer = "Scores:\n\n| team | points |\n|---|---|\n| red | 3 |\n"
    for end in (len("Scores:\n\n| team | points |\n"), len(answer)):
        reply.update(answer[:end])
        await clock.advance(0.6)
    await clock.run(reply.finish(answer))
    assert reply.fallback_reason == "reformatted"
    methods = [method for _, method, _ in writer.calls]
    assert "chat.stopStream" in methods, "the stream is stopped before chat.update takes over"
    final = [args for _, method, args in writer.calls if method == "chat.update"][-1]
    assert final["markdown_text"] == to_slack(answer)
    assert final["ts"] == reply.ts
