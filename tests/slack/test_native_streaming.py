"""Slack's native streaming through the real app: modes, flush, tool progress and fallbacks.

The fake Slack implements chat.startStream / appendStream / stopStream with Slack's rules:
recipients outside DMs, expiry (`message_not_in_streaming_state`), a user pressing stop
(`stopped_by_user`), and injected refusals such as `user_not_found`.
"""

from __future__ import annotations

import pytest

from bot import texts
from bot.db.records import ThreadKey
from bot.slack.reply.markup import FEEDBACK_ACTION
from bot.testing.harness import Harness, dm, text_of
from bot.testing.interactive import click, element
from bot.testing.openai import text_reply, tool_call_reply

ANSWER = "Streams are appended in place while the model writes. " * 4
SLOW = {"pieces": 12, "delay": 0.025}  # about 0.5 s of streaming


@pytest.fixture
async def native(harness: Harness) -> Harness:
    """The real bot with STREAM_MODE=native and a fast flush."""
    return await harness.start(stream_mode="native", native_flush_interval=0.1)


def streamed(bot: Harness, ts: str) -> str:
    """Return the markdown the stream calls for message `ts` carried, in order."""
    out = []
    for call in bot.slack.calls:
        if call.method in ("chat.startStream", "chat.appendStream", "chat.stopStream"):
            if call.method != "chat.startStream" and call.args.get("ts") != ts:
                continue
            if call.method == "chat.startStream" and call.response.get("ts") != ts:
                continue
            out.append(call.args.get("markdown_text") or "")
            for chunk in call.args.get("chunks") or []:
                if chunk.get("type") == "markdown_text":
                    out.append(chunk["text"])
    return "".join(out)


async def ask_in_dm_thread(bot: Harness, question: str) -> tuple[str, list[dict]]:
    root = bot.slack.add_message("D1", "hello", "U1")
    await bot.send(dm(question, thread_ts=root))
    return root, await bot.wait_reply_done("D1", root)


async def test_auto_streams_in_dm_threads_and_edits_in_place_elsewhere(harness: Harness) -> None:
    bot = await harness.start(stream_mode="auto", native_flush_interval=0.1)
    bot.llm.script(text_reply("In a channel."), text_reply("In a DM."), text_reply(ANSWER, **SLOW))
    event = await bot.mention("hi")
    await bot.wait_reply_done("C1", event["ts"])
    await bot.send(dm("hi there"))
    await bot.slack.wait_for(
        lambda: any(text_of(m) == "In a DM." for m in bot.slack.bot_messages("D1"))
    )
    assert bot.slack.calls_to("chat.startStream") == [], "channels and top-level DMs: chat.update"
    posts = len(bot.slack.calls_to("chat.postMessage"))
    root, replies = await ask_in_dm_thread(bot, "how do streams work?")
    assert [text_of(r) for r in replies] == [ANSWER]
    start = bot.slack.calls_to("chat.startStream")[0].args
    assert start["channel"] == "D1" and start["thread_ts"] == root
    assert "recipient_user_id" not in start, "a DM needs no recipient"
    assert len(bot.slack.calls_to("chat.stopStream")) == 1
    assert len(bot.slack.calls_to("chat.postMessage")) == posts, "the DM thread reply streamed"


async def test_native_stream_in_a_channel_names_the_recipient(native: Harness) -> None:
    native.llm.script(text_reply(ANSWER, **SLOW))
    event = await native.mention("stream it", user="U7")
    replies = await native.wait_reply_done("C1", event["ts"])
    assert [text_of(r) for r in replies] == [ANSWER]
    start = native.slack.calls_to("chat.startStream")[0].args
    assert (start["recipient_user_id"], start["recipient_team_id"]) == ("U7", "T1")
    assert start["thread_ts"] == event["ts"]


