"""Agent sessions (Slack's agent platform): statuses, titles, Slack's own Stop, the fallback."""

from __future__ import annotations

import logging

import pytest

from bot import texts
from bot.db.records import ThreadKey
from bot.testing.harness import Harness, dm, next_ts, text_of
from bot.testing.openai import text_reply, tool_call_reply
from bot.usage.record import UsageLedger

SLOW = "word " * 300  # 300 chunks, 20 ms apart: about 6 s unless stopped


def session_calls(bot: Harness) -> list[dict]:
    return [c.args for c in bot.slack.calls_to("agents.sessions.setStatus")]


async def stored_reply(bot: Harness, channel: str, thread_ts: str):
    assert bot.runtime is not None and bot.runtime.bot is not None
    rows = await bot.runtime.bot.store.history(ThreadKey("T1", channel, thread_ts), limit=10)
    return [r for r in rows if r.role == "assistant"][-1]


async def usage_statuses(bot: Harness) -> list[str]:
    assert bot.runtime is not None
    return [r.status async for r in UsageLedger(bot.runtime.engine).records()]


async def test_plain_answer_in_a_channel_goes_processing_then_active(bot: Harness) -> None:
    bot.llm.script(text_reply("Paris."))
    event = await bot.mention("What is the capital of France?\nAsking for a quiz.")
    await bot.wait_reply_done("C1", event["ts"])
    await bot.slack.wait_for(
        lambda: bot.slack.session_statuses("C1", event["ts"])[-1:] == ["active"]
    )
    assert bot.slack.session_statuses("C1", event["ts"]) == ["processing", "active"]
    first = session_calls(bot)[0]
    assert first["title"] == "What is the capital of France?"
    assert first["initiator_user_id"] == "U1" and first["thread_ts"] == event["ts"]
    assert bot.slack.sessions[("C1", event["ts"])]["title"] == "What is the capital of France?"
    assert bot.slack.calls_to("assistant.threads.setStatus") == []


async def test_tool_answer_keeps_the_first_title_and_ends_active(bot: Harness) -> None:
    bot.llm.script(
        tool_call_reply([("call_1", "current_datetime", '{"timezone": "UTC"}')]),
        text_reply("It is Tuesday."),
        text_reply("You're welcome."),
    )
    event = await bot.mention("What day is it?")
    await bot.wait_reply_done("C1", event["ts"])
    await bot.slack.wait_for(
        lambda: bot.slack.session_statuses("C1", event["ts"])[-1:] == ["active"]
    )
    await bot.mention("thanks", thread_ts=event["ts"])
    await bot.slack.wait_for(lambda: len(bot.slack.session_statuses("C1", event["ts"])) == 4)
    await bot.settle()
    assert bot.slack.session_statuses("C1", event["ts"]) == [
        "processing",
        "active",
        "processing",
        "active",
    ]
    assert bot.slack.sessions[("C1", event["ts"])]["title"] == "What day is it?"


async def test_native_stream_ends_the_session_with_stop_streams_session_status(
    harness: Harness,
) -> None:
    bot = await harness.start(stream_mode="auto", native_flush_interval=0.1, dm_threads=True)
    bot.llm.script(text_reply("A short answer.", pieces=3))
    event = dm("Explain streams")
    await bot.send(event)
    await bot.wait_reply_done("D1", event["ts"])
    await bot.slack.wait_for(
        lambda: bot.slack.session_statuses("D1", event["ts"])[-1:] == ["active"]
    )
    stops = bot.slack.calls_to("chat.stopStream")
    assert [c.args.get("session_status") for c in stops] == ["active"]
    assert [c["status"] for c in session_calls(bot)] == ["processing"], "no extra setStatus"
    assert bot.slack.session_statuses("D1", event["ts"]) == ["processing", "active"]
    assert bot.slack.calls_to("assistant.threads.setStatus") == [], "the session shows the work"


