"""The event-stream reader (bot/llm/sse.py) on exact bytes sent by the fake model server.

The real openai client sends the request and the body goes through our reader, so each
test pins one thing of the server-sent-events format or of how a body can end.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.llm.client import ChatModel, StreamPolicy, openai_client
from bot.llm.errors import ModelError, StreamBroken
from bot.llm.events import RoundDone, TextDelta, ToolCallsReady
from bot.testing.openai import FakeOpenAI, Reply

META = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}


def event(content: str | None = None, finish: str | None = None, **extra: Any) -> bytes:
    delta = {"content": content} if content is not None else {}
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return json.dumps({**META, "choices": [choice], **extra}).encode()


def sse(*payloads: bytes, newline: bytes = b"\n") -> bytes:
    return b"".join(b"data: " + p + newline + newline for p in payloads)


ANSWER = sse(event("Hello"), event(", wörld"), event(" 👋"), event(finish="stop"), b"[DONE]")


@pytest.fixture
async def model(llm: FakeOpenAI) -> AsyncIterator[ChatModel]:
    client = openai_client(base_url=llm.base_url, api_key="sk-test", max_retries=0)
    yield ChatModel(client=client, model="fake-model", policy=StreamPolicy(max_retries=0))
    await client.close()


async def run(model: ChatModel, llm: FakeOpenAI, *pieces: bytes, delay: float = 0.0) -> list[Any]:
    llm.script(Reply(wire=list(pieces), delay=delay))
    return [e async for e in model.stream([{"role": "user", "content": "go"}])]


def text(events: list[Any]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def test_events_split_at_every_byte(model: ChatModel, llm: FakeOpenAI) -> None:
    pieces = [ANSWER[i : i + 1] for i in range(len(ANSWER))]
    events = await run(model, llm, *pieces, delay=0.0005)
    assert text(events) == "Hello, wörld 👋"
    assert events[-1] == RoundDone(finish_reason="stop")


async def test_crlf_comments_event_names_and_multiline_data(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    first = json.dumps({**META, "choices": [{"index": 0, "delta": {"content": "a"}}]}, indent=1)
    multiline = b"".join(b"data: " + line.encode() + b"\r\n" for line in first.splitlines())
    body = (
        b": keep-alive comment\r\n\r\n"
        + b"event: message\r\nid: 7\r\n"
        + multiline
        + b"\r\n"
        + sse(event("b"), event(finish="stop"), b"[DONE]", newline=b"\r\n")
    )
    assert text(await run(model, llm, body)) == "ab"


async def test_usage_and_tool_calls_arrive_as_plain_json(model: ChatModel, llm: FakeOpenAI) -> None:
    call = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "lookup", "arguments": '{"q": 1}'},
    }
    tool = {**META, "choices": [{"index": 0, "delta": {"tool_calls": [call]}}]}
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    body = sse(
        json.dumps(tool).encode(),
        event(finish="tool_calls"),
        json.dumps({**META, "choices": [], "usage": usage}).encode(),
        b"[DONE]",
    )
    events = await run(model, llm, body)
    [ready] = [e for e in events if isinstance(e, ToolCallsReady)]
    assert [(c.id, c.name, c.arguments) for c in ready.calls] == [("call_1", "lookup", '{"q": 1}')]
    assert events[-1] == RoundDone(finish_reason="tool_calls", usage=usage)


async def test_last_event_without_blank_line_still_counts(
    model: ChatModel, llm: FakeOpenAI
) -> None:
    body = sse(event("whole")) + b"data: " + event(finish="stop") + b"\n"
    events = await run(model, llm, body)
    assert text(events) == "whole"
    assert events[-1] == RoundDone(finish_reason="stop")


async def test_body_cut_mid_line_is_a_broken_stream(model: ChatModel, llm: FakeOpenAI) -> None:
    body = sse(event("part")) + (b"data: " + event(finish="stop"))[:-5]
    with pytest.raises(StreamBroken) as raised:
        await run(model, llm, body)
    assert raised.value.partial == "part"


async def test_error_event_raises_with_its_message(model: ChatModel, llm: FakeOpenAI) -> None:
    error = {"error": {"message": "context length exceeded", "code": "context_length_exceeded"}}
    with pytest.raises(ModelError) as raised:
        await run(model, llm, sse(json.dumps(error).encode()))
    assert type(raised.value).__name__ == "ContextTooLong"


async def test_event_that_is_not_json_is_an_error(model: ChatModel, llm: FakeOpenAI) -> None:
    with pytest.raises(StreamBroken):
        await run(model, llm, sse(event("x"), b"{not json", event(finish="stop"), b"[DONE]"))


async def test_nothing_after_done_is_read_as_answer(model: ChatModel, llm: FakeOpenAI) -> None:
    body = sse(event("one"), event(finish="stop"), b"[DONE]", event(" two"))
    assert text(await run(model, llm, body)) == "one"


async def test_line_that_never_ends_is_refused_at_the_buffer_cap(
    model: ChatModel, llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import texts
    from bot.llm import sse as reader

    monkeypatch.setattr(reader, "MAX_EVENT_BYTES", 32 * 1024)
    with pytest.raises(ModelError) as caught:
        await run(model, llm, sse(event("Hi")), *[b"data: " + b"x" * 4096] * 20)
    assert caught.value.user_message == texts.MODEL_EVENT_TOO_LARGE


async def test_data_lines_without_a_blank_line_are_refused_at_the_buffer_cap(
    model: ChatModel, llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.llm import sse as reader

    monkeypatch.setattr(reader, "MAX_EVENT_BYTES", 32 * 1024)
    with pytest.raises(ModelError):
        await run(model, llm, *[b"data: " + b"x" * 1000 + b"\n"] * 100)
