"""ChatModel against provider quirks, over the real openai client and the fake server.

Each test is named after the quirk it pins: where reasoning arrives, what a provider needs
back, which parameters it refuses, and the other shapes a stream can take.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot import texts
from bot.llm.client import ChatModel, StreamPolicy, openai_client
from bot.llm.errors import ModelError, StreamBroken
from bot.llm.events import ReasoningDelta, RoundDone, TextDelta, TextRetracted, ToolCallsReady
from bot.llm.model_facts import OPENS_THINK
from bot.testing.openai import FakeOpenAI, Reply, reasoning_reply, text_reply, tool_call_reply

USER = [{"role": "user", "content": "is 97 prime?"}]
THOUGHT = "Check divisors up to 9: 2, 3, 5, 7 do not divide 97."
ANSWER = "Yes, 97 is a prime number: no whole number from 2 to 9 divides it evenly."
META = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "fake-model"}


@pytest.fixture
async def model(llm: FakeOpenAI) -> AsyncIterator[ChatModel]:
    client = openai_client(base_url=llm.base_url, api_key="sk-test", max_retries=0)
    policy = StreamPolicy(idle_timeout=0.5, max_retries=3, backoff_base=0.01)
    yield ChatModel(client=client, model="fake-model", policy=policy, max_tokens=256)
    await client.close()


async def collect(model: ChatModel, messages: Any = None, **kw: Any) -> list[Any]:
    return [event async for event in model.stream(messages or USER, **kw)]


def answer(events: list[Any]) -> str:
    """The answer as a renderer sees it: text deltas, minus what was retracted."""
    text = ""
    for event in events:
        if isinstance(event, TextDelta):
            text += event.text
        elif isinstance(event, TextRetracted):
            text = text[: len(text) - len(event.text)]
    return text


def reasoning(events: list[Any]) -> str:
    return "".join(e.text for e in events if isinstance(e, ReasoningDelta))


def content_reply(*pieces: str, finish_reason: str = "stop") -> Reply:
    chunks: list[dict[str, Any]] = [{"delta": {"role": "assistant", "content": ""}}]
    chunks += [{"delta": {"content": p}, "finish_reason": None} for p in pieces]
    chunks.append({"delta": {}, "finish_reason": finish_reason})
    return Reply(chunks=chunks)


def raw(*events: dict[str, Any]) -> Reply:
    return Reply(chunks=list(events), raw=True)


def chunk(*choices: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**META, "choices": list(choices), **extra}


async def test_reasoning_content_field_is_reasoning_not_answer(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    llm.script(reasoning_reply(THOUGHT, ANSWER, field="reasoning_content"))
    events = await collect(model)
    assert answer(events) == ANSWER and reasoning(events) == THOUGHT


async def test_reasoning_field_of_vllm_and_ollama_is_reasoning_not_answer(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    llm.script(reasoning_reply(THOUGHT, ANSWER, field="reasoning"))
    events = await collect(model)
    assert answer(events) == ANSWER and reasoning(events) == THOUGHT


async def test_reasoning_details_of_openrouter_are_read_once(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    llm.script(reasoning_reply(THOUGHT, ANSWER, field="reasoning_details"))
    events = await collect(model)
    assert answer(events) == ANSWER and reasoning(events) == THOUGHT  # not twice


async def test_reasoning_details_alone_are_reasoning(model: ChatModel, llm: FakeOpenAI) -> None:
    detail = {"type": "reasoning.summary", "summary": THOUGHT}
    llm.script(
        raw(
            chunk({"index": 0, "delta": {"reasoning_details": [detail]}}),
            chunk({"index": 0, "delta": {"content": ANSWER}, "finish_reason": "stop"}),
        )
    )
    events = await collect(model)
    assert answer(events) == ANSWER and reasoning(events) == THOUGHT


async def test_think_tags_split_across_deltas(model: ChatModel, llm: FakeOpenAI) -> None:
    llm.script(content_reply("<th", "ink>Check 2, 3", ", 5 and 7.</thi", "nk>\n\nYes", ", prime."))
    events = await collect(model)
    assert answer(events) == "Yes, prime."
    assert reasoning(events) == "Check 2, 3, 5 and 7."


async def test_lone_closing_think_tag_is_believed_from_the_second_answer_on(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    # The template opened <think> itself (Qwen), so only </think> appears in the stream. One
    # answer is no proof (an answer about markup looks the same): it is shown as it came.
    llm.script(
        content_reply("Check 2, 3, 5", " and 7.", "</think>", "\n\nYes."),
        content_reply("Count 3.", "</think>Prime."),
        content_reply("Count again.</think>No."),
    )
    events = await collect(model)
    assert answer(events) == "Check 2, 3, 5 and 7.</think>\n\nYes."
    assert not any(isinstance(e, TextRetracted) for e in events)
    # The second answer in a row proves it: the text before the tag is taken back.
    events = await collect(model)
    assert answer(events) == "Prime."
    assert [e.text for e in events if isinstance(e, TextRetracted)] == ["Count 3."]
    # Learnt for this model: the next answer treats its opening text as reasoning at once.
    events = await collect(model)
    assert answer(events) == "No." and reasoning(events) == "Count again."
    assert not any(isinstance(e, TextRetracted) for e in events)


async def test_answer_without_the_closing_tag_under_a_learnt_opening_is_shown_and_unlearnt(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    llm.script(
        content_reply("A.</think>B."),
        content_reply("C.</think>D."),
        content_reply("Plain answer, ", "no tags at all."),
        content_reply("Another plain one."),
    )
    await collect(model)
    await collect(model)
    assert model.knows(OPENS_THINK)
    events = await collect(model)
    # Taken as reasoning while it streamed, it ends as the answer: never empty.
    assert answer(events) == "Plain answer, no tags at all."
    assert not model.knows(OPENS_THINK), "the contradicting answer drops the fact"
    events = await collect(model)
    assert answer(events) == "Another plain one." and not reasoning(events)


async def test_chat_template_from_props_that_opens_think_hides_reasoning_from_the_first_answer(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    llm.chat_template = (
        "{%- for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
        "{%- endfor %}{%- if add_generation_prompt %}<|im_start|>assistant\n<think>\n"
        "{%- endif %}"
    )
    llm.script(content_reply("Count.</think>", "Yes."))
    events = await collect(model)
    assert answer(events) == "Yes." and reasoning(events) == "Count."
    assert not any(isinstance(e, TextRetracted) for e in events)


async def test_template_that_opens_think_on_a_server_that_parses_reasoning_itself(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    # llama.cpp's default --reasoning-format: the template opens <think>, but the server
    # sends the reasoning in reasoning_content and only the answer as content.
    llm.chat_template = "{%- if add_generation_prompt %}assistant\n<think>\n{%- endif %}"
    llm.script(reasoning_reply(THOUGHT, ANSWER))
    events = await collect(model)
    assert answer(events) == ANSWER and reasoning(events) == THOUGHT
    assert not model.knows(OPENS_THINK)


async def test_chat_template_that_closes_its_own_think_is_no_proof(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    # Qwen3 with thinking off puts an empty block in the prompt: nothing is opened.
    llm.chat_template = (
        "{%- if add_generation_prompt %}<|im_start|>assistant\n"
        "{%- if enable_thinking is false %}<think>\n\n</think>\n\n{%- endif %}{%- endif %}"
    )
    llm.script(content_reply("Plain."))
    events = await collect(model)
    assert answer(events) == "Plain." and not model.knows(OPENS_THINK)


async def test_text_that_merely_mentions_a_tag_prefix_is_kept(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    llm.script(content_reply("Use a <", "b> tag or <thin", "g>; a < b."))
    events = await collect(model)
    assert answer(events) == "Use a <b> tag or <thing>; a < b."


async def test_resume_after_a_cut_counts_only_answer_text(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    llm.script(
        reasoning_reply(THOUGHT, text_reply(ANSWER, cut_after=14)),
        reasoning_reply("Again.", ANSWER),
    )
    events = await collect(model)
    assert answer(events) == ANSWER
    resumed = llm.requests[1]["messages"]
    partial = resumed[-2]
    assert partial["role"] == "assistant" and ANSWER.startswith(partial["content"])
    assert "divisors" not in partial["content"]


async def test_delta_refusal_is_shown_as_the_answer(model: ChatModel, llm: FakeOpenAI) -> None:
    refusal = "I can't help with that."
    llm.script(
        raw(
            chunk({"index": 0, "delta": {"role": "assistant", "refusal": ""}}),
            chunk({"index": 0, "delta": {"refusal": refusal}}),
            chunk({"index": 0, "delta": {}, "finish_reason": "stop"}),
        )
    )
    assert answer(await collect(model)) == refusal


async def test_vllm_error_object_mid_stream_is_a_model_error_not_resumed(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    vllm_error = {"object": "error", "message": "out of memory", "type": "InternalServerError"}
    llm.script(raw(chunk({"index": 0, "delta": {"content": "Yes"}}), vllm_error))
    with pytest.raises(ModelError) as failure:
        await collect(model)
    assert not isinstance(failure.value, StreamBroken)
    assert failure.value.user_message == texts.MODEL_ERROR
    assert len(llm.requests) == 1


async def test_openrouter_finish_reason_error_is_a_model_error_not_resumed(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    error = {"code": "server_error", "message": "Provider disconnected unexpectedly"}
    failed = {"index": 0, "delta": {"content": ""}, "finish_reason": "error"}
    llm.script(raw(chunk({"index": 0, "delta": {"content": "Yes"}}), chunk(failed, error=error)))
    with pytest.raises(ModelError) as failure:
        await collect(model)
    assert not isinstance(failure.value, StreamBroken)
    assert len(llm.requests) == 1


async def test_finish_reason_error_without_an_error_object_is_a_model_error(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    llm.script(content_reply("Yes", finish_reason="error"))
    with pytest.raises(ModelError):
        await collect(model)
    assert len(llm.requests) == 1


async def test_several_choices_only_index_0_is_the_answer(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    llm.script(
        raw(
            chunk(
                {"index": 1, "delta": {"content": "Other "}},
                {"index": 0, "delta": {"content": "Yes"}},
            ),
            chunk(
                {"index": 0, "delta": {"content": ", prime."}},
                {"index": 1, "delta": {"content": "no"}},
            ),
            chunk({"index": 1, "delta": {}, "finish_reason": "length"}),
            chunk({"index": 0, "delta": {}, "finish_reason": "stop"}),
        )
    )
    events = await collect(model)
    assert answer(events) == "Yes, prime."
    assert [e.finish_reason for e in events if isinstance(e, RoundDone)] == ["stop"]


async def test_keep_alive_comments_are_harmless(model: ChatModel, llm: FakeOpenAI) -> None:
    def data(event: dict[str, Any]) -> bytes:
        import json

        return f"data: {json.dumps(event)}\n\n".encode()

    reply = Reply(
        wire=[
            b": OPENROUTER PROCESSING\n\n",
            data(chunk({"index": 0, "delta": {"content": "Yes"}})),
            b": OPENROUTER PROCESSING\n\n",
            b":\n\n",
            data(chunk({"index": 0, "delta": {}, "finish_reason": "stop"})),
            b"data: [DONE]\n\n",
        ]
    )
    llm.script(reply)
    assert answer(await collect(model)) == "Yes"


async def test_max_tokens_refused_is_sent_as_max_completion_tokens_and_remembered(
    model: ChatModel, llm: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    message = (
        "Unsupported parameter: 'max_tokens' is not supported with this model. "
        "Use 'max_completion_tokens' instead."
    )
    error = {"message": message, "type": "invalid_request_error", "param": "max_tokens"}
    llm.refused_params["max_tokens"] = (400, {"error": {**error, "code": "unsupported_parameter"}})
    with caplog.at_level(logging.WARNING, logger="bot.llm.params"):
        assert answer(await collect(model)) == "echo: is 97 prime?"
        assert answer(await collect(model)) == "echo: is 97 prime?"
    sent = [("max_tokens" in r, r.get("max_completion_tokens")) for r in llm.requests]
    assert sent == [(True, None), (False, 256), (False, 256)]  # one retry, then remembered
    assert len([r for r in caplog.records if "max_tokens" in r.getMessage()]) == 1


async def test_temperature_refused_is_dropped(model: ChatModel, llm: FakeOpenAI) -> None:
    message = (
        "Unsupported value: 'temperature' does not support 0.2 with this model. "
        "Only the default (1) value is supported."
    )
    error = {"message": message, "type": "invalid_request_error", "param": "temperature"}
    llm.refused_params["temperature"] = (400, {"error": {**error, "code": "unsupported_value"}})
    await collect(model, temperature=0.2)
    await collect(model, temperature=0.2)
    assert ["temperature" in r for r in llm.requests] == [True, False, False]


async def test_stream_options_refused_with_mistrals_422_is_dropped(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    detail = {
        "type": "extra_forbidden",
        "loc": ["body", "stream_options"],
        "msg": "Extra inputs are not permitted",
    }
    llm.refused_params["stream_options"] = (422, {"object": "error", "detail": [detail]})
    assert answer(await collect(model)) == "echo: is 97 prime?"
    assert ["stream_options" in r for r in llm.requests] == [True, False]


async def test_stream_options_refused_by_older_azure_is_dropped(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    error = {"message": "Unrecognized request argument supplied: stream_options", "code": None}
    llm.refused_params["stream_options"] = (400, {"error": error})
    assert answer(await collect(model)) == "echo: is 97 prime?"
    assert ["stream_options" in r for r in llm.requests] == [True, False]


async def test_a_bad_value_is_not_taken_for_a_refused_parameter(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    error = {"message": "max_tokens is too large: 256000", "param": "max_tokens", "code": None}
    llm.refused_params["max_tokens"] = (400, {"error": error})
    with pytest.raises(ModelError):
        await collect(model)
    assert len(llm.requests) == 1


async def test_reasoning_effort_is_sent_when_set(llm: FakeOpenAI) -> None:
    client = openai_client(base_url=llm.base_url, api_key="sk-test", max_retries=0)
    model = ChatModel(client=client, model="fake-model", reasoning_effort="low")
    try:
        await collect(model)
        await collect(model, reasoning_effort="high")  # a channel's own setting wins
    finally:
        await client.close()
    assert [r.get("reasoning_effort") for r in llm.requests] == ["low", "high"]


async def test_deepseek_reasoning_content_is_kept_with_its_tool_calls(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    llm.script(reasoning_reply(THOUGHT, tool_call_reply([("call_1", "lookup", '{"n": 97}')])))
    events = await collect(model)
    ready = next(e for e in events if isinstance(e, ToolCallsReady))
    assert ready.provider_fields == {"reasoning_content": THOUGHT}
    assert answer(events) == ""


async def test_gemini_extra_content_on_tool_calls_is_kept(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    signature = {"google": {"thought_signature": "c2lnbmF0dXJl"}}
    call = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "lookup", "arguments": '{"n": 97}'},
        "extra_content": signature,
    }
    llm.script(
        raw(
            chunk({"index": 0, "delta": {"role": "assistant", "tool_calls": [call]}}),
            chunk({"index": 0, "delta": {}, "finish_reason": "tool_calls"}),
        )
    )
    events = await collect(model)
    ready = next(e for e in events if isinstance(e, ToolCallsReady))
    assert ready.calls[0].as_message()["extra_content"] == signature
