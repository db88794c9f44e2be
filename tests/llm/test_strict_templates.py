"""Requests every strict chat template accepts, and reasoning models, through the real app.

The fake model server refuses (and the `llm` fixture fails the test on) any request a strict
template would refuse: a system message after the first, roles that do not alternate, tool
results away from their calls. Each test is named after the situation it pins.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot import texts
from bot.llm.client import RESUME_INSTRUCTION
from bot.testing.harness import Harness, channel_message, dm, next_ts, text_of
from bot.testing.interactive import modal_values, submit
from bot.testing.openai import error_reply, reasoning_reply, text_reply, tool_call_reply
from bot.testing.stored import stored_replies
from bot.tools import Tool

WIRE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
THOUGHT = "The user asks about 97. Check divisors up to 9: 2, 3, 5, 7 do not divide it."
ANSWER = "Yes, 97 is a prime number."


def roles(request: dict[str, Any]) -> list[str]:
    return [m["role"] for m in request["messages"]]


def everything_slack_showed(bot: Harness) -> str:
    calls = [c for m in ("chat.postMessage", "chat.update") for c in bot.slack.calls_to(m)]
    return "\n".join(text_of(c.args) for c in calls)


def add_lookup_tool(bot: Harness) -> None:
    async def lookup(n: int) -> str:
        return f"{n} is prime"

    assert bot.runtime is not None and bot.runtime.bot is not None
    bot.runtime.bot.dispatcher.tools.add(
        Tool(
            name="lookup",
            description="Look a number up.",
            parameters={"type": "object", "properties": {"n": {"type": "integer"}}},
            func=lookup,
        )
    )


@WIRE_ONLY
async def test_thread_where_several_people_and_an_app_spoke_alternates_with_labels(
    bot: Harness,
) -> None:
    bot.slack.add_user("U7", profile={"display_name": "Ana"})
    bot.slack.add_user("U8", profile={"display_name": "Ben"})
    bot.slack.add_user("U1", profile={"display_name": "Cy"})
    bot.slack.add_user(
        "UAPP",
        is_bot=True,
        real_name="Deploy Bot",
        profile={"display_name": "", "real_name": "Deploy Bot"},
    )
    root = bot.slack.add_message("C1", "Can we deploy today?", "U7")
    bot.slack.add_message(
        "C1", "Deploys are frozen until 3 pm.", "UAPP", thread_ts=root, bot_id="B9"
    )
    bot.slack.add_message("C1", "I can help with deploys.", "UBOT", thread_ts=root, bot_id="BBOT")
    bot.slack.add_message("C1", "Only after 3 pm.", "U8", thread_ts=root)
    await bot.mention("so when exactly?", thread_ts=root)
    await bot.wait_reply_done("C1", root)
    messages = bot.llm.requests[0]["messages"]
    assert [(m["role"], m["content"]) for m in messages[1:]] == [
        ("user", "Ana: Can we deploy today?\n\nDeploy Bot (app): Deploys are frozen until 3 pm."),
        ("assistant", "I can help with deploys."),  # only the bot's own words
        ("user", "Ben: Only after 3 pm.\n\nCy: so when exactly?"),
    ]


@WIRE_ONLY
async def test_follow_up_after_an_answer_that_failed_empty_is_one_user_turn(bot: Harness) -> None:
    bot.llm.script(error_reply(400, "temporarily refused"), text_reply(ANSWER))
    first = await bot.mention("is 97 prime?")
    await bot.wait_reply_done("C1", first["ts"])
    await bot.send(channel_message("hello? is 97 prime?", thread_ts=first["ts"]))
    await bot.wait_reply_done("C1", first["ts"], count=2)
    messages = bot.llm.requests[-1]["messages"]
    # One person in the thread: no labels, and the two questions are one user turn.
    assert [(m["role"], m["content"]) for m in messages[1:]] == [
        ("user", "is 97 prime?\n\nhello? is 97 prime?")
    ]


@WIRE_ONLY
async def test_resume_after_a_cut_in_a_tool_round_adds_no_system_message(bot: Harness) -> None:
    add_lookup_tool(bot)
    answer = "Yes: the lookup says 97 is prime, so it has no divisors but 1 and itself."
    bot.llm.script(
        tool_call_reply([("call_1", "lookup", '{"n": 97}')]),
        text_reply(answer, cut_after=8),
        text_reply(answer),
        text_reply("You're welcome."),
    )
    first = await bot.mention("is 97 prime?")
    replies = await bot.wait_reply_done("C1", first["ts"])
    assert text_of(replies[0]) == answer
    resumed = bot.llm.requests[2]
    assert roles(resumed) == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert resumed["messages"][-1]["content"] == RESUME_INSTRUCTION
    # The partial answer and the instruction reach neither Slack nor the stored history.
    await bot.send(channel_message("thanks", thread_ts=first["ts"]))
    await bot.wait_reply_done("C1", first["ts"], count=2)
    follow_up = bot.llm.requests[3]["messages"]
    assert RESUME_INSTRUCTION not in str(follow_up)
    assert [m["role"] for m in follow_up] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
    ]
    assert follow_up[4]["content"] == answer
    assert "network error" not in everything_slack_showed(bot)


@WIRE_ONLY
async def test_deepseek_reasoning_content_is_sent_back_on_the_next_round_and_turn(
    bot: Harness,
) -> None:
    add_lookup_tool(bot)
    bot.llm.script(
        reasoning_reply(THOUGHT, tool_call_reply([("call_1", "lookup", '{"n": 97}')])),
        reasoning_reply("It says prime.", ANSWER),
        text_reply("Sure."),
    )
    first = await bot.mention("is 97 prime?")
    replies = await bot.wait_reply_done("C1", first["ts"])
    assert text_of(replies[0]) == ANSWER
    await bot.send(channel_message("thanks", thread_ts=first["ts"]))
    await bot.wait_reply_done("C1", first["ts"], count=2)
    for request in bot.llm.requests[1:]:
        with_calls = [m for m in request["messages"] if m.get("tool_calls")]
        assert [m.get("reasoning_content") for m in with_calls] == [THOUGHT]
    # Reasoning is sent back where the provider needs it, and shown or stored nowhere else.
    assert "divisors" not in everything_slack_showed(bot)
    assert all("divisors" not in (r.content or "") for r in await stored_replies(bot))


@WIRE_ONLY
async def test_gemini_extra_content_on_tool_calls_is_sent_back(bot: Harness) -> None:
    add_lookup_tool(bot)
    signature = {"google": {"thought_signature": "c2lnbmF0dXJl"}}
    call_reply = tool_call_reply([("call_1", "lookup", '{"n": 97}')])
    for chunk in call_reply.chunks:
        for call in chunk["delta"].get("tool_calls") or []:
            if "id" in call:
                call["extra_content"] = signature
    bot.llm.script(call_reply, text_reply(ANSWER), text_reply("Sure."))
    first = await bot.mention("is 97 prime?")
    await bot.wait_reply_done("C1", first["ts"])
    await bot.send(channel_message("thanks", thread_ts=first["ts"]))
    await bot.wait_reply_done("C1", first["ts"], count=2)
    for request in bot.llm.requests[1:]:
        calls = [c for m in request["messages"] for c in m.get("tool_calls") or []]
        assert [c.get("extra_content") for c in calls] == [signature]


@WIRE_ONLY
async def test_reasoning_shows_thinking_with_seconds_and_never_as_the_answer(
    bot: Harness,
) -> None:
    slow = reasoning_reply(THOUGHT * 3, ANSWER, field="reasoning", pieces=10)
    slow.delay = 0.06  # about 1.5 s of reasoning
    bot.llm.script(slow)
    first = await bot.mention("is 97 prime?")
    replies = await bot.wait_reply_done("C1", first["ts"])
    assert text_of(replies[0]) == ANSWER
    shown = everything_slack_showed(bot)
    assert re.search(r"Thinking… \d+ s", shown), shown
    assert "divisors" not in shown
    assert [r.content for r in await stored_replies(bot)] == [ANSWER]


@WIRE_ONLY
async def test_think_tags_in_content_reach_neither_slack_nor_the_history(bot: Harness) -> None:
    reply = text_reply(f"<think>{THOUGHT}</think>\n\n{ANSWER}", pieces=7)
    bot.llm.script(reply, text_reply("Sure."))
    first = await bot.mention("is 97 prime?")
    replies = await bot.wait_reply_done("C1", first["ts"])
    assert text_of(replies[0]) == ANSWER
    assert "divisors" not in everything_slack_showed(bot)
    await bot.send(channel_message("thanks", thread_ts=first["ts"]))
    await bot.wait_reply_done("C1", first["ts"], count=2)
    assert bot.llm.requests[1]["messages"][2] == {"role": "assistant", "content": ANSWER}


@WIRE_ONLY
async def test_vllm_error_mid_stream_ends_the_reply_as_a_model_error(bot: Harness) -> None:
    broken = text_reply("Yes, 97")
    broken.chunks = broken.chunks[:-1]
    broken.chunks.append({"object": "error", "message": "CUDA out of memory", "code": 500})
    meta = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "fake-model"}
    broken.chunks = [
        c if c.get("object") == "error" else {**meta, "choices": [{"index": 0, **c}]}
        for c in broken.chunks
    ]
    broken.raw = True
    bot.llm.script(broken)
    first = await bot.mention("is 97 prime?")
    replies = await bot.wait_reply_done("C1", first["ts"])
    assert text_of(replies[0]) == "Yes, 97\n\n" + texts.MODEL_ERROR
    assert len(bot.llm.requests) == 1  # not resumed as if the connection broke


async def test_channel_reasoning_effort_from_llm_config_is_sent(harness: Harness) -> None:
    bot = await harness.start(reasoning_effort="low")
    status, body = await bot.command("/llm-config", channel="C1")
    assert status == 200
    await bot.slack.wait_for(lambda: bool(bot.slack.calls_to("views.open")))
    view = bot.slack.calls_to("views.open")[-1].args["view"]
    status, body = await bot.interact(submit(view, modal_values(reasoning_effort="high")))
    assert status == 200 and not body, body
    await bot.slack.wait_for(lambda: bool(bot.slack.calls_to("chat.postEphemeral")))
    assert "reasoning effort high" in bot.slack.calls_to("chat.postEphemeral")[0].args["text"]
    first = await bot.mention("is 97 prime?")
    await bot.wait_reply_done("C1", first["ts"])
    other = await bot.mention("is 91 prime?", channel="C2")
    await bot.wait_reply_done("C2", other["ts"])
    assert [r.get("reasoning_effort") for r in bot.llm.requests] == ["high", "low"]


@WIRE_ONLY
async def test_lone_closing_think_tag_leaves_only_the_answer_in_slack_and_history(
    bot: Harness,
) -> None:
    # One answer with a lone </think> is no proof (see tests/llm/test_model_facts.py); the
    # second in a row is, and from then on only the answer is shown and stored.
    reply = text_reply(f"{THOUGHT}</think>\n\n{ANSWER}", pieces=9)
    bot.llm.script(reply, reply, text_reply("Sure."))
    earlier = await bot.mention("is 97 prime?", channel="C2")
    await bot.wait_reply_done("C2", earlier["ts"])
    first = await bot.mention("is 97 prime?")
    replies = await bot.wait_reply_done("C1", first["ts"])
    assert text_of(replies[0]) == ANSWER
    assert [r.content for r in await stored_replies(bot)][1:] == [ANSWER]
    await bot.send(channel_message("thanks", thread_ts=first["ts"]))
    await bot.wait_reply_done("C1", first["ts"], count=2)
    assert bot.llm.requests[2]["messages"][2] == {"role": "assistant", "content": ANSWER}


@WIRE_ONLY
async def test_max_tokens_refused_by_a_reasoning_model_is_answered_anyway(
    harness: Harness,
) -> None:
    bot = await harness.start(max_output_tokens=300)
    message = (
        "Unsupported parameter: 'max_tokens' is not supported with this model. "
        "Use 'max_completion_tokens' instead."
    )
    refusal = {"message": message, "type": "invalid_request_error", "param": "max_tokens"}
    bot.llm.refused_params["max_tokens"] = (400, {"error": refusal})
    bot.llm.script(text_reply(ANSWER), text_reply("Sure."))
    first = await bot.mention("is 97 prime?")
    replies = await bot.wait_reply_done("C1", first["ts"])
    assert text_of(replies[0]) == ANSWER
    await bot.send(channel_message("thanks", thread_ts=first["ts"]))
    await bot.wait_reply_done("C1", first["ts"], count=2)
    sent = [(r.get("max_tokens"), r.get("max_completion_tokens")) for r in bot.llm.requests]
    assert sent == [(300, None), (None, 300), (None, 300)]


async def test_reasoning_in_an_assistant_thread_shows_thinking_seconds_in_the_status(
    bot: Harness,
) -> None:
    bot.slack.agent_sessions_error = "unknown_method"  # an older-manifest app: status text
    thread_ts = next_ts()
    bot.llm.script(reasoning_reply(THOUGHT, ANSWER))
    await bot.send(dm("is 97 prime?", thread_ts=thread_ts))
    replies = await bot.wait_reply_done("D1", thread_ts)
    assert text_of(replies[-1]) == ANSWER

    def statuses() -> list[str]:
        return [c.args["status"] for c in bot.slack.calls_to("assistant.threads.setStatus")]

    await bot.slack.wait_for(lambda: statuses()[-1:] == [""])
    assert statuses() == [texts.STATUS_THINKING, texts.status_thinking_for(0), ""]


@WIRE_ONLY
async def test_reasoning_in_a_native_stream_is_a_thinking_task_card(harness: Harness) -> None:
    bot = await harness.start(stream_mode="native", native_flush_interval=0.1)
    slow = reasoning_reply(THOUGHT, text_reply(ANSWER, pieces=6, delay=0.02))
    bot.llm.script(slow)
    event = await bot.mention("is 97 prime?")
    replies = await bot.wait_reply_done("C1", event["ts"])
    assert text_of(replies[0]) == ANSWER
    chunks = [
        chunk
        for call in bot.slack.calls
        if call.method in ("chat.appendStream", "chat.stopStream")
        for chunk in call.args.get("chunks") or []
    ]
    tasks = [(c["id"], c["title"], c["status"]) for c in chunks if c["type"] == "task_update"]
    assert tasks[0] == ("reasoning-1", texts.thinking_title(0), "in_progress")
    assert tasks[-1] == ("reasoning-1", texts.TASK_THOUGHT, "complete")
    assert "divisors" not in str(chunks)
