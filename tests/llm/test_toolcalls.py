"""Tool-call assembly from streamed fragments, pinned per gateway quirk.

Every case goes over the wire: the fake server streams the chunks, the real openai client
parses them, ChatModel feeds the assembler. Each test is named after the quirk it pins.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.llm.client import ChatModel, StreamPolicy, openai_client
from bot.llm.events import TextDelta, ToolCall, ToolCallsReady
from bot.llm.toolcalls import ToolCallAssembler
from bot.testing.openai import FakeOpenAI
from bot.testing.toolchecks import chunk, frag, tool_round


@pytest.fixture
async def model(llm: FakeOpenAI) -> AsyncIterator[ChatModel]:
    client = openai_client(base_url=llm.base_url, api_key="sk-test", max_retries=0)
    yield ChatModel(client=client, model="fake-model", policy=StreamPolicy(max_retries=0))
    await client.close()


async def stream(model: ChatModel, llm: FakeOpenAI, *chunks: Any, **kw: Any) -> list[Any]:
    llm.script(tool_round(*chunks, **kw))
    return [event async for event in model.stream([{"role": "user", "content": "go"}])]


async def calls(model: ChatModel, llm: FakeOpenAI, *chunks: Any) -> list[tuple[str, str, Any]]:
    events = await stream(model, llm, *chunks)
    ready = [e for e in events if isinstance(e, ToolCallsReady)]
    assert len(ready) == 1, events
    return [(c.id, c.name, json.loads(c.arguments)) for c in ready[0].calls]


async def test_standard_fragments_interleaved_by_index(model, llm) -> None:
    assert await calls(
        model,
        llm,
        chunk(frag(0, "call_a", "echo", "")),
        chunk(frag(1, "call_b", "add", "")),
        chunk(frag(0, arguments='{"text"'), frag(1, arguments='{"a": 1,')),
        chunk(frag(1, arguments=' "b": 2}'), frag(0, arguments=': "x"}')),
    ) == [("call_a", "echo", {"text": "x"}), ("call_b", "add", {"a": 1, "b": 2})]


async def test_tool_call_without_index(model, llm) -> None:
    assert await calls(
        model,
        llm,
        chunk(frag(id="call_a", name="echo", arguments='{"text":')),
        chunk(frag(arguments=' "one"}')),
        chunk(frag(id="call_b", name="echo", arguments="")),
        chunk(frag(arguments='{"text": "two"}')),
    ) == [("call_a", "echo", {"text": "one"}), ("call_b", "echo", {"text": "two"})]


async def test_tool_call_without_index_or_id(model, llm) -> None:
    found = await calls(
        model,
        llm,
        chunk(frag(name="echo", arguments='{"text": "one"}')),
        chunk(frag(name="echo", arguments='{"text": "two"}')),
    )
    assert [(name, args) for _, name, args in found] == [
        ("echo", {"text": "one"}),
        ("echo", {"text": "two"}),
    ]
    ids = [call_id for call_id, _, _ in found]
    assert len(set(ids)) == 2 and all(i.startswith("call_") for i in ids), "made-up unique ids"


async def test_parallel_calls_all_on_index_zero(model, llm) -> None:
    assert await calls(
        model,
        llm,
        chunk(frag(0, "call_a", "echo", "")),
        chunk(frag(0, arguments='{"text": "one"}')),
        chunk(frag(0, "call_b", "echo", "")),
        chunk(frag(0, arguments='{"text": "two"}')),
    ) == [("call_a", "echo", {"text": "one"}), ("call_b", "echo", {"text": "two"})]


async def test_parallel_calls_all_on_index_zero_without_ids(model, llm) -> None:
    found = await calls(
        model,
        llm,
        chunk(frag(0, name="echo", arguments='{"text": "one"}')),
        chunk(frag(0, name="add", arguments='{"a": 1, "b": 2}')),
    )
    assert [(name, args) for _, name, args in found] == [
        ("echo", {"text": "one"}),
        ("add", {"a": 1, "b": 2}),
    ]


async def test_whole_arguments_in_one_fragment(model, llm) -> None:
    assert await calls(model, llm, chunk(frag(0, "call_a", "echo", '{"text": "whole"}'))) == [
        ("call_a", "echo", {"text": "whole"})
    ]


async def test_arguments_null_for_no_argument_tool(model, llm) -> None:
    assert await calls(model, llm, chunk(frag(0, "call_a", "now", None))) == [("call_a", "now", {})]


async def test_arguments_missing_for_no_argument_tool(model, llm) -> None:
    assert await calls(model, llm, chunk(frag(0, "call_a", "now", omit_arguments=True))) == [
        ("call_a", "now", {})
    ]


async def test_call_repeated_verbatim(model, llm) -> None:
    assert await calls(
        model,
        llm,
        chunk(frag(0, "call_a", "echo", "")),
        chunk(frag(0, arguments='{"text": "once"}')),
        chunk(frag(0, "call_a", "echo", '{"text": "once"}')),
    ) == [("call_a", "echo", {"text": "once"})]


async def test_call_repeated_verbatim_without_its_id(model, llm) -> None:
    assert await calls(
        model,
        llm,
        chunk(frag(0, "call_a", "echo", '{"text": "once"}')),
        chunk(frag(0, name="echo", arguments='{"text":"once"}')),
    ) == [("call_a", "echo", {"text": "once"})]


async def test_whole_arguments_repeated_in_a_final_fragment(model, llm) -> None:
    assert await calls(
        model,
        llm,
        chunk(frag(0, "call_a", "echo", '{"text": ')),
        chunk(frag(0, arguments='"again"}')),
        chunk(frag(0, arguments='{"text": "again"}')),
    ) == [("call_a", "echo", {"text": "again"})]


async def test_name_repeated_on_every_fragment(model, llm) -> None:
    assert await calls(
        model,
        llm,
        chunk(frag(0, "call_a", "echo", '{"text"')),
        chunk(frag(0, name="echo", arguments=': "named"}')),
    ) == [("call_a", "echo", {"text": "named"})]


async def test_empty_id_and_name_on_continuation_fragments(model, llm) -> None:
    assert await calls(
        model,
        llm,
        chunk(frag(0, "call_a", "echo", "")),
        chunk(frag(0, "", "", '{"text": "x"}')),
    ) == [("call_a", "echo", {"text": "x"})]


async def test_same_call_twice_with_distinct_ids_runs_twice(model, llm) -> None:
    assert await calls(
        model,
        llm,
        chunk(frag(0, "call_a", "roll", "{}")),
        chunk(frag(1, "call_b", "roll", "{}")),
    ) == [("call_a", "roll", {}), ("call_b", "roll", {})]


async def test_text_before_tool_calls_stays(model, llm) -> None:
    events = await stream(
        model,
        llm,
        chunk(content="Let me "),
        chunk(content="check."),
        chunk(frag(0, "call_a", "echo", '{"text": "x"}')),
    )
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["TextDelta", "TextDelta", "ToolCallsReady", "RoundDone"]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Let me check."


async def test_tool_calls_with_finish_reason_stop(model, llm) -> None:
    events = await stream(model, llm, chunk(frag(0, "call_a", "now", "{}")), finish="stop")
    assert [e for e in events if isinstance(e, ToolCallsReady)][0].calls == (
        ToolCall("call_a", "now", "{}"),
    )


def test_fragment_without_a_name_is_dropped() -> None:
    assembler = ToolCallAssembler()
    assembler.feed([{"index": 0, "id": "call_a", "function": {"arguments": "{}"}}])
    assert assembler.finish() == ()


def test_broken_arguments_are_passed_on_for_the_registry_to_report() -> None:
    assembler = ToolCallAssembler()
    assembler.feed([{"index": 0, "id": "call_a", "function": {"name": "echo", "arguments": "{"}}])
    assert assembler.finish() == (ToolCall("call_a", "echo", "{"),)


def test_tool_call_assembly_does_not_reparse_arguments_per_fragment(monkeypatch) -> None:
    """80,000 characters in 10,000 fragments: the arguments are parsed once, not per piece."""
    import types

    from bot.llm import toolcalls

    parsed: list[int] = []

    def loads(text: str) -> Any:
        parsed.append(len(text))
        return json.loads(text)

    monkeypatch.setattr(toolcalls, "json", types.SimpleNamespace(loads=loads, dumps=json.dumps))
    text = json.dumps({"text": "y" * 80_000})
    assembler = ToolCallAssembler()
    assembler.feed([{"index": 0, "id": "c1", "function": {"name": "echo", "arguments": ""}}])
    for i in range(0, len(text), 8):
        assembler.feed([{"index": 0, "function": {"arguments": text[i : i + 8]}}])
    (call,) = assembler.finish()
    assert call.arguments == text
    assert sum(parsed) <= 3 * len(text), f"{len(parsed)} parses of {sum(parsed)} characters"


def test_tool_call_arguments_over_the_cap_are_not_kept() -> None:
    from bot.llm.toolcalls import MAX_ARGUMENT_CHARS

    assembler = ToolCallAssembler()
    assembler.feed([{"index": 0, "id": "c1", "function": {"name": "echo", "arguments": "{"}}])
    for _ in range(MAX_ARGUMENT_CHARS // 1000 + 2):
        assembler.feed([{"index": 0, "function": {"arguments": "x" * 1000}}])
    (call,) = assembler.finish()
    assert call.arguments == "{}" and call.problem and "longer than" in call.problem


def test_tool_calls_beyond_the_hard_cap_are_dropped() -> None:
    from bot.llm.toolcalls import MAX_CALLS

    assembler = ToolCallAssembler()
    for i in range(MAX_CALLS + 50):
        assembler.feed([{"index": i, "id": f"c{i}", "function": {"name": "f", "arguments": "{}"}}])
    assert len(assembler.finish()) == MAX_CALLS
