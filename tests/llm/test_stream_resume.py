"""ChatModel over the real openai client and the fake server: broken streams are resumed.

Each test is named after the wire failure it pins.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot import texts
from bot.llm.client import RESUME_INSTRUCTION, ChatModel, StreamPolicy, openai_client
from bot.llm.errors import ModelError, StreamBroken
from bot.llm.events import RoundDone, StreamRetry, TextDelta, ToolCallsReady
from bot.testing.openai import FakeOpenAI, Reply, text_reply, tool_call_reply

ANSWER = (
    "Rivers carve valleys over millions of years. The water picks up sand and stones, "
    "and these grind the riverbed deeper with every flood. Wide valleys mean old rivers."
)
USER = [{"role": "user", "content": "how do valleys form?"}]


@pytest.fixture
async def model(llm: FakeOpenAI) -> AsyncIterator[ChatModel]:
    client = openai_client(base_url=llm.base_url, api_key="sk-test", max_retries=0)
    policy = StreamPolicy(idle_timeout=0.5, max_retries=3, backoff_base=0.01)
    yield ChatModel(client=client, model="fake-model", policy=policy)
    await client.close()


async def collect(model: ChatModel, **kw: Any) -> tuple[str, list[Any]]:
    events = [event async for event in model.stream(USER, **kw)]
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    return text, events


def retries(events: list[Any]) -> list[StreamRetry]:
    return [e for e in events if isinstance(e, StreamRetry)]


async def test_stream_cut_before_the_first_chunk(model: ChatModel, llm: FakeOpenAI) -> None:
    llm.script(text_reply(ANSWER, cut_after=0), text_reply(ANSWER))
    text, events = await collect(model)
    assert text == ANSWER
    assert [r.reason for r in retries(events)] == ["APIConnectionError"]
    assert isinstance(events[-1], RoundDone) and events[-1].finish_reason == "stop"
    assert llm.requests[1]["messages"] == USER, "nothing was shown: ask the same again"


async def test_stream_cut_mid_text_and_resumed_reply_starts_over(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    llm.script(text_reply(ANSWER, cut_after=8), text_reply(ANSWER))
    text, events = await collect(model)
    assert text == ANSWER
    assert len(retries(events)) == 1
    resumed = llm.requests[1]["messages"]
    assert resumed[:-2] == USER
    assert resumed[-2]["role"] == "assistant" and ANSWER.startswith(resumed[-2]["content"])
    assert 0 < len(resumed[-2]["content"]) < len(ANSWER)
    # No system message after the first (strict templates refuse it): a user turn asks.
    assert resumed[-1] == {"role": "user", "content": RESUME_INSTRUCTION}


async def test_stream_cut_mid_text_and_resumed_reply_overlaps_mid_sentence(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    def resume(body: dict[str, Any]) -> Reply:
        if len(llm.requests) == 1:
            return text_reply(ANSWER, cut_after=12)
        partial = body["messages"][-2]["content"]
        overlap = partial[-20:]  # the model backs up a few words, then goes on
        return text_reply(overlap + ANSWER[len(partial) :])

    llm.responder = resume
    text, events = await collect(model)
    assert text == ANSWER
    assert len(retries(events)) == 1


async def test_stream_cut_twice_then_completes(model: ChatModel, llm: FakeOpenAI) -> None:
    llm.script(
        text_reply(ANSWER, cut_after=5),
        text_reply(ANSWER, cut_after=15),
        text_reply(ANSWER),
    )
    text, events = await collect(model)
    assert text == ANSWER
    assert [r.attempt for r in retries(events)] == [1, 2]


async def test_stream_cut_mid_tool_call_arguments_reports_the_call_once(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    call = [("call_1", "lookup", '{"query": "valleys and rivers", "limit": 3}')]
    llm.script(tool_call_reply(call, cut_after=4), tool_call_reply(call))
    _, events = await collect(model, tools=[{"type": "function", "function": {"name": "lookup"}}])
    ready = [e for e in events if isinstance(e, ToolCallsReady)]
    assert len(ready) == 1 and len(ready[0].calls) == 1
    assert ready[0].calls[0].arguments == call[0][2]
    assert len(retries(events)) == 1


async def test_stalled_stream_is_resumed_after_the_idle_timeout(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    llm.script(text_reply(ANSWER, stall_after=6), text_reply(ANSWER))
    text, events = await collect(model)
    assert text == ANSWER
    assert [r.reason for r in retries(events)] == ["APITimeoutError"]
    await llm.wait_for(lambda: llm.open_streams == 0, what="the stalled stream was closed")


async def test_slow_but_live_stream_is_not_cut_by_the_idle_timeout(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    # 12 chunks 0.08 s apart: about 1 s in all, twice the 0.5 s idle timeout.
    llm.script(text_reply("one two three four five six seven eight nine ten", delay=0.08))
    text, events = await collect(model)
    assert text == "one two three four five six seven eight nine ten"
    assert retries(events) == [] and len(llm.requests) == 1


async def test_first_chunk_later_than_the_idle_timeout_counts_as_a_stall(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    llm.script(text_reply(ANSWER, first_chunk_delay=2.0), text_reply(ANSWER))
    text, events = await collect(model)
    assert text == ANSWER and len(retries(events)) == 1


async def test_stream_closed_cleanly_without_finish_reason_is_resumed(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    cut = text_reply(ANSWER)
    cut.chunks = cut.chunks[:10]  # ends with [DONE] but no finish_reason
    llm.script(cut, text_reply(ANSWER))
    text, events = await collect(model)
    assert text == ANSWER and len(retries(events)) == 1


async def test_error_event_inside_the_stream_is_resumed(model: ChatModel, llm: FakeOpenAI) -> None:
    broken = text_reply(ANSWER)
    error = {"error": {"message": "upstream overloaded", "type": "server_error", "code": None}}
    broken.chunks = [*broken.chunks[:6], error]
    broken.raw = True
    meta = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "fake-model"}
    broken.chunks = [
        c if "error" in c else {**meta, "choices": [{"index": 0, "finish_reason": None, **c}]}
        for c in broken.chunks
    ]
    llm.script(broken, text_reply(ANSWER))
    text, events = await collect(model)
    assert text == ANSWER and len(retries(events)) == 1


async def test_stream_that_keeps_breaking_gives_up_with_the_partial_answer(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    llm.script(*[text_reply(ANSWER, cut_after=6) for _ in range(4)])
    shown = ""
    with pytest.raises(StreamBroken) as failure:
        async for event in model.stream(USER):
            if isinstance(event, TextDelta):
                shown += event.text
    assert failure.value.partial == shown and ANSWER.startswith(shown) and shown
    assert failure.value.user_message == texts.STREAM_FAILED
    assert len(llm.requests) == 4  # the first try plus max_retries=3


async def test_stream_that_never_opens_gives_the_generic_model_message(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    llm.script(*[text_reply(ANSWER, cut_after=0) for _ in range(4)])
    with pytest.raises(ModelError) as failure:
        await collect(model)
    assert not isinstance(failure.value, StreamBroken)
    assert failure.value.user_message == texts.MODEL_ERROR


def test_backoff_is_exponential_with_full_jitter_and_capped() -> None:
    policy = StreamPolicy(backoff_base=0.5, backoff_max=4.0)
    for attempt, cap in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        delays = [policy.backoff(attempt) for _ in range(200)]
        assert all(0 <= d <= cap for d in delays)
        assert max(delays) > cap * 0.6 and min(delays) < cap * 0.4  # spread over [0, cap]
