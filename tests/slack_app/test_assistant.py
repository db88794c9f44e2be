"""Assistant threads: greeting and suggested prompts, a title, and the loading status.

These are apps created from the older manifest: Slack refuses them `agents.sessions.*`.
"""

from __future__ import annotations

import asyncio

import pytest

from bot import texts
from bot.testing.harness import Harness, dm, next_ts, text_of
from bot.testing.openai import text_reply, tool_call_reply


def thread_started(thread_ts: str, channel: str = "D1") -> dict:
    return {
        "type": "assistant_thread_started",
        "assistant_thread": {
            "user_id": "U1",
            "context": {"channel_id": "C1", "team_id": "T1", "enterprise_id": None},
            "channel_id": channel,
            "thread_ts": thread_ts,
        },
        "event_ts": next_ts(),
    }


@pytest.fixture
async def bot(harness: Harness) -> Harness:
    """The bot of an app without the agent platform (`unknown_method` for agent sessions)."""
    harness.slack.agent_sessions_error = "unknown_method"
    return await harness.start()


def statuses(bot: Harness) -> list[str]:
    return [c.args["status"] for c in bot.slack.calls_to("assistant.threads.setStatus")]


async def test_new_assistant_thread_gets_a_greeting_and_suggested_prompts(bot: Harness) -> None:
    thread_ts = next_ts()
    assert await bot.send(thread_started(thread_ts)) == 200
    await bot.slack.wait_for(lambda: bot.slack.calls_to("assistant.threads.setSuggestedPrompts"))
    call = bot.slack.calls_to("assistant.threads.setSuggestedPrompts")[0]
    assert call.args["channel_id"] == "D1" and call.args["thread_ts"] == thread_ts
    assert [p["title"] for p in call.args["prompts"]] == [t for t, _ in texts.SUGGESTED_PROMPTS]
    greeting = bot.slack.calls_to("chat.postMessage")[0]
    assert greeting.args["thread_ts"] == thread_ts
    assert text_of(greeting.args) == texts.ASSISTANT_GREETING
    assert bot.llm.requests == []


async def test_first_question_titles_the_thread_and_status_shows_progress(bot: Harness) -> None:
    thread_ts = next_ts()
    bot.llm.script(
        tool_call_reply([("call_1", "current_datetime", '{"timezone": "UTC"}')]),
        text_reply("It is Tuesday.", pieces=4, delay=0.01),
        text_reply("You're welcome."),
    )
    await bot.send(dm("What day is it today?\nI keep losing track.", thread_ts=thread_ts))
    replies = await bot.wait_reply_done("D1", thread_ts)
    assert text_of(replies[-1]).endswith("It is Tuesday.")
    titles = bot.slack.calls_to("assistant.threads.setTitle")
    assert [c.args["title"] for c in titles] == ["What day is it today?"]
    assert titles[0].args["thread_ts"] == thread_ts
    await bot.slack.wait_for(lambda: statuses(bot)[-1:] == [""])
    assert statuses(bot) == [texts.STATUS_THINKING, "is running `current_datetime`…", ""]
    assert all(
        c.args["thread_ts"] == thread_ts for c in bot.slack.calls_to("assistant.threads.setStatus")
    )

    await bot.send(dm("thanks", thread_ts=thread_ts))
    await bot.wait_reply_done("D1", thread_ts, count=2)
    assert len(bot.slack.calls_to("assistant.threads.setTitle")) == 1, "only the first question"


async def test_channels_show_progress_in_the_placeholder_not_a_status(bot: Harness) -> None:
    bot.llm.script(text_reply("Hi there."))
    event = await bot.mention("hello")
    await bot.wait_reply_done("C1", event["ts"])
    assert statuses(bot) == []
    placeholder = bot.slack.calls_to("chat.postMessage")[0]
    assert text_of(placeholder.args) == texts.PLACEHOLDER


async def test_a_dm_that_refuses_a_status_is_answered_anyway(bot: Harness) -> None:
    bot.slack.fail_next("assistant.threads.setStatus", error="not_allowed_token_type", times=5)
    bot.llm.script(text_reply("Still answered."))
    event = dm("hello there")
    await bot.send(event)
    await bot.slack.wait_for(
        lambda: any(text_of(m) == "Still answered." for m in bot.slack.bot_messages("D1"))
    )
    assert len(bot.slack.calls_to("assistant.threads.setStatus")) == 1, "tried once, then quiet"


async def test_bolt_assistant_swallows_thread_deletions_unless_passed_on(bot: Harness) -> None:
    from bot.db.records import ThreadKey

    thread_ts = next_ts()
    bot.llm.script(text_reply("Noted."))
    question = dm("my PIN is 4321", thread_ts=thread_ts)
    await bot.send(question)
    await bot.wait_reply_done("D1", thread_ts)
    deletion = {
        "type": "message",
        "subtype": "message_deleted",
        "channel": "D1",
        "channel_type": "im",
        "hidden": True,
        "ts": next_ts(),
        "deleted_ts": question["ts"],
        "previous_message": {
            "type": "message",
            "ts": question["ts"],
            "thread_ts": thread_ts,
            "user": "U1",
            "text": "my PIN is 4321",
        },
    }
    assert await bot.send(deletion) == 200
    store = bot.runtime.bot.store  # type: ignore[union-attr]

    async def contents() -> list[str]:
        return [m.content for m in await store.history(ThreadKey("T1", "D1", thread_ts), limit=9)]

    for _ in range(100):  # Bolt's AsyncAssistant would swallow this event; ours passes it on
        if "my PIN is 4321" not in await contents():
            break
        await asyncio.sleep(0.05)
    assert "my PIN is 4321" not in await contents()
