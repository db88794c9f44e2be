"""The reasoning phase and tool calls as task_update chunks on a native stream."""

from __future__ import annotations

from bot import texts
from bot.llm.events import ToolCall
from bot.testing.clock import FakeClock
from bot.testing.writer import RecordingWriter, native_reply, stream_chunks
from bot.tools.registry import ToolResult
from bot.turns.progress import TurnProgress


def titles(writer: RecordingWriter) -> list[tuple[str, str, str]]:
    return [
        (chunk["id"], chunk["title"], chunk["status"])
        for _, _, args in writer.calls
        for chunk in args.get("chunks") or []
        if chunk["type"] == "task_update"
    ]


async def test_reasoning_shows_as_a_task_closed_by_the_first_answer_text() -> None:
    clock = FakeClock()
    writer = RecordingWriter(clock)
    reply = native_reply(clock, writer)
    progress = TurnProgress(reply)
    await reply.start()
    for _ in range(3):  # many reasoning deltas: one task
        progress.reasoning()
    await clock.advance(0.6)
    progress.answering()
    reply.update("Forty-two. ")
    await clock.advance(0.6)
    progress.answering()  # more text: nothing more to close
    await clock.run(reply.finish("Forty-two. Really."))
    sent = [chunk for _, chunk in stream_chunks(writer)]
    assert sent[:2] == [("reasoning-1", "in_progress"), ("reasoning-1", "complete")]
    assert "".join(c for c in sent[2:] if isinstance(c, str)) == "Forty-two. Really."
    assert titles(writer)[0][1] == texts.TASK_THINKING


async def test_each_round_of_reasoning_and_tools_gets_its_own_tasks() -> None:
    clock = FakeClock()
    writer = RecordingWriter(clock)
    reply = native_reply(clock, writer)
    progress = TurnProgress(reply)
    await reply.start()
    calls = [ToolCall("c1", "lookup", "{}"), ToolCall("c2", "search", "{}")]
    progress.reasoning()
    progress.tools_started(calls)  # a tool call ends the reasoning phase too
    progress.tools_done(calls, [ToolResult("42"), ToolResult.failure("search failed")])
    progress.reasoning()  # the next round thinks again
    await clock.advance(0.6)
    progress.ended("interrupted")
    await clock.run(reply.finish("Stopped."))
    assert [(i, s) for i, _, s in titles(writer)] == [
        ("reasoning-1", "complete"),
        ("c1", "complete"),
        ("c2", "error"),
        ("reasoning-2", "in_progress"),
        ("reasoning-2", "error"),
    ]


async def test_a_tool_cut_short_by_the_end_of_the_turn_is_closed_as_an_error() -> None:
    clock = FakeClock()
    writer = RecordingWriter(clock)
    reply = native_reply(clock, writer)
    progress = TurnProgress(reply)
    await reply.start()
    progress.tools_started([ToolCall("c1", "slow", "{}")])
    progress.ended("stopped")
    await clock.run(reply.finish("Stopped."))
    updates = [chunk for _, chunk in stream_chunks(writer) if chunk[0] == "c1"]
    assert updates and updates[-1] == ("c1", "error"), updates  # not left in progress