async def test_flush_is_time_based_not_size_based(native: Harness) -> None:
    # 60 characters arrive over ~0.6 s: slack_sdk's 256-character buffer would send none of
    # it before the end; the timed flush appends while the model is still writing.
    short = "one two three four five six seven eight nine ten eleven end."
    native.llm.script(text_reply(short, delay=0.05))
    event = await native.mention("count")
    replies = await native.wait_reply_done("C1", event["ts"])
    assert text_of(replies[0]) == short
    appends = native.slack.calls_to("chat.appendStream")
    assert len(appends) >= 2, "text went out while it streamed"
    assert streamed(native, replies[0]["ts"]) == short, "every piece exactly once"


async def test_tool_progress_goes_out_as_task_update_chunks(native: Harness) -> None:
    native.llm.script(
        tool_call_reply([("call_1", "current_datetime", "{}")], content_before="Let me check."),
        text_reply(" It is late.", **SLOW),
    )
    event = await native.mention("what time is it?")
    replies = await native.wait_reply_done("C1", event["ts"])
    assert text_of(replies[0]) == "Let me check.\n\n It is late."
    chunks = [
        chunk
        for call in native.slack.calls
        if call.method in ("chat.appendStream", "chat.stopStream")
        for chunk in call.args.get("chunks") or []
    ]
    tasks = [(c["id"], c["title"], c["status"]) for c in chunks if c["type"] == "task_update"]
    assert ("call_1", "current_datetime", "complete") in tasks
    assert tasks[-1][2] == "complete"
    assert native.slack.calls_to("chat.update") == []


async def test_stream_expiry_mid_answer_continues_with_chat_update_on_the_same_message(
    native: Harness,
) -> None:
    native.slack.stream_ttl = 0.25  # Slack ends streams after a while (about 5 minutes)
    native.llm.script(text_reply(ANSWER, pieces=8, delay=0.025))  # about 0.7 s
    event = await native.mention("a long one")
    replies = await native.wait_reply_done("C1", event["ts"])
    assert [text_of(r) for r in replies] == [ANSWER], "same message, nothing lost or repeated"
    updates = native.slack.calls_to("chat.update")
    assert updates and all(u.args["ts"] == replies[0]["ts"] for u in updates)
    assert any(
        c.status == 200 and c.response.get("error") == "message_not_in_streaming_state"
        for c in native.slack.calls
    )


async def test_user_not_found_on_stop_stream_falls_back_to_chat_update(native: Harness) -> None:
    native.slack.fail_next("chat.stopStream", error="user_not_found")  # a Slack Connect user
    native.llm.script(text_reply(ANSWER, **SLOW))
    event = await native.mention("hello from another org")
    replies = await native.wait_reply_done("C1", event["ts"])
    assert [text_of(r) for r in replies] == [ANSWER]
    assert native.slack.calls_to("chat.update")[-1].args["ts"] == replies[0]["ts"]


async def test_append_answered_with_a_5xx_is_settled_with_chat_update(native: Harness) -> None:
    # A 5xx leaves open whether the append landed: appending again could repeat it.
    native.slack.fail_next("chat.appendStream", status=500, error="internal_error")
    native.llm.script(text_reply(ANSWER, **SLOW))
    event = await native.mention("hello")
    replies = await native.wait_reply_done("C1", event["ts"])
    assert [text_of(r) for r in replies] == [ANSWER]
    assert native.slack.calls_to("chat.update")[-1].args["ts"] == replies[0]["ts"]


async def test_expired_stream_that_cannot_be_edited_continues_in_a_new_message(
    native: Harness,
) -> None:
    native.llm.script(text_reply(ANSWER, pieces=8, delay=0.025))
    event = await native.mention("go")
    await native.slack.wait_for(lambda: native.slack.calls_to("chat.appendStream"))
    ts = native.slack.calls_to("chat.startStream")[0].response["ts"]
    native.slack.fail_next("chat.update", error="cant_update_message")
    native.slack.expire_stream("C1", ts)
    replies = await native.wait_reply_done("C1", event["ts"], count=2)
    assert len(replies) == 2 and replies[0]["ts"] == ts
    assert text_of(replies[0]) and text_of(replies[1])
    assert text_of(replies[0]) + text_of(replies[1]) == ANSWER, "nothing lost or repeated"


