"""Model-side failures through the real app: every reply ends whole or clearly marked.

The fake model server is told to cut, stall, slow down or refuse; outcomes are checked on
what the fake Slack shows and on what the database stored.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot import texts
from bot.testing.harness import Harness, channel_message, text_of
from bot.testing.openai import Reply, error_reply, text_reply, tool_call_reply
from bot.testing.stored import stored_replies
from bot.tools import Tool

ANSWER = (
    "Glaciers move because ice deforms under its own weight. Deep inside a glacier the "
    "pressure makes the ice crystals slide past each other, and at the base meltwater lets "
    "the whole mass slip over the bedrock. A big valley glacier can move a metre a day."
)

# Tests about the wire, not the database, run on SQLite only; those that check what was
# stored run on both backends.
WIRE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def answer_of(bot: Harness, question: str) -> tuple[dict[str, Any], str]:
    event = await bot.mention(question)
    replies = await bot.wait_reply_done("C1", event["ts"])
    assert len(replies) == 1
    return event, text_of(replies[0])


async def test_stream_cut_before_the_first_chunk_is_answered_whole(bot: Harness) -> None:
    bot.llm.script(text_reply(ANSWER, cut_after=0), text_reply(ANSWER))
    _, shown = await answer_of(bot, "why do glaciers move?")
    assert shown == ANSWER
    assert len(bot.llm.requests) == 2
    assert [(r.role, r.content, r.status) for r in await stored_replies(bot)] == [
        ("assistant", ANSWER, "complete")
    ]


async def test_stream_cut_mid_text_and_restarted_from_the_beginning(bot: Harness) -> None:
    bot.llm.script(text_reply(ANSWER, cut_after=20, delay=0.01), text_reply(ANSWER))
    _, shown = await answer_of(bot, "why do glaciers move?")
    assert shown == ANSWER, "the whole answer exactly once"
    resumed = bot.llm.requests[1]["messages"]
    assert resumed[-2]["role"] == "assistant" and ANSWER.startswith(resumed[-2]["content"])
    assert resumed[-1]["role"] == "user"  # never a second system message: strict templates
    # The continue instruction and the partial answer never reach Slack or the history.
    stored = await stored_replies(bot)
    assert [(r.content, r.status) for r in stored] == [(ANSWER, "complete")]
    assert all("network error" not in text_of(m) for m in bot.slack.bot_messages())


@WIRE_ONLY
async def test_stream_cut_mid_text_and_resumed_with_a_mid_sentence_overlap(bot: Harness) -> None:
    def respond(body: dict[str, Any]) -> Reply:
        if len(bot.llm.requests) == 1:
            return text_reply(ANSWER, cut_after=25, delay=0.01)
        partial = body["messages"][-2]["content"]
        return text_reply(partial[-30:] + ANSWER[len(partial) :])  # backs up a few words

    bot.llm.responder = respond
    _, shown = await answer_of(bot, "why do glaciers move?")
    assert shown == ANSWER
    assert len(bot.llm.requests) == 2


@WIRE_ONLY
async def test_stream_cut_mid_tool_call_arguments_runs_the_tool_once(bot: Harness) -> None:
    runs: list[dict[str, Any]] = []

    async def glacier_speed(name: str) -> str:
        runs.append({"name": name})
        return "about 1 m/day"

    assert bot.runtime is not None and bot.runtime.bot is not None
    bot.runtime.bot.dispatcher.tools.add(
        Tool(
            name="glacier_speed",
            description="How fast a glacier moves.",
            parameters={"type": "object", "properties": {"name": {"type": "string"}}},
            func=glacier_speed,
        )
    )
    call = [("call_7", "glacier_speed", '{"name": "Aletsch Glacier"}')]
    bot.llm.script(
        tool_call_reply(call, fragment_size=4, cut_after=4),  # cut inside the arguments
        tool_call_reply(call, fragment_size=4),
        text_reply("The Aletsch Glacier moves about a metre a day."),
    )
    _, shown = await answer_of(bot, "how fast is the Aletsch glacier?")
    assert runs == [{"name": "Aletsch Glacier"}], "the tool ran exactly once"
    assert shown.endswith("The Aletsch Glacier moves about a metre a day.")
    tool_results = [m for m in bot.llm.requests[-1]["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_results] == ["call_7"]


@WIRE_ONLY
async def test_model_429_with_retry_after_is_waited_out_by_the_client(bot: Harness) -> None:
    bot.llm.script(
        error_reply(429, "Rate limit reached", type="requests", headers={"Retry-After": "0.8"}),
        text_reply(ANSWER),
    )
    _, shown = await answer_of(bot, "why do glaciers move?")
    assert shown == ANSWER
    first, second = bot.llm.request_times[:2]
    # The client's own backoff would be at most 0.5 s here; 0.8 s means Retry-After was used.
    assert second - first >= 0.8


@WIRE_ONLY
async def test_model_5xx_before_the_stream_is_retried_by_the_client(bot: Harness) -> None:
    bot.llm.script(error_reply(503, "overloaded", type="server_error"), text_reply(ANSWER))
    _, shown = await answer_of(bot, "why do glaciers move?")
    assert shown == ANSWER and len(bot.llm.requests) == 2


@WIRE_ONLY
async def test_model_5xx_that_persists_gives_a_short_message(bot: Harness) -> None:
    bot.llm.script(*[error_reply(500, "boom", type="server_error") for _ in range(2)])
    _, shown = await answer_of(bot, "why do glaciers move?")
    assert shown == texts.MODEL_ERROR
    assert len(bot.llm.requests) == 2  # OPENAI_MAX_RETRIES=1 in tests; no second layer


@WIRE_ONLY
async def test_model_429_that_persists_says_the_model_is_busy(bot: Harness) -> None:
    limited = error_reply(429, "Rate limit reached", headers={"Retry-After": "0.1"})
    bot.llm.script(limited, limited)
    _, shown = await answer_of(bot, "why do glaciers move?")
    assert shown == texts.MODEL_RATE_LIMITED


@WIRE_ONLY
async def test_wrong_api_key_names_the_setting(bot: Harness) -> None:
    bot.llm.script(error_reply(401, "Incorrect API key provided", code="invalid_api_key"))
    _, shown = await answer_of(bot, "hi")
    assert shown == texts.MODEL_AUTH and len(bot.llm.requests) == 1


@WIRE_ONLY
async def test_unknown_model_names_the_setting(bot: Harness) -> None:
    bot.llm.script(error_reply(404, "The model `gpt-9` does not exist", code="model_not_found"))
    _, shown = await answer_of(bot, "hi")
    assert shown == texts.MODEL_NOT_FOUND and len(bot.llm.requests) == 1


async def test_context_length_error_trims_history_and_retries_once(harness: Harness) -> None:
    bot = await harness.start(history_token_budget=2000)
    too_long = error_reply(
        400, "This model's maximum context length is 4096 tokens.", code="context_length_exceeded"
    )
    bot.llm.script(
        text_reply("Answer one: " + "ice " * 300), text_reply("Answer two: " + "snow " * 240)
    )
    event, _ = await answer_of(bot, "question one " + "q " * 300)
    await bot.send(channel_message("question two " + "q " * 300, thread_ts=event["ts"]))
    await bot.wait_reply_done("C1", event["ts"], count=2)
    bot.llm.script(too_long, text_reply("Short answer."))
    await bot.send(channel_message("and now?", thread_ts=event["ts"]))
    replies = await bot.wait_reply_done("C1", event["ts"], count=3)
    assert text_of(replies[-1]) == "Short answer."
    failed, retried = bot.llm.requests[-2:]
    size = [sum(len(m["content"] or "") for m in r["messages"]) for r in (failed, retried)]
    assert size[1] < size[0] * 0.7, size  # history trimmed by about half
    assert retried["messages"][-1]["content"] == "and now?"

    bot.llm.script(too_long, too_long)
    await bot.send(channel_message("and again?", thread_ts=event["ts"]))
    replies = await bot.wait_reply_done("C1", event["ts"], count=4)
    assert text_of(replies[-1]) == texts.CONTEXT_TOO_LONG  # tried once more, then told
    assert len(bot.llm.requests) == 6


@WIRE_ONLY
async def test_content_filter_finish_reason_is_explained(bot: Harness) -> None:
    bot.llm.script(text_reply("Here is the first part", finish_reason="content_filter"))
    _, shown = await answer_of(bot, "tell me something")
    assert shown == "Here is the first part" + texts.CONTENT_FILTERED


@WIRE_ONLY
async def test_content_filter_on_the_request_is_explained(bot: Harness) -> None:
    bot.llm.script(error_reply(400, "The prompt was filtered", code="content_filter"))
    _, shown = await answer_of(bot, "tell me something")
    assert shown == texts.MODEL_CONTENT_BLOCKED


@WIRE_ONLY
async def test_length_finish_reason_is_explained(bot: Harness) -> None:
    bot.llm.script(text_reply("A long answer that stops", finish_reason="length"))
    _, shown = await answer_of(bot, "write a lot")
    assert shown == "A long answer that stops" + texts.LENGTH_LIMIT


@WIRE_ONLY
async def test_stalled_stream_is_resumed_after_the_idle_timeout(harness: Harness) -> None:
    bot = await harness.start(stream_idle_timeout=0.4)
    bot.llm.script(text_reply(ANSWER, stall_after=10), text_reply(ANSWER))
    _, shown = await answer_of(bot, "why do glaciers move?")
    assert shown == ANSWER and len(bot.llm.requests) == 2
    await bot.llm.wait_for(lambda: bot.llm.open_streams == 0, what="stalled stream closed")


@WIRE_ONLY
async def test_slow_but_live_stream_is_not_cut_by_the_idle_timeout(harness: Harness) -> None:
    bot = await harness.start(stream_idle_timeout=0.5)
    slow = "Each word arrives later than the one before, but it does arrive."
    bot.llm.script(text_reply(slow, delay=0.1))  # 13 chunks: 1.3 s in all, 0.1 s apart
    _, shown = await answer_of(bot, "go slowly")
    assert shown == slow and len(bot.llm.requests) == 1


async def test_turn_deadline_bounds_a_live_stream(harness: Harness) -> None:
    bot = await harness.start(stream_idle_timeout=0.5, turn_deadline=1.0)
    endless = " ".join(f"word{i}" for i in range(200))
    bot.llm.script(text_reply(endless, delay=0.1))  # 20 s if let run
    _, shown = await answer_of(bot, "never stop")
    assert shown.endswith(texts.TURN_TIMED_OUT)
    partial = shown.removesuffix(texts.TURN_TIMED_OUT)
    assert partial and endless.startswith(partial) and len(partial) < len(endless)
    assert len(bot.llm.requests) == 1, "live chunks kept the idle timeout from firing"
    [row] = await stored_replies(bot)
    assert row.status == "interrupted" and endless.startswith(row.content)


async def test_stream_that_keeps_breaking_keeps_the_partial_answer_marked(
    harness: Harness,
) -> None:
    bot = await harness.start(stream_max_retries=1)
    bot.llm.script(text_reply(ANSWER, cut_after=10), text_reply(ANSWER, cut_after=0))
    _, shown = await answer_of(bot, "why do glaciers move?")
    assert shown.endswith(texts.STREAM_FAILED)
    partial = shown.removesuffix(texts.STREAM_FAILED)
    assert partial and ANSWER.startswith(partial)
    [row] = await stored_replies(bot)
    assert (row.content, row.status) == (partial, "failed")