async def streaming_in_dm(bot: Harness) -> tuple[dict, str]:
    bot.llm.script(text_reply(SLOW, delay=0.02))
    event = dm("tell me a long story")
    await bot.send(event)

    def streaming() -> bool:
        return any(
            m.get("streaming") and (m.get("markdown_text") or "").startswith("word")
            for m in bot.slack.bot_messages("D1")
        )

    await bot.slack.wait_for(streaming, timeout=10)
    stream = next(m for m in bot.slack.bot_messages("D1") if m.get("streaming"))
    return event, stream["ts"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_slack_stop_on_the_session_stops_the_answer_like_the_button(
    harness: Harness,
) -> None:
    bot = await harness.start(stream_mode="auto", native_flush_interval=0.1, dm_threads=True)
    event, stream_ts = await streaming_in_dm(bot)
    assert await bot.agent_session_stopped("D1", event["ts"], streams=(stream_ts,)) == 200
    replies = await bot.wait_reply_done("D1", event["ts"])
    shown = text_of(replies[0])
    assert shown.endswith(texts.STOPPED_BY_USER.strip()), shown
    assert shown.startswith("word") and shown.count("word") < 300, "keeps what was written"
    await bot.llm.wait_for(lambda: bot.llm.disconnects >= 1 and bot.llm.open_streams == 0)
    row = await stored_reply(bot, "D1", event["ts"])
    assert row.status == "stopped" and row.content and SLOW.startswith(row.content)
    await bot.slack.wait_for(
        lambda: bot.slack.session_statuses("D1", event["ts"])[-1:] == ["active"]
    )
    assert bot.slack.session_statuses("D1", event["ts"]) == ["processing", "active"]
    await bot.settle()
    assert await usage_statuses(bot) == ["stopped"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_someone_else_stopping_the_session_is_told_no(bot: Harness) -> None:
    # About 30 s unless stopped: two stop events, a users.info and a note must all come
    # before the end (CI once saw the 6-second answer finish first; alone it takes 1.5 s).
    bot.llm.script(text_reply(SLOW * 5, delay=0.02))
    event = await bot.mention("tell me a long story")
    await bot.slack.wait_for(
        lambda: bot.slack.session_statuses("C1", event["ts"]) == ["processing"]
    )
    await bot.agent_session_stopped("C1", event["ts"], user="U2")
    notes = lambda: [c.args["text"] for c in bot.slack.calls_to("chat.postEphemeral")]  # noqa: E731
    await bot.slack.wait_for(lambda: bool(notes()))
    assert notes() == [texts.STOP_NOT_ALLOWED.format(asker="U1")]
    assert bot.llm.disconnects == 0
    await bot.agent_session_stopped("C1", event["ts"], user="U1")
    replies = await bot.wait_reply_done("C1", event["ts"])
    assert text_of(replies[0]).endswith(texts.STOPPED_BY_USER.strip())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_older_manifest_falls_back_to_assistant_threads_logged_once(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.slack.agent_sessions_error = "unknown_method"
    bot = await harness.start()
    bot.llm.script(text_reply("One."), text_reply("Two."))
    caplog.set_level(logging.WARNING, logger="bot.slack.sessions")
    thread_ts = next_ts()
    await bot.send(dm("first question", thread_ts=thread_ts))
    await bot.wait_reply_done("D1", thread_ts)
    await bot.send(dm("second question", thread_ts=thread_ts))
    await bot.wait_reply_done("D1", thread_ts, count=2)
    await bot.settle()
    assert len(bot.slack.calls_to("agents.sessions.setStatus")) == 1, "asked once, then learned"
    assert bot.slack.calls_to("assistant.threads.setStatus"), "the older status instead"
    assert [c.args["title"] for c in bot.slack.calls_to("assistant.threads.setTitle")] == [
        "first question"
    ]
    learned = [r for r in caplog.records if "uses assistant threads" in r.getMessage()]
    assert len(learned) == 1 and "unknown_method" in learned[0].getMessage()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_passing_failure_teaches_nothing(harness: Harness) -> None:
    bot = await harness.start()
    bot.slack.fail_next("agents.sessions.setStatus", error="internal_error", times=1)
    bot.llm.script(text_reply("One."), text_reply("Two."))
    first = await bot.mention("first")
    await bot.wait_reply_done("C1", first["ts"])
    second = await bot.mention("second")
    await bot.wait_reply_done("C1", second["ts"])
    await bot.slack.wait_for(
        lambda: bot.slack.session_statuses("C1", second["ts"])[-1:] == ["active"]
    )
    assert bot.slack.session_statuses("C1", second["ts"]) == ["processing", "active"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_missing_stop_subscription_warning_is_logged_once(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.slack.stop_event_subscribed = False
    bot = await harness.start()
    caplog.set_level(logging.WARNING, logger="bot.slack.sessions")
    bot.llm.script(text_reply("One."), text_reply("Two."))
    for text in ("first", "second"):
        event = await bot.mention(text)
        await bot.wait_reply_done("C1", event["ts"])
    await bot.settle()
    warned = [r for r in caplog.records if "agent_session_stopped" in r.getMessage()]
    assert len(warned) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_agent_sessions_setting_fixes_the_choice(harness: Harness) -> None:
    bot = await harness.start(agent_sessions="assistant")
    bot.llm.script(text_reply("One."))
    thread_ts = next_ts()
    await bot.send(dm("first question", thread_ts=thread_ts))
    await bot.wait_reply_done("D1", thread_ts)
    await bot.settle()
    assert bot.slack.calls_to("agents.sessions.setStatus") == []
    assert bot.slack.calls_to("assistant.threads.setStatus")
    assert [c.args["title"] for c in bot.slack.calls_to("assistant.threads.setTitle")] == [
        "first question"
    ]