async def test_stopped_by_user_stops_the_model_and_marks_the_turn_stopped(native: Harness) -> None:
    words = " ".join(f"word{i}" for i in range(200))
    native.llm.script(text_reply(words, delay=0.03))  # about 6 s if nobody stops it
    root = native.slack.add_message("D1", "hello", "U1")
    await native.send(dm("write a lot", thread_ts=root))
    await native.slack.wait_for(lambda: native.slack.calls_to("chat.appendStream"))
    ts = native.slack.calls_to("chat.startStream")[0].response["ts"]
    native.slack.stop_stream_as_user("D1", ts)
    await native.slack.wait_for(lambda: native.llm.disconnects == 1, what="model request closed")
    replies = await native.wait_reply_done("D1", root)
    shown = text_of(replies[0])
    assert shown.endswith(texts.STOPPED_BY_USER) and shown.startswith("word0 word1")
    assert len(shown) < len(words)
    assert native.llm.open_streams == 0
    assert native.runtime is not None and native.runtime.bot is not None
    stored = await native.runtime.bot.store.history(ThreadKey("T1", "D1", root), limit=10)
    assert stored[-1].role == "assistant" and stored[-1].status == "stopped"
    assert words.startswith(stored[-1].content) and stored[-1].content


async def test_stream_refused_at_start_falls_back_to_chat_update(native: Harness) -> None:
    native.slack.fail_next("chat.startStream", error="missing_scope")
    native.llm.script(text_reply(ANSWER, **SLOW))
    event = await native.mention("hi")
    replies = await native.wait_reply_done("C1", event["ts"])
    assert [text_of(r) for r in replies] == [ANSWER]
    assert len(native.slack.calls_to("chat.postMessage")) == 1
    assert native.slack.calls_to("chat.update")


async def test_long_native_answer_rolls_over_into_new_streams(harness: Harness) -> None:
    bot = await harness.start(
        stream_mode="native", native_flush_interval=0.05, slack_message_max_chars=500
    )
    code = "```python\n" + "\n".join(f"print({i})" for i in range(60)) + "\n```\n"
    answer = "Intro words here. " * 20 + "\n\n" + code + "Closing words. " * 30
    bot.llm.script(text_reply(answer, pieces=40, delay=0.005))
    event = await bot.mention("long please")
    await bot.slack.wait_for(lambda: len(bot.slack.calls_to("chat.stopStream")) >= 3)
    replies = await bot.wait_reply_done("C1", event["ts"], count=3)
    parts = [text_of(r) for r in replies]
    assert len(parts) == len(bot.slack.calls_to("chat.startStream"))
    assert all(len(p) <= 500 for p in parts)
    joined = "".join(parts).replace("\n```\n```python\n", "\n")
    assert joined == answer
    assert bot.slack.calls_to("chat.update") == []


async def test_finished_native_stream_ends_with_the_feedback_buttons(native: Harness) -> None:
    native.llm.script(text_reply(ANSWER, **SLOW))
    _, [reply] = await ask_in_dm_thread(native, "rate me")
    assert text_of(reply) == ANSWER
    [stop] = native.slack.calls_to("chat.stopStream")
    assert [b["type"] for b in stop.args["blocks"]] == ["context_actions"], "as an edited reply"
    assert element(reply, FEEDBACK_ACTION) is not None
    await native.interact(click(reply, FEEDBACK_ACTION, user="U1", positive=True))
    await native.slack.wait_for(lambda: bool(native.slack.calls_to("chat.postEphemeral")))
    store = native.runtime.bot.store  # type: ignore[union-attr]
    rows = await store.history(ThreadKey("T1", "D1", reply["thread_ts"]), limit=10)
    answer = [r for r in rows if r.role == "assistant"][-1]
    assert await store.feedback_for(answer.id) == {"U1": "good"}


async def test_failed_native_stream_ends_without_feedback_buttons(native: Harness) -> None:
    native.llm.script(text_reply(ANSWER, cut_after=3), *[text_reply("x", cut_after=0)] * 4)
    _, [reply] = await ask_in_dm_thread(native, "break please")
    assert text_of(reply).endswith(texts.STREAM_FAILED.strip())
    assert element(reply, FEEDBACK_ACTION) is None and not reply["blocks"]
